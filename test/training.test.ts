// The training recipe's pieces: targets, the cosine decay (the classifiers' and the autoencoder's), and the frozen
// runs' distorted code copies, which
// must change what the head sees while keeping a run reproducible for its seed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';

import { useBackend } from '../src/backend/index.js';
import { presets, resolveConfig, savedConfig } from '../src/config.js';
import type { ExperimentConfig } from '../src/config.js';
import type { ImageSet } from '../src/data/dataset.js';
import { Random } from '../src/data/random.js';
import { buildAutoencoder } from '../src/model/autoencoder.js';
import { buildClassifier, referenceHeadUnits } from '../src/model/classifier.js';
import { cosineDecay } from '../src/train/adam.js';
import { trainAutoencoder } from '../src/train/autoencoder.js';
import { frozenCopiesFor, oneHot, trainClassifier } from '../src/train/classifier.js';
import { initializeWeights, snapshotWeights } from '../src/train/weights.js';

test('oneHot: plain targets, and smoothed ones that still sum to 1', () => {
  assert.deepEqual(Array.from(oneHot(Uint8Array.from([2, 0]), 3)), [0, 0, 1, 1, 0, 0]);
  const smoothed = oneHot(Uint8Array.from([1]), 4, 0.2);
  assert.deepEqual(
    Array.from(smoothed, (value) => Math.round(value * 1e6) / 1e6),
    [0.05, 0.85, 0.05, 0.05],
  );
  assert.ok(Math.abs(smoothed.reduce((sum, value) => sum + value, 0) - 1) < 1e-6);
});

test('cosineDecay runs from 1 down to 5%, through the midpoint', () => {
  assert.equal(cosineDecay(0), 1);
  assert.ok(Math.abs(cosineDecay(0.5) - 0.525) < 1e-12);
  assert.ok(Math.abs(cosineDecay(1) - 0.05) < 1e-12);
});

test('frozen runs take the configured copies, fewer when the image budget is reached, none when set to 0', () => {
  const classifier = presets.full.classifier;
  assert.equal(frozenCopiesFor(classifier, 5500), 16);
  assert.equal(frozenCopiesFor(classifier, 55_000), 2);
  assert.equal(frozenCopiesFor(classifier, 30_000), 3);
  assert.equal(frozenCopiesFor(classifier, 120_000), 0);
  assert.equal(frozenCopiesFor({ ...classifier, frozenCopies: 0 }, 100), 0);
  assert.throws(
    () => resolveConfig('full', { classifier: { frozenCopies: 1.5 } }),
    /classifier\.frozenCopies must be a whole number from 0 to 64, got 1\.5/,
  );
  assert.throws(
    () => resolveConfig('full', { classifier: { frozenCopyAugmentation: { maxRotationDegrees: 90 } } }),
    /classifier\.frozenCopyAugmentation\.maxRotationDegrees must be a number from 0 to 45, got 90/,
  );
  assert.throws(
    () => resolveConfig('full', { classifier: { labelSmoothing: 1 } }),
    /classifier\.labelSmoothing must be a number from 0 to 0\.9, got 1/,
  );
});

/** Digits-shaped noise: a bright square whose position depends on the label, so a head can learn something. */
function toyImages(count: number, seed: number): ImageSet {
  const random = new Random(seed);
  const images = new Float32Array(count * 784);
  const labels = Uint8Array.from({ length: count }, (_, index) => index % 4);
  for (let n = 0; n < count; n += 1) {
    const top = 4 + 5 * (labels[n]! % 2),
      left = 4 + 5 * Math.floor(labels[n]! / 2);
    for (let y = 0; y < 8; y += 1)
      for (let x = 0; x < 8; x += 1) images[n * 784 + (top + y) * 28 + left + x] = 0.5 + 0.5 * random.next();
  }
  return { images, labels, count, height: 28, width: 28, classes: 4 };
}

