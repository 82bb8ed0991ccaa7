// The label-efficiency sweep: the classifier variants on nested, stratified label subsets of growing size,
// several seeds each, all on one pretrained autoencoder. The cells (cells.ts) train here, in worker threads, or
// through a job queue on any number of machines (src/queue, `dae sweep --queue`), and are written as they finish,
// so a killed sweep loses at most the cells in progress and a rerun skips what is done.
import {
  cellBudget,
  cellRunPlans,
  cellSubsets,
  cellValidationPolicy,
  resumeCells,
  robustnessSummary,
  runCells,
} from './cells.js';
import type { CellRunner, PlannedCell } from './cells.js';
import { ConfigError } from '../config.js';
import { plannedWork } from '../study/classify.js';
import type { ExperimentContext } from '../study/context.js';
import { studyData } from '../study/data.js';
import { pretrain } from '../study/pretrain.js';
import { mergeIntoMetrics, prepareMetricsFor } from '../study/report.js';
import { cellName } from '../study/jobs.js';
import { meanAndSpread } from '../io/metrics.js';
import type { SweepCell, SweepResult } from '../io/metrics.js';
import { variants } from '../model/classifier.js';
import type { EncoderMode } from '../model/classifier.js';
import { pretrainPlan, stagePlan } from '../study/plan.js';
import { labelSweepChart } from '../viz/charts.js';

export interface SweepOptions {
  /** Label counts; 'all' is the whole training split. */
  labelCounts: (number | 'all')[];
  seeds: number;
  encoders: EncoderMode[];
  /**
   * The label counts the semi-supervised variants run at (never 'all': they need unlabelled images). Each of their
   * cells costs several of the others; null = every label count of the sweep.
   */
  semiSupervisedLabelCounts: number[] | null;
  /** Every cell takes at least this many optimiser steps, however few its labels. */
  minimumSteps: number;
}

export const defaultSweep: SweepOptions = {
  labelCounts: [100, 300, 1000, 3000, 6000, 'all'],
  seeds: 3,
  encoders: ['frozen', 'finetuned', 'scratch', 'fixmatch-finetuned', 'fixmatch-scratch'],
  semiSupervisedLabelCounts: [100, 1000],
  minimumSteps: 1500,
};

/** Whether the sweep trains `encoder` on `labels` of the `trainCount` training images. */
function sweepsAt(options: SweepOptions, encoder: EncoderMode, labels: number, trainCount: number): boolean {
  if (!variants[encoder].semiSupervised) return true;
  return labels < trainCount && (options.semiSupervisedLabelCounts?.includes(labels) ?? true);
}

/** Mean ± std per (variant, label count), and the paired fine-tuned − scratch gain per label count. */
export function summariseSweep(
  labelCounts: number[],
  seeds: number[],
  cells: SweepCell[],
  validationPolicy: string,
): SweepResult {
  const find = (encoder: EncoderMode, labels: number, seed: number) =>
    cells.find((cell) => cell.encoder === encoder && cell.labels === labels && cell.seed === seed);
  const encoders = [...new Set(cells.map((cell) => cell.encoder))];
  const summary = labelCounts
    .flatMap((labels) =>
      encoders.map((encoder) => {
        const runs = cells.filter((cell) => cell.encoder === encoder && cell.labels === labels);
        return {
          encoder,
          labels,
          seeds: runs.length,
          accuracy: meanAndSpread(runs.map((r) => r.accuracy)),
          macroF1: meanAndSpread(runs.map((r) => r.macroF1)),
          ...robustnessSummary(runs),
        };
      }),
    )
    .filter((entry) => entry.seeds > 0);
  const gain = labelCounts.flatMap((labels) => {
    const differences = seeds.flatMap((seed) => {
      const finetuned = find('finetuned', labels, seed),
        scratch = find('scratch', labels, seed);
      return finetuned && scratch ? [finetuned.accuracy - scratch.accuracy] : [];
    });
    return differences.length > 0 ? [{ labels, ...meanAndSpread(differences) }] : [];
  });
  return { labelCounts, seeds, validationPolicy, cells, summary, gain };
}

/** The sweep's chart, as the report shows it and the docs generate it from results/sweep.json. */
export async function sweepFigure(result: Pick<SweepResult, 'summary'>): Promise<string> {
  return labelSweepChart(
    result.summary.map((entry) => ({
      variant: entry.encoder,
      labels: entry.labels,
      mean: entry.accuracy.mean,
      std: entry.accuracy.std,
    })),
    { title: 'Test accuracy against the number of labels' },
  );
}

