// One experiment's output folder. run.json at its root says what the folder is (format version), what produced it
// (the resolved config), how far it got (stages done, with their summaries) and whether it finished:
// run.json        { formatVersion, status, startedAt, finishedAt?, reason?, config, stages: { name: { finishedAt,
// summary? } } }
//   run.lock        the process writing the folder (./run-lock.ts); one at a time
//   checkpoints/    resumable training state, one folder per name
//   ...             whatever the stages write through writeJson / writeFile
// Every run.json update is an atomic rewrite, so an interrupted run leaves a readable record of what was done.
// create and open take the folder's lock before they read or write anything, and hold it until release() (or the
// process's exit); a folder opened read-only takes no lock and refuses writes.
import { access, readFile, rm } from 'node:fs/promises';
import { dirname, isAbsolute, join, normalize, sep } from 'node:path';

import { ensureDirectory, writeFileAtomic, writeFileAtomicSync, writeJsonAtomic } from './atomic.js';
import { lockRunFolder, RunLockedError } from './run-lock.js';
import type { RunLock } from './run-lock.js';

import { printable } from '../quote.js';

export const runFormatVersion = 1;
export const supportedRunFormatVersions: readonly number[] = [1];
export const runRecordName = 'run.json';

export type RunStatus = 'incomplete' | 'complete';

export interface StageRecord {
  finishedAt: string;
  summary?: unknown;
}

export interface RunRecord {
  formatVersion: number;
  status: RunStatus;
  startedAt: string;
  finishedAt?: string;
  /** Why the run stopped early, set by markIncomplete. */
  reason?: string;
  config: unknown;
  stages: Record<string, StageRecord>;
}

export interface CreateOptions {
  /** Start afresh even if the folder holds a complete run (its files are overwritten as stages rewrite them). */
  overwrite?: boolean;
}

export interface OpenOptions {
  /** Read only: take no lock (another process may be writing the folder) and refuse every write. */
  readOnly?: boolean;
}

export class RunFolderError extends Error {
  override readonly name = 'RunFolderError';
  readonly file: string;
  /** What is wrong with it. */
  readonly problem: string;
  /** What the user can do about it. */
  readonly hint: string;

  constructor(file: string, problem: string, hint: string, options?: ErrorOptions) {
    super(`${printable(file)}: ${problem} — ${hint}`, options);
    this.file = file;
    this.problem = problem;
    this.hint = hint;
  }
}

const OPEN_HINT = 'run `dae experiment --out DIR` first';

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isMissing(error: unknown): boolean {
  return typeof error === 'object' && error !== null && 'code' in error && error.code === 'ENOENT';
}

/** A path with no run.json in it: nothing there, or a file where the folder should be. */
function isNoRunFolder(error: unknown): boolean {
  return (
    isMissing(error) || (typeof error === 'object' && error !== null && 'code' in error && error.code === 'ENOTDIR')
  );
}

const now = (): string => new Date().toISOString();

async function readRunRecord(file: string): Promise<RunRecord> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    if (isNoRunFolder(error))
      throw new RunFolderError(dirname(file), `not a dae run folder (no ${runRecordName})`, OPEN_HINT, {
        cause: error,
      });
    throw new RunFolderError(file, `cannot read (${printable(String(error))})`, 'check the path and its permissions', {
      cause: error,
    });
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new RunFolderError(
      file,
      'is not valid JSON; the run record is corrupted',
      'start a fresh run with another --out',
      { cause: error },
    );
  }
  if (!isRecord(parsed) || typeof parsed['formatVersion'] !== 'number') {
    throw new RunFolderError(file, 'has no formatVersion; not a dae run record', OPEN_HINT);
  }
  const version = parsed['formatVersion'];
  if (!supportedRunFormatVersions.includes(version)) {
    throw new RunFolderError(
      file,
      `run format version ${version} is not supported (this dae reads ${supportedRunFormatVersions.join(', ')})`,
      'upgrade dae, or start a fresh run with another --out',
    );
  }
  if (
    (parsed['status'] !== 'incomplete' && parsed['status'] !== 'complete') ||
    typeof parsed['startedAt'] !== 'string' ||
    !isRecord(parsed['stages'])
  ) {
    throw new RunFolderError(
      file,
      'is malformed (needs status, startedAt and stages)',
      'start a fresh run with another --out',
    );
  }
  return parsed as unknown as RunRecord;
}

/** Takes the folder's lock; a held lock is thrown as RunLockedError, any other failure as RunFolderError. */
async function lock(directory: string): Promise<RunLock> {
  try {
    return await lockRunFolder(directory);
  } catch (error) {
    if (error instanceof RunLockedError) throw error;
    throw new RunFolderError(
      directory,
      `cannot take the run folder's lock (${printable(String(error))})`,
      'choose another --out or fix permissions',
      { cause: error },
    );
  }
}

