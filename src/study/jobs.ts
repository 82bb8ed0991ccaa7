// What one unit of classifier work is, below everything that runs it: the study's classifier runs, the cells of
// the label sweep and of the pretraining ablation, the worker threads that train them side by side and the job
// queue that sends them to other machines all speak these types. This module imports nothing but the config's and the
// metrics' types.
import type { ExperimentConfig } from '../config.js';
import type { EncoderMode } from '../model/classifier.js';

/** One classifier run of the study, named `<mode>-<labels>`, e.g. `finetuned-5500`. */
export interface ClassifierJob {
  labelFraction: number;
  mode: EncoderMode;
}

/**
 * One cell of a grid of classifiers (the label sweep's, the ablation's): a variant, a label subset and a seed, with
 * its budget. Where it starts from (the pretrained autoencoder) and where its result goes are the runner's business.
 */
export interface CellJob {
  encoder: EncoderMode;
  labels: number;
  seed: number;
  budget: ExperimentConfig['classifier'];
  /** The labelled images: indices into the training split. */
  indices: Int32Array;
  /** The validation subset for early stopping; null = the whole validation split. */
  validationIndices: Int32Array | null;
  /**
   * The progress events' stage, e.g. `sweep finetuned 100 labels seed 1`. It also seeds the cell's batch order and
   * distortions per epoch (train/classifier.ts), so it is part of what the cell is: renaming it changes results.
   */
  stage: string;
  /** Written into the cell's result beside the scores, e.g. the pretraining an ablation cell stands for. */
  extra?: Record<string, string>;
}

/** A cell's name within its grid, e.g. `finetuned-300-seed2`: also the name of its result file. */
export const cellName = (cell: Pick<CellJob, 'encoder' | 'labels' | 'seed'>): string =>
  `${cell.encoder}-${cell.labels}-seed${cell.seed}`;
