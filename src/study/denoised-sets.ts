// The autoencoder's outputs on the corrupted test sets: the denoising check makes them, and the evaluation, once the
// classifiers are trained, scores every classifier on them ("denoise first"). Seven sets of 10,000 images are 219 MB
// of floats, the largest thing the study held while its classifiers trained, so they wait in the run folder
// (checkpoints/denoised/, one file per corruption), are read back one at a time, and are deleted once the evaluation
// is done. Where they are missing or were made for other corruptions, the evaluation makes them anew: the same floats.
import type { NoiseSpec } from '../data/noise.js';
import type { RunFolder } from '../io/run-folder.js';

const folder = 'checkpoints/denoised';
const recordFile = `${folder}/sets.json`;
const formatVersion = 1;

/** What the files hold: one set per corruption, in this order, of `count` images of height × width. */
export interface DenoisedSetsRecord {
  formatVersion: number;
  noise: NoiseSpec[];
  seed: number;
  count: number;
  height: number;
  width: number;
}

const setFile = (index: number) => `${folder}/${index}.f32`;

/**
 * Writes the sets one at a time, as they are made, so that none waits in memory for the others: `add` writes a
 * set's file before it returns (float32, this machine's byte order: the files never leave it), `finish` writes the
 * record that names them. Until the record is there, the reader finds nothing.
 */
export async function denoisedSetWriter(
  run: RunFolder,
  record: Omit<DenoisedSetsRecord, 'formatVersion'>,
): Promise<{ add: (set: Float32Array, index: number) => void; finish: () => Promise<void> }> {
  await run.remove(folder);
  await run.makeFolder(folder);
  return {
    add: (set, index) => run.writeFileNow(setFile(index), new Uint8Array(set.buffer, set.byteOffset, set.byteLength)),
    finish: () => run.writeJson(recordFile, { formatVersion, ...record } satisfies DenoisedSetsRecord),
  };
}

/**
 * A reader of the saved sets, one at a time: set `index`, or undefined when the folder holds no such set made for
 * exactly `expected` (then the caller makes it itself).
 */
export async function savedDenoisedSets(
  run: RunFolder,
  expected: Omit<DenoisedSetsRecord, 'formatVersion'>,
): Promise<(index: number) => Promise<Float32Array | undefined>> {
  const record = (await run.exists(recordFile))
    ? await run.readJson<Partial<DenoisedSetsRecord>>(recordFile).catch(() => undefined)
    : undefined;
  const matches =
    record?.formatVersion === formatVersion &&
    (['seed', 'count', 'height', 'width'] as const).every((key) => record[key] === expected[key]) &&
    JSON.stringify(record.noise) === JSON.stringify(expected.noise);
  const floats = expected.count * expected.height * expected.width;
  return async (index) => {
    if (!matches || !(await run.exists(setFile(index)))) return undefined;
    const bytes = await run.readBytes(setFile(index));
    if (bytes.byteLength !== floats * 4) return undefined;
    // A copy unless the bytes start on a float's boundary, as a file's own buffer does.
    return bytes.byteOffset % 4 === 0
      ? new Float32Array(bytes.buffer, bytes.byteOffset, floats)
      : new Float32Array(bytes.slice().buffer);
  };
}

/** Deletes the saved sets, once the evaluation has used them. */
export const removeDenoisedSets = (run: RunFolder): Promise<void> => run.remove(folder);
