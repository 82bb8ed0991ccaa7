// Does the autoencoder work? Scores of the corrupted input, of the denoised output and of the reconstruction
// of clean input, against the clean test images, at the training noise and at other corruptions.
import type { LayersModel } from '@tensorflow/tfjs-layers';

import type { ImageSet } from '../data/dataset.js';
import type { NoiseSpec } from '../data/noise.js';
import { predictInBatches } from '../train/batches.js';
import { reconstructionScores } from './reconstruction.js';
import type { ImageScorer, ReconstructionScores } from './reconstruction.js';
import { robustnessSets } from './robustness.js';

/** The corrupted input, the denoised output and the reconstruction of clean input, each against the clean images. */
export interface DenoisingScores {
  noisy: ReconstructionScores;
  denoised: ReconstructionScores;
  clean: ReconstructionScores;
}

/** The same scores at a corruption other than the training one (no clean reconstruction: it would be the same). */
export interface NoiseLevelScores {
  noise: NoiseSpec;
  noisy: ReconstructionScores;
  denoised: ReconstructionScores;
}

export interface DenoisingResult {
  test: DenoisingScores;
  noiseLevels: NoiseLevelScores[];
  /** The first images of the test set at the training noise, for the figure. */
  examples: { original: Float32Array; corrupted: Float32Array; denoised: Float32Array; count: number };
  /** The autoencoder's outputs on each corrupted test set (training noise first), for the robustness check to reuse. */
  denoised: Float32Array[];
}

/**
 * Scores at the training noise and at each other corruption (by `scorer`, the JavaScript one by default). The
 * corrupted test images are the robustness check's (robustnessSets, with the training noise first), so the
 * evaluation stage can reuse the denoised copies.
 */
export function evaluateDenoising(
  autoencoder: LayersModel,
  test: ImageSet,
  noise: NoiseSpec,
  otherNoise: readonly NoiseSpec[],
  seed: number,
  exampleCount: number,
  scorer?: ImageScorer,
): DenoisingResult {
  const { count, height, width } = test;
  const score = (images: Float32Array) => reconstructionScores(test.images, images, count, height, width, scorer);
  const sets = robustnessSets(test, [noise, ...otherNoise], seed, count, autoencoder);
  const runs = sets.corruptions.map(({ corrupted, denoised }) => ({ corrupted, denoised: denoised! }));
  const main = runs[0]!;
  const clean = predictInBatches(autoencoder, test.images, count, height, width);
  const pixels = height * width;
  const shown = Math.min(exampleCount, count);
  return {
    test: { noisy: score(main.corrupted), denoised: score(main.denoised), clean: score(clean) },
    noiseLevels: otherNoise.map((spec, index) => {
      const result = runs[index + 1]!;
      return { noise: spec, noisy: score(result.corrupted), denoised: score(result.denoised) };
    }),
    examples: {
      original: test.images.slice(0, shown * pixels),
      corrupted: main.corrupted.slice(0, shown * pixels),
      denoised: main.denoised.slice(0, shown * pixels),
      count: shown,
    },
    denoised: runs.map((run) => run.denoised),
  };
}