/** Runs `body` holding `held`, and gives the lock back if it throws. */
async function releasingOnFailure<T>(held: RunLock, body: () => Promise<T>): Promise<T> {
  try {
    return await body();
  } catch (error) {
    await held.release();
    throw error;
  }
}

export class RunFolder {
  readonly directory: string;
  private record: RunRecord;
  /** null for a folder opened read-only, or after release(). */
  private lock: RunLock | null;
  private readonly readOnly: boolean;
  /** run.json rewrites, chained so they land in the order they were asked for. */
  private pendingWrite: Promise<void> = Promise.resolve();

  private constructor(directory: string, record: RunRecord, held: RunLock | null) {
    this.directory = directory;
    this.record = record;
    this.lock = held;
    this.readOnly = held === null;
  }

  /**
   * Makes the folder (mkdir -p), takes its lock, and starts a fresh run.json. Refuses a folder another process holds
   * (RunLockedError), and one holding a complete run unless `overwrite`.
   */
  static async create(directory: string, config: unknown, options: CreateOptions = {}): Promise<RunFolder> {
    const file = join(directory, runRecordName);
    try {
      await ensureDirectory(directory);
    } catch (error) {
      throw new RunFolderError(directory, 'cannot create the run folder', 'choose another --out or fix permissions', {
        cause: error,
      });
    }
    const held = await lock(directory);
    return releasingOnFailure(held, async () => {
      if (!options.overwrite) {
        const existing = await readRunRecord(file).catch(() => undefined);
        if (existing?.status === 'complete') {
          throw new RunFolderError(
            directory,
            'already holds a complete run',
            'choose another --out, or pass --overwrite to replace it',
          );
        }
      }
      const folder = new RunFolder(
        directory,
        { formatVersion: runFormatVersion, status: 'incomplete', startedAt: now(), config, stages: {} },
        held,
      );
      try {
        await folder.save(folder.record);
      } catch (error) {
        throw new RunFolderError(
          directory,
          `cannot write ${runRecordName}`,
          'choose another --out or fix permissions',
          { cause: error },
        );
      }
      return folder;
    });
  }

  /**
   * Opens an existing run folder, checking its run.json format version, and takes its lock (RunLockedError when
   * another process holds it). `readOnly` takes no lock and refuses writes: for readers such as `dae serve`.
   */
  static async open(directory: string, options: OpenOptions = {}): Promise<RunFolder> {
    const file = join(directory, runRecordName);
    // Read first, so that a folder that is no run folder gets no lock file; read again under the lock, so that the
    // record is the last one its previous writer left.
    const record = await readRunRecord(file);
    if (options.readOnly) return new RunFolder(directory, record, null);
    const held = await lock(directory);
    return releasingOnFailure(held, async () => new RunFolder(directory, await readRunRecord(file), held));
  }

  /**
   * Gives up the folder's lock; writes through this object are refused afterwards. The lock also goes when the
   * process exits, and a lock left by a killed process is taken over by the next one, so a forgotten release
   * blocks no one after this process ends.
   */
  async release(): Promise<void> {
    const held = this.lock;
    this.lock = null;
    await this.pendingWrite;
    await held?.release();
  }

  get status(): RunStatus {
    return this.record.status;
  }

  get config(): unknown {
    return this.record.config;
  }

  /** A copy of run.json as it stands. */
  get runRecord(): RunRecord {
    return structuredClone(this.record);
  }

  /** Path of a file inside the folder; `parts` must stay inside it. */
  path(...parts: string[]): string {
    const relative = normalize(join(...parts));
    if (parts.some((part) => isAbsolute(part)) || relative === '..' || relative.startsWith(`..${sep}`)) {
      throw new RangeError(`RunFolder.path: ${JSON.stringify(parts)} leads outside the run folder ${this.directory}`);
    }
    return join(this.directory, relative);
  }

  /** Folder for resumable training state, `checkpoints/<name>` (not created here; saveModel creates it). */
  checkpointPath(name: string): string {
    if (name === '' || /[/\\]/.test(name) || name === '.' || name === '..') {
      throw new RangeError(`RunFolder.checkpointPath: '${name}' must be a plain folder name`);
    }
    return this.path('checkpoints', name);
  }

  /** Writes need the folder's lock: a folder opened read-only, or released, refuses them. */
  private requireLock(): void {
    if (this.lock === null) {
      throw new RunFolderError(
        this.directory,
        this.readOnly ? 'was opened read-only' : 'was released by this process',
        'open it with RunFolder.open (which takes its lock) to write it',
      );
    }
  }

