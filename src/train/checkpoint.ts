// What a training loop needs to continue after an interruption: everything that influences later epochs.
import * as tf from '@tensorflow/tfjs-core';

import type { EpochRecord } from './events.js';

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

// Adam's bias-correction powers. tfjs rebuilds them from the step count with pow() on restore, while training
// multiplies them step by step; the two differ in the last bits, which is enough for a resumed run to drift
// from an uninterrupted one. They are saved and put back exactly.
const adamPowers = ['accBeta1', 'accBeta2'] as const;
type AdamPowers = Partial<Record<(typeof adamPowers)[number], tf.Variable>>;

export async function optimizerState(optimizer: tf.Optimizer): Promise<TrainingState['optimizer']> {
  const named = await optimizer.getWeights();
  const state = named.map(({ name, tensor }) => ({
    name,
    shape: [...tensor.shape],
    values: tensor.dataSync().slice() as Float32Array,
  }));
  // getWeights hands back the optimizer's own variables plus a fresh scalar for the step count: that one is ours
  // to dispose (it leaked one tensor per checkpoint before).
  tf.dispose(named.map(({ tensor }) => tensor).filter((tensor) => !(tensor instanceof tf.Variable)));
  for (const power of adamPowers) {
    const variable = (optimizer as unknown as AdamPowers)[power];
    if (variable) state.push({ name: `__${power}`, shape: [], values: variable.dataSync().slice() as Float32Array });
  }
  return state;
}

export async function restoreOptimizerState(optimizer: tf.Optimizer, state: TrainingState['optimizer']): Promise<void> {
  const weights = state.filter(({ name }) => !name.startsWith('__'));
  const named = weights.map(({ name, shape, values }) => ({ name, tensor: tf.tensor(values, shape) }));
  await optimizer.setWeights(named);
  tf.dispose(named.map(({ tensor }) => tensor));
  for (const power of adamPowers) {
    const saved = state.find(({ name }) => name === `__${power}`);
    const variable = (optimizer as unknown as AdamPowers)[power];
    if (saved && variable) tf.tidy(() => variable.assign(tf.scalar(saved.values[0] as number)));
  }
}