/**
 * The label counts asked for, as numbers of training images, each once, smallest first. A count above the training
 * split's `trainCount` is refused (ConfigError naming --labels), not cut: a grid asked for 10,000 labels should not
 * quietly train on fewer.
 */
export function resolveLabelCounts(counts: readonly (number | 'all')[], trainCount: number): number[] {
  const tooMany = counts.find((count) => count !== 'all' && count > trainCount);
  if (tooMany !== undefined)
    throw new ConfigError(
      `--labels: ${tooMany} labels is more than the ${trainCount} images of this run's training split; ask for at most ${trainCount}, or all`,
    );
  return [...new Set(counts.map((count) => (count === 'all' ? trainCount : count)))].sort((a, b) => a - b);
}

/**
 * The counts of a default grid that a training split of `trainCount` images holds, 'all' included: the defaults are
 * sized for MNIST's 55,000, and a smaller preset or dataset keeps those that fit.
 */
export function fittingLabelCounts(counts: readonly (number | 'all')[], trainCount: number): (number | 'all')[] {
  return counts.filter((count) => count === 'all' || count <= trainCount);
}

/** Runs the sweep's cells that are not done yet: here, in worker threads, or through `runner` (a job queue). */
export async function runSweep(
  context: ExperimentContext,
  options: SweepOptions,
  runner?: CellRunner,
): Promise<SweepResult> {
  const { run, config, reporter } = context;
  const data = await studyData(context);
  // What the sweep's end reads (metrics.json, or the stage files to rebuild it from), checked before any cell trains.
  await prepareMetricsFor(context, data, 'sweep');
  const labelCounts = resolveLabelCounts(options.labelCounts, data.train.count);
  const seeds = Array.from({ length: options.seeds }, (_, index) => config.seed + index);
  // In loop order (seed, labels, variant).
  const planned: PlannedCell[] = [];
  for (const seed of seeds) {
    for (const { labels, indices, validationIndices } of cellSubsets(data, labelCounts, seed)) {
      await run.writeJson(`sweep/subsets/labels-${labels}-seed${seed}.json`, {
        labels,
        seed,
        indices: Array.from(indices),
      });
      const budget = cellBudget(config.classifier, labels, options.minimumSteps);
      for (const encoder of options.encoders.filter((mode) => sweepsAt(options, mode, labels, data.train.count))) {
        planned.push({
          job: {
            encoder,
            labels,
            seed,
            budget,
            indices,
            validationIndices,
            stage: `sweep ${encoder} ${labels} labels seed ${seed}`,
          },
          file: `sweep/cells/${cellName({ encoder, labels, seed })}.json`,
          models: 'models',
          // Planned work of a cell: the images it may train on.
          work: plannedWork(budget, encoder, labels),
        });
      }
    }
  }
  const grid = await resumeCells(context, 'sweep', planned, runner);
  const counts = { train: data.train.count, validation: data.validation.count, test: data.test.count };
  reporter({
    type: 'plan',
    title: 'sweep',
    workers: grid.workers,
    runs: [
      pretrainPlan(config.autoencoder, counts, run.isStageDone('pretrain')),
      ...cellRunPlans(grid, data, config),
      // sweep.json, the chart, metrics.json and, for a finished study, report.html again.
      stagePlan('report', false),
    ],
  });
  const { autoencoder } = await pretrain(context, data);
  const cells = await runCells(context, data, grid, async () => autoencoder);
  reporter({
    type: 'stage-start',
    stage: 'report',
    description: 'sweep.json, the chart, metrics.json and report.html',
  });
  const reportStarted = performance.now();
  const result = summariseSweep(labelCounts, seeds, cells, cellValidationPolicy);
  await run.writeJson('sweep/sweep.json', result);
  await run.writeFile('figures/sweep.svg', await sweepFigure(result));
  await run.writeJson('figures/sweep.json', [
    {
      id: 'sweep',
      section: 'classification',
      title: 'Label efficiency',
      mime: 'image/svg+xml',
      file: 'figures/sweep.svg',
      caption: `Test accuracy of the classifier variants against the number of labelled training images (log scale), mean over ${seeds.length} seeds with a ±1 standard deviation band; the subsets are nested and stratified, and every variant sees the same labels.`,
    },
  ]);
  await mergeIntoMetrics(context, { sweep: result });
  reporter({
    type: 'stage-end',
    stage: 'report',
    seconds: (performance.now() - reportStarted) / 1000,
    summary: run.path('sweep', 'sweep.json'),
  });
  return result;
}
