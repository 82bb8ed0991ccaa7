// Does the autoencoder work? Scores of the corrupted input, of the denoised output and of the reconstruction
// of clean input, against the clean test images, at the training noise and at other corruptions.
import type { LayersModel } from '@tensorflow/tfjs-layers';

import type { ImageSet } from '../data/dataset.js';
import type { NoiseSpec } from '../data/noise.js';
import { predictInBatches } from '../train/batches.js';
import { reconstructionScores } from './reconstruction.js';
import type { ImageScorer, ReconstructionScores } from './reconstruction.js';
import { eachCorruption, uncorrupted } from './robustness.js';

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
  /**
   * The autoencoder's outputs on each corrupted test set (training noise first), for the robustness check to reuse;
   * empty when `keepDenoised` took each as it was made.
   */
  denoised: Float32Array[];
}

/**
 * Scores at the training noise and at each other corruption (by `scorer`, the JavaScript one by default). The
 * corrupted test images are the robustness check's (eachCorruption, with the training noise first), so the
 * evaluation stage can reuse the denoised copies; each corrupted set is scored and let go before the next is made.
 */
export function evaluateDenoising(
  autoencoder: LayersModel,
  test: ImageSet,
  noise: NoiseSpec,
  otherNoise: readonly NoiseSpec[],
  seed: number,
  exampleCount: number,
  scorer?: ImageScorer,
  keepDenoised?: (images: Float32Array, index: number) => void,
): DenoisingResult {
  const { count, height, width } = test;
  const sets = uncorrupted(test, count);
  const score = (images: Float32Array) => reconstructionScores(sets.clean, images, count, height, width, scorer);
  const pixels = height * width;
  const shown = Math.min(exampleCount, count);
  const scores: { noisy: ReconstructionScores; denoised: ReconstructionScores }[] = [];
  const denoised: Float32Array[] = [];
  let examples: Pick<DenoisingResult['examples'], 'corrupted' | 'denoised'> | null = null;
  eachCorruption(
    sets,
    [noise, ...otherNoise],
    seed,
    (corruption, index) => {
      const restored = corruption.denoised!;
      scores.push({ noisy: score(corruption.corrupted), denoised: score(restored) });
      // Seven sets of 10,000 images are 219 MB: handed on one by one, they need not all be held at once.
      if (keepDenoised) keepDenoised(restored, index);
      else denoised.push(restored);
      examples ??= {
        corrupted: corruption.corrupted.slice(0, shown * pixels),
        denoised: restored.slice(0, shown * pixels),
      };
    },
    autoencoder,
  );
  const [main, ...others] = scores;
  return {
    test: { ...main!, clean: score(predictInBatches(autoencoder, sets.clean, count, height, width)) },
    noiseLevels: others.map((result, index) => ({ noise: otherNoise[index]!, ...result })),
    examples: { original: sets.clean.slice(0, shown * pixels), ...examples!, count: shown },
    denoised,
  };
}
