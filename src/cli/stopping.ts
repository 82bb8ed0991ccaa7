// When early stopping will end a classifier run: where its best validation epoch is expected, before any similar run
// has finished (a prior fitted offline on finished runs) and as finished runs correct it. Pure.
//
// The prior is fitted on finished runs read from run folders (scripts/fit-stopping.mjs), of the recipe in use: the
// whole-network rate 3e-3 after 1 warm-up epoch (the recipe before it, 2e-3 after 3, stopped small runs sooner). Its
// runs: two label sweeps' default grids (54 cells each: 100 to 6,000 and all 55,000 labels, budgets of at least
// 1,500 steps) and the pretraining ablation's default grid (135 cells, at least 1,000 steps), on two of this
// recipe's studies, and those studies' six classifiers each. Only the runs that early stopping ended before their
// budget were fitted (best epoch = epochs trained - patience, or the recorded best): 98 whole-network and 63 frozen
// ones. Before it, a prior fitted the same way on the earlier recipe's runs (76 / steps^0.31, frozen 63) put the
// best epoch of this recipe's whole-network cells of 100 labels 13% to 26% early (42 against medians of 48, 51.5
// and 56.5 in the three grids), and a held-out sweep's estimate at three quarters of its time 22% short.
import type { PlannedRun } from '../train/events.js';

export const sum = (values: number[]) => values.reduce((total, value) => total + value, 0);

export const maxEpochsOf = (plan: PlannedRun) => sum(plan.epochs.map((phase) => phase.count));

/** Whether early stopping could end the run before its last epoch at all. */
export const canStopEarly = (plan: PlannedRun) => plan.patience !== null && plan.firstStoppingEpoch - 1 + plan.patience < maxEpochsOf(plan);

/**
 * Whole-network runs (fine-tuned, scratch): the best epoch (counted from the run's first, warm-up included) is
 * about `scale / stepsPerEpoch ^ exponent`, i.e. a run takes more steps to its best the more steps an epoch has, but
 * far fewer than in proportion: about 47 epochs at 7 steps an epoch (100 labels in batches of 16), 40 at 10 (300 to
 * 1,000 labels), 27 at 24 (3,000), 20 at 43 to 47 (5,500 to 6,000), 8 at 430 (55,000, beyond most budgets).
 * Least squares on log(best epoch) against log(steps per epoch) (110.2, 0.443; 0.239 rms in log). A share of the
 * maximum epochs (which the budgets make 143 epochs in the ablation and 215 in the sweep for the same 100 labels)
 * fits the earlier recipe's sweeps far worse (16% to 34% rms against 13% to 19% in the stopping epoch).
 */
export const wholeNetworkBestEpoch = { scale: 110, exponent: 0.44 };

/**
 * Frozen runs (the head alone on codes, cosine-decayed over all its epochs, no plateau halving): a constant, their
 * geometric mean (59.3; 0.300 rms in log). On the earlier recipe's runs the steps, the labels or the maximum epochs
 * fitted no better; on this recipe's it was not tried, and their frozen cells of 6,000 labels reached their best
 * later (near epoch 80, often at their budget) than those of 100 (near 57).
 */
export const frozenBestEpoch = 59;

/** A classifier run's best epoch before anything is learned from finished runs (autoencoders: null). */
export function priorBestEpoch(plan: PlannedRun): number | null {
  const last = plan.epochs.at(-1);
  if (plan.variant === undefined || last === undefined) return null;
  if (plan.variant === 'frozen') return frozenBestEpoch;
  return wholeNetworkBestEpoch.scale / Math.max(1, last.batches) ** wholeNetworkBestEpoch.exponent;
}

/**
 * The finished runs correct the prior by a factor, the weighted geometric mean of their best epoch over their
 * prior's, drawn towards 1 as if `priorWeight` runs had matched the prior exactly: runs of a grid share their
 * recipe (learning rates, schedules, data), which moves them all alike, but one run scatters by a fifth.
 */
export const learnedFactorPriorWeight = 3;

/** A finished run the prior can learn from: its plan, its best epoch and the epochs it trained. */
export interface FinishedRun { plan: PlannedRun; bestEpoch: number; epochs: number }

/**
 * How much finished runs count for `plan`: the same variant fully, the other whole-network variant (fine-tuned,
 * scratch) half, frozen and whole-network runs not at all for each other. A run that used its budget says only that
 * its best came no sooner than the best it had: it counts when that is past its prior's (the cells of a grid's
 * largest label counts often run out of budget while still improving, and leaving them out leant the correction
 * early), and not otherwise.
 */
function kinship(plan: PlannedRun, other: FinishedRun): number {
  if (other.plan.done || !canStopEarly(other.plan) || other.bestEpoch < 1) return 0;
  if (other.epochs >= maxEpochsOf(other.plan) && other.bestEpoch <= (priorBestEpoch(other.plan) ?? Infinity)) return 0;
  if (other.plan.variant === plan.variant) return 1;
  return other.plan.variant !== 'frozen' && plan.variant !== 'frozen' && other.plan.variant !== undefined ? 0.5 : 0;
}

/** Where `plan`'s best epoch is expected: the prior, corrected by the finished runs like it (null for autoencoders). */
export function expectedBestEpoch(plan: PlannedRun, finished: readonly FinishedRun[]): number | null {
  const prior = priorBestEpoch(plan);
  if (prior === null) return null;
  let weightedLog = 0, weights = learnedFactorPriorWeight;
  for (const other of finished) {
    const weight = kinship(plan, other);
    const otherPrior = priorBestEpoch(other.plan);
    if (weight === 0 || otherPrior === null) continue;
    weightedLog += weight * Math.log(other.bestEpoch / otherPrior);
    weights += weight;
  }
  return prior * Math.exp(weightedLog / weights);
}
