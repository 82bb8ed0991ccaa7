// The native backend's own promises: recycled buffers never change what a caller can still see, a training
// step leaks no tensors, the fused Adam step is tfjs's Adam bit for bit, training gives the same weights bit for
// bit with any thread count, and a process that used the thread pool exits by itself.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs-core';

import { useBackend } from '../src/backend/index.js';
import { buildAutoencoder, referenceShape } from '../src/model/autoencoder.js';
import { presets } from '../src/config.js';
import { buildClassifier } from '../src/model/classifier.js';
import { adam } from '../src/train/adam.js';
import { optimizerState } from '../src/train/checkpoint.js';
import { initializeWeights } from '../src/train/weights.js';
import { Random } from '../src/data/random.js';

/** The study's classifier (its head as the preset has it), from scratch and untrained. */
const studyClassifier = () =>
  buildClassifier('scratch', referenceShape, 10, null, presets.full.classifier.headUnits).model;

test('a buffer handed out by dataSync is never recycled into a later output', async () => {
  await useBackend('native');
  const first = tf.relu(tf.fill([64, 64], 3));
  const seen = first.dataSync();
  first.dispose();
  const second = tf.relu(tf.fill([64, 64], -2));
  const third = tf.add(tf.fill([64, 64], 5), tf.fill([64, 64], 5));
  assert.ok(
    seen.every((value) => value === 3),
    'the array returned by dataSync changed after dispose',
  );
  tf.dispose([second, third]);
});

test('a slice that views a recycled buffer keeps its values', async () => {
  await useBackend('native');
  const whole = tf.relu(tf.fill([1000], 7));
  const part = tf.slice(whole, [0], [500]);
  whole.dispose();
  const other = tf.relu(tf.fill([1000], 9));
  assert.ok(
    (part.dataSync() as Float32Array).every((value) => value === 7),
    'a slice changed after its source was recycled',
  );
  tf.dispose([part, other]);
});

test('a training step of the reference autoencoder leaks no tensors', async () => {
  await useBackend('native');
  const { autoencoder } = buildAutoencoder();
  autoencoder.compile({ optimizer: adam(1e-3), loss: 'meanSquaredError' });
  const x = tf.randomUniform([8, 28, 28, 1]);
  await autoencoder.trainOnBatch(x, x);
  const before = tf.memory().numTensors;
  const loss = await autoencoder.trainOnBatch(x, x);
  assert.equal(tf.memory().numTensors, before);
  assert.ok(Number.isFinite(loss as number));
  x.dispose();
  autoencoder.dispose();
});

test('the fused Adam step gives the stock tfjs Adam weights and state bit for bit, over steps and a rate change', async () => {
  await useBackend('native');
  assert.ok(tf.getKernel('DaeFusedAdam', 'native'), 'the native backend registers the fused Adam kernel');
  const train = async (optimizer: tf.AdamOptimizer) => {
    const model = studyClassifier();
    initializeWeights(model, new Random(5));
    model.compile({ optimizer, loss: 'categoricalCrossentropy' });
    const random = new Random(6);
    for (let step = 0; step < 6; step += 1) {
      if (step === 3) (optimizer as unknown as { learningRate: number }).learningRate = 3e-4;
      const x = tf.tensor4d(
        Float32Array.from({ length: 16 * 784 }, () => random.next()),
        [16, 28, 28, 1],
      );
      const y = tf.oneHot(
        tf.tensor1d(
          Array.from({ length: 16 }, () => random.integer(10)),
          'int32',
        ),
        10,
      );
      const yFloat = tf.cast(y, 'float32');
      await model.trainOnBatch(x, yFloat);
      tf.dispose([x, y, yFloat]);
    }
    const weights = model.getWeights().map((weight) => weight.dataSync().slice());
    const state = await optimizerState(optimizer);
    model.dispose();
    optimizer.dispose();
    return { weights, state };
  };
  const stock = await train(tf.train.adam(2e-3));
  const fused = await train(adam(2e-3));
  assert.equal(fused.weights.length, stock.weights.length);
  fused.weights.forEach((values, index) => assert.deepEqual(values, stock.weights[index], `weight ${index}`));
  // Moments and bias-correction powers; the names differ only by tfjs's per-model suffixes.
  const values = (state: typeof stock.state) => state.map(({ shape, values }) => ({ shape, values }));
  assert.deepEqual(values(fused.state), values(stock.state));
});

