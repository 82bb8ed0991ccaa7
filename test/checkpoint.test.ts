// Checkpoint files: a save killed at any point leaves the previous epoch's checkpoint intact and consistent, and
// damaged or mismatched files are refused with the file named.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFile, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { CheckpointError, fileCheckpointStore } from '../src/io/checkpoint-files.js';
import type { TrainingState } from '../src/train/checkpoint.js';

/** A small state whose arrays all carry the epoch, so a mix of two epochs shows. */
function stateAfter(epoch: number): TrainingState {
  const filled = (length: number, value: number) => new Float32Array(length).fill(value);
  return {
    epoch,
    history: Array.from({ length: epoch }, (_, index) => ({
      epoch: index + 1,
      loss: 1 / (index + 1),
      validationLoss: 2 / (index + 1),
      seconds: 1,
    })),
    bestScore: 2 / epoch,
    bestEpoch: epoch,
    staleEpochs: 0,
    weights: [filled(6, epoch), filled(3, epoch + 0.5)],
    bestWeights: [filled(6, -epoch), filled(3, -epoch - 0.5)],
    optimizer: [
      { name: 'm', shape: [3, 2], values: filled(6, epoch / 10) },
      { name: 'iter', shape: [], values: filled(1, epoch * 100) },
    ],
  };
}

async function withDirectory(body: (directory: string) => Promise<void>): Promise<void> {
  const directory = await mkdtemp(join(tmpdir(), 'dae-checkpoint-test-'));
  try {
    await body(directory);
  } finally {
    await rm(directory, { recursive: true, force: true });
  }
}

test('a checkpoint loads back exactly, and an empty folder has none', async () => {
  await withDirectory(async (directory) => {
    const store = fileCheckpointStore(join(directory, 'autoencoder'));
    assert.equal(await store.load(), null);
    await store.save(stateAfter(1));
    assert.deepEqual(await store.load(), stateAfter(1));
    await store.save(stateAfter(2));
    assert.deepEqual(await store.load(), stateAfter(2));
    assert.deepEqual(
      (await readdir(join(directory, 'autoencoder'))).sort(),
      ['arrays-2.bin', 'state.json'],
      'the old arrays file is removed',
    );
  });
});

test('a save killed after its arrays file but before its state.json leaves the previous checkpoint, whole', async () => {
  await withDirectory(async (directory) => {
    const folder = join(directory, 'autoencoder');
    const store = fileCheckpointStore(folder);
    await store.save(stateAfter(1));
    const aside = join(directory, 'aside');
    await writeFile(aside, await readFile(join(folder, 'state.json')));
    await copyFile(join(folder, 'arrays-1.bin'), `${aside}.bin`);
    await store.save(stateAfter(2));
    // What a kill between the two writes of the second save leaves on disk: epoch 1's state.json and arrays,
    // and epoch 2's arrays beside them.
    await copyFile(aside, join(folder, 'state.json'));
    await copyFile(`${aside}.bin`, join(folder, 'arrays-1.bin'));
    assert.deepEqual((await readdir(folder)).sort(), ['arrays-1.bin', 'arrays-2.bin', 'state.json']);

    assert.deepEqual(await store.load(), stateAfter(1), "epoch 1 with epoch 1's weights, not epoch 2's");
    await store.save(stateAfter(2));
    assert.deepEqual(await store.load(), stateAfter(2));
    assert.deepEqual((await readdir(folder)).sort(), ['arrays-2.bin', 'state.json']);
  });
});

test('a damaged, missing or foreign checkpoint is refused naming the file', async () => {
  await withDirectory(async (directory) => {
    const folder = join(directory, 'autoencoder');
    const store = fileCheckpointStore(folder);
    await store.save(stateAfter(3));
    const arrays = join(folder, 'arrays-3.bin');
    const bytes = await readFile(arrays);

    bytes[5] = (bytes[5] as number) ^ 1;
    await writeFile(arrays, bytes);
    await assert.rejects(
      store.load(),
      (error: Error) =>
        error instanceof CheckpointError &&
        error.message.includes(arrays) &&
        /checksum/.test(error.message) &&
        /delete the checkpoints folder/.test(error.message),
    );

    await rm(arrays);
    await assert.rejects(
      store.load(),
      (error: Error) =>
        error instanceof CheckpointError && error.message.includes(arrays) && /missing/.test(error.message),
    );

    const statePath = join(folder, 'state.json');
    const state = JSON.parse(await readFile(statePath, 'utf8')) as { formatVersion: number };
    await writeFile(statePath, JSON.stringify({ ...state, formatVersion: 1 }));
    await assert.rejects(
      store.load(),
      (error: Error) =>
        error instanceof CheckpointError && error.message.includes(statePath) && /format 1/.test(error.message),
    );

    await writeFile(statePath, '{"formatVersion": 2,');
    await assert.rejects(
      store.load(),
      (error: Error) =>
        error instanceof CheckpointError && error.message.includes(statePath) && /JSON/.test(error.message),
    );
  });
});
