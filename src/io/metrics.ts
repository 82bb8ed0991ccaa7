// metrics.json: what a finished run measured. Every stage writes its part, the report and the page read it, and a
// file of an older format version is brought up to the current shape when read, the way that version's report showed
// it:
//   1  before datasets named their classes: the classes are their label numbers
//   2  dataset.classNames
//   3  classifiers' mistakes and robustness, sweep cells' robustness, the code map, the pretraining ablation: all
//      optional, so a version-2 file reads as a run that measured none of them
import type { NoiseSpec } from '../data/noise.js';
import type { ClassificationMetrics, ClassMetrics } from '../eval/classification.js';
import type { DenoisingScores, NoiseLevelScores } from '../eval/denoising.js';
import type { Mistake } from '../eval/mistakes.js';
import type { ReconstructionScores } from '../eval/reconstruction.js';
import type { Robustness } from '../eval/robustness.js';
import type { EncoderMode } from '../model/classifier.js';
import type { EpochRecord } from '../train/events.js';
import type { RunFolder } from './run-folder.js';
import { RunFolderError } from './run-folder.js';

// The measured parts are defined beside what measures them; they are part of this file's shape.
export type {
  ClassificationMetrics,
  ClassMetrics,
  DenoisingScores,
  EncoderMode,
  NoiseLevelScores,
  EpochRecord,
  Mistake,
  NoiseSpec,
  ReconstructionScores,
  Robustness,
};

export interface ClassifierResult {
  encoder: EncoderMode;
  labelFraction: number;
  labels: number;
  epochs: number;
  trainSeconds: number;
  history: EpochRecord[];
  validation: { accuracy: number };
  test: ClassificationMetrics;
  /** The most confident mistakes on the test set, most confident first (format 3; absent before). */
  mistakes?: Mistake[];
  /** Accuracy on corrupted test images (format 3; absent before). */
  robustness?: Robustness;
}

/** One classifier trained in the label-efficiency sweep. */
export interface SweepCell {
  encoder: EncoderMode;
  labels: number;
  seed: number;
  accuracy: number;
  macroF1: number;
  epochs: number;
  seconds: number;
  /** On the first test images only, to keep cells cheap (format 3; absent before). */
  robustness?: Robustness;
}

export interface MeanAndSpread {
  mean: number;
  /** Sample standard deviation over seeds (0 for a single seed). */
  std: number;
}

export function meanAndSpread(values: readonly number[]): MeanAndSpread {
  const mean = values.reduce((sum, value) => sum + value, 0) / values.length;
  const variance =
    values.length < 2 ? 0 : values.reduce((sum, value) => sum + (value - mean) ** 2, 0) / (values.length - 1);
  return { mean, std: Math.sqrt(variance) };
}

export interface SweepResult {
  labelCounts: number[];
  seeds: number[];
  /** How early stopping was validated in each cell. */
  validationPolicy: string;
  cells: SweepCell[];
  summary: {
    encoder: EncoderMode;
    labels: number;
    seeds: number;
    accuracy: MeanAndSpread;
    macroF1: MeanAndSpread;
    /**
     * Mean accuracy over the corruptions per seed, then mean ± std over seeds: on the corrupted and on the denoised
     * images (format 3).
     */
    corrupted?: MeanAndSpread;
    denoised?: MeanAndSpread;
  }[];
  /** Fine-tuned minus scratch test accuracy, paired by seed: mean and spread of the differences. */
  gain: ({ labels: number } & MeanAndSpread)[];
}

/** One autoencoder of the pretraining ablation: its corruption, its budget, and how well it reconstructs. */
export interface AblationPretraining {
  name: string;
  title: string;
  noise: NoiseSpec;
  epochs: number;
  /** Unlabelled training images per epoch. */
  images: number;
  trainSeconds: number;
  /** Best validation loss: MSE of the output for validation images under its own corruption, against the clean ones. */
  validationLoss: number;
  /** MSE of the output for clean validation images. */
  cleanValidationMse: number;
  /**
   * MSE of the output for validation images under 20% salt and pepper (the study's corruption): one yardstick for all.
   */
  referenceValidationMse: number;
}

/** A cell of the ablation: a sweep cell on the named pretraining's encoder ('scratch' for the baseline). */
export interface AblationCell extends SweepCell {
  pretraining: string;
}

export interface AblationSummaryEntry {
  pretraining: string;
  encoder: EncoderMode;
  labels: number;
  seeds: number;
  accuracy: MeanAndSpread;
  corrupted?: MeanAndSpread;
  denoised?: MeanAndSpread;
  /** This cell minus the plain autoencoder's cell of the same variant, labels and seed: mean ± std over seeds. */
  versusPlain?: MeanAndSpread;
  /** This cell minus scratch's cell of the same labels and seed. */
  versusScratch?: MeanAndSpread;
}

