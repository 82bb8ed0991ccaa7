// One cell: a classifier variant trained on one label subset with one seed, and scored, the unit of the label sweep
// and of the pretraining ablation. `trainCell` touches no files, so a cell trains the same in this thread, a thread
// of the pool or a job queue's worker on another machine; `saveCell` writes a finished cell to its own file.
import type { ExperimentConfig } from '../config.js';
import { shared, subsetImageSet } from '../data/dataset.js';
import type { PreparedData } from '../data/prepare.js';
import { robustnessOf, robustnessSets } from '../eval/robustness.js';
import type { RobustnessSets } from '../eval/robustness.js';
import type { SweepCell } from '../io/metrics.js';
import type { Autoencoder } from '../model/autoencoder.js';
import { predictInBatches } from '../train/batches.js';
import { trainAndEvaluate } from './classify.js';
import type { ExperimentContext, TrainingContext } from './context.js';
import { robustnessCorruptions } from './evaluate.js';
import type { CellJob } from './jobs.js';

/**
 * Cells score robustness on the first 2,000 test images only (the study's classifiers on all of them): the seven
 * corruptions on the corrupted and the denoised images cost a cell about 28,000 forward passes this way.
 */
export const cellRobustnessImages = 2000;

/** The clean and corrupted test images the cells are scored on: the same for every autoencoder of a run. */
function corruptedSets(config: ExperimentConfig, data: PreparedData): RobustnessSets {
  return robustnessSets(data.test, robustnessCorruptions(config), config.seed, cellRobustnessImages);
}

/** `sets` with each corruption's images denoised by `autoencoder`, each array passed through `keep`. */
function denoisedBy(
  sets: RobustnessSets,
  autoencoder: Autoencoder,
  keep: (images: Float32Array) => Float32Array = (images) => images,
): RobustnessSets {
  return {
    ...sets,
    corruptions: sets.corruptions.map((corruption) => ({
      ...corruption,
      denoised: keep(
        predictInBatches(autoencoder.autoencoder, corruption.corrupted, sets.count, sets.height, sets.width),
      ),
    })),
  };
}

// Made once per thread and reused by every cell on it, per test set: the corrupted images once for the run's seed
// and corruptions (an ablation's seven autoencoders share them), their denoised versions once per autoencoder.
const robustnessCache = new WeakMap<
  PreparedData['test'],
  { key: string; corrupted: RobustnessSets; denoised: WeakMap<Autoencoder['autoencoder'], RobustnessSets> }
>();

function cellRobustnessSets(config: ExperimentConfig, data: PreparedData, autoencoder: Autoencoder): RobustnessSets {
  const key = JSON.stringify([config.seed, robustnessCorruptions(config)]);
  let entry = robustnessCache.get(data.test);
  if (entry?.key !== key) {
    entry = { key, corrupted: corruptedSets(config, data), denoised: new WeakMap() };
    robustnessCache.set(data.test, entry);
  }
  let sets = entry.denoised.get(autoencoder.autoencoder);
  if (!sets) {
    sets = denoisedBy(entry.corrupted, autoencoder);
    entry.denoised.set(autoencoder.autoencoder, sets);
  }
  return sets;
}

/**
 * The cells' robustness sets for each models folder, made once in this thread for all the worker threads, in
 * SharedArrayBuffers they read without a copy: made in every thread, an ablation's seven autoencoders cost each
 * thread 94 MB apiece. The corrupted images are one copy for all folders.
 */
export async function sharedCellRobustnessSets(
  config: ExperimentConfig,
  data: PreparedData,
  folders: readonly string[],
  autoencoderFor: (folder: string) => Promise<Autoencoder>,
): Promise<Record<string, RobustnessSets>> {
  const made = corruptedSets(config, data);
  const corrupted: RobustnessSets = {
    ...made,
    clean: shared(made.clean),
    labels: shared(made.labels),
    corruptions: made.corruptions.map((corruption) => ({ ...corruption, corrupted: shared(corruption.corrupted) })),
  };
  const byFolder: Record<string, RobustnessSets> = {};
  for (const folder of folders) byFolder[folder] = denoisedBy(corrupted, await autoencoderFor(folder), shared);
  return byFolder;
}

