// Cells: one classifier variant trained on one label subset with one seed, the unit of the label sweep and of the
// pretraining ablation. Each finished cell is written to its own file at once, so a killed run loses at most the
// cells in progress and a rerun skips what is done; cells run two at a time in worker threads where they can.
import { subsetImageSet } from './data/dataset.js';
import type { PreparedData } from './data/prepare.js';
import { stratifiedSubsets } from './data/split.js';
import { classifierWorkerCount, trainAndEvaluate } from './experiment.js';
import type { ExperimentContext } from './experiment.js';
import { robustnessCorruptions } from './experiment-evaluation.js';
import { robustnessOf, robustnessSets } from './eval/robustness.js';
import type { RobustnessSets } from './eval/robustness.js';
import type { ExperimentConfig } from './config.js';
import type { EncoderMode, MeanAndSpread, SweepCell } from './metrics.js';
import type { Autoencoder } from './model/autoencoder.js';
import { runInWorkers } from './workers/classifier-pool.js';

/** Large cells see at most this many images (5 epochs of all 55,000 labels) unless told otherwise. */
export const sweepImagesPerCell = 275_000;

/**
 * The classifier budget for a cell of `labels` labelled images. The experiment's budget is set for 5,500 and
 * 55,000 labels; a few hundred labels at batch 128 would get a handful of steps per epoch and stop before
 * learning anything. Small cells get smaller batches, enough epochs for `minimumSteps` steps, and patience,
 * plateau patience and warm-up scaled with their epoch count. Large cells keep the experiment's budget, up to
 * `imagesPerCell` images.
 */
