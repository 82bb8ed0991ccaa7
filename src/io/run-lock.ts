// One process per run folder. A process that writes a run folder first creates run.lock in it, exclusively
// (O_EXCL), holding one JSON line that names the process:
//   { pid, processStart, host, lockedAt, command }
// processStart is the process's start time in clock ticks since boot (/proc/<pid>/stat, field 22), so that a new
// process that happens to get a dead holder's PID is not mistaken for it. A lock whose holder no longer runs (it was
// SIGKILLed, or the machine rebooted) is stale and is taken over at once: liveness is checked, not guessed from the
// file's age, so a holder busy in a long synchronous kernel never loses its lock, and a killed one never blocks a
// resume. Where /proc is missing (macOS), a live PID counts as the holder.
//
// Within one process the lock is shared: every RunFolder of the same folder holds it (counted), and a worker thread
// of the holding process finds its own PID and start time in the file and borrows it. The last holder's release, or
// the process's exit, removes the file.
import { readFileSync, unlinkSync } from 'node:fs';
import { mkdir, readFile, realpath, rmdir, stat, unlink, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { basename, join } from 'node:path';

import { printable } from '../quote.js';

export const runLockName = 'run.lock';

/** What run.lock says about the process that holds the folder. */
export interface LockHolder {
  pid: number;
  /** Start of the process in clock ticks since boot; null where the system has no /proc. */
  processStart: string | null;
  host: string;
  /** When the lock was taken, ISO 8601. */
  lockedAt: string;
  /** The command line, for the message a second process prints. */
  command: string;
}

/** The run folder is held by another live process (or by one on another host, whose liveness cannot be checked). */
export class RunLockedError extends Error {
  override readonly name = 'RunLockedError';
  /** The lock file, run.lock in the run folder. */
  readonly file: string;
  readonly holder: LockHolder;
  /** What the user can do about it. */
  readonly hint: string;

  constructor(directory: string, file: string, holder: LockHolder, problem: string, hint: string) {
    super(`${printable(directory)}: ${problem} — ${hint}`);
    this.file = file;
    this.holder = holder;
    this.hint = hint;
  }
}

/** This process's hold on a run folder's lock. */
export interface RunLock {
  readonly file: string;
  /** Gives up this hold; the file goes when the process's last hold does. Idempotent. */
  release(): Promise<void>;
}

interface HeldLock {
  file: string;
  /** The exact text written, so that only our own file is ever removed. */
  text: string;
  holds: number;
}

/** This thread's locks by the folder's real path: being taken, or taken (then also in heldLocks, for the exit hook). */
const lockRequests = new Map<string, Promise<HeldLock | 'borrowed'>>();
const heldLocks = new Map<string, HeldLock>();
let exitHookInstalled = false;

/** A lock file whose holder left it half-written (killed between create and write) is stale after this long. */
const unreadableGraceMs = 2000;
/** A takeover guard older than this was left by a process killed during a takeover (which takes milliseconds). */
const takeoverGuardGraceMs = 10_000;
const attempts = 20;

const errorCode = (error: unknown): unknown =>
  typeof error === 'object' && error !== null && 'code' in error ? error.code : undefined;
const pause = (milliseconds: number) => new Promise((resolve) => setTimeout(resolve, milliseconds));

/** [state, start time] of a process from /proc/<pid>/stat; null when the file is missing or unreadable. */
function procStat(pid: number | 'self'): { state: string; start: string } | null {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return null;
  }
  // "pid (comm) state ppid ...": comm may hold spaces and parentheses, so the fields start after the last ')'.
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  // fields[0] is field 3 (state), so field 22 (starttime) is fields[19].
  const state = fields[0];
  const start = fields[19];
  return state !== undefined && start !== undefined ? { state, start } : null;
}

/** Whether this system describes processes in /proc (Linux), and so tells a recycled PID from its first owner. */
const hasProcFileSystem = (): boolean => procStat('self') !== null;

function thisProcess(): LockHolder {
  const script = process.argv[1] === undefined ? 'node' : basename(process.argv[1]);
  return {
    pid: process.pid,
    processStart: procStat('self')?.start ?? null,
    host: hostname(),
    lockedAt: new Date().toISOString(),
    command: [script, ...process.argv.slice(2)].map(withoutCredentials).join(' '),
  };
}

/** An argument with the user and password of any URL in it replaced (`--queue postgres://user:secret@host/db`). */
const withoutCredentials = (argument: string) => argument.replace(/([a-z][a-z0-9+.-]*:\/\/)[^/@\s]*@/gi, '$1***@');

function parseHolder(text: string): LockHolder | null {
  try {
    const value = JSON.parse(text) as Partial<LockHolder> | null;
    if (
      value === null ||
      typeof value !== 'object' ||
      !Number.isSafeInteger(value.pid) ||
      typeof value.host !== 'string'
    )
      return null;
    return {
      pid: value.pid as number,
      processStart: typeof value.processStart === 'string' ? value.processStart : null,
      host: value.host,
      lockedAt: typeof value.lockedAt === 'string' ? value.lockedAt : '',
      command: typeof value.command === 'string' ? value.command : '',
    };
  } catch {
    return null;
  }
}

type HolderState = 'this-process' | 'running' | 'gone' | 'other-host';

