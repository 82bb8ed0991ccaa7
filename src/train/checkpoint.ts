// What a training loop needs to continue after an interruption: everything that influences later epochs.
import * as tf from '@tensorflow/tfjs-core';

import type { EpochRecord } from '../metrics.js';

export interface TrainingState {
  /** Epochs completed. */
  epoch: number;
  history: EpochRecord[];
  bestScore: number;
  bestEpoch: number;
  staleEpochs: number;
  weights: Float32Array[];
  bestWeights: Float32Array[];
  optimizer: { name: string; shape: number[]; values: Float32Array }[];
}

/** Where a loop keeps its state between epochs; the run folder provides one that writes files atomically. */
export interface CheckpointStore {
  load(): Promise<TrainingState | null>;
  save(state: TrainingState): Promise<void>;
}

export async function optimizerState(optimizer: tf.Optimizer): Promise<TrainingState['optimizer']> {
  const named = await optimizer.getWeights();
  return named.map(({ name, tensor }) => ({ name, shape: [...tensor.shape], values: tensor.dataSync().slice() as Float32Array }));
}

export async function restoreOptimizerState(optimizer: tf.Optimizer, state: TrainingState['optimizer']): Promise<void> {
  const named = state.map(({ name, shape, values }) => ({ name, tensor: tf.tensor(values, shape) }));
  await optimizer.setWeights(named);
  tf.dispose(named.map(({ tensor }) => tensor));
}
