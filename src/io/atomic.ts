// Atomic file writes: the bytes go to a temporary file beside the target, are flushed to disk, and only then
// renamed over the target. A reader therefore sees either the old file or the complete new one, never a torso,
// even if the process dies half-way. The temporary file lives in the same directory because rename(2) is only
// atomic within one file system.
import { closeSync, fsyncSync, openSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { mkdir, open, rename, rm, stat } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { basename, dirname, join, resolve } from 'node:path';
import { pid } from 'node:process';

import { printable } from '../quote.js';

export class FileWriteError extends Error {
  override readonly name = 'FileWriteError';
  readonly file: string;
  /** What the user can do about it. */
  readonly hint: string;
  /** The operating system's error code (EACCES, ENOSPC, ...), when there was one. */
  readonly code: string | undefined;

  constructor(file: string, cause: unknown) {
    const code = errorCode(cause);
    const hint = hintFor(code);
    super(`${printable(file)}: could not write (${printable(describe(cause))}) — ${hint}`, { cause });
    this.file = file;
    this.hint = hint;
    this.code = code;
  }
}

function errorCode(error: unknown): string | undefined {
  if (typeof error === 'object' && error !== null && 'code' in error && typeof error.code === 'string')
    return error.code;
  return undefined;
}

function describe(error: unknown): string {
  const code = errorCode(error);
  const explanations: Record<string, string> = {
    EACCES: 'permission denied',
    EPERM: 'operation not permitted',
    EROFS: 'read-only file system',
    ENOSPC: 'no space left on the device',
    ENOTDIR: 'a file stands where a directory is needed',
    EISDIR: 'a directory stands where the file should go',
    EEXIST: 'a file stands where a directory is needed',
    ENOENT: 'the directory does not exist',
  };
  if (code !== undefined && explanations[code] !== undefined) return `${code}: ${explanations[code]}`;
  return error instanceof Error ? error.message : String(error);
}

function hintFor(code: string | undefined): string {
  switch (code) {
    case 'EACCES':
    case 'EPERM':
    case 'EROFS':
      return 'choose another --out or fix permissions';
    case 'ENOSPC':
      return 'free some disk space and run again';
    case 'ENOTDIR':
    case 'EISDIR':
    case 'EEXIST':
      return 'choose another --out or move the conflicting file or directory away';
    default:
      return 'check the path and run again';
  }
}

/** `.<name>.<pid>.<random>.tmp` beside the target: hidden, unique per process and per call. */
export function temporaryPathFor(path: string): string {
  return join(dirname(path), `.${basename(path)}.${pid}.${randomBytes(6).toString('hex')}.tmp`);
}

/**
 * `mkdir -p`, with failures reported as FileWriteError naming the directory. Each missing level is made in turn:
 * Node's own recursive mkdir spins forever under a folder that exists but refuses children (anywhere in /proc).
 */
export async function ensureDirectory(directory: string): Promise<void> {
  const missing: string[] = [];
  for (let path = resolve(directory); !(await isDirectory(path)); path = dirname(path)) {
    missing.unshift(path);
    if (dirname(path) === path) break;
  }
  for (const path of missing) {
    try {
      await mkdir(path);
    } catch (error) {
      // Made meanwhile by another process: fine, if it is a folder.
      if (errorCode(error) !== 'EEXIST' || !(await isDirectory(path))) throw new FileWriteError(directory, error);
    }
  }
}

const isDirectory = (path: string) =>
  stat(path).then(
    (found) => found.isDirectory(),
    () => false,
  );

/** Flushes a directory entry (the rename) to disk. Best effort: some platforms cannot open directories. */
async function syncDirectory(directory: string): Promise<void> {
  let handle: FileHandle | undefined;
  try {
    handle = await open(directory, 'r');
    await handle.sync();
  } catch {
    // Durability of the rename is a bonus; atomicity does not depend on it.
  } finally {
    await handle?.close().catch(() => undefined);
  }
}

/** Writes `data` to `path` atomically. The parent directory must exist. Throws FileWriteError. */
export async function writeFileAtomic(path: string, data: string | Uint8Array): Promise<void> {
  const temporaryPath = temporaryPathFor(path);
  let handle: FileHandle | undefined;
  try {
    // 'wx': fail rather than follow a link or clobber a file that happens to have the same name.
    handle = await open(temporaryPath, 'wx');
    await handle.writeFile(data);
    await handle.sync();
    await handle.close();
    handle = undefined;
    await rename(temporaryPath, path);
  } catch (error) {
    await handle?.close().catch(() => undefined);
    await rm(temporaryPath, { force: true }).catch(() => undefined);
    throw new FileWriteError(path, error);
  }
  await syncDirectory(dirname(path));
}

/**
 * Writes several files as one: each goes to a flushed temporary file beside its target, and only when all are
 * written are they renamed into place, in order. A failure while writing (a full disk, a folder where a file should
 * go) removes the temporary files and leaves every target as it was. Parent directories must exist. Throws
 * FileWriteError naming the file that failed.
 */
export async function writeFilesAtomic(files: readonly { path: string; data: string | Uint8Array }[]): Promise<void> {
  const staged: { temporaryPath: string; path: string }[] = [];
  const discard = () =>
    Promise.all(staged.map(({ temporaryPath }) => rm(temporaryPath, { force: true }).catch(() => {})));
  for (const { path, data } of files) {
    const temporaryPath = temporaryPathFor(path);
    let handle: FileHandle | undefined;
    try {
      handle = await open(temporaryPath, 'wx');
      staged.push({ temporaryPath, path });
      await handle.writeFile(data);
      await handle.sync();
    } catch (error) {
      await handle?.close().catch(() => undefined);
      await discard();
      throw new FileWriteError(path, error);
    }
    await handle.close();
  }
  for (const [index, { temporaryPath, path }] of staged.entries()) {
    try {
      await rename(temporaryPath, path);
    } catch (error) {
      // Renames within one folder fail only on a target that changed meanwhile; the rest stay unwritten.
      await Promise.all(staged.slice(index).map((entry) => rm(entry.temporaryPath, { force: true }).catch(() => {})));
      throw new FileWriteError(path, error);
    }
  }
  for (const directory of new Set(files.map(({ path }) => dirname(path)))) await syncDirectory(directory);
}

/** The synchronous twin of writeFileAtomic, for exit handlers and other places that cannot await. */
export function writeFileAtomicSync(path: string, data: string | Uint8Array): void {
  const temporaryPath = temporaryPathFor(path);
  let descriptor: number | undefined;
  try {
    descriptor = openSync(temporaryPath, 'wx');
    writeFileSync(descriptor, data);
    fsyncSync(descriptor);
    closeSync(descriptor);
    descriptor = undefined;
    renameSync(temporaryPath, path);
  } catch (error) {
    if (descriptor !== undefined) {
      try {
        closeSync(descriptor);
      } catch {
        // Already failing; the original error is the one worth reporting.
      }
    }
    try {
      rmSync(temporaryPath, { force: true });
    } catch {
      // Nothing was created (e.g. the parent is a file), or the original error matters more.
    }
    throw new FileWriteError(path, error);
  }
}

/** Pretty JSON (two-space indent) with a trailing newline, so saved files diff and `cat` well. */
export function formatJson(value: unknown): string {
  return `${JSON.stringify(value, null, 2)}\n`;
}

export async function writeJsonAtomic(path: string, value: unknown): Promise<void> {
  await writeFileAtomic(path, formatJson(value));
}
