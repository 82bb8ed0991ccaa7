// The native backend's own promises: recycled buffers never change what a caller can still see, a training
// step leaks no tensors, and a process that used the thread pool exits by itself.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs-core';

import { useBackend } from '../src/backend/index.js';
import { buildAutoencoder } from '../src/model/autoencoder.js';

test('a buffer handed out by dataSync is never recycled into a later output', async () => {
  await useBackend('native');
  const first = tf.relu(tf.fill([64, 64], 3));
  const seen = first.dataSync();
  first.dispose();
  const second = tf.relu(tf.fill([64, 64], -2));
  const third = tf.add(tf.fill([64, 64], 5), tf.fill([64, 64], 5));
  assert.ok(seen.every((value) => value === 3), 'the array returned by dataSync changed after dispose');
  tf.dispose([second, third]);
});

test('a slice that views a recycled buffer keeps its values', async () => {
  await useBackend('native');
  const whole = tf.relu(tf.fill([1000], 7));
  const part = tf.slice(whole, [0], [500]);
  whole.dispose();
  const other = tf.relu(tf.fill([1000], 9));
  assert.ok((part.dataSync() as Float32Array).every((value) => value === 7), 'a slice changed after its source was recycled');
  tf.dispose([part, other]);
});

test('a training step of the reference autoencoder leaks no tensors', async () => {
  await useBackend('native');
  const { autoencoder } = buildAutoencoder();
  autoencoder.compile({ optimizer: tf.train.adam(1e-3), loss: 'meanSquaredError' });
  const x = tf.randomUniform([8, 28, 28, 1]);
  await autoencoder.trainOnBatch(x, x);
  const before = tf.memory().numTensors;
  const loss = await autoencoder.trainOnBatch(x, x);
  assert.equal(tf.memory().numTensors, before);
  assert.ok(Number.isFinite(loss as number));
  x.dispose();
  autoencoder.dispose();
});

test('a process that trained on the native backend exits by itself', () => {
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
  const result = spawnSync(process.execPath, ['--input-type=module', '-e', script], { timeout: 60_000, encoding: 'utf8' });
  assert.equal(result.signal, null, 'the process had to be killed: it did not exit by itself');
  assert.equal(result.status, 0, result.stderr);
});
