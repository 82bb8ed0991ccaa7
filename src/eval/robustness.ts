// What a classifier does with corrupted input: its test accuracy on corrupted copies of the test images, and on
// what the autoencoder makes of them ("denoise first, then classify"). The corrupted copies are drawn once per
// run (seeded by the run's seed, one stream per corruption), so every classifier of the run sees the same pixels.
import type { LayersModel } from '@tensorflow/tfjs-layers';

import { corrupt } from '../data/noise.js';
import { Random } from '../data/random.js';
import { floatPixels } from '../data/dataset.js';
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
  const sets = uncorrupted(test, limit);
  eachCorruption(sets, corruptions, seed, (corruption) => sets.corruptions.push(corruption), autoencoder, denoised);
  return sets;
}

/** The first `limit` test images as floats, with their labels: robustness sets without corruptions yet. */
export function uncorrupted(test: ImageSet, limit: number): RobustnessSets {
  const count = Math.min(limit, test.count);
  const { height, width } = test;
  return {
    count,
    height,
    width,
    clean: floatPixels(test.images, 0, count * height * width),
    labels: test.labels.subarray(0, count),
    corruptions: [],
  };
}

/**
 * Makes the corruptions of `sets`' clean images one at a time (with their denoised versions, given or made by the
 * autoencoder) and hands each to `use`, which may keep it (robustnessSets) or score it and let it go (the denoising
 * check: then one corruption's images are held at a time, not all of them). Corruption `index` draws from its own
 * stream, so the pixels are the same either way.
 */
export function eachCorruption(
  sets: RobustnessSets,
  corruptions: readonly NoiseSpec[],
  seed: number,
  use: (corruption: RobustnessSets['corruptions'][number], index: number) => void,
  autoencoder?: LayersModel,
  denoised?: readonly Float32Array[],
): void {
  if (
    denoised &&
    (denoised.length !== corruptions.length || denoised.some((images) => images.length !== sets.clean.length))
  ) {
    throw new RangeError(`robustnessSets: expected ${corruptions.length} denoised sets of ${sets.count} images`);
  }
  corruptions.forEach((noise, index) =>
    use(corruptionOf(sets, noise, index, seed, autoencoder, denoised?.[index]), index),
  );
}

/** Corruption `index` of a list on `sets`' clean images, and their denoised version (given, or by `autoencoder`). */
function corruptionOf(
  sets: RobustnessSets,
  noise: NoiseSpec,
  index: number,
  seed: number,
  autoencoder?: LayersModel,
  denoised?: Float32Array,
): RobustnessSets['corruptions'][number] {
  const corrupted = corrupt(sets.clean, noise, new Random(seed).fork(`robustness-${index}`));
  const restored =
    denoised ??
    (autoencoder ? predictInBatches(autoencoder, corrupted, sets.count, sets.height, sets.width) : undefined);
  return { noise, corrupted, ...(restored ? { denoised: restored } : {}) };
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

/** The classifier's accuracy on one corruption's images, and on their denoised versions where there are some. */
function corruptionAccuracy(
  classifier: LayersModel,
  { noise, corrupted, denoised }: RobustnessSets['corruptions'][number],
  sets: RobustnessSets,
  classes: number,
): Robustness['corruptions'][number] {
  return {
    noise,
    accuracy: accuracy(classifier, corrupted, sets, classes),
    ...(denoised ? { denoisedAccuracy: accuracy(classifier, denoised, sets, classes) } : {}),
  };
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
    corruptions: sets.corruptions.map((entry) => corruptionAccuracy(classifier, entry, sets, classes)),
  };
}

/**
 * robustnessOf for several classifiers, scored a corruption at a time, so that one corruption's corrupted and
 * denoised images are held at a time: the same numbers as robustnessOf on robustnessSets. `denoised` hands over the
 * autoencoder's outputs on corruption `index` when they were made before (the denoising check's), else undefined.
 */
export async function robustnessOfEach(
  classifiers: readonly { model: LayersModel; cleanProbabilities?: Float32Array }[],
  test: ImageSet,
  corruptions: readonly NoiseSpec[],
  seed: number,
  limit: number,
  autoencoder?: LayersModel,
  denoised?: (index: number) => Promise<Float32Array | undefined>,
): Promise<Robustness[]> {
  const sets = uncorrupted(test, limit);
  const results = classifiers.map(({ model, cleanProbabilities }) =>
    robustnessOf(model, sets, test.classes, cleanProbabilities),
  );
  for (const [index, noise] of corruptions.entries()) {
    const corruption = corruptionOf(sets, noise, index, seed, autoencoder, await denoised?.(index));
    classifiers.forEach(({ model }, position) =>
      results[position]!.corruptions.push(corruptionAccuracy(model, corruption, sets, test.classes)),
    );
  }
  return results;
}
