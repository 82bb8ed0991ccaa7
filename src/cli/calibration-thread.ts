// The calibration's thread (calibration.ts): times a few batches of each kind of work on made-up images with the
// real training functions, on one kernel thread, apart from the command's own models and tfjs state.
import { parentPort, workerData } from 'node:worker_threads';

import { useBackend } from '../backend/index.js';
import type { BackendName } from '../backend/index.js';
import { presets } from '../config.js';
import type { ImageSet } from '../data/dataset.js';
import { Random } from '../data/random.js';
import { fitCodeMap } from '../eval/code-map.js';
import { buildAutoencoder, referenceShape } from '../model/autoencoder.js';
import { buildClassifier } from '../model/classifier.js';
import type { EncoderMode } from '../model/classifier.js';
import { trainAutoencoder } from '../train/autoencoder.js';
import { predictInBatches } from '../train/batches.js';
import { trainClassifier } from '../train/classifier.js';
import type { EpochKind, Reporter } from '../train/events.js';
import { initializeWeights } from '../train/weights.js';
import type { MachineSpeeds } from './calibration.js';

const { backend, codeMap, headUnits } = workerData as { backend: BackendName; codeMap: boolean; headUnits: number };
await useBackend(backend, { threads: 1 });
const random = new Random(0);
const imagesOf = (count: number) =>
  ({
    images: Float32Array.from({ length: count * 784 }, () => random.next()),
    labels: Uint8Array.from({ length: count }, (_, index) => index % 10),
    count,
    height: 28,
    width: 28,
    classes: 10,
  }) satisfies ImageSet;
const validation = imagesOf(16);
const autoencoder = buildAutoencoder(referenceShape);
initializeWeights(autoencoder.autoencoder, random.fork('autoencoder'));

/** Seconds per batch of `batchSize` for `kind`: the median gap between batch ends, the first batch left out. */
async function secondsPerBatch(kind: EpochKind, batchSize: number): Promise<number> {
  const ends: number[] = [];
  const reporter: Reporter = (event) => {
    if (event.type === 'batch-end') ends.push(performance.now() / 1000);
  };
  const train = imagesOf(4 * batchSize);
  if (kind === 'autoencoder') {
    const config = { ...presets.full.autoencoder, maxEpochs: 1, patience: 1, batchSize };
    await trainAutoencoder({ autoencoder, train, validation, config, seed: 0, reporter });
  } else {
    const mode: EncoderMode = kind === 'head' ? 'frozen' : 'scratch';
    const classifier = buildClassifier(mode, referenceShape, 10, autoencoder.encoder, headUnits);
    initializeWeights(classifier.model, random.fork(kind));
    const config = {
      ...presets.full.classifier,
      batchSize,
      maxEpochs: 1,
      frozenMaxEpochs: 1,
      warmupEpochs: 0,
      frozenCopies: 0,
    };
    await trainClassifier({
      classifier,
      mode,
      train,
      validation,
      unlabelled: train,
      config,
      seed: 0,
      stage: 'calibration',
      reporter,
    });
    classifier.model.dispose();
  }
  const gaps = ends
    .slice(1)
    .map((end, index) => end - ends[index]!)
    .sort((a, b) => a - b);
  return gaps[Math.floor(gaps.length / 2)] ?? 0;
}

/** Seconds per image passed forward through `model`, after a first pass that compiles its shapes. */
function forwardSeconds(model: Parameters<typeof predictInBatches>[0]): number {
  const images = imagesOf(1000);
  predictInBatches(model, images.images, 100, 28, 28);
  const started = performance.now();
  predictInBatches(model, images.images, images.count, 28, 28);
  return (performance.now() - started) / 1000 / images.count;
}

const epochs = {} as MachineSpeeds['epochs'];
for (const kind of ['autoencoder', 'classifier', 'head'] as const) {
  // Two batch sizes tell a step's fixed cost from its cost per image: small cells train in batches of 16.
  const [small, large] = [await secondsPerBatch(kind, 16), await secondsPerBatch(kind, 128)];
  const perImage = Math.max(0, (large - small) / 112);
  epochs[kind] = { perImage, perStep: Math.max(0, small - 16 * perImage) };
}
const classifier = buildClassifier('scratch', referenceShape, 10, null, headUnits);
const forward: MachineSpeeds['forward'] = {
  autoencoder: forwardSeconds(autoencoder.autoencoder),
  encoder: forwardSeconds(autoencoder.encoder),
  classifier: forwardSeconds(classifier.model),
  codeMap: 0,
};
if (codeMap) {
  const points = 300;
  const started = performance.now();
  fitCodeMap(
    Float32Array.from({ length: points * 32 }, () => random.normal()),
    points,
    Array.from({ length: points }, (_, index) => index % 10),
    0,
  );
  forward.codeMap = (performance.now() - started) / 1000 / points;
}
parentPort?.postMessage({ epochs, forward } satisfies MachineSpeeds);
