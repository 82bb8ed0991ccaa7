// A grid of cells (study/cell.ts) in a run folder: the label sweep's and the pretraining ablation's. One machinery
// for both grids and every place a cell trains: this thread, the pool's threads, or a job queue's workers on other
// machines (src/queue). Each finished cell is written to its own file at once (atomically), so a killed grid loses
// at most the cells in progress and a rerun skips what is done.
import type { ExperimentConfig } from '../config.js';
import type { PreparedData } from '../data/prepare.js';
import { stratifiedSubsets } from '../data/split.js';
import { meanCorruptedAccuracy } from '../eval/robustness.js';
import { meanAndSpread } from '../io/metrics.js';
import type { MeanAndSpread, SweepCell } from '../io/metrics.js';
import type { Autoencoder } from '../model/autoencoder.js';
import type { ClassifierConfig } from '../train/classifier.js';
import type { PlannedRun } from '../train/events.js';
import { cellRobustnessImages, saveCell, sharedCellRobustnessSets, sweepCell } from '../study/cell.js';
import { classifierWorkerCount } from '../study/classify.js';
import type { ExperimentContext } from '../study/context.js';
import { robustnessCorruptions } from '../study/evaluate.js';
import type { CellJob } from '../study/jobs.js';
import { classifierRunPlan } from '../study/plan.js';
import { longestFirst, runInThreads } from '../study/threads.js';

/** Large cells see at most this many images (5 epochs of all 55,000 labels) unless told otherwise. */
export const sweepImagesPerCell = 275_000;

/**
 * The classifier budget for a cell of `labels` labelled images. The experiment's budget is set for 5,500 and
 * 55,000 labels; a few hundred labels at batch 128 would get a handful of steps per epoch and stop before
 * learning anything. Small cells get smaller batches, enough epochs for `minimumSteps` steps, and patience,
 * plateau patience and warm-up scaled with their epoch count. Large cells keep the experiment's budget, up to
 * `imagesPerCell` images (so that the whole grid fits its time budget; the experiment's own 100% runs train longer).
 */
export function cellBudget(
  base: ClassifierConfig,
  labels: number,
  minimumSteps: number,
  imagesPerCell = sweepImagesPerCell,
): ClassifierConfig {
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

/** Mean ± std over cells of each cell's mean accuracy over the corruptions, when every cell measured them. */
export function robustnessSummary(cells: readonly Pick<SweepCell, 'robustness'>[]): {
  corrupted?: MeanAndSpread;
  denoised?: MeanAndSpread;
} {
  if (cells.length === 0 || cells.some((cell) => cell.robustness === undefined)) return {};
  const corrupted = meanAndSpread(cells.map((cell) => meanCorruptedAccuracy(cell.robustness!, 'corrupted')));
  const complete = cells.every((cell) =>
    cell.robustness!.corruptions.every((entry) => entry.denoisedAccuracy !== undefined),
  );
  return complete
    ? { corrupted, denoised: meanAndSpread(cells.map((cell) => meanCorruptedAccuracy(cell.robustness!, 'denoised'))) }
    : { corrupted };
}

/** Where a cell of a run folder's grid starts from and where its result goes. */
export interface CellPlace {
  /** The cell's file in the run folder, e.g. `sweep/cells/finetuned-100-seed1.json`. */
  file: string;
  /**
   * The folder in the run folder holding the autoencoder (encoder/, decoder/) the cell starts from: `models` for the
   * sweep.
   */
  models: string;
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
      validationIndices:
        validationCount === data.validation.count
          ? null
          : stratifiedSubsets(data.validation.labels, everyValidation, [validationCount], seed)[0]!,
    };
  });
}

export const cellValidationPolicy =
  'early stopping on a stratified validation subset of at most as many labelled images as the training subset (capped at the held-out set)';

/**
 * A cell of a run folder's grid, its place there, and its planned work (images it may train on), by which the longest
 * go first.
 */
export interface PlannedCell extends CellPlace {
  job: CellJob;
  work: number;
}

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
export type CellRunner = (
  context: ExperimentContext,
  data: PreparedData,
  cells: readonly GridCell[],
  onResult: (cell: SweepCell, index: number, etaSeconds: number) => Promise<void>,
) => Promise<void>;