/**
 * Trains and scores one cell, touching no files: the same in this thread, a worker thread or a queue's worker on
 * another machine. `autoencoder` is the pretrained autoencoder the cell starts from: its encoder for frozen and
 * fine-tuned cells, and the whole of it for the "denoise first" robustness scores of every cell, scratch too.
 * `robustnessImages`, when given, are those scores' images for this autoencoder (sharedCellRobustnessSets), else made
 * in this thread the first time.
 */
export async function trainCell(
  context: TrainingContext,
  data: PreparedData,
  autoencoder: Autoencoder,
  job: CellJob,
  robustnessImages?: RobustnessSets,
): Promise<SweepCell> {
  const { labels, seed, budget, stage } = job;
  const labelled = subsetImageSet(data.train, job.indices);
  const validation =
    job.validationIndices === null ? data.validation : subsetImageSet(data.validation, job.validationIndices);
  const cellContext = { ...context, config: { ...context.config, classifier: budget } };
  const { classifier, result, bestEpoch } = await trainAndEvaluate(
    cellContext,
    data,
    autoencoder.encoder,
    job.encoder,
    labelled,
    validation,
    {
      stage,
      name: `sweep-${job.encoder}-${labels}-${seed}`,
      seed,
      labelFraction: labels / data.train.count,
    },
  );
  const robustness = robustnessOf(
    classifier.model,
    robustnessImages ?? cellRobustnessSets(context.config, data, autoencoder),
    data.test.classes,
  );
  classifier.model.dispose();
  context.reporter({
    type: 'run-end',
    stage,
    bestEpoch,
    epochs: result.epochs,
    testAccuracy: result.test.accuracy,
    macroF1: result.test.macroF1,
    seconds: result.trainSeconds,
  });
  return {
    ...job.extra,
    encoder: job.encoder,
    labels,
    seed,
    accuracy: result.test.accuracy,
    macroF1: result.test.macroF1,
    epochs: result.epochs,
    seconds: result.trainSeconds,
    robustness,
  };
}

/**
 * A cell with its keys in the one order its file has, however it was trained: a result back from a job queue went
 * through PostgreSQL's jsonb, which keeps its own key order (shortest first), and `diff` or a checksum of two run
 * folders would flag every file although every number is equal. Fields not named here follow, as they came.
 */
function canonicalCell(cell: SweepCell, job: Pick<CellJob, 'extra'>): SweepCell {
  const { robustness } = cell;
  const ordered: Record<string, unknown> = {
    ...Object.fromEntries(
      Object.keys(job.extra ?? {}).map((key) => [key, (cell as unknown as Record<string, unknown>)[key]]),
    ),
    encoder: cell.encoder,
    labels: cell.labels,
    seed: cell.seed,
    accuracy: cell.accuracy,
    macroF1: cell.macroF1,
    epochs: cell.epochs,
    seconds: cell.seconds,
    ...(robustness
      ? {
          robustness: {
            images: robustness.images,
            clean: robustness.clean,
            corruptions: robustness.corruptions.map(({ noise, accuracy, denoisedAccuracy }) => ({
              noise: { kind: noise.kind, amount: noise.amount },
              accuracy,
              ...(denoisedAccuracy === undefined ? {} : { denoisedAccuracy }),
            })),
          },
        }
      : {}),
  };
  return {
    ...ordered,
    ...Object.fromEntries(Object.entries(cell).filter(([key]) => !(key in ordered))),
  } as unknown as SweepCell;
}

/** Writes a finished cell to its file (atomically), with the budget a rerun checks before skipping it. */
export async function saveCell(
  context: Pick<ExperimentContext, 'run' | 'reporter'>,
  cell: SweepCell,
  job: Pick<CellJob, 'budget' | 'stage' | 'extra'>,
  file: string,
): Promise<void> {
  await context.run.writeJson(file, { ...canonicalCell(cell, job), budget: job.budget });
  context.reporter({ type: 'saved', stage: job.stage, file });
}

/** Trains and scores one cell here (this thread or a pool's worker thread) and writes it to its file. */
export async function sweepCell(
  context: ExperimentContext,
  data: PreparedData,
  autoencoder: Autoencoder,
  job: CellJob,
  file: string,
  robustnessImages?: RobustnessSets,
): Promise<SweepCell> {
  const cell = await trainCell(context, data, autoencoder, job, robustnessImages);
  await saveCell(context, cell, job, file);
  return cell;
}
