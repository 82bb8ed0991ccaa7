// What a classifier does with corrupted input: its test accuracy on corrupted copies of the test images, and on
// what the autoencoder makes of them ("denoise first, then classify"). The corrupted copies are drawn once per
// run (seeded by the run's seed, one stream per corruption), so every classifier of the run sees the same pixels.
import type { LayersModel } from '@tensorflow/tfjs-layers';

import { corrupt } from '../data/noise.js';
import { Random } from '../data/random.js';
import type { ImageSet } from '../data/dataset.js';
import type { NoiseSpec } from '../data/noise.js';
import { predictInBatches } from '../train/batches.js';
import { argmaxRows } from '../train/classifier.js';

/**
 * Test accuracy on corrupted copies of the test images: the classifier on the corrupted images, and ("denoise
 * first, then classify") on what the autoencoder makes of them. Every classifier of a run sees the same corrupted
 * pixels (seeded by the run's seed), so the numbers compare pairwise.
 */
export interface Robustness {
  /** How many test images (the first ones of the test set). */
  images: number;
  /** Accuracy on those images uncorrupted. */
  clean: number;
  corruptions: { noise: NoiseSpec; accuracy: number; denoisedAccuracy?: number }[];
}

/** Mean accuracy over the corruptions, on the corrupted images or on their denoised versions (NaN when absent). */
export function meanCorruptedAccuracy(robustness: Robustness, pipeline: 'corrupted' | 'denoised'): number {
  const values = robustness.corruptions.map((entry) =>
    pipeline === 'corrupted' ? entry.accuracy : (entry.denoisedAccuracy ?? Number.NaN),
  );
  return values.reduce((sum, value) => sum + value, 0) / Math.max(1, values.length);
}

export interface RobustnessSets {
  /** The first `count` test images: [count, H, W] clean, and per corruption the corrupted and the denoised copies. */
  count: number;
  height: number;
  width: number;
  labels: Uint8Array;
  clean: Float32Array;
  corruptions: { noise: NoiseSpec; corrupted: Float32Array; denoised?: Float32Array }[];
}

/**
 * Corrupted copies of the first `limit` test images under each corruption, and (given an autoencoder) their
 * denoised versions. The pixels depend on `seed`, the corruption's position in the list and the image count only,
 * so the denoising check and the classifiers' robustness see the same corrupted images.
 *
 * `denoised`, when given, are the autoencoder's outputs on these same sets from an earlier call (the denoising
 * check's), used instead of running it again.
 */
export function robustnessSets(
  test: ImageSet,
  corruptions: readonly NoiseSpec[],
  seed: number,
  limit: number,
  autoencoder?: LayersModel,
  denoised?: readonly Float32Array[],
): RobustnessSets {
  const count = Math.min(limit, test.count);
  const { height, width } = test;
  const clean = test.images.subarray(0, count * height * width);
  if (
    denoised &&
    (denoised.length !== corruptions.length || denoised.some((images) => images.length !== clean.length))
  ) {
    throw new RangeError(`robustnessSets: expected ${corruptions.length} denoised sets of ${count} images`);
  }
  return {
    count,
    height,
    width,
    clean,
    labels: test.labels.subarray(0, count),
    corruptions: corruptions.map((noise, index) => {
      const corrupted = corrupt(clean, noise, new Random(seed).fork(`robustness-${index}`));
      const restored =
        denoised?.[index] ?? (autoencoder ? predictInBatches(autoencoder, corrupted, count, height, width) : undefined);
      return { noise, corrupted, ...(restored ? { denoised: restored } : {}) };
    }),
  };
}

function accuracy(classifier: LayersModel, images: Float32Array, sets: RobustnessSets, classes: number): number {
  return accuracyOf(predictInBatches(classifier, images, sets.count, sets.height, sets.width), sets, classes);
}

function accuracyOf(probabilities: Float32Array, sets: RobustnessSets, classes: number): number {
  const predicted = argmaxRows(probabilities, classes);
  let right = 0;
  for (let index = 0; index < sets.count; index += 1) if (predicted[index] === sets.labels[index]) right += 1;
  return right / sets.count;
}

/**
 * The classifier's accuracy on the clean, corrupted and (where the sets have them) denoised images.
 * `cleanProbabilities`,
 * when given, are its outputs on the clean images, already computed.
 */
export function robustnessOf(
  classifier: LayersModel,
  sets: RobustnessSets,
  classes: number,
  cleanProbabilities?: Float32Array,
): Robustness {
  return {
    images: sets.count,
    clean: cleanProbabilities
      ? accuracyOf(cleanProbabilities.subarray(0, sets.count * classes), sets, classes)
      : accuracy(classifier, sets.clean, sets, classes),
    corruptions: sets.corruptions.map(({ noise, corrupted, denoised }) => ({
      noise,
      accuracy: accuracy(classifier, corrupted, sets, classes),
      ...(denoised ? { denoisedAccuracy: accuracy(classifier, denoised, sets, classes) } : {}),
    })),
  };
}
