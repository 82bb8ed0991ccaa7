// The label-efficiency sweep: the three classifier variants on nested, stratified label subsets of growing size,
// several seeds each, all on one pretrained autoencoder. Each finished cell is written at once, so a killed
// sweep loses at most the cell in progress and a rerun skips what is done. The cells train here, in worker threads,
// or through a job queue on any number of machines (src/queue, `dae sweep --queue`).
import type { LayersModel } from '@tensorflow/tfjs-layers';

import { subsetImageSet } from './data/dataset.js';
import { prepareData } from './data/prepare.js';
import { stratifiedSubsets } from './data/split.js';
import type { PreparedData } from './data/prepare.js';
import { classifierWorkerCount, plannedWork, pretrain, trainAndEvaluate, writeReport } from './experiment.js';
import type { ExperimentContext, TrainingContext } from './experiment.js';
import type { ExperimentConfig } from './config.js';
import { epochsFor } from './train/classifier.js';
import type { RunFolder } from './io/run-folder.js';
import { readMetrics } from './io/metrics-file.js';
import { cellName } from './jobs/cell-job.js';
import type { CellJob } from './jobs/cell-job.js';
import { metricsFormatVersion } from './metrics.js';
import type { EncoderMode, MeanAndSpread, SweepCell, SweepResult } from './metrics.js';
import type { Autoencoder } from './model/autoencoder.js';
import { labelSweepChart } from './viz/charts.js';
import { classifierRunPlan, pretrainPlan } from './plan.js';
import { handoutOrder, runInWorkers } from './workers/classifier-pool.js';

export interface SweepOptions {
  /** Label counts; 'all' is the whole training split. */
  labelCounts: (number | 'all')[];
  seeds: number;
  encoders: EncoderMode[];
  /** Every cell takes at least this many optimiser steps, however few its labels. */
  minimumSteps: number;
}

export const defaultSweep: SweepOptions = {
  labelCounts: [100, 300, 1000, 3000, 6000, 'all'],
  seeds: 3,
  encoders: ['frozen', 'finetuned', 'scratch'],
  minimumSteps: 1500,
};

const cellStage = (cell: Pick<SweepCell, 'encoder' | 'labels' | 'seed'>) => `sweep ${cell.encoder} ${cell.labels} labels seed ${cell.seed}`;
const cellFile = (cell: Pick<SweepCell, 'encoder' | 'labels' | 'seed'>) => `sweep/cells/${cellName(cell)}.json`;

/**
 * The classifier budget for a cell of `labels` labelled images. The experiment's budget is set for 5,500 and
 * 55,000 labels; a few hundred labels at batch 128 would get a handful of steps per epoch and stop before
 * learning anything. Small cells get smaller batches, enough epochs for `minimumSteps` steps, and patience,
 * plateau patience and warm-up scaled with their epoch count. Large cells keep the experiment's budget.
 */
const sweepImagesPerCell = 275_000;

export function cellBudget(base: ExperimentConfig['classifier'], labels: number, minimumSteps: number): ExperimentConfig['classifier'] {
  const batchSize = Math.min(base.batchSize, Math.max(16, Math.round(labels / 10)));
  const epochs = Math.ceil(minimumSteps / Math.ceil(labels / batchSize));
  const maxEpochs = Math.max(base.maxEpochs, epochs);
  const frozenMaxEpochs = Math.max(base.frozenMaxEpochs, epochs);
  return {
    ...base,
    batchSize,
    maxEpochs,
    frozenMaxEpochs,
    // Large cells see at most `sweepImagesPerCell` images (5 epochs of all 55,000 labels) so that the whole sweep
    // fits its time budget; the experiment's own 100% runs train three times as long. Frozen cells train a small
    // head on precomputed codes and keep the experiment's frozenMaxImagesPerRun.
    maxImagesPerRun: Math.min(sweepImagesPerCell, Math.max(base.maxImagesPerRun, maxEpochs * labels)),
    patience: Math.max(base.patience, Math.round(maxEpochs / 10)),
    plateauPatience: Math.max(base.plateauPatience, Math.round(maxEpochs / 25)),
    warmupEpochs: Math.max(base.warmupEpochs, Math.round(maxEpochs / 15)),
  };
}

