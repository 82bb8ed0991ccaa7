// Index splits: a stratified train/validation split, and nested label subsets for the
// "how much do labels matter" comparison. Everything returns sorted Int32Array indices into the
// original set and depends only on the labels, the requested sizes and the seed.

import { Random } from './random.js';

/** A split that cannot be made: sizes out of range or indices that do not fit the labels. */
export class SplitError extends Error {
  override readonly name = 'SplitError';
  /** What cannot be done, without the hint. */
  readonly problem: string;
  readonly hint: string;

  constructor(problem: string, hint: string) {
    super(`${problem} — ${hint}`);
    this.problem = problem;
    this.hint = hint;
  }
}

export interface TrainValidationSplit {
  trainIndices: Int32Array;
  validationIndices: Int32Array;
}

/**
 * Holds out `validationCount` examples for validation, stratified by class: each class contributes
 * in proportion to its frequency (largest-remainder rounding, at least one per class when
 * validationCount ≥ number of classes), chosen at random within the class.
 */
export function splitTrainValidation(
  labels: ArrayLike<number>,
  validationCount: number,
  seed: number,
): TrainValidationSplit {
  if (!Number.isInteger(validationCount) || validationCount <= 0 || validationCount >= labels.length) {
    throw new SplitError(
      `validation size must be an integer from 1 to ${labels.length - 1} (the set has ${labels.length} examples), got ${validationCount}`,
      'choose a smaller validation set, leaving some examples to train on',
    );
  }
  const allIndices = Int32Array.from({ length: labels.length }, (_, index) => index);
  const groups = groupByClass(labels, allIndices);
  const random = new Random(seed).fork('train-validation-split');
  for (const group of groups) random.shuffle(group);
  const quotas = allocateQuotas(
    groups.map((group) => group.length),
    validationCount,
    new Array<number>(groups.length).fill(0),
  );
  const validation: number[] = [];
  const train: number[] = [];
  groups.forEach((group, classPosition) => {
    const quota = quotas[classPosition] ?? 0;
    group.forEach((index, rank) => (rank < quota ? validation : train).push(index));
  });
  return { trainIndices: sortedIndices(train), validationIndices: sortedIndices(validation) };
}

/**
 * Nested, class-stratified subsets of `pool`, one per entry of `counts` (returned in the same order):
 * every smaller subset is contained in every larger one, so a 10% run sees a subset of the labels
 * of a 50% run. Per-class sizes follow class frequency in the pool with largest-remainder rounding,
 * so each total is exact; with at least as many examples as classes every class gets one or more,
 * and with fewer, the examples go to distinct classes. When plain largest-remainder rounding would
 * shrink a class from one count to the next (the "Alabama paradox"), the smaller quota is kept and
 * another class gives up the example, because nesting takes priority.
 */
export function stratifiedSubsets(
  labels: ArrayLike<number>,
  pool: Int32Array,
  counts: readonly number[],
  seed: number,
): Int32Array[] {
  requireUniqueIndices(pool, labels.length);
  for (const count of counts) {
    if (!Number.isInteger(count) || count <= 0 || count > pool.length) {
      throw new SplitError(
        `subset size must be an integer from 1 to ${pool.length} (the pool size), got ${count}`,
        'ask for fewer labelled examples or a larger pool',
      );
    }
  }
  const groups = groupByClass(labels, pool);
  const random = new Random(seed).fork('label-subsets');
  // One shuffled order per class; every subset takes a prefix of it, which is what makes them nested.
  for (const group of groups) random.shuffle(group);
  const sizes = groups.map((group) => group.length);
  const ascending = counts.map((count, position) => ({ count, position })).sort((a, b) => a.count - b.count);
  const subsets = new Array<Int32Array>(counts.length);
  let previous = new Array<number>(groups.length).fill(0);
  for (const { count, position } of ascending) {
    const quotas = allocateQuotas(sizes, count, previous);
    subsets[position] = sortedIndices(
      groups.flatMap((group, classPosition) => group.slice(0, quotas[classPosition] ?? 0)),
    );
    previous = quotas;
  }
  return subsets;
}

/** How many of `poolSize` examples a label fraction in (0, 1] means: rounded, and at least one. */
export function countForFraction(poolSize: number, fraction: number): number {
  if (!Number.isInteger(poolSize) || poolSize <= 0) {
    throw new SplitError(
      `pool size must be a positive integer, got ${poolSize}`,
      'check the training set is not empty',
    );
  }
  if (!Number.isFinite(fraction) || fraction <= 0 || fraction > 1) {
    throw new SplitError(`label fraction must be in (0, 1], got ${fraction}`, 'pass e.g. 0.1 for 10% of the labels');
  }
  return Math.max(1, Math.round(poolSize * fraction));
}