test('relu gradient: the one-pass kernel equals tfjs formula dy * step(x), NaN and signed zeros included', async () => {
  await useBackend('native');
  assert.ok(tf.getKernel('DaeReluGradient', 'native'));
  const x = tf.tensor1d([-2, -0, 0, 1e-30, 3, NaN, -Infinity, Infinity, 0.5]);
  const dy = tf.tensor1d([1, -1, 2, -3, 4, 5, 6, -7, NaN]);
  const fused = tf.grad((input: tf.Tensor) => tf.relu(input))(x, dy);
  const formula = tf.mul(dy, tf.cast(tf.step(x), 'float32'));
  const [a, b] = [fused.dataSync(), formula.dataSync()];
  for (let i = 0; i < a.length; i += 1) assert.ok(Object.is(a[i], b[i]), `element ${i}: ${a[i]} vs ${b[i]}`);
  tf.dispose([x, dy, fused, formula]);
});

test('training gives the same weights bit for bit on 1, 2 and 3 threads', async () => {
  const digest = (model: { getWeights(): tf.Tensor[] }) => {
    const hash = createHash('sha256');
    for (const weight of model.getWeights())
      hash.update(new Uint8Array((weight.dataSync() as Float32Array).slice().buffer));
    return hash.digest('hex');
  };
  const trainBoth = async (threads: number) => {
    await useBackend('native', { threads });
    // Batches of 96: every layer's filter gradient and bias sum is split into more ranges than there are threads.
    const random = new Random(11);
    const images = tf.tensor4d(
      Float32Array.from({ length: 96 * 784 }, () => random.next()),
      [96, 28, 28, 1],
    );
    const labels = tf.oneHot(
      tf.tensor1d(
        Array.from({ length: 96 }, (_, index) => index % 10),
        'int32',
      ),
      10,
    );
    const { autoencoder } = buildAutoencoder();
    initializeWeights(autoencoder, new Random(12));
    autoencoder.compile({ optimizer: adam(1e-3), loss: 'meanSquaredError' });
    const model = studyClassifier();
    initializeWeights(model, new Random(13));
    model.compile({ optimizer: adam(1e-3), loss: 'categoricalCrossentropy' });
    for (let step = 0; step < 3; step += 1) {
      await autoencoder.trainOnBatch(images, images);
      await model.trainOnBatch(images, labels);
    }
    const digests = [digest(autoencoder), digest(model)];
    tf.dispose([images, labels]);
    autoencoder.dispose();
    model.dispose();
    return digests;
  };
  try {
    const one = await trainBoth(1);
    assert.deepEqual(await trainBoth(2), one, '2 threads differ from 1');
    assert.deepEqual(await trainBoth(3), one, '3 threads differ from 1');
  } finally {
    await useBackend('native');
  }
});

test('a process that trained on the native backend exits by itself', async () => {
  const script = `
    const tf = await import('@tensorflow/tfjs-core');
    const { useBackend } = await import(${JSON.stringify(fileURLToPath(new URL('../src/backend/index.js', import.meta.url)))});
    const { buildAutoencoder } = await import(${JSON.stringify(fileURLToPath(new URL('../src/model/autoencoder.js', import.meta.url)))});
    await useBackend('native');
    const { autoencoder } = buildAutoencoder();
    autoencoder.compile({ optimizer: tf.train.adam(1e-3), loss: 'meanSquaredError' });
    const x = tf.randomUniform([4, 28, 28, 1]);
    await autoencoder.trainOnBatch(x, x);
  `;
  // Waits for the exit itself, with no clock: a process that never exits shows as this test never ending.
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
    stderr += chunk;
  });
  const [status, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, killedBy) => resolve([code, killedBy]));
  });
  assert.equal(signal, null, `the process was killed by ${signal}:\n${stderr}`);
  assert.equal(status, 0, stderr);
});