export function meanAndSpread(values: readonly number[]): MeanAndSpread {
  const mean = values.reduce((sum, value) => sum + value, 0) / values.length;
  const variance = values.length < 2 ? 0 : values.reduce((sum, value) => sum + (value - mean) ** 2, 0) / (values.length - 1);
  return { mean, std: Math.sqrt(variance) };
}

/** Mean ± std per (variant, label count), and the paired fine-tuned − scratch gain per label count. */
export function summariseSweep(labelCounts: number[], seeds: number[], cells: SweepCell[], validationPolicy: string): SweepResult {
  const find = (encoder: EncoderMode, labels: number, seed: number) =>
    cells.find((cell) => cell.encoder === encoder && cell.labels === labels && cell.seed === seed);
  const encoders = [...new Set(cells.map((cell) => cell.encoder))];
  const summary = labelCounts.flatMap((labels) => encoders.map((encoder) => {
    const runs = cells.filter((cell) => cell.encoder === encoder && cell.labels === labels);
    return { encoder, labels, seeds: runs.length, accuracy: meanAndSpread(runs.map((r) => r.accuracy)), macroF1: meanAndSpread(runs.map((r) => r.macroF1)) };
  })).filter((entry) => entry.seeds > 0);
  const gain = labelCounts.flatMap((labels) => {
    const differences = seeds.flatMap((seed) => {
      const finetuned = find('finetuned', labels, seed), scratch = find('scratch', labels, seed);
      return finetuned && scratch ? [finetuned.accuracy - scratch.accuracy] : [];
    });
    return differences.length > 0 ? [{ labels, ...meanAndSpread(differences) }] : [];
  });
  return { labelCounts, seeds, validationPolicy, cells, summary, gain };
}

/** One cell of the sweep: a variant, a label subset and a seed, with the budget for its size. */
export type SweepCellJob = CellJob;

/**
 * Trains and scores one cell, touching no files: the same in this thread, a worker thread or a queue's worker on
 * another machine. `encoder` is the pretrained encoder (unused by scratch cells).
 */
export async function trainCell(context: TrainingContext, data: PreparedData, encoder: LayersModel | null, job: CellJob): Promise<SweepCell> {
  const { labels, seed, budget } = job;
  const labelled = subsetImageSet(data.train, job.indices);
  const validation = job.validationIndices === null ? data.validation : subsetImageSet(data.validation, job.validationIndices);
  const stage = cellStage(job);
  const cellContext = { ...context, config: { ...context.config, classifier: budget } };
  const { classifier, result, bestEpoch } = await trainAndEvaluate(cellContext, data, encoder, job.encoder, labelled, validation, {
    stage, name: `sweep-${job.encoder}-${labels}-${seed}`, seed, labelFraction: labels / data.train.count,
  });
  classifier.model.dispose();
  context.reporter({ type: 'run-end', stage, bestEpoch, epochs: result.epochs, testAccuracy: result.test.accuracy, macroF1: result.test.macroF1, seconds: result.trainSeconds });
  return { encoder: job.encoder, labels, seed, accuracy: result.test.accuracy, macroF1: result.test.macroF1, epochs: result.epochs, seconds: result.trainSeconds };
}

/** Writes a finished cell to `sweep/cells/` (atomically), with the budget a rerun checks before skipping it. */
export async function saveCell(run: RunFolder, cell: SweepCell, budget: CellJob['budget']): Promise<void> {
  await run.writeJson(cellFile(cell), { ...cell, budget });
}

/** Trains and scores one cell and writes it to `sweep/cells/`. */
export async function sweepCell(context: ExperimentContext, data: PreparedData, autoencoder: Autoencoder, job: SweepCellJob): Promise<SweepCell> {
  const cell = await trainCell(context, data, autoencoder.encoder, job);
  await saveCell(context.run, cell, job.budget);
  return cell;
}