export function cellBudget(base: ExperimentConfig['classifier'], labels: number, minimumSteps: number,
  imagesPerCell = sweepImagesPerCell): ExperimentConfig['classifier'] {
  const batchSize = Math.min(base.batchSize, Math.max(16, Math.round(labels / 10)));
  const epochs = Math.ceil(minimumSteps / Math.ceil(labels / batchSize));
  const maxEpochs = Math.max(base.maxEpochs, epochs);
  const frozenMaxEpochs = Math.max(base.frozenMaxEpochs, epochs);
  return {
    ...base,
    batchSize,
    maxEpochs,
    frozenMaxEpochs,
    // Frozen cells train a small head on precomputed codes and keep the experiment's frozenMaxImagesPerRun.
    maxImagesPerRun: Math.min(imagesPerCell, Math.max(base.maxImagesPerRun, maxEpochs * labels)),
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

/** One cell: a variant, a label subset and a seed, with the budget for its size, and where its result goes. */
export interface SweepCellJob {
  encoder: EncoderMode;
  labels: number;
  seed: number;
  budget: ExperimentConfig['classifier'];
  /** The labelled images: indices into the training split. */
  indices: Int32Array;
  /** The validation subset for early stopping; null = the whole validation split. */
  validationIndices: Int32Array | null;
  /** The cell's file in the run folder, e.g. sweep/cells/finetuned-100-seed1.json. */
  file: string;
  /** The folder in the run folder holding the autoencoder (encoder/, decoder/) the cell starts from: 'models' for the sweep. */
  models: string;
  /** The progress events' stage, e.g. 'sweep finetuned 100 labels seed 1'. */
  stage: string;
  /** Written into the cell's result beside the scores, e.g. the pretraining an ablation cell stands for. */
  extra?: Record<string, string>;
}

/** Trains and scores one cell and writes it to its file. */
export async function sweepCell(context: ExperimentContext, data: PreparedData, autoencoder: Autoencoder, job: SweepCellJob): Promise<SweepCell> {
  const { encoder, labels, seed, budget } = job;
  const labelled = subsetImageSet(data.train, job.indices);
  const validation = job.validationIndices === null ? data.validation : subsetImageSet(data.validation, job.validationIndices);
  const { stage } = job;
  const cellContext = { ...context, config: { ...context.config, classifier: budget } };
  const { classifier, result } = await trainAndEvaluate(cellContext, data, autoencoder, encoder, labelled, validation, {
    stage, name: `sweep-${encoder}-${labels}-${seed}`, seed, labelFraction: labels / data.train.count,
  });
  const robustness = robustnessOf(classifier.model, cellRobustnessSets(context, data, autoencoder), data.test.classes);
  classifier.model.dispose();
  const cell: SweepCell = {
    ...job.extra, encoder, labels, seed, accuracy: result.test.accuracy, macroF1: result.test.macroF1, epochs: result.epochs, seconds: result.trainSeconds, robustness,
  };
  await context.run.writeJson(job.file, { ...cell, budget });
  context.reporter({ type: 'saved', stage, file: job.file });
  return cell;
}

/** Nested, stratified label subsets per seed (indices into the training split), and each one's validation subset. */
export function cellSubsets(data: PreparedData, labelCounts: readonly number[], seed: number) {
  const everything = Int32Array.from({ length: data.train.count }, (_, index) => index);
  const everyValidation = Int32Array.from({ length: data.validation.count }, (_, index) => index);
  // Nested: the smaller subsets are inside the larger ones, and every variant sees the same labels.
  const partial = labelCounts.filter((count) => count < data.train.count);
  const subsets = partial.length > 0 ? stratifiedSubsets(data.train.labels, everything, partial, seed) : [];
  return labelCounts.map((labels) => {
    const validationCount = Math.min(labels, data.validation.count);
    return {
      labels,
      indices: labels === data.train.count ? everything : subsets[partial.indexOf(labels)]!,
      validationIndices: validationCount === data.validation.count ? null
        : stratifiedSubsets(data.validation.labels, everyValidation, [validationCount], seed)[0]!,
    };
  });
}

export const cellValidationPolicy = 'early stopping on a stratified validation subset of at most as many labelled images as the training subset (capped at the held-out set)';

/** A planned cell and its planned work (images it may train on), by which the longest go first. */
export interface PlannedCell { job: SweepCellJob; work: number }

/**
 * Runs the planned cells that the run folder does not hold yet (a cell counts only if it was trained with the
 * budget it would get now) and returns every cell's result in plan order, however they finished, so that sums
 * over seeds repeat bit for bit. `autoencoderFor` gives the main thread's autoencoder for a models folder.
 */
export async function runCells(context: ExperimentContext, data: PreparedData, planned: PlannedCell[],
  autoencoderFor: (models: string) => Promise<Autoencoder>, label: string): Promise<SweepCell[]> {
  const { run, reporter } = context;
  const cells: (SweepCell | undefined)[] = [];
  const pending: (PlannedCell & { slot: number })[] = [];
  for (const entry of planned) {
    if (await run.exists(entry.job.file)) {
      const saved = await run.readJson<SweepCell & { budget?: unknown }>(entry.job.file);
      if (JSON.stringify(saved.budget) === JSON.stringify(entry.job.budget)) {
        const cell = { ...saved };
        delete cell.budget;
        cells.push(cell);
        continue;
      }
    }
    pending.push({ ...entry, slot: cells.length });
    cells.push(undefined);
  }
  // Planned work of the cells left: the ETA scales the time spent so far by the work left.
  let remainingWork = pending.reduce((sum, cell) => sum + cell.work, 0);
  let trainedSeconds = 0, trainedWork = 0;
  let done = cells.length - pending.length;
  const workers = classifierWorkerCount(context, pending.length, true);
  const finished = (cell: SweepCell, { work, slot }: (typeof pending)[number]) => {
    cells[slot] = cell;
    done += 1;
    trainedSeconds += cell.seconds;
    trainedWork += work;
    remainingWork -= work;
    const eta = (trainedSeconds / trainedWork) * remainingWork / workers;
    reporter({ type: 'message', stage: label, text: `cell ${done}/${planned.length} done (${cell.encoder}, ${cell.labels} labels, seed ${cell.seed}: ${(100 * cell.accuracy).toFixed(2)}%); about ${Math.round(eta / 60)} min to go` });
  };
  if (workers > 1) {
    await runInWorkers<SweepCell>(context, data, pending.map(({ job, work }) => ({ job: { kind: 'sweep-cell', job }, work })), workers,
      (cell, index) => finished(cell, pending[index]!));
  } else {
    for (const entry of pending) finished(await sweepCell(context, data, await autoencoderFor(entry.job.models), entry.job), entry);
  }
  return cells as SweepCell[];
}
