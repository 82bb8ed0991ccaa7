// Semi-supervised training with FixMatch (Sohn et al., 2020, https://arxiv.org/abs/2001.07685): each step trains on
// a batch of labelled images and `unlabelledRatio` times as many unlabelled ones. An unlabelled image's target is
// the class the model itself gives a weakly distorted view of it, kept only when that prediction is confident; the
// model learns to give the same class to a strongly distorted and corrupted view. Our distortions (data/augment.ts)
// and corruptions (data/noise.ts) are the augmentations.
//
// The step is the ordinary training step on one batch: the labelled rows, then the strong views, with target rows
// weighted so that the batch's mean loss is FixMatch's loss (the step's cross-entropy gradient is p * sum(t) - t,
// so a row scaled by w weighs w times and an all-zero row, an unconfident pseudo-label, not at all).
import type { LayersModel } from '@tensorflow/tfjs-layers';

import { augmentImages } from '../data/augment.js';
import type { AugmentationSpec, BatchWarp } from '../data/augment.js';
import type { ImageSet } from '../data/dataset.js';
import { corruptions } from '../data/noise.js';
import type { NoiseSpec } from '../data/noise.js';
import type { Random } from '../data/random.js';
import { alternatingBuffers, gatherImages, predictInPasses, predictRows, shuffledOrder } from './batches.js';
import { nativePredictor } from './training-step.js';
import type { Batch, TrainingStep } from './training-step.js';
import { restoreWeights, snapshotWeights } from './weights.js';
import type { WeightAverage } from './weights.js';

/** The config's semi-supervised section: FixMatch's settings. */
export interface SemiSupervisedConfig {
  /** Labelled images per step. */
  labelledBatchSize: number;
  /** Unlabelled images per step, as a multiple of the labelled ones (FixMatch's μ). */
  unlabelledRatio: number;
  /** A pseudo-label counts only when the weak view's top probability is at least this (FixMatch's τ). */
  threshold: number;
  /**
   * 'curriculum': each class's threshold is τ scaled by how many unlabelled images the model already labels that
   * class confidently (FlexMatch, Zhang et al., 2021, https://arxiv.org/abs/2110.08263), so classes it learns late
   * are not starved of pseudo-labels; 'fixed': τ for every class, as FixMatch has it.
   */
  thresholds: 'fixed' | 'curriculum';
  /** The unlabelled loss's weight against the labelled one (FixMatch's λ). */
  unlabelledWeight: number;
  /** The weak view's distortion (the labelled images get the classifier's own augmentation). */
  weakAugmentation: AugmentationSpec;
  /** The strong view's distortion; then one of `strongCorruptions` per image, at a random amount up to its own. */
  strongAugmentation: AugmentationSpec;
  strongCorruptions: NoiseSpec[];
  /** The weights validated and kept are this moving average of the trained ones, updated each step (0 = none). */
  averageDecay: number;
  /** The average labels the weak views, not the trained weights (needs averageDecay > 0). */
  teacher: boolean;
  /** Steps between two validations: FixMatch's "epoch". */
  stepsPerEpoch: number;
  /**
   * Epochs, all trained: the schedule is fixed in advance and the final average is kept, as FixMatch's paper does.
   * Choosing an epoch on a validation split as small as the labelled set (100 images in the sweep) picks noise.
   */
  epochs: number;
}

/**
 * Weak views the model labels per forward pass on the addon. Right after a training step, five passes of 64 rows
 * took 10% less time than one of 320 (probably: a smaller pass's activations stay in cache), and two FixMatch runs
 * side by side 2-5% less; the pseudo-labels are the same bits (predictInPasses).
 */
const weakViewsPerPass = 64;

/** The images of one step, made while the previous step runs: they need no model. */
interface Views {
  /** The labelled rows (distorted), then the strong views: the step's input. */
  x: Float32Array;
  labels: Uint8Array;
  /** The weak views of the unlabelled images, to be labelled by the model just before the step. */
  weak: Float32Array;
  unlabelledIndices: Int32Array;
}

/**
 * Strongly distorts `images` and corrupts each with one corruption, at up to its amount, drawn per image; in `out`
 * when given.
 */
export function strongViews(
  images: Float32Array,
  count: number,
  height: number,
  width: number,
  config: Pick<SemiSupervisedConfig, 'strongAugmentation' | 'strongCorruptions'>,
  random: Random,
  warp: BatchWarp,
  out?: Float32Array,
): Float32Array {
  const distorted = augmentImages(images, count, height, width, config.strongAugmentation, random, warp, out);
  const pixels = height * width;
  const view = distorted === images ? distorted.slice() : distorted;
  const kinds = config.strongCorruptions.length;
  for (let n = 0; n < count && kinds > 0; n += 1) {
    const noise = config.strongCorruptions[random.integer(kinds)]!;
    const image = view.subarray(n * pixels, (n + 1) * pixels);
    corruptions[noise.kind].apply(image, image, noise.amount * random.next(), random);
  }
  return view;
}

