// The label-efficiency sweep: the three classifier variants on nested, stratified label subsets of growing size,
// several seeds each, all on one pretrained autoencoder. Each finished cell is written at once, so a killed
// sweep loses at most the cell in progress and a rerun skips what is done.
import { subsetImageSet } from './data/dataset.js';
import { prepareData } from './data/prepare.js';
import { stratifiedSubsets } from './data/split.js';
import type { PreparedData } from './data/prepare.js';
import { classifierWorkerCount, plannedWork, pretrain, trainAndEvaluate, writeReport } from './experiment.js';
import { robustnessCorruptions } from './experiment-evaluation.js';
import { robustnessOf, robustnessSets } from './eval/robustness.js';
import type { RobustnessSets } from './eval/robustness.js';
import type { ExperimentContext } from './experiment.js';
import type { ExperimentConfig } from './config.js';
import { epochsFor } from './train/classifier.js';
import { readMetrics } from './io/metrics-file.js';
import { metricsFormatVersion } from './metrics.js';
import type { EncoderMode, MeanAndSpread, SweepCell, SweepResult } from './metrics.js';
import type { Autoencoder } from './model/autoencoder.js';
import { labelSweepChart } from './viz/charts.js';
import { runInWorkers } from './workers/classifier-pool.js';

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

const cellFile = (cell: Pick<SweepCell, 'encoder' | 'labels' | 'seed'>) => `sweep/cells/${cell.encoder}-${cell.labels}-seed${cell.seed}.json`;

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

/**
 * Cells score robustness on the first 2,000 test images only (the study's classifiers on all of them): the seven
 * corruptions on the corrupted and the denoised images cost a cell about 28,000 forward passes this way.
 */
export const cellRobustnessImages = 2000;

/** The corrupted and denoised test images per autoencoder, made once per thread and reused by every cell on it. */
const robustnessCache = new WeakMap<Autoencoder['autoencoder'], RobustnessSets>();

function cellRobustnessSets(context: ExperimentContext, data: PreparedData, autoencoder: Autoencoder): RobustnessSets {
  let sets = robustnessCache.get(autoencoder.autoencoder);
  if (!sets) {
    sets = robustnessSets(data.test, robustnessCorruptions(context.config), context.config.seed, cellRobustnessImages, autoencoder.autoencoder);
    robustnessCache.set(autoencoder.autoencoder, sets);
  }
  return sets;
}

export function meanAndSpread(values: readonly number[]): MeanAndSpread {
  const mean = values.reduce((sum, value) => sum + value, 0) / values.length;
  const variance = values.length < 2 ? 0 : values.reduce((sum, value) => sum + (value - mean) ** 2, 0) / (values.length - 1);
  return { mean, std: Math.sqrt(variance) };
}

/** Mean ± std over cells of each cell's mean accuracy over the corruptions, when every cell measured them. */
export function robustnessSummary(cells: readonly Pick<SweepCell, 'robustness'>[]): { corrupted?: MeanAndSpread; denoised?: MeanAndSpread } {
  if (cells.length === 0 || cells.some((cell) => cell.robustness === undefined)) return {};
  const mean = (values: number[]) => values.reduce((sum, value) => sum + value, 0) / values.length;
  const corrupted = meanAndSpread(cells.map((cell) => mean(cell.robustness!.corruptions.map((entry) => entry.accuracy))));
  const complete = cells.every((cell) => cell.robustness!.corruptions.every((entry) => entry.denoisedAccuracy !== undefined));
  return complete
    ? { corrupted, denoised: meanAndSpread(cells.map((cell) => mean(cell.robustness!.corruptions.map((entry) => entry.denoisedAccuracy!)))) }
    : { corrupted };
}

