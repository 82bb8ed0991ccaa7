// A training checkpoint on disk: state.json (epoch, history, scores, array layout) and arrays.bin (every weight,
// best weight and optimizer array, float32, concatenated). arrays.bin is written first, state.json last, each
// atomically, so a state.json always describes a complete arrays.bin.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';

import type { CheckpointStore, TrainingState } from '../train/checkpoint.js';
import { ensureDirectory, writeFileAtomic, writeJsonAtomic } from './atomic.js';

const checkpointFormatVersion = 1;

interface StateFile {
  formatVersion: number;
  state: Omit<TrainingState, 'weights' | 'bestWeights' | 'optimizer'>;
  arrays: { weights: number[]; bestWeights: number[]; optimizer: { name: string; shape: number[]; length: number }[] };
  arraysBytes: number;
}

export class CheckpointError extends Error {
  override readonly name = 'CheckpointError';
}

export function fileCheckpointStore(directory: string): CheckpointStore {
  const statePath = join(directory, 'state.json');
  const arraysPath = join(directory, 'arrays.bin');
  return {
    async load() {
      let text: string;
      try {
        text = await readFile(statePath, 'utf8');
      } catch {
        return null;
      }
      const file = JSON.parse(text) as StateFile;
      if (file.formatVersion !== checkpointFormatVersion) {
        throw new CheckpointError(`${statePath}: checkpoint format ${file.formatVersion} is not supported — delete the checkpoints folder to start this stage over`);
      }
      const bytes = await readFile(arraysPath);
      if (bytes.byteLength !== file.arraysBytes) {
        throw new CheckpointError(`${arraysPath}: ${bytes.byteLength} bytes but state.json declares ${file.arraysBytes} — delete the checkpoints folder to start this stage over`);
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
      await writeFileAtomic(arraysPath, new Uint8Array(all.buffer));
      const { weights, bestWeights, optimizer, ...rest } = state;
      const file: StateFile = {
        formatVersion: checkpointFormatVersion,
        state: rest,
        arrays: {
          weights: weights.map((array) => array.length),
          bestWeights: bestWeights.map((array) => array.length),
          optimizer: optimizer.map(({ name, shape, values }) => ({ name, shape, length: values.length })),
        },
        arraysBytes: all.byteLength,
      };
      await writeJsonAtomic(statePath, file);
    },
  };
}