/** A grid read back from its run folder: one slot per planned cell, filled where the folder holds its result. */
export interface CellGrid {
  /** The grid's step in the plan and its messages, e.g. `sweep`, `ablate`. */
  step: string;
  planned: PlannedCell[];
  slots: (SweepCell | undefined)[];
  /** The cells to train, in the order they are handed out (handoutOrder), each with its slot. */
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
export async function resumeCells(
  context: ExperimentContext,
  step: string,
  planned: PlannedCell[],
  runner?: CellRunner,
): Promise<CellGrid> {
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
  return { step, planned, slots, pending: handoutOrder(pending), workers, ...(runner ? { runner } : {}) };
}

/** A cell's group: the cells of one variant on one label subset size (and pretraining), the seeds apart. */
const groupOf = (job: CellJob) => job.stage.replace(/ seed \d+$/, '');

/**
 * The order the cells are handed out in: first one cell of each group, shortest first, so that the time estimate
 * soon knows how many epochs each group's cells take before they stop early; then the rest, longest first, so that
 * the last cells to finish are short ones. Results do not depend on it: each cell is saved to its own slot.
 */
export function handoutOrder<Cell extends { job: CellJob; work: number }>(cells: Cell[]): Cell[] {
  const seen = new Set<string>();
  const firsts: Cell[] = [];
  const rest: Cell[] = [];
  for (const cell of cells) {
    (seen.has(groupOf(cell.job)) ? rest : firsts).push(cell);
    seen.add(groupOf(cell.job));
  }
  return [...firsts.sort((a, b) => a.work - b.work), ...longestFirst(rest)];
}

/** The plan's entries for the cells left to train, in the order they will be handed out. */
export function cellRunPlans(grid: CellGrid, data: PreparedData, config: ExperimentConfig): PlannedRun[] {
  // After the test predictions, every corruption scored directly and denoised first.
  const scoredImages = Math.min(cellRobustnessImages, data.test.count);
  const corruptions = robustnessCorruptions(config).length;
  const charged = new Set<string>();
  return grid.pending.map(({ job, models }) => {
    const plan = classifierRunPlan({
      stage: job.stage,
      step: grid.step,
      label: job.stage.startsWith(`${grid.step} `) ? job.stage.slice(grid.step.length + 1) : job.stage,
      group: groupOf(job),
      mode: job.encoder,
      labels: job.labels,
      validation: job.validationIndices?.length ?? data.validation.count,
      test: data.test.count,
      budget: job.budget,
      done: false,
      parallel: grid.workers > 1,
    });
    // The scored images are corrupted and denoised once per autoencoder (sharedCellRobustnessSets, or the first
    // cell's thread when one thread trains them all): charged to its first cell.
    const sets = charged.has(models) ? 0 : corruptions * scoredImages;
    charged.add(models);
    return {
      ...plan,
      forward: {
        ...plan.forward,
        classifier: plan.forward.classifier + 2 * corruptions * scoredImages,
        autoencoder: sets,
      },
    };
  });
}

/**
 * Trains the grid's pending cells and returns every cell's result in plan order, however they finished, so that
 * sums over seeds repeat bit for bit. `autoencoderFor` gives this thread's autoencoder for a models folder.
 */
export async function runCells(
  context: ExperimentContext,
  data: PreparedData,
  grid: CellGrid,
  autoencoderFor: (models: string) => Promise<Autoencoder>,
): Promise<SweepCell[]> {
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
      reporter({
        type: 'cell-done',
        stage: entry.job.stage,
        epochs: cell.epochs,
        testAccuracy: cell.accuracy,
        macroF1: cell.macroF1,
        seconds: cell.seconds,
      });
      reporter({
        type: 'message',
        stage: grid.step,
        text: `cell ${done}/${slots.length} done (${entry.job.stage.slice(grid.step.length + 1)}: ${(100 * cell.accuracy).toFixed(2)}%); ${Number.isFinite(etaSeconds) ? `about ${Math.round(etaSeconds / 60)} min to go` : 'time left not known yet'}`,
      });
    });
  } else if (grid.workers > 1) {
    const folders = [...new Set(pending.map(({ models }) => models))];
    await runInThreads<SweepCell>(
      context,
      data,
      pending.map(({ job, file, models }) => ({ kind: 'sweep-cell', job, file, models })),
      grid.workers,
      (cell, index) => {
        slots[pending[index]!.slot] = cell;
      },
      await sharedCellRobustnessSets(context.config, data, folders, autoencoderFor),
    );
  } else {
    for (const entry of pending)
      slots[entry.slot] = await sweepCell(context, data, await autoencoderFor(entry.models), entry.job, entry.file);
  }
  return slots as SweepCell[];
}
