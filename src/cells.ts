// Cells: one classifier variant trained on one label subset with one seed, the unit of the label sweep and of the
// pretraining ablation. One machinery for both grids and for every place a cell trains: this thread, the pool's
// worker threads, or a job queue's workers on other machines (src/queue). `trainCell` trains and scores a cell and
// touches no files; the run folder's side writes each finished cell to its own file at once (atomically), so a
// killed grid loses at most the cells in progress and a rerun skips what is done.
import { subsetImageSet } from './data/dataset.js';
import type { PreparedData } from './data/prepare.js';
import { stratifiedSubsets } from './data/split.js';
import { classifierWorkerCount, trainAndEvaluate } from './experiment.js';
import type { ExperimentContext, TrainingContext } from './experiment.js';
import { robustnessCorruptions } from './experiment-evaluation.js';
import { meanCorruptedAccuracy, robustnessOf, robustnessSets } from './eval/robustness.js';
import type { RobustnessSets } from './eval/robustness.js';
import type { ExperimentConfig } from './config.js';
import type { CellJob } from './jobs/cell-job.js';
import type { MeanAndSpread, SweepCell } from './metrics.js';
import { referenceShape, workArithmetic } from './model/arithmetic.js';
import type { Autoencoder } from './model/autoencoder.js';
import { classifierRunPlan } from './plan.js';
import type { PlannedRun } from './train/events.js';
import { handoutOrder, runInWorkers } from './workers/classifier-pool.js';

/** Large cells see at most this many images (5 epochs of all 55,000 labels) unless told otherwise. */
export const sweepImagesPerCell = 275_000;

/**
 * The classifier budget for a cell of `labels` labelled images. The experiment's budget is set for 5,500 and
 * 55,000 labels; a few hundred labels at batch 128 would get a handful of steps per epoch and stop before
 * learning anything. Small cells get smaller batches, enough epochs for `minimumSteps` steps, and patience,
 * plateau patience and warm-up scaled with their epoch count. Large cells keep the experiment's budget, up to
 * `imagesPerCell` images (so that the whole grid fits its time budget; the experiment's own 100% runs train longer).
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
  const corrupted = meanAndSpread(cells.map((cell) => meanCorruptedAccuracy(cell.robustness!, 'corrupted')));
  const complete = cells.every((cell) => cell.robustness!.corruptions.every((entry) => entry.denoisedAccuracy !== undefined));
  return complete ? { corrupted, denoised: meanAndSpread(cells.map((cell) => meanCorruptedAccuracy(cell.robustness!, 'denoised'))) } : { corrupted };
}

/**
 * Cells score robustness on the first 2,000 test images only (the study's classifiers on all of them): the seven
 * corruptions on the corrupted and the denoised images cost a cell about 28,000 forward passes this way.
 */
export const cellRobustnessImages = 2000;

/** The corrupted and denoised test images per autoencoder, made once per thread and reused by every cell on it. */
const robustnessCache = new WeakMap<Autoencoder['autoencoder'], RobustnessSets>();

function cellRobustnessSets(config: ExperimentConfig, data: PreparedData, autoencoder: Autoencoder): RobustnessSets {
  let sets = robustnessCache.get(autoencoder.autoencoder);
  if (!sets) {
    sets = robustnessSets(data.test, robustnessCorruptions(config), config.seed, cellRobustnessImages, autoencoder.autoencoder);
    robustnessCache.set(autoencoder.autoencoder, sets);
  }
  return sets;
}

/**
 * Trains and scores one cell, touching no files: the same in this thread, a worker thread or a queue's worker on
 * another machine. `autoencoder` is the pretrained autoencoder the cell starts from: its encoder for frozen and
 * fine-tuned cells, and the whole of it for the "denoise first" robustness scores of every cell, scratch too.
 */
export async function trainCell(context: TrainingContext, data: PreparedData, autoencoder: Autoencoder, job: CellJob): Promise<SweepCell> {
  const { labels, seed, budget, stage } = job;
  const labelled = subsetImageSet(data.train, job.indices);
  const validation = job.validationIndices === null ? data.validation : subsetImageSet(data.validation, job.validationIndices);
  const cellContext = { ...context, config: { ...context.config, classifier: budget } };
  const { classifier, result, bestEpoch } = await trainAndEvaluate(cellContext, data, autoencoder.encoder, job.encoder, labelled, validation, {
    stage, name: `sweep-${job.encoder}-${labels}-${seed}`, seed, labelFraction: labels / data.train.count,
  });
  const robustness = robustnessOf(classifier.model, cellRobustnessSets(context.config, data, autoencoder), data.test.classes);
  classifier.model.dispose();
  context.reporter({ type: 'run-end', stage, bestEpoch, epochs: result.epochs, testAccuracy: result.test.accuracy, macroF1: result.test.macroF1, seconds: result.trainSeconds });
  return {
    ...job.extra, encoder: job.encoder, labels, seed, accuracy: result.test.accuracy, macroF1: result.test.macroF1, epochs: result.epochs, seconds: result.trainSeconds,
    robustness,
  };
}