/** The indices of `pool` grouped by label, in ascending label order, each group ascending. */
function groupByClass(labels: ArrayLike<number>, pool: Int32Array): number[][] {
  const byLabel = new Map<number, number[]>();
  for (const index of pool) {
    const label = labels[index];
    if (label === undefined || !Number.isInteger(label) || label < 0) {
      throw new SplitError(
        `label at index ${index} is ${String(label)}, not a non-negative integer`,
        'labels must be class numbers 0, 1, 2, ...',
      );
    }
    const group = byLabel.get(label);
    if (group === undefined) byLabel.set(label, [index]);
    else group.push(index);
  }
  // Sorting makes the result depend on the pool's contents, not on the order it was listed in.
  return [...byLabel.entries()]
    .sort(([labelA], [labelB]) => labelA - labelB)
    .map(([, group]) => group.sort((a, b) => a - b));
}

function requireUniqueIndices(pool: Int32Array, size: number): void {
  const seen = new Uint8Array(size);
  for (const index of pool) {
    if (index < 0 || index >= size) {
      throw new SplitError(
        `pool index ${index} is outside the ${size} labels`,
        'build the pool from the same label set',
      );
    }
    if (seen[index] === 1) {
      throw new SplitError(`pool lists index ${index} twice`, 'pass each example at most once');
    }
    seen[index] = 1;
  }
}

/**
 * Per-class quotas summing exactly to `total`: proportional to class size, floor then largest
 * remainder, never below `minimum` (the previous, smaller subset's quotas), at least 1 per class
 * when total ≥ number of classes, at most 1 per class when total < number of classes, never above
 * the class size. Feasible whenever `minimum` came from this function with a smaller total.
 */
function allocateQuotas(sizes: readonly number[], total: number, minimum: readonly number[]): number[] {
  const classes = sizes.length;
  const poolSize = sizes.reduce((sum, size) => sum + size, 0);
  const lower = sizes.map((_, c) => Math.max(minimum[c] ?? 0, total >= classes ? 1 : 0));
  const upper = sizes.map((size) => (total < classes ? Math.min(1, size) : size));
  // Class c's exact share is total·size/poolSize. Shares and remainders are compared as the integers
  // total·size - quota·poolSize (exact below 2^53), because rounded quotients can break ties the wrong
  // way (8·2/12 and 8·5/12 have equal remainders, but not as doubles).
  const scaledShares = sizes.map((size) => total * size);
  const quotas = scaledShares.map((share, c) =>
    Math.min(upper[c] ?? 0, Math.max(lower[c] ?? 0, integerQuotient(share, poolSize))),
  );
  const excess = (c: number): number => (scaledShares[c] ?? 0) - (quotas[c] ?? 0) * poolSize;
  let missing = total - quotas.reduce((sum, quota) => sum + quota, 0);
  // Hand out what the floors left over, largest remainder first (ties to the lower class)...
  while (missing > 0) {
    let best = -1;
    for (let c = 0; c < classes; c += 1) {
      if ((quotas[c] ?? 0) >= (upper[c] ?? 0)) continue;
      if (best < 0 || excess(c) > excess(best)) best = c;
    }
    if (best < 0) throw new Error('allocateQuotas: no class can take another example (bounds are infeasible)');
    quotas[best] = (quotas[best] ?? 0) + 1;
    missing -= 1;
  }
  // ...or take back what the lower bounds added, from the classes furthest above their share.
  while (missing < 0) {
    let best = -1;
    for (let c = 0; c < classes; c += 1) {
      if ((quotas[c] ?? 0) <= (lower[c] ?? 0)) continue;
      if (best < 0 || excess(c) <= excess(best)) best = c;
    }
    if (best < 0) throw new Error('allocateQuotas: no class can give up an example (bounds are infeasible)');
    quotas[best] = (quotas[best] ?? 0) - 1;
    missing += 1;
  }
  return quotas;
}

/** floor(numerator / denominator) for non-negative integers, corrected for rounding of the division. */
function integerQuotient(numerator: number, denominator: number): number {
  let quotient = Math.floor(numerator / denominator);
  if (quotient * denominator > numerator) quotient -= 1;
  else if ((quotient + 1) * denominator <= numerator) quotient += 1;
  return quotient;
}

function sortedIndices(indices: readonly number[]): Int32Array {
  return Int32Array.from(indices).sort();
}