  /** Atomically writes pretty JSON, creating subdirectories. Throws FileWriteError. */
  async writeJson(relativePath: string, value: unknown): Promise<void> {
    this.requireLock();
    const file = this.path(relativePath);
    await ensureDirectory(dirname(file));
    await writeJsonAtomic(file, value);
  }

  /** Atomically writes bytes or text, creating subdirectories. Throws FileWriteError. */
  async writeFile(relativePath: string, data: string | Uint8Array): Promise<void> {
    this.requireLock();
    const file = this.path(relativePath);
    await ensureDirectory(dirname(file));
    await writeFileAtomic(file, data);
  }

  /**
   * writeFile, done before returning, for a synchronous loop that lets each piece go once written (an awaited write
   * would wait for the loop's end). Its folder must exist: `makeFolder` it first.
   */
  writeFileNow(relativePath: string, data: Uint8Array): void {
    this.requireLock();
    writeFileAtomicSync(this.path(relativePath), data);
  }

  /** Creates a folder of the run folder, and the folders above it, unless it exists. */
  async makeFolder(relativePath: string): Promise<void> {
    this.requireLock();
    await ensureDirectory(this.path(relativePath));
  }

  /**
   * The text of a file of the folder. `hint` says what to do when it cannot be read; by default, to run the stage that
   * writes it.
   */
  async readText(relativePath: string, hint = 'run the stage that writes it first'): Promise<string> {
    const file = this.path(relativePath);
    try {
      return await readFile(file, 'utf8');
    } catch (error) {
      const problem = isMissing(error) ? 'file not found' : `cannot read (${printable(String(error))})`;
      throw new RunFolderError(file, problem, hint, { cause: error });
    }
  }

  /** The bytes of a file of the folder (`hint` as for readText). */
  async readBytes(relativePath: string, hint = 'run the stage that writes it first'): Promise<Uint8Array> {
    const file = this.path(relativePath);
    try {
      return await readFile(file);
    } catch (error) {
      const problem = isMissing(error) ? 'file not found' : `cannot read (${String(error)})`;
      throw new RunFolderError(file, problem, hint, { cause: error });
    }
  }

  /** Deletes a file or a folder of the folder, if it is there. */
  async remove(relativePath: string): Promise<void> {
    this.requireLock();
    await rm(this.path(relativePath), { recursive: true, force: true });
  }

  /**
   * Parses a JSON file of the folder. The shape is not checked: `T` is the caller's promise. `hint` says what to do
   * when the file is missing or corrupted; by default, to run the stage that writes it.
   */
  async readJson<T>(relativePath: string, hint?: string): Promise<T> {
    const file = this.path(relativePath);
    const text = await this.readText(relativePath, hint);
    try {
      return JSON.parse(text) as T;
    } catch (error) {
      throw new RunFolderError(
        file,
        'is not valid JSON; the file is corrupted',
        hint ?? 'run the stage that writes it again',
        { cause: error },
      );
    }
  }

  async exists(relativePath: string): Promise<boolean> {
    try {
      await access(this.path(relativePath));
      return true;
    } catch {
      return false;
    }
  }

  isStageDone(stage: string): boolean {
    return Object.hasOwn(this.record.stages, stage);
  }

  /** The summary recorded when `stage` was marked done, or undefined. */
  stageSummary(stage: string): unknown {
    return Object.hasOwn(this.record.stages, stage) ? this.record.stages[stage]?.summary : undefined;
  }

  async markStageDone(stage: string, summary?: unknown): Promise<void> {
    await this.update((record) => {
      const entry: StageRecord = { finishedAt: now() };
      if (summary !== undefined) entry.summary = summary;
      return { ...record, stages: { ...record.stages, [stage]: entry } };
    });
  }

  async markComplete(): Promise<void> {
    await this.update((record) => {
      const next: RunRecord = { ...record, status: 'complete', finishedAt: now() };
      delete next.reason;
      return next;
    });
  }

  /** Records why the run stopped early; stages already done stay done, so a rerun can skip them. */
  async markIncomplete(reason: string): Promise<void> {
    await this.update((record) => {
      const next: RunRecord = { ...record, status: 'incomplete', reason };
      delete next.finishedAt;
      return next;
    });
  }

  /**
   * Applies `change` to the latest record and rewrites run.json; the in-memory record follows only a successful write.
   */
  private update(change: (record: RunRecord) => RunRecord): Promise<void> {
    this.requireLock();
    const write = this.pendingWrite.then(async () => {
      const next = change(this.record);
      await this.save(next);
      this.record = next;
    });
    // A failed write must not poison the writes queued after it; the caller still sees the failure through `write`.
    this.pendingWrite = write.catch(() => undefined);
    return write;
  }

  private async save(record: RunRecord): Promise<void> {
    await writeJsonAtomic(join(this.directory, runRecordName), record);
  }
}
