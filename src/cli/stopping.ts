// When early stopping will end a classifier run: where its best validation epoch is expected, before any similar run
// has finished (a prior fitted offline on finished runs) and as finished runs correct it. Pure.
//
// The prior was fitted on 159 finished runs read from run folders: the pretraining ablation's default grid (135
// cells: frozen, fine-tuned and scratch on 100, 1,000 and all 55,000 labels, 3 seeds, 7 pretrainings, budgets of at
// least 1,000 steps) and four studies' six classifiers each (5,500 and 55,000 labels, batch 128). Only the runs that
// early stopping ended before their budget were fitted (best epoch = epochs trained - patience, or the recorded
// best): 54 whole-network and 41 frozen ones. The two recorded sweeps (budgets of at least 1,500 steps, 100 to 6,000
// labels) were left out of the fit. On their 20 whole-network cells that stopped early, the prior puts the stopping
// epoch (best + patience) 3% early on average, 16% rms (9% early on the 12 cells of 100 to 1,000 labels); a share
// of the maximum epochs fitted the same way (0.35) puts it 8% late, 28% rms (25% late on those 12 cells).
import type { PlannedRun } from '../train/events.js';

export const sum = (values: number[]) => values.reduce((total, value) => total + value, 0);

export const maxEpochsOf = (plan: PlannedRun) => sum(plan.epochs.map((phase) => phase.count));

/** Whether early stopping could end the run before its last epoch at all. */
export const canStopEarly = (plan: PlannedRun) => plan.patience !== null && plan.firstStoppingEpoch - 1 + plan.patience < maxEpochsOf(plan);

/**
 * Whole-network runs (fine-tuned, scratch): the best epoch (counted from the run's first, warm-up included) is
 * about `scale / stepsPerEpoch ^ exponent`, i.e. a run takes more steps to its best the more steps an epoch has, but
 * far fewer than in proportion: about 42 epochs at 7 steps an epoch (100 labels in batches of 16), 37 at 10 (300 to
 * 1,000 labels), 28 at 24 (3,000), 23 to 24 at 43 to 47 (5,500 to 6,000), 12 at 430 (55,000, beyond most budgets).
 * Least squares on log(best epoch) against log(steps per epoch) (76.2, 0.312). The label count in its place fits
 * worse (0.22 rms in log against 0.20), and a share of the maximum epochs (which the budgets make 143 epochs in the
 * ablation and 215 in the sweep for the same 100 labels) worse still on the sweeps (above). Fine-tuned and scratch
 * runs fit the same line (mean residuals +0.01 and -0.05 in log); one run scatters about it by 0.2 in log (22%).
 */
export const wholeNetworkBestEpoch = { scale: 76, exponent: 0.31 };

/**
 * Frozen runs (the head alone on codes, cosine-decayed over all its epochs, no plateau halving): the best epoch
 * fits no better on the steps, the labels or the maximum epochs than a constant, their geometric mean.
 */
export const frozenBestEpoch = 63;

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

/** A finished run the prior can learn from: its plan, and its best epoch once early stopping ended it before its budget. */
export interface FinishedRun { plan: PlannedRun; bestEpoch: number; epochs: number }

/**
 * How much finished runs count for `plan`: the same variant fully, the other whole-network variant (fine-tuned,
 * scratch) half, frozen and whole-network runs not at all for each other. Only runs that early stopping ended
 * before their budget count: a run that used its budget says only that its best came late.
 */
function kinship(plan: PlannedRun, other: FinishedRun): number {
  if (other.plan.done || !canStopEarly(other.plan) || other.epochs >= maxEpochsOf(other.plan) || other.bestEpoch < 1) return 0;
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
