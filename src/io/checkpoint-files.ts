// A training checkpoint on disk: state.json (epoch, history, scores, array layout) and arrays-<epoch>.bin (every
// weight, best weight and optimizer array, float32, concatenated). A save writes the new arrays file beside the
// old one, then state.json atomically, then removes the arrays files state.json no longer names. A process killed
// at any moment therefore leaves a state.json whose arrays file is the one written with it; the SHA-256 stored in
// state.json checks that on load. (Format 1 overwrote a single arrays.bin, so a kill between the two writes left
// the previous epoch's state.json over the next epoch's weights, and a resumed run trained that epoch twice.)
import { createHash } from 'node:crypto';
import { readdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';

import type { CheckpointStore, TrainingState } from '../train/checkpoint.js';
import { ensureDirectory, FileWriteError, writeFileAtomic, writeJsonAtomic } from './atomic.js';

const checkpointFormatVersion = 2;
const stateName = 'state.json';
const arraysPattern = /^arrays(-\d+)?\.bin$/;

interface StateFile {
  formatVersion: number;
  state: Omit<TrainingState, 'weights' | 'bestWeights' | 'optimizer'>;
  arrays: { weights: number[]; bestWeights: number[]; optimizer: { name: string; shape: number[]; length: number }[] };
  /** The arrays file written with this state, in the same folder. */
  arraysFile: string;
  arraysBytes: number;
  arraysSha256: string;
}

export class CheckpointError extends Error {
  override readonly name = 'CheckpointError';
}

function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

export function fileCheckpointStore(directory: string): CheckpointStore {
  const statePath = join(directory, stateName);
  const startOver = 'delete the checkpoints folder to start this stage over';
  return {
    async load() {
      let text: string;
      try {
        text = await readFile(statePath, 'utf8');
      } catch {
        return null;
      }
      let file: StateFile;
      try {
        file = JSON.parse(text) as StateFile;
      } catch {
        throw new CheckpointError(`${statePath}: not valid JSON — ${startOver}`);
      }
      if (file.formatVersion !== checkpointFormatVersion) {
        throw new CheckpointError(
          `${statePath}: checkpoint format ${file.formatVersion} is not supported — ${startOver}`,
        );
      }
      if (typeof file.arraysFile !== 'string' || !arraysPattern.test(file.arraysFile)) {
        throw new CheckpointError(`${statePath}: names no arrays file — ${startOver}`);
      }
      const arraysPath = join(directory, file.arraysFile);
      let bytes: Buffer;
      try {
        bytes = await readFile(arraysPath);
      } catch {
        throw new CheckpointError(`${arraysPath}: missing, but ${stateName} needs it — ${startOver}`);
      }
      if (bytes.byteLength !== file.arraysBytes || sha256(bytes) !== file.arraysSha256) {
        throw new CheckpointError(`${arraysPath}: does not match the checksum in ${stateName} — ${startOver}`);
      }
      const all = new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
      let offset = 0;
      const take = (length: number) => all.slice(offset, (offset += length));
      return {
        ...file.state,
        weights: file.arrays.weights.map(take),
        bestWeights: file.arrays.bestWeights.map(take),
        optimizer: file.arrays.optimizer.map(({ name, shape, length }) => ({ name, shape, values: take(length) })),
      };
    },
    async save(state) {
      await ensureDirectory(directory);
      const arrays = [...state.weights, ...state.bestWeights, ...state.optimizer.map((entry) => entry.values)];
      const total = arrays.reduce((sum, array) => sum + array.length, 0);
      const all = new Float32Array(total);
      let offset = 0;
      for (const array of arrays) {
        all.set(array, offset);
        offset += array.length;
      }
      const bytes = new Uint8Array(all.buffer);
      const arraysFile = `arrays-${state.epoch}.bin`;
      await writeFileAtomic(join(directory, arraysFile), bytes);
      const { weights, bestWeights, optimizer, ...rest } = state;
      const file: StateFile = {
        formatVersion: checkpointFormatVersion,
        state: rest,
        arrays: {
          weights: weights.map((array) => array.length),
          bestWeights: bestWeights.map((array) => array.length),
          optimizer: optimizer.map(({ name, shape, values }) => ({ name, shape, length: values.length })),
        },
        arraysFile,
        arraysBytes: bytes.byteLength,
        arraysSha256: sha256(bytes),
      };
      await writeJsonAtomic(statePath, file);
      // Only now may the previous arrays file go (and any left by a save that was killed before its state.json).
      for (const name of await readdir(directory)) {
        if (arraysPattern.test(name) && name !== arraysFile) {
          const stale = join(directory, name);
          await rm(stale, { force: true }).catch((error: unknown) => {
            throw new FileWriteError(stale, error);
          });
        }
      }
    },
  };
}