/** The pretraining ablation (`dae ablate`). */
export interface AblationResult {
  /** The budget every pretraining and cell had. */
  budget: { pretrainEpochs: number; pretrainImages: number; minimumSteps: number; imagesPerCell: number };
  labelCounts: number[];
  seeds: number[];
  pretrainings: AblationPretraining[];
  cells: AblationCell[];
  summary: AblationSummaryEntry[];
  /** Wall time of the sessions that wrote it, pretraining included. */
  totalSeconds: number;
}

/** metrics.json's format version; io/metrics-file.ts reads the older ones. */
export const metricsFormatVersion = 3;

export interface Metrics {
  formatVersion: typeof metricsFormatVersion;
  /** classNames: one per class, label 0 first, as the confusion matrices and per-class scores are ordered. */
  dataset: {
    name: string;
    classNames: string[];
    train: number;
    validation: number;
    test: number;
    height: number;
    width: number;
  };
  /**
   * classifierWorkers: classifier runs trained at once, each on one kernel thread when more than 1. detail: what ran
   * the kernels (for native, e.g. "avx2 kernels, x86-64-v3 build, prebuilt"; absent in files written before it was).
   */
  backend: { name: string; detail?: string; threads: number; classifierWorkers: number };
  autoencoder: {
    encoderParams: number;
    decoderParams: number;
    epochs: number;
    trainSeconds: number;
    history: EpochRecord[];
    noise: NoiseSpec;
    test: DenoisingScores;
    /** The same scores at other noise levels than the training one. */
    noiseLevels: NoiseLevelScores[];
  };
  classifiers: ClassifierResult[];
  /** The label-efficiency sweep (`dae sweep`), when it has been run on this folder. */
  sweep?: SweepResult;
  /** The pretraining ablation (`dae ablate`), when it has been run on this folder (format 3). */
  ablation?: AblationResult;
  totalSeconds: number;
}

export const metricsFileName = 'metrics.json';
const readableVersions = [1, 2, metricsFormatVersion];

/** The label numbers as class names, as many as the classification reports have classes (MNIST's ten by default). */
function numberedClasses(metrics: Partial<Metrics>): string[] {
  const classes = metrics.classifiers?.[0]?.test.perClass.length ?? 10;
  return Array.from({ length: classes }, (_, label) => String(label));
}

/** A parsed metrics.json of any readable version, in the current shape. Throws RunFolderError for other versions. */
export function upgradeMetrics(saved: unknown, file: string): Metrics {
  const version =
    saved !== null && typeof saved === 'object' ? (saved as { formatVersion?: unknown }).formatVersion : undefined;
  if (typeof version !== 'number' || !readableVersions.includes(version)) {
    throw new RunFolderError(
      file,
      `metrics format version ${String(version)} is not supported (this dae reads ${readableVersions.join(', ')})`,
      'upgrade dae, or write it again with `dae report`',
    );
  }
  const metrics = saved as Partial<Metrics>;
  // A sweep run before the classifiers writes metrics.json with its results alone, and no dataset yet.
  const dataset =
    metrics.dataset === undefined
      ? {}
      : { dataset: { ...metrics.dataset, classNames: metrics.dataset.classNames ?? numberedClasses(metrics) } };
  return { ...metrics, ...dataset, formatVersion: metricsFormatVersion } as Metrics;
}

/** What to do about a metrics.json that cannot be read: derived from the stage files, `dae report` rebuilds it. */
export const rebuildMetricsHint = (run: RunFolder) =>
  `rebuild it from the stage files with \`dae report ${run.directory}\``;

/** The run folder's metrics.json, checked and upgraded (upgradeMetrics). */
export async function readMetrics(run: RunFolder): Promise<Metrics> {
  return upgradeMetrics(
    await run.readJson<unknown>(metricsFileName, rebuildMetricsHint(run)),
    run.path(metricsFileName),
  );
}

/** metrics.json as it stands: not written yet, unreadable (corrupted, or a format this dae does not read), or read. */
export type SavedMetrics =
  { state: 'missing' } | { state: 'unreadable'; problem: RunFolderError } | { state: 'read'; metrics: Metrics };

/** The run folder's metrics.json, or why it cannot be had; for the writers that can rebuild it from the stage files. */
export async function readSavedMetrics(run: RunFolder): Promise<SavedMetrics> {
  if (!(await run.exists(metricsFileName))) return { state: 'missing' };
  try {
    return { state: 'read', metrics: await readMetrics(run) };
  } catch (error) {
    if (error instanceof RunFolderError) return { state: 'unreadable', problem: error };
    throw error;
  }
}
