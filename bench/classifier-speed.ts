// Training speed of the study's classifier (scratch, batch 128) on the native backend, for `npm run bench`:
// measureClassifier() in the calling thread; run as a worker thread (workerData: the number of batches), it
// measures on one kernel thread and posts its images/s to the parent.
import { isMainThread, parentPort, workerData } from 'node:worker_threads';
import * as tf from '@tensorflow/tfjs-core';

import { useBackend } from '../src/backend/index.js';
import { Random } from '../src/data/random.js';
import { buildClassifier } from '../src/model/classifier.js';
import { adam } from '../src/train/adam.js';
import { initializeWeights } from '../src/train/weights.js';

/** Images/s of `batches` training steps after 5 to warm up, with `threads` kernel threads (0 = every core). */
export async function measureClassifier(threads: number, batches: number): Promise<number> {
  await useBackend('native', { threads });
  const random = new Random(3);
  const { model } = buildClassifier('scratch', { height: 28, width: 28, codingUnits: 32 }, 10, null);
  initializeWeights(model, random);
  model.compile({ optimizer: adam(2e-3), loss: 'categoricalCrossentropy' });
  const x = tf.tensor4d(Float32Array.from({ length: 128 * 784 }, () => random.next()), [128, 28, 28, 1]);
  const y = tf.cast(tf.oneHot(tf.tensor1d(Array.from({ length: 128 }, (_, index) => index % 10), 'int32'), 10), 'float32');
  for (let step = 0; step < 5; step += 1) await model.trainOnBatch(x, y);
  const started = performance.now();
  for (let step = 0; step < batches; step += 1) await model.trainOnBatch(x, y);
  const seconds = (performance.now() - started) / 1000;
  tf.dispose([x, y]);
  model.dispose();
  return (batches * 128) / seconds;
}

if (!isMainThread && parentPort) {
  parentPort.postMessage(await measureClassifier(1, workerData as number));
}