/** Where a cell of a run folder's grid starts from and where its result goes. */
export interface CellPlace {
  /** The cell's file in the run folder, e.g. `sweep/cells/finetuned-100-seed1.json`. */
  file: string;
  /** The folder in the run folder holding the autoencoder (encoder/, decoder/) the cell starts from: `models` for the sweep. */
  models: string;
}

/**
 * A cell with its keys in the one order its file has, however it was trained: a result back from a job queue went
 * through PostgreSQL's jsonb, which keeps its own key order (shortest first), and `diff` or a checksum of two run
 * folders would flag every file although every number is equal. Fields not named here follow, as they came.
 */
function canonicalCell(cell: SweepCell, job: Pick<CellJob, 'extra'>): SweepCell {
  const { robustness } = cell;
  const ordered: Record<string, unknown> = {
    ...Object.fromEntries(Object.keys(job.extra ?? {}).map((key) => [key, (cell as unknown as Record<string, unknown>)[key]])),
    encoder: cell.encoder, labels: cell.labels, seed: cell.seed, accuracy: cell.accuracy, macroF1: cell.macroF1, epochs: cell.epochs, seconds: cell.seconds,
    ...(robustness ? {
      robustness: {
        images: robustness.images, clean: robustness.clean,
        corruptions: robustness.corruptions.map(({ noise, accuracy, denoisedAccuracy }) => ({
          noise: { kind: noise.kind, amount: noise.amount }, accuracy, ...(denoisedAccuracy === undefined ? {} : { denoisedAccuracy }),
        })),
      },
    } : {}),
  };
  return { ...ordered, ...Object.fromEntries(Object.entries(cell).filter(([key]) => !(key in ordered))) } as unknown as SweepCell;
}

/** Writes a finished cell to its file (atomically), with the budget a rerun checks before skipping it. */
export async function saveCell(context: Pick<ExperimentContext, 'run' | 'reporter'>, cell: SweepCell, job: Pick<CellJob, 'budget' | 'stage' | 'extra'>, file: string): Promise<void> {
  await context.run.writeJson(file, { ...canonicalCell(cell, job), budget: job.budget });
  context.reporter({ type: 'saved', stage: job.stage, file });
}

