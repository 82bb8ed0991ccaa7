// Training speed of the study's classifier (scratch, batch 128) on the native backend, for `npm run bench`:
// measureClassifier() in the calling thread; run as a worker thread (workerData: the seconds to measure), it
// measures on one kernel thread and posts its images/s to the parent.
import { isMainThread, parentPort, workerData } from 'node:worker_threads';

import { useBackend } from '../src/backend/index.js';
import { Random } from '../src/data/random.js';
import { buildClassifier, referenceHeadUnits } from '../src/model/classifier.js';
import { adam } from '../src/train/adam.js';
import { trainBatches, trainingStep } from '../src/train/training-step.js';
import { initializeWeights } from '../src/train/weights.js';

/**
 * Images/s of training steps as the study runs them (the native whole step), for `seconds` after 5 steps to
 * warm up, with `threads` kernel threads (0 = every core).
 */
export async function measureClassifier(threads: number, seconds: number): Promise<number> {
  await useBackend('native', { threads });
  const random = new Random(3);
  const { model } = buildClassifier(
    'scratch',
    { height: 28, width: 28, codingUnits: 32 },
    10,
    null,
    referenceHeadUnits,
  );
  initializeWeights(model, random);
  const optimizer = adam(2e-3);
  model.compile({ optimizer, loss: 'categoricalCrossentropy' });
  const step = trainingStep(model, optimizer, 'categoricalCrossentropy');
  const x = Float32Array.from({ length: 128 * 784 }, () => random.next());
  const y = new Float32Array(128 * 10);
  for (let row = 0; row < 128; row += 1) y[row * 10 + (row % 10)] = 1;
  const run = (count: number) =>
    trainBatches(
      step,
      count,
      () => ({ x, target: y, count: 128 }),
      () => undefined,
    );
  await run(5);
  let images = 0;
  const started = performance.now();
  while (performance.now() - started < seconds * 1000) {
    await run(10);
    images += 10 * 128;
  }
  const elapsed = (performance.now() - started) / 1000;
  model.dispose();
  optimizer.dispose();
  return images / elapsed;
}

if (!isMainThread && parentPort) {
  parentPort.postMessage(await measureClassifier(1, workerData as number));
}
