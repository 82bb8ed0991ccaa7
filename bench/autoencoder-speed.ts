// Training speed of the reference autoencoder, for `npm run bench`: the study's training step on synthetic
// digit-shaped images with a fresh corruption every batch, on any backend.
import type { ConcreteBackendName } from '../src/backend/index.js';
import { useBackend } from '../src/backend/index.js';
import { corrupt } from '../src/data/noise.js';
import { Random } from '../src/data/random.js';
import { buildAutoencoder } from '../src/model/autoencoder.js';
import { adam } from '../src/train/adam.js';
import { trainBatches, trainingStep } from '../src/train/training-step.js';

/** Images shaped like MNIST digits: a smooth blob per image, so the noise and loss behave as on real data. */
function syntheticImages(count: number, random: Random): Float32Array {
  const images = new Float32Array(count * 784);
  for (let n = 0; n < count; n += 1) {
    const cy = 8 + random.next() * 12,
      cx = 8 + random.next() * 12,
      radius = 3 + random.next() * 4;
    for (let y = 0; y < 28; y += 1) {
      for (let x = 0; x < 28; x += 1) {
        const d = Math.hypot(y - cy, x - cx);
        images[n * 784 + y * 28 + x] = Math.max(0, Math.min(1, (radius - Math.abs(d - radius)) / 2));
      }
    }
  }
  return images;
}

/** detail: what ran the kernels (for native, the x86-64 build the loader chose and where it came from). */
export interface Measurement {
  backend: ConcreteBackendName;
  detail: string;
  threads: number;
  batches: number;
  batchSize: number;
  imagesPerSecond: number;
}

/**
 * Training steps as the study runs them (the native whole step on `native`, trainOnBatch elsewhere) with `threads`
 * kernel threads (0 = every core) for at least `seconds` and `minimumBatches`, after two to warm up.
 */
export async function measureTraining(
  backend: ConcreteBackendName,
  threads: number,
  seconds: number,
  size: number,
  minimumBatches = 1,
): Promise<Measurement> {
  const info = await useBackend(backend, { threads });
  const random = new Random(1);
  const clean = syntheticImages(size, random);
  const { autoencoder } = buildAutoencoder();
  const optimizer = adam(1e-3);
  autoencoder.compile({ optimizer, loss: 'meanSquaredError' });
  const step = trainingStep(autoencoder, optimizer, 'meanSquaredError');
  // A fresh corruption every step, as in training (and in the peer), made while the previous step runs, as the
  // training loop makes it.
  const run = (count: number) =>
    trainBatches(
      step,
      count,
      () => ({ x: corrupt(clean, { kind: 'salt-and-pepper', amount: 0.2 }, random), target: clean, count: size }),
      () => undefined,
    );
  if (backend !== 'cpu') await run(2);
  let batches = 0;
  const start = performance.now();
  while (batches < minimumBatches || performance.now() - start < seconds * 1000) {
    const chunk = backend === 'cpu' ? 1 : 5;
    await run(chunk);
    batches += chunk;
  }
  const elapsed = (performance.now() - start) / 1000;
  autoencoder.dispose();
  optimizer.dispose();
  return {
    backend,
    detail: info.detail,
    threads: info.threads,
    batches,
    batchSize: size,
    imagesPerSecond: (batches * size) / elapsed,
  };
}
