// Training reports progress as typed events to an injected reporter; progress bars, JSON logs and tests are
// reporters. Nothing in train/ writes to the terminal.

export interface EpochRecord {
  epoch: number;
  loss: number;
  validationLoss: number;
  accuracy?: number;
  validationAccuracy?: number;
  seconds: number;
}

/** Kinds of training epoch, whose speeds the time estimate measures apart: the autoencoder, the whole classifier
 * on images, and the classifier's head alone on precomputed codes (frozen runs, fine-tuning's warm-up). */
export const epochKinds = ['autoencoder', 'classifier', 'head'] as const;
export type EpochKind = (typeof epochKinds)[number];

/** Consecutive epochs of one kind, each training `images` rows in batches of `batchSize`, then a validation pass. */
export interface PlannedEpochs {
  kind: EpochKind;
  count: number;
  images: number;
  batchSize: number;
  validationImages: number;
}

/** Work outside the epochs: images passed forward through each model, and codes placed on the code map. */
export interface ForwardWork {
  autoencoder: number;
  encoder: number;
  classifier: number;
  codeMap: number;
}

/**
 * One entry of a plan: a stage, or one classifier run or grid cell, and the most work it may do. Epochs run in the
 * order of `epochs`, after the encoder's forward work (codes) and before the rest; early stopping may end a run
 * sooner. Amounts are counts, never times: the time estimate measures how fast each kind of work goes here.
 */
export interface PlannedRun {
  /** The stage name its events carry, e.g. `pretrain`, `classify scratch 10%`. */
  stage: string;
  /** The step it belongs to (`pretrain`, `denoise`, `inspect`, `classify`, `evaluate`, `report`, `sweep`, ...). */
  step: string;
  /** What the run's line is called, e.g. `scratch 10%`, `finetuned 300 labels seed 2`. */
  label: string;
  /** Found finished in the run folder: nothing to do. */
  done: boolean;
  /** Trained in the pool of threads, `workers` at once, each on one kernel thread; otherwise in turn. */
  parallel: boolean;
  /**
   * Classifier runs and cells: runs of one group (one variant on one label count, the seeds apart) are expected to
   * stop after about as many epochs as those of the group that have finished.
   */
  group?: string;
  epochs: PlannedEpochs[];
  /** Early stopping: epochs without improvement before the run stops; null = every epoch runs. */
  patience: number | null;
  forward: ForwardWork;
}

export type TrainingEvent =
  /** What the command will do, sent before any of it: the ETA's planned amounts. Steps run in the order given. */
  | { type: 'plan'; title: string; workers: number; runs: PlannedRun[] }
  | { type: 'stage-start'; stage: string; description: string }
  | { type: 'epoch-start'; stage: string; epoch: number; maxEpochs: number; batches: number }
  | { type: 'batch-end'; stage: string; epoch: number; batch: number; batches: number; loss: number }
  | { type: 'epoch-end'; stage: string; record: EpochRecord; improved: boolean }
  | { type: 'stage-end'; stage: string; seconds: number; summary: string }
  | { type: 'message'; stage: string; text: string }
  /** A classifier run or sweep cell was scored on the test set: its line's summary. */
  | {
      type: 'run-end';
      stage: string;
      bestEpoch: number;
      epochs: number;
      testAccuracy: number;
      macroF1: number;
      seconds: number;
    }
  /**
   * A cell trained elsewhere (by a job queue's worker) came back: it is done, though none of its training was seen
   * here.
   */
  | { type: 'cell-done'; stage: string; epochs: number; testAccuracy: number; macroF1: number; seconds: number }
  /**
   * A stage wrote one of its results into the run folder (`file` relative to it). Between two of these a stage has
   * written some of its files and not yet been marked done, which is where crash tests interrupt it.
   */
  | { type: 'saved'; stage: string; file: string };

export type Reporter = (event: TrainingEvent) => void;

export const silentReporter: Reporter = () => {};

/** Training produced a NaN or infinite loss: stops the stage, naming where it happened. */
export class DivergenceError extends Error {
  override readonly name = 'DivergenceError';
  constructor(
    readonly stage: string,
    readonly epoch: number,
    readonly batch: number,
    readonly loss: number,
  ) {
    super(
      `${stage}: the loss became ${loss} at epoch ${epoch}, batch ${batch} — lower the learning rate ` +
        `(--learning-rate) or check the data; the last good checkpoint is kept`,
    );
  }
}

/** Ctrl-C or SIGTERM reached a safe point: the last checkpoint is intact and the run can be continued. */
export class InterruptedError extends Error {
  override readonly name = 'InterruptedError';
  constructor(
    readonly stage: string,
    readonly epoch: number,
  ) {
    super(`${stage}: interrupted during epoch ${epoch}; the checkpoint of the last finished epoch is kept`);
  }
}