async function frozenRun(
  config: ExperimentConfig['classifier'],
): Promise<{ weights: Float32Array[]; losses: number[] }> {
  const { encoder, autoencoder } = buildAutoencoder();
  initializeWeights(encoder, new Random(3).fork('encoder'));
  const classifier = buildClassifier(
    'frozen',
    { height: 28, width: 28, codingUnits: 32 },
    4,
    encoder,
    presets.full.classifier.headUnits,
  );
  initializeWeights(classifier.model, new Random(3).fork('head'));
  const result = await trainClassifier({
    classifier,
    mode: 'frozen',
    train: toyImages(48, 1),
    validation: toyImages(16, 2),
    unlabelled: toyImages(48, 1),
    config,
    seed: 5,
    stage: 'test',
    reporter: () => {},
  });
  const weights = snapshotWeights(classifier.model);
  classifier.model.dispose();
  autoencoder.dispose();
  return { weights, losses: result.history.map((record) => record.loss) };
}

test('a frozen run trains its head on the distorted copies, reproducibly', async () => {
  await useBackend('native');
  const config = { ...presets.tiny.classifier, frozenMaxEpochs: 3, frozenPatience: 3, batchSize: 16 };
  const before = tf.memory().numTensors;
  const withCopies = await frozenRun(config);
  const again = await frozenRun(config);
  const withoutCopies = await frozenRun({ ...config, frozenCopies: 0 });
  assert.deepEqual(again.losses, withCopies.losses, 'the same seed gave different losses');
  assert.deepEqual(again.weights, withCopies.weights, 'the same seed gave different weights');
  assert.equal(withCopies.losses.length, 3);
  assert.notDeepEqual(withoutCopies.losses, withCopies.losses, 'the copies changed nothing');
  assert.ok(tf.memory().numTensors <= before, `tensors leaked: ${tf.memory().numTensors - before}`);
});

/** The loss of every batch of a tiny autoencoder run with the given schedule. */
async function autoencoderLosses(schedule: ExperimentConfig['autoencoder']['learningRateSchedule']): Promise<number[]> {
  const autoencoder = buildAutoencoder();
  initializeWeights(autoencoder.autoencoder, new Random(4));
  const losses: number[] = [];
  const config = {
    ...presets.tiny.autoencoder,
    maxEpochs: 2,
    batchSize: 16,
    learningRate: 1e-2,
    learningRateSchedule: schedule,
  };
  await trainAutoencoder({
    autoencoder,
    train: toyImages(48, 1),
    validation: toyImages(16, 2),
    config,
    seed: 3,
    reporter: (event) => {
      if (event.type === 'batch-end') losses.push(event.loss);
    },
  });
  autoencoder.autoencoder.dispose();
  return losses;
}

test("the autoencoder's cosine schedule starts at the full rate and then lowers it; older run folders read as constant", async () => {
  await useBackend('native');
  const constant = await autoencoderLosses('constant');
  const cosine = await autoencoderLosses('cosine');
  assert.equal(cosine.length, 6);
  // The first step runs at the full rate in both, so the second batch's loss agrees; from the second step on they part.
  assert.deepEqual(cosine.slice(0, 2), constant.slice(0, 2));
  assert.notEqual(cosine[2], constant[2]);
  assert.deepEqual(await autoencoderLosses('cosine'), cosine, 'the same seed gave different losses');

  assert.throws(
    () => resolveConfig('tiny', { autoencoder: { learningRateSchedule: 'linear' as never } }),
    /autoencoder learningRateSchedule must be one of cosine, constant, got 'linear'/,
  );
  const older = structuredClone(presets.tiny) as unknown as { autoencoder: Record<string, unknown> };
  delete older.autoencoder['learningRateSchedule'];
  assert.equal(savedConfig(older, 'runs/old/run.json').autoencoder.learningRateSchedule, 'constant');
});

test('the head is classifier.headUnits wide; run folders from before the setting read as the reference 16', () => {
  const { model } = buildClassifier('scratch', { height: 28, width: 28, codingUnits: 32 }, 10, null, 24);
  assert.deepEqual(
    ['head_dense1', 'head_dense2', 'head_output'].map((name) => model.getLayer(name).outputShape),
    [
      [null, 24],
      [null, 24],
      [null, 10],
    ],
  );
  model.dispose();
  assert.throws(
    () => resolveConfig('tiny', { classifier: { headUnits: 0 } }),
    /^ConfigError: classifier\.headUnits must be a whole number from 1 to 4096, got 0$/,
  );
  const older = structuredClone(presets.tiny) as unknown as { classifier: Record<string, unknown> };
  delete older.classifier['headUnits'];
  assert.equal(savedConfig(older, 'runs/old/run.json').classifier.headUnits, referenceHeadUnits);
});