/**
 * FixMatch's targets for one step: one-hot labels for the labelled rows, each weighted 1 / labelled of the batch's
 * mean; then for each unlabelled row, the class the model gives its weak view when that is at least `threshold`
 * likely (else zeros), weighted unlabelledWeight / unlabelled. Returns the targets and the confident share.
 */
export function fixMatchTargets(
  labels: Uint8Array,
  weakProbabilities: Float32Array,
  classes: number,
  config: Pick<SemiSupervisedConfig, 'threshold' | 'unlabelledWeight'>,
  classThresholds?: Float64Array,
): { target: Float32Array; confident: number } {
  const labelled = labels.length;
  const unlabelled = weakProbabilities.length / classes;
  const count = labelled + unlabelled;
  const target = new Float32Array(count * classes);
  labels.forEach((label, row) => {
    target[row * classes + label] = count / labelled;
  });
  let confident = 0;
  const weight = (config.unlabelledWeight * count) / unlabelled;
  for (let n = 0; n < unlabelled; n += 1) {
    let best = 0;
    for (let c = 1; c < classes; c += 1)
      if ((weakProbabilities[n * classes + c] as number) > (weakProbabilities[n * classes + best] as number)) best = c;
    const threshold = classThresholds ? (classThresholds[best] as number) : config.threshold;
    if ((weakProbabilities[n * classes + best] as number) < threshold) continue;
    target[(labelled + n) * classes + best] = weight;
    confident += 1;
  }
  return { target, confident: unlabelled === 0 ? 0 : confident / unlabelled };
}

/**
 * FlexMatch's class thresholds, kept over a run: each unlabelled image's latest class predicted with at least τ
 * (−1 not drawn yet, −2 none yet); a class's share of those, against the largest class's (or the drawn images with
 * none, while they are more), sets its threshold τ·β/(2 − β), low for classes the model rarely predicts confidently.
 */
export class CurriculumThresholds {
  private readonly learnt: Int8Array;
  private readonly counts: Int32Array;
  private seen = 0;
  readonly thresholds: Float64Array;

  constructor(
    unlabelled: number,
    private readonly classes: number,
    private readonly threshold: number,
  ) {
    this.learnt = new Int8Array(unlabelled).fill(-1);
    this.counts = new Int32Array(classes);
    this.thresholds = new Float64Array(classes);
    this.update();
  }

  /** Records the weak views' predictions of unlabelled images `indices`, then sets the thresholds again. */
  record(indices: Int32Array, probabilities: Float32Array): void {
    const classes = this.classes;
    indices.forEach((index, n) => {
      if (this.learnt[index] === -1) {
        this.learnt[index] = -2;
        this.seen += 1;
      }
      let best = 0;
      for (let c = 1; c < classes; c += 1)
        if ((probabilities[n * classes + c] as number) > (probabilities[n * classes + best] as number)) best = c;
      if ((probabilities[n * classes + best] as number) < this.threshold) return;
      const previous = this.learnt[index] as number;
      if (previous >= 0) this.counts[previous] = (this.counts[previous] as number) - 1;
      this.learnt[index] = best;
      this.counts[best] = (this.counts[best] as number) + 1;
    });
    this.update();
  }

  private update(): void {
    let learnt = 0,
      largest = 0;
    for (const count of this.counts) {
      learnt += count;
      largest = Math.max(largest, count);
    }
    // Images not yet drawn are not counted as unused: with few unlabelled images a step, they would keep every
    // threshold near 0 for several epochs, and every wrong pseudo-label would count.
    const scale = Math.max(largest, this.seen - learnt, 1);
    this.counts.forEach((count, c) => {
      const beta = count / scale;
      this.thresholds[c] = (this.threshold * beta) / (2 - beta);
    });
  }
}

export interface FixMatchEpoch {
  model: LayersModel;
  step: TrainingStep;
  labelled: ImageSet;
  unlabelled: ImageSet;
  config: SemiSupervisedConfig;
  /** The distortion of the labelled images. */
  augmentation: AugmentationSpec;
  random: Random;
  warp: BatchWarp;
  /** The run's class thresholds when config.thresholds is 'curriculum'. */
  curriculum: CurriculumThresholds | null;
  /** Updated after each step. */
  average: WeightAverage | null;
  /** Whether the average, rather than the trained weights, labels the weak views. */
  teacher: boolean;
  done: (batch: number, loss: number, count: number) => void;
  beforeBatch?: () => void;
}

