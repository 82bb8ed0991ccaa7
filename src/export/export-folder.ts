// The folder an export writes into (--out), and its record, export.json:
//   { formatVersion, run: { directory, startedAt }, files: { "<model>.<onnx|keras>": { model, format, exportedAt,
//     interface } } }
// An export writes only into a folder that is new, empty, or an earlier export of the same run (its export.json
// names the run's start; a folder of nothing but this run's model files is an export made before export.json). It
// never writes into a run folder, this one's own root included, nor anywhere inside another run folder.
import { lstat, readdir, readFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';

import { runRecordName } from '../io/run-folder.js';
import type { InterfaceDescription } from './interface.js';
import { ExportError } from './model-tree.js';

export const exportRecordName = 'export.json';
export const exportRecordVersion = 1;

export interface ExportRecord {
  formatVersion: typeof exportRecordVersion;
  /** The run the files came from: its folder when exported, and its start, which identifies it. */
  run: { directory: string; startedAt: string };
  files: Record<string, { model: string; format: string; exportedAt: string; interface: InterfaceDescription }>;
}

const CHOOSE_HINT = 'choose a new or empty folder for --out, or leave it out to write into <run>/export/<format>';

async function readRecord(file: string): Promise<ExportRecord | null> {
  try {
    const parsed = JSON.parse(await readFile(file, 'utf8')) as Partial<ExportRecord>;
    return typeof parsed.run?.startedAt === 'string' && typeof parsed.files === 'object' && parsed.files !== null
      ? (parsed as ExportRecord)
      : null;
  } catch {
    return null;
  }
}

/**
 * Checks that `out` may receive an export of the run in `runDirectory` (started at `startedAt`), whose files are
 * named among `fileNames`. Returns the record of an earlier export of this run there, to add to, or null. Throws
 * ExportError naming --out and what to do.
 */
export async function checkExportFolder(
  out: string,
  run: { directory: string; startedAt: string },
  fileNames: ReadonlySet<string>,
): Promise<ExportRecord | null> {
  const subject = `--out ${out}`;
  const target = resolve(out);
  const runDirectory = resolve(run.directory);
  if (target === runDirectory) throw new ExportError(subject, 'is the run folder itself', CHOOSE_HINT);
  for (let folder = target; folder !== runDirectory; folder = dirname(folder)) {
    const isRun = await lstat(join(folder, runRecordName)).then(
      () => true,
      () => false,
    );
    if (isRun) {
      throw new ExportError(
        subject,
        folder === target ? `is a run folder (it holds ${runRecordName})` : `is inside the run folder ${folder}`,
        CHOOSE_HINT,
      );
    }
    if (dirname(folder) === folder) break;
  }
  const info = await lstat(target).catch(() => undefined);
  if (info === undefined) return null;
  if (!info.isDirectory()) throw new ExportError(subject, 'is a file, not a folder', CHOOSE_HINT);
  const entries = await readdir(target);
  if (entries.includes(exportRecordName)) {
    const record = await readRecord(join(target, exportRecordName));
    if (record?.run.startedAt === run.startedAt) return record;
    throw new ExportError(
      subject,
      record
        ? `holds an export of another run (${record.run.directory}, started ${record.run.startedAt})`
        : `holds an ${exportRecordName} that is not an export's record`,
      CHOOSE_HINT,
    );
  }
  // Leftover temporary files of a killed export (.<name>.<pid>.<random>.tmp) are no one's.
  const others = entries.filter((entry) => !fileNames.has(entry) && !/^\..+\.tmp$/.test(entry));
  if (others.length === 0) return null;
  const listed = others.slice(0, 3).join(', ') + (others.length > 3 ? `, and ${others.length - 3} more` : '');
  throw new ExportError(
    subject,
    `is not empty and holds files that are no export of this run (${listed})`,
    CHOOSE_HINT,
  );
}

/** Refuses a target that stands as anything but a plain file (a folder, say), before anything is written. */
export async function checkTargets(files: readonly string[]): Promise<void> {
  for (const file of files) {
    const info = await lstat(file).catch(() => undefined);
    if (info && !info.isFile()) {
      throw new ExportError(
        file,
        `is ${info.isDirectory() ? 'a folder' : 'not a plain file'}, where the export would write a file`,
        'move it away, or choose another --out',
      );
    }
  }
}
