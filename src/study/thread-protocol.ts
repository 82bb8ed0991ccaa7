// What the main thread and a classifier worker say to each other.
import type { ExperimentConfig } from '../config.js';
import type { PreparedData } from '../data/prepare.js';
import type { RobustnessSets } from '../eval/robustness.js';
import type { CellJob, ClassifierJob } from './jobs.js';
import type { ClassifierResult, SweepCell } from '../io/metrics.js';
import type { TrainingEvent } from '../train/events.js';

export interface WorkerSetup {
  /** The run folder: its pretrained encoder and decoder are loaded, and each run's files are written there. */
  directory: string;
  config: ExperimentConfig;
  /** The main thread's data, in SharedArrayBuffers: every worker reads the same memory, none holds a copy. */
  data: PreparedData;
  /** One Int32: set to 1 by the main thread when the runs should stop at their next batch. */
  stop: SharedArrayBuffer;
  /** Grid cells' robustness images per models folder, in SharedArrayBuffers (sharedCellRobustnessSets). */
  robustness?: Record<string, RobustnessSets>;
}

/** An error as it crosses threads: its class name and message, and the fields our own errors are rebuilt from. */
export interface SerializedError {
  name: string;
  message: string;
  stack?: string;
  stage?: string;
  epoch?: number;
  batch?: number;
  loss?: number;
}

/**
 * A job for a worker: one classifier run of the study, or one cell of a grid (the label sweep's, the ablation's),
 * with the folder of the autoencoder it starts from and the file its result goes to, both in the run folder.
 */
export type WorkerJob =
  { kind: 'classifier'; job: ClassifierJob } | { kind: 'sweep-cell'; job: CellJob; file: string; models: string };

export type WorkerResult = ClassifierResult | SweepCell;

export type WorkerMessage =
  | { type: 'ready' }
  | { type: 'event'; event: TrainingEvent }
  | { type: 'result'; result: WorkerResult }
  | { type: 'error'; error: SerializedError };