/** Whether the process a lock names still runs. A zombie (killed, not yet reaped) has gone. */
export function holderState(holder: LockHolder): HolderState {
  if (holder.host !== hostname()) return 'other-host';
  const own = procStat('self')?.start ?? null;
  if (holder.pid === process.pid && holder.processStart === own) return 'this-process';
  try {
    process.kill(holder.pid, 0);
  } catch (error) {
    // EPERM: the process exists but belongs to another user.
    if (errorCode(error) === 'ESRCH') return 'gone';
  }
  if (!hasProcFileSystem()) return 'running';
  const found = procStat(holder.pid);
  if (found === null || found.state === 'Z' || found.state === 'X') return 'gone';
  // The PID was recycled: a process started at another time is not the holder.
  if (holder.processStart !== null && found.start !== holder.processStart) return 'gone';
  return 'running';
}

function refusal(file: string, directory: string, holder: LockHolder, state: 'running' | 'other-host'): RunLockedError {
  const since = holder.lockedAt === '' ? '' : `, since ${holder.lockedAt}`;
  const command = holder.command === '' ? '' : ` (${printable(holder.command, 120)}${since})`;
  if (state === 'other-host') {
    return new RunLockedError(
      directory,
      file,
      holder,
      `in use by process ${holder.pid} on host ${printable(holder.host, 60)}${command}`,
      `wait for it to finish; if that process no longer runs, delete ${file}`,
    );
  }
  return new RunLockedError(
    directory,
    file,
    holder,
    `in use by process ${holder.pid}${command}`,
    `wait for it to finish, or stop it (kill ${holder.pid}) and run again; the lock of a process that has stopped is taken over`,
  );
}

/** Removes our lock file, if it is still ours. Synchronous, for the exit hook and so that a release is one step. */
function removeOwnFile(lock: HeldLock): void {
  try {
    if (readFileSync(lock.file, 'utf8') === lock.text) unlinkSync(lock.file);
  } catch {
    // Already gone, or the folder was removed: nothing to release.
  }
}

function removeHeldLocksAtExit(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  // Ctrl-C twice, process.exit() or an uncaught error: the process ends without running its finally blocks.
  process.on('exit', () => {
    for (const lock of heldLocks.values()) removeOwnFile(lock);
  });
}

/** Removes a stale lock, unless another process took it over meanwhile. Takeovers are one at a time per folder. */
async function removeStale(file: string, staleText: string): Promise<void> {
  const guard = `${file}.takeover`;
  try {
    await mkdir(guard);
  } catch (error) {
    if (errorCode(error) !== 'EEXIST') throw error;
    const age = await stat(guard).then(
      (info) => Date.now() - info.mtimeMs,
      () => 0,
    );
    if (age > takeoverGuardGraceMs) await rmdir(guard).catch(() => undefined);
    await pause(20);
    return;
  }
  try {
    const current = await readFile(file, 'utf8').catch(() => null);
    // Only the stale file we judged goes: a lock created since then belongs to a live process.
    if (current === staleText) await unlink(file).catch(() => undefined);
  } finally {
    await rmdir(guard).catch(() => undefined);
  }
}

async function takeFile(directory: string, file: string): Promise<HeldLock | 'borrowed'> {
  const me = thisProcess();
  const text = `${JSON.stringify(me)}\n`;
  for (let attempt = 0; attempt < attempts; attempt += 1) {
    try {
      await writeFile(file, text, { flag: 'wx' });
      return { file, text, holds: 0 };
    } catch (error) {
      if (errorCode(error) !== 'EEXIST') throw error;
    }
    const existing = await readFile(file, 'utf8').catch((error: unknown) => {
      if (errorCode(error) === 'ENOENT') return null;
      throw error;
    });
    if (existing === null) continue;
    const holder = parseHolder(existing);
    if (holder === null) {
      // Being written this instant, or left half-written by a process killed between create and write.
      const age = await stat(file).then(
        (info) => Date.now() - info.mtimeMs,
        () => 0,
      );
      if (age > unreadableGraceMs) await removeStale(file, existing);
      else await pause(unreadableGraceMs - age + 10);
      continue;
    }
    const state = holderState(holder);
    if (state === 'this-process') return 'borrowed';
    if (state === 'gone') {
      await removeStale(file, existing);
      continue;
    }
    throw refusal(file, directory, holder, state);
  }
  throw new Error(`${file}: the lock changed hands ${attempts} times while this process tried to take it; run again`);
}

/**
 * Takes `directory`'s run lock (the folder must exist) or throws RunLockedError naming the process that holds it.
 * File-system failures (permissions, a read-only disk) are thrown as they come, with their `code`.
 */
export async function lockRunFolder(directory: string): Promise<RunLock> {
  const key = await realpath(directory);
  const file = join(directory, runLockName);
  let request = lockRequests.get(key);
  if (request === undefined) {
    request = takeFile(directory, file);
    lockRequests.set(key, request);
    removeHeldLocksAtExit();
    request.then(
      (taken) => {
        if (taken === 'borrowed') lockRequests.delete(key);
        else heldLocks.set(key, taken);
      },
      () => lockRequests.delete(key),
    );
  }
  const taken = await request;
  // A worker thread of the holding process: the holder releases, not the worker.
  if (taken === 'borrowed') return { file, release: () => Promise.resolve() };
  taken.holds += 1;
  let released = false;
  return {
    file,
    release: () => {
      if (released) return Promise.resolve();
      released = true;
      taken.holds -= 1;
      if (taken.holds === 0) {
        lockRequests.delete(key);
        heldLocks.delete(key);
        removeOwnFile(taken);
      }
      return Promise.resolve();
    },
  };
}