/** Mean ± std per (variant, label count), and the paired fine-tuned − scratch gain per label count. */
export function summariseSweep(labelCounts: number[], seeds: number[], cells: SweepCell[], validationPolicy: string): SweepResult {
  const find = (encoder: EncoderMode, labels: number, seed: number) =>
    cells.find((cell) => cell.encoder === encoder && cell.labels === labels && cell.seed === seed);
  const encoders = [...new Set(cells.map((cell) => cell.encoder))];
  const summary = labelCounts.flatMap((labels) => encoders.map((encoder) => {
    const runs = cells.filter((cell) => cell.encoder === encoder && cell.labels === labels);
    return { encoder, labels, seeds: runs.length, accuracy: meanAndSpread(runs.map((r) => r.accuracy)), macroF1: meanAndSpread(runs.map((r) => r.macroF1)),
      ...robustnessSummary(runs) };
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
export interface SweepCellJob {
  encoder: EncoderMode;
  labels: number;
  seed: number;
  budget: ExperimentConfig['classifier'];
  /** The labelled images: indices into the training split. */
  indices: Int32Array;
  /** The validation subset for early stopping; null = the whole validation split. */
  validationIndices: Int32Array | null;
}

/** Trains and scores one cell and writes it to `sweep/cells/`. */
export async function sweepCell(context: ExperimentContext, data: PreparedData, autoencoder: Autoencoder, job: SweepCellJob): Promise<SweepCell> {
  const { encoder, labels, seed, budget } = job;
  const labelled = subsetImageSet(data.train, job.indices);
  const validation = job.validationIndices === null ? data.validation : subsetImageSet(data.validation, job.validationIndices);
  const stage = `sweep ${encoder} ${labels} labels seed ${seed}`;
  const cellContext = { ...context, config: { ...context.config, classifier: budget } };
  const { classifier, result } = await trainAndEvaluate(cellContext, data, autoencoder, encoder, labelled, validation, {
    stage, name: `sweep-${encoder}-${labels}-${seed}`, seed, labelFraction: labels / data.train.count,
  });
  const robustness = robustnessOf(classifier.model, cellRobustnessSets(context, data, autoencoder), data.test.classes);
  classifier.model.dispose();
  const cell: SweepCell = {
    encoder, labels, seed, accuracy: result.test.accuracy, macroF1: result.test.macroF1, epochs: result.epochs, seconds: result.trainSeconds, robustness,
  };
  await context.run.writeJson(cellFile(cell), { ...cell, budget });
  return cell;
}

export async function runSweep(context: ExperimentContext, options: SweepOptions): Promise<SweepResult> {
  const { run, config, reporter } = context;
  const data = await prepareData(config);
  const { autoencoder } = await pretrain(context, data);
  const labelCounts = [...new Set(options.labelCounts.map((count) => (count === 'all' ? data.train.count : Math.min(count, data.train.count))))]
    .sort((a, b) => a - b);
  const seeds = Array.from({ length: options.seeds }, (_, index) => config.seed + index);
  const everything = Int32Array.from({ length: data.train.count }, (_, index) => index);
  const everyValidation = Int32Array.from({ length: data.validation.count }, (_, index) => index);
  const validationPolicy = 'early stopping on a stratified validation subset of at most as many labelled images as the training subset (capped at the held-out set)';
  const total = labelCounts.length * seeds.length * options.encoders.length;
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
            const cell = { ...saved };
            delete cell.budget;
            cells.push(cell);
            continue;
          }
        }
        pending.push({ job: { encoder, labels, seed, budget, indices, validationIndices }, work: plannedImages(encoder, labels), slot: cells.length });
        cells.push(undefined);
      }
    }
  }
  // Planned work of the cells left: the ETA scales the time spent so far by the work left.
  let remainingWork = pending.reduce((sum, cell) => sum + cell.work, 0);
  let trainedSeconds = 0, trainedWork = 0;
  let done = cells.length - pending.length;
  const finished = (cell: SweepCell, { work, slot }: (typeof pending)[number]) => {
    cells[slot] = cell;
    done += 1;
    trainedSeconds += cell.seconds;
    trainedWork += work;
    remainingWork -= work;
    const eta = (trainedSeconds / trainedWork) * remainingWork / workers;
    reporter({ type: 'message', stage: 'sweep', text: `cell ${done}/${total} done (${cell.encoder}, ${cell.labels} labels, seed ${cell.seed}: ${(100 * cell.accuracy).toFixed(2)}%); about ${Math.round(eta / 60)} min to go` });
  };
  const workers = classifierWorkerCount(context, pending.length);
  if (workers > 1) {
    await runInWorkers<SweepCell>(context, data, pending.map(({ job, work }) => ({ job: { kind: 'sweep-cell', job }, work })), workers,
      (cell, index) => finished(cell, pending[index]!));
  } else {
    for (const entry of pending) finished(await sweepCell(context, data, autoencoder, entry.job), entry);
  }
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
  return result;
}