/** A cell to train, its planned work (images it may train on) and the encoder it starts from. */
export interface GridCell {
  job: CellJob;
  work: number;
  encoder: LayersModel | null;
}

/**
 * Trains a grid's cells somewhere else (on a job queue's workers) and calls `onResult` as each arrives, with the
 * time left as the runner sees it; the caller writes the results. Any grid of cells (the sweep's, an ablation's)
 * can be run this way.
 */
export type CellRunner = (context: ExperimentContext, data: PreparedData, cells: readonly GridCell[],
  onResult: (cell: SweepCell, index: number, etaSeconds: number) => Promise<void>) => Promise<void>;

/** Runs the sweep's cells that are not done yet: here, in worker threads, or through `runner` (a job queue). */
export async function runSweep(context: ExperimentContext, options: SweepOptions, runner?: CellRunner): Promise<SweepResult> {
  const { run, config, reporter } = context;
  const data = await prepareData(config);
  const labelCounts = [...new Set(options.labelCounts.map((count) => (count === 'all' ? data.train.count : Math.min(count, data.train.count))))]
    .sort((a, b) => a - b);
  const seeds = Array.from({ length: options.seeds }, (_, index) => config.seed + index);
  const everything = Int32Array.from({ length: data.train.count }, (_, index) => index);
  const everyValidation = Int32Array.from({ length: data.validation.count }, (_, index) => index);
  const validationPolicy = 'early stopping on a stratified validation subset of at most as many labelled images as the training subset (capped at the held-out set)';
  // Planned work of a cell: the images it may train on.
  const plannedImages = (encoder: EncoderMode, labels: number) =>
    plannedWork(encoder, epochsFor(cellBudget(config.classifier, labels, options.minimumSteps), encoder, labels) * labels);
  // One slot per cell in loop order (seed, labels, variant): filled from the run folder, or by training.
  const cells: (SweepCell | undefined)[] = [];
  const pending: { job: SweepCellJob; work: number; slot: number }[] = [];
  for (const seed of seeds) {
    // Nested per seed: the smaller subsets are inside the larger ones, and every variant sees the same labels.
    const partial = labelCounts.filter((count) => count < data.train.count);
    const subsets = partial.length > 0 ? stratifiedSubsets(data.train.labels, everything, partial, seed) : [];
    for (const labels of labelCounts) {
      const indices = labels === data.train.count ? everything : subsets[partial.indexOf(labels)]!;
      await run.writeJson(`sweep/subsets/labels-${labels}-seed${seed}.json`, { labels, seed, indices: Array.from(indices) });
      const validationCount = Math.min(labels, data.validation.count);
      const validationIndices = validationCount === data.validation.count ? null
        : stratifiedSubsets(data.validation.labels, everyValidation, [validationCount], seed)[0]!;
      for (const encoder of options.encoders) {
        const file = cellFile({ encoder, labels, seed });
        const budget = cellBudget(config.classifier, labels, options.minimumSteps);
        if (await run.exists(file)) {
          // A finished cell counts only if it was trained with the budget this sweep would give it.
          const saved = await run.readJson<SweepCell & { budget?: unknown }>(file);
          if (JSON.stringify(saved.budget) === JSON.stringify(budget)) {
            cells.push({ encoder: saved.encoder, labels: saved.labels, seed: saved.seed, accuracy: saved.accuracy, macroF1: saved.macroF1, epochs: saved.epochs, seconds: saved.seconds });
            continue;
          }
        }
        pending.push({ job: { encoder, labels, seed, budget, indices, validationIndices }, work: plannedImages(encoder, labels), slot: cells.length });
        cells.push(undefined);
      }
    }
  }
  const finished = (cell: SweepCell, { slot }: (typeof pending)[number]) => {
    cells[slot] = cell;
  };
  // The pool's workers load the pretrained models from the folder, which holds them by the time the cells train.
  // With a job queue (`runner`), the cells train elsewhere and only their results come back here.
  const workers = runner ? 1 : classifierWorkerCount(context, pending.length, true);
  const ordered = workers > 1 ? handoutOrder(pending) : pending;
  const counts = { train: data.train.count, validation: data.validation.count, test: data.test.count };
  reporter({
    type: 'plan', title: 'sweep', workers,
    runs: [
      pretrainPlan(config, counts, run.isStageDone('pretrain')),
      ...ordered.map(({ job }) => classifierRunPlan({
        stage: cellStage(job), step: 'sweep', label: `${job.encoder} ${job.labels} labels seed ${job.seed}`, mode: job.encoder, labels: job.labels,
        validation: job.validationIndices?.length ?? data.validation.count, test: data.test.count, budget: job.budget, done: false, parallel: workers > 1,
      })),
      // sweep.json, the chart, metrics.json and, for a finished study, report.html again.
      { stage: 'report', step: 'report', label: 'report', done: false, parallel: false, epochs: [], encoderImages: { before: 0, after: 0 }, autoencoderImages: data.test.count, patience: null, firstStoppingEpoch: 1 },
    ],
  });
  const { autoencoder } = await pretrain(context, data);
  if (runner) {
    // The queue's own count and time left: its workers' epochs never reach this process's display.
    let done = cells.length - pending.length;
    await runner(context, data, pending.map(({ job, work }) => ({ job, work, encoder: job.encoder === 'scratch' ? null : autoencoder.encoder })),
      async (cell, index, etaSeconds) => {
        await saveCell(run, cell, pending[index]!.job.budget);
        finished(cell, pending[index]!);
        done += 1;
        reporter({ type: 'message', stage: 'sweep', text: `cell ${done}/${cells.length} done (${cell.encoder}, ${cell.labels} labels, seed ${cell.seed}: ${(100 * cell.accuracy).toFixed(2)}%); ${Number.isFinite(etaSeconds) ? `about ${Math.round(etaSeconds / 60)} min to go` : 'time left not known yet'}` });
      });
  } else if (workers > 1) {
    await runInWorkers<SweepCell>(context, data, pending.map(({ job, work }) => ({ job: { kind: 'sweep-cell', job }, work })), workers,
      (cell, index) => finished(cell, pending[index]!));
  } else {
    for (const entry of pending) finished(await sweepCell(context, data, autoencoder, entry.job), entry);
  }
  reporter({ type: 'stage-start', stage: 'report', description: 'sweep.json, the chart, metrics.json and report.html' });
  const reportStarted = performance.now();
  // In loop order however they finished, so the sums over seeds repeat bit for bit.
  const result = summariseSweep(labelCounts, seeds, cells as SweepCell[], validationPolicy);
  await run.writeJson('sweep/sweep.json', result);
  const chart = await labelSweepChart(result.summary.map((entry) => ({ variant: entry.encoder, labels: entry.labels, mean: entry.accuracy.mean, std: entry.accuracy.std })),
    { title: 'Test accuracy against the number of labels' });
  await run.writeFile('figures/sweep.svg', chart);
  await run.writeJson('figures/sweep.json', [{
    id: 'sweep', section: 'classification', title: 'Label efficiency', mime: 'image/svg+xml', file: 'figures/sweep.svg',
    caption: `Test accuracy of the three classifier variants against the number of labelled training images (log scale), mean over ${seeds.length} seeds with a ±1 standard deviation band; the subsets are nested and stratified, and every variant sees the same labels.`,
  }]);
  if (await run.exists('metrics.json')) {
    const metrics = await readMetrics(run);
    await run.writeJson('metrics.json', { ...metrics, sweep: result });
    if (run.isStageDone('classify')) await writeReport(context);
  } else {
    await run.writeJson('metrics.json', { formatVersion: metricsFormatVersion, sweep: result });
  }
  reporter({ type: 'stage-end', stage: 'report', seconds: (performance.now() - reportStarted) / 1000, summary: run.path('sweep', 'sweep.json') });
  return result;
}