/**
 * One FixMatch epoch: `stepsPerEpoch` steps. The next step's images are distorted while a step runs; its weak views
 * are labelled by the model only once that step has finished, so each pseudo-label comes from the latest weights.
 * Returns the share of unlabelled images whose pseudo-label was confident enough to count.
 */
export async function fixMatchEpoch(options: FixMatchEpoch): Promise<number> {
  const { model, step, labelled, unlabelled, config, random, warp } = options;
  const { height, width, classes } = labelled;
  const pixels = height * width;
  const perStep = config.labelledBatchSize;
  const unlabelledPerStep = perStep * config.unlabelledRatio;
  const labelledOrder = shuffledOrder(labelled.count, random);
  const unlabelledOrder = shuffledOrder(unlabelled.count, random);
  const take = (order: Int32Array, start: number, size: number) =>
    Int32Array.from({ length: size }, (_, index) => order[(start + index) % order.length] as number);
  // Buffers kept for the epoch. The step's input alternates between two (the step reads one while the next is
  // made); the gathered rows and the weak views are used up before the next step's are made.
  const labelledCount = Math.min(perStep, labelled.count);
  const labelledRows = new Float32Array(labelledCount * pixels);
  const unlabelledRows = new Float32Array(unlabelledPerStep * pixels);
  const weak = new Float32Array(unlabelledPerStep * pixels);
  const inputFloats = (labelledCount + unlabelledPerStep) * pixels;
  const inputs = alternatingBuffers(inputFloats);
  const viewsOf = (batch: number): Views => {
    const labelledIndices = take(labelledOrder, batch * perStep, labelledCount);
    const unlabelledIndices = take(unlabelledOrder, batch * unlabelledPerStep, unlabelledPerStep);
    const x = inputs(batch, inputFloats);
    gatherImages(labelled.images, pixels, labelledIndices, labelledRows);
    augmentImages(labelledRows, labelledCount, height, width, options.augmentation, random, warp, x);
    gatherImages(unlabelled.images, pixels, unlabelledIndices, unlabelledRows);
    augmentImages(unlabelledRows, unlabelledPerStep, height, width, config.weakAugmentation, random, warp, weak);
    strongViews(
      unlabelledRows,
      unlabelledPerStep,
      height,
      width,
      config,
      random,
      warp,
      x.subarray(labelledCount * pixels),
    );
    const labels = Uint8Array.from(labelledIndices, (index) => labelled.labels[index] as number);
    return { x, labels, weak, unlabelledIndices };
  };
  const native = nativePredictor(model);
  const weakProbabilities = new Float32Array(unlabelledPerStep * classes);
  // With an average, it labels the weak views (Mean Teacher's targets, Tarvainen and Valpola, 2017): its weights
  // move less with each batch's own mistakes than the trained ones.
  const teacher = options.average && options.teacher ? options.average : null;
  const teacherWeights = teacher?.byVariable();
  const predict = (weak: Float32Array): Float32Array => {
    if (native) {
      predictInPasses(native, weak, unlabelledPerStep, pixels, weakViewsPerPass, weakProbabilities, teacherWeights);
      return weakProbabilities;
    }
    if (!teacher) return predictRows(model, weak, unlabelledPerStep, [height, width, 1]);
    const live = snapshotWeights(model);
    restoreWeights(model, teacher.values);
    try {
      return predictRows(model, weak, unlabelledPerStep, [height, width, 1]);
    } finally {
      restoreWeights(model, live);
    }
  };
  let confidentSum = 0;
  let views = viewsOf(0);
  try {
    for (let batch = 0; batch < config.stepsPerEpoch; batch += 1) {
      options.beforeBatch?.();
      const probabilities = predict(views.weak);
      const { target, confident } = fixMatchTargets(
        views.labels,
        probabilities,
        classes,
        config,
        options.curriculum?.thresholds,
      );
      options.curriculum?.record(views.unlabelledIndices, probabilities);
      confidentSum += confident;
      const batchRows: Batch = { x: views.x, target, count: views.labels.length + unlabelledPerStep };
      const pending = step(batchRows.x, batchRows.target, batchRows.count);
      let next: Views | null = null;
      try {
        if (batch + 1 < config.stepsPerEpoch) next = viewsOf(batch + 1);
      } finally {
        // Whatever throws, no step is left running when the caller touches the model again.
        const loss = await pending;
        options.average?.update();
        options.done(batch, loss, batchRows.count);
      }
      if (next) views = next;
    }
  } finally {
    native?.dispose();
  }
  return confidentSum / config.stepsPerEpoch;
}
