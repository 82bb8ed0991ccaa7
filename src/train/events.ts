// Training reports progress as typed events to an injected reporter; progress bars, JSON logs and tests are
// reporters. Nothing in train/ writes to the terminal.
import type { EpochRecord } from '../metrics.js';

export type TrainingEvent =
  | { type: 'stage-start'; stage: string; description: string }
  | { type: 'epoch-start'; stage: string; epoch: number; maxEpochs: number; batches: number }
  | { type: 'batch-end'; stage: string; epoch: number; batch: number; batches: number; loss: number }
  | { type: 'epoch-end'; stage: string; record: EpochRecord; improved: boolean }
  | { type: 'stage-end'; stage: string; seconds: number; summary: string }
  | { type: 'message'; stage: string; text: string }
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
  constructor(readonly stage: string, readonly epoch: number, readonly batch: number, readonly loss: number) {
    super(`${stage}: the loss became ${loss} at epoch ${epoch}, batch ${batch} — lower the learning rate ` +
      `(--learning-rate) or check the data; the last good checkpoint is kept`);
  }
}

/** Ctrl-C or SIGTERM reached a safe point: the last checkpoint is intact and the run can be continued. */
export class InterruptedError extends Error {
  override readonly name = 'InterruptedError';
  constructor(readonly stage: string, readonly epoch: number) {
    super(`${stage}: interrupted during epoch ${epoch}; the checkpoint of the last finished epoch is kept`);
  }
}
