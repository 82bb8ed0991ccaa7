// Does the autoencoder work? Scores of the corrupted input, of the denoised output and of the reconstruction
// of clean input, against the clean test images, at the training noise and at other corruptions.
import type { LayersModel } from '@tensorflow/tfjs-layers';

import { corrupt } from '../data/noise.js';
import { Random } from '../data/random.js';
import type { ImageSet } from '../data/dataset.js';
import type { Metrics, NoiseSpec } from '../metrics.js';
import { predictInBatches } from '../train/batches.js';
import { reconstructionScores } from './reconstruction.js';

export interface DenoisingResult {
  test: Metrics['autoencoder']['test'];
  noiseLevels: Metrics['autoencoder']['noiseLevels'];
  /** The first images of the test set at the training noise, for the figure. */
  examples: { original: Float32Array; corrupted: Float32Array; denoised: Float32Array; count: number };
}

export function evaluateDenoising(autoencoder: LayersModel, test: ImageSet, noise: NoiseSpec, otherNoise: readonly NoiseSpec[],
  seed: number, exampleCount: number): DenoisingResult {
  const { count, height, width } = test;
  const score = (images: Float32Array) => reconstructionScores(test.images, images, count, height, width);
  const run = (spec: NoiseSpec, label: string) => {
    const corrupted = corrupt(test.images, spec, new Random(seed).fork(`test-noise-${label}`));
    return { corrupted, denoised: predictInBatches(autoencoder, corrupted, count, height, width) };
  };
  const main = run(noise, 'training');
  const clean = predictInBatches(autoencoder, test.images, count, height, width);
  const pixels = height * width;
  const shown = Math.min(exampleCount, count);
  return {
    test: { noisy: score(main.corrupted), denoised: score(main.denoised), clean: score(clean) },
    noiseLevels: otherNoise.map((spec, index) => {
      const result = run(spec, `level-${index}`);
      return { noise: spec, noisy: score(result.corrupted), denoised: score(result.denoised) };
    }),
    examples: {
      original: test.images.slice(0, shown * pixels),
      corrupted: main.corrupted.slice(0, shown * pixels),
      denoised: main.denoised.slice(0, shown * pixels),
      count: shown,
    },
  };
}