/** Trains and scores one cell here (this thread or a pool's worker thread) and writes it to its file. */
export async function sweepCell(context: ExperimentContext, data: PreparedData, autoencoder: Autoencoder, job: CellJob, file: string): Promise<SweepCell> {
  const cell = await trainCell(context, data, autoencoder, job);
  await saveCell(context, cell, job, file);
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

/** A cell of a run folder's grid, its place there, and its planned work (images it may train on), by which the longest go first. */
export interface PlannedCell extends CellPlace { job: CellJob; work: number }

/** A cell to train elsewhere (on a job queue's workers), its planned work and the autoencoder it starts from. */
export interface GridCell {
  job: CellJob;
  work: number;
  autoencoder: Autoencoder;
}

/**
 * Trains a grid's cells somewhere else (on a job queue's workers) and calls `onResult` as each arrives, with the
 * time left as the runner sees it; the caller writes the results. Any grid of cells (the sweep's, an ablation's)
 * can be run this way.
 */
export type CellRunner = (context: ExperimentContext, data: PreparedData, cells: readonly GridCell[],
  onResult: (cell: SweepCell, index: number, etaSeconds: number) => Promise<void>) => Promise<void>;

/** A grid read back from its run folder: one slot per planned cell, filled where the folder holds its result. */
export interface CellGrid {
  /** The grid's step in the plan and its messages, e.g. `sweep`, `ablate`. */
  step: string;
  planned: PlannedCell[];
  slots: (SweepCell | undefined)[];
  /** The cells to train, in plan order, each with its slot. */
  pending: (PlannedCell & { slot: number })[];
  /** Cells trained at once: worker threads here, or 1 when a runner sends them elsewhere. */
  workers: number;
  runner?: CellRunner;
}

/**
 * Reads the planned cells that the run folder holds already (a cell counts only if it was trained with the
 * budget it would get now) and decides how the rest will train: in turn here, in worker threads (whose workers
 * load the autoencoders saved in the folder by the time the cells train), or through `runner`.
 */
export async function resumeCells(context: ExperimentContext, step: string, planned: PlannedCell[], runner?: CellRunner): Promise<CellGrid> {
  const { run } = context;
  const slots: (SweepCell | undefined)[] = [];
  const pending: CellGrid['pending'] = [];
  for (const entry of planned) {
    if (await run.exists(entry.file)) {
      const saved = await run.readJson<SweepCell & { budget?: unknown }>(entry.file);
      if (JSON.stringify(saved.budget) === JSON.stringify(entry.job.budget)) {
        const cell = { ...saved };
        delete cell.budget;
        slots.push(cell);
        continue;
      }
    }
    pending.push({ ...entry, slot: slots.length });
    slots.push(undefined);
  }
  const workers = runner ? 1 : classifierWorkerCount(context, pending.length, true);
  return { step, planned, slots, pending, workers, ...(runner ? { runner } : {}) };
}

/**
 * The corrupted copies that the first cell of an autoencoder on each thread makes and denoises (cellRobustnessSets),
 * in the encoder passes they weigh in arithmetic (an autoencoder pass is 6.4, model/arithmetic.ts). Measured in the
 * recorded sweeps, the first cell on each thread spent 4 to 6 s more (alone) after its last epoch than the others.
 */
export function robustnessSetImages(config: ExperimentConfig, testImages: number, classes: number): number {
  const perImage = workArithmetic(referenceShape, classes);
  return Math.round(robustnessCorruptions(config).length * Math.min(cellRobustnessImages, testImages) * perImage.autoencoderForward / perImage.encoderForward);
}

/** The plan's entries for the cells left to train, in the order they will be handed out. */
export function cellRunPlans(grid: CellGrid, data: PreparedData, config: ExperimentConfig): PlannedRun[] {
  // The robustness scores after the test predictions: every corruption, directly and denoised first.
  const scoredImages = Math.min(cellRobustnessImages, data.test.count);
  const robustnessImages = 2 * robustnessCorruptions(config).length * scoredImages;
  const setImages = robustnessSetImages(config, data.test.count, data.train.classes);
  const firstOnThread = new Map<string, number>();
  const ordered = grid.workers > 1 ? handoutOrder(grid.pending) : grid.pending;
  return ordered.map(({ job, models }) => {
    const plan = classifierRunPlan({
      stage: job.stage, step: grid.step, label: job.stage.startsWith(`${grid.step} `) ? job.stage.slice(grid.step.length + 1) : job.stage, mode: job.encoder,
      labels: job.labels, validation: job.validationIndices?.length ?? data.validation.count, test: data.test.count, budget: job.budget, done: false, parallel: grid.workers > 1,
    });
    // The pool hands an autoencoder's first cells to its threads one each, as far as it can tell beforehand.
    const cellsBefore = firstOnThread.get(models) ?? 0;
    firstOnThread.set(models, cellsBefore + 1);
    const firstCellImages = cellsBefore < grid.workers ? setImages : 0;
    return { ...plan, encoderImages: { ...plan.encoderImages, after: plan.encoderImages.after + robustnessImages + firstCellImages } };
  });
}

/**
 * Trains the grid's pending cells and returns every cell's result in plan order, however they finished, so that
 * sums over seeds repeat bit for bit. `autoencoderFor` gives this thread's autoencoder for a models folder.
 */
export async function runCells(context: ExperimentContext, data: PreparedData, grid: CellGrid,
  autoencoderFor: (models: string) => Promise<Autoencoder>): Promise<SweepCell[]> {
  const { reporter } = context;
  const { slots, pending, runner } = grid;
  if (runner) {
    // The queue's own count and time left: its workers' epochs never reach this process's display.
    let done = slots.length - pending.length;
    const cells: GridCell[] = [];
    for (const { job, work, models } of pending) cells.push({ job, work, autoencoder: await autoencoderFor(models) });
    await runner(context, data, cells, async (cell, index, etaSeconds) => {
      const entry = pending[index]!;
      await saveCell(context, cell, entry.job, entry.file);
      slots[entry.slot] = cell;
      done += 1;
      reporter({ type: 'cell-done', stage: entry.job.stage, epochs: cell.epochs, testAccuracy: cell.accuracy, macroF1: cell.macroF1, seconds: cell.seconds });
      reporter({ type: 'message', stage: grid.step, text: `cell ${done}/${slots.length} done (${entry.job.stage.slice(grid.step.length + 1)}: ${(100 * cell.accuracy).toFixed(2)}%); ${Number.isFinite(etaSeconds) ? `about ${Math.round(etaSeconds / 60)} min to go` : 'time left not known yet'}` });
    });
  } else if (grid.workers > 1) {
    await runInWorkers<SweepCell>(context, data, pending.map(({ job, work, file, models }) => ({ job: { kind: 'sweep-cell', job, file, models }, work })), grid.workers,
      (cell, index) => { slots[pending[index]!.slot] = cell; });
  } else {
    for (const entry of pending) slots[entry.slot] = await sweepCell(context, data, await autoencoderFor(entry.models), entry.job, entry.file);
  }
  return slots as SweepCell[];
}
