// Adam as tfjs defines it, with each variable's update done by the backend's FusedAdam kernel when it has one:
// one kernel instead of thirteen per variable. On the small classifier that was a fifth of a training step.
// The arithmetic is the stock optimizer's, rounded the same way, so the weights match it bit for bit (tested);
// its state (moments, step count, bias-correction powers) is the stock state, so checkpoints are unchanged.
import * as tf from '@tensorflow/tfjs-core';

import { FusedAdam } from '../backend/fused-adam.js';
import type { FusedAdamAttrs } from '../backend/fused-adam.js';

/** The stock optimizer's private fields this class (and the native training step) reads and writes. */
export interface AdamState {
  beta1: number;
  beta2: number;
  epsilon: number;
  accBeta1: tf.Variable;
  accBeta2: tf.Variable;
  accumulatedFirstMoment: { originalName: string; variable: tf.Variable }[];
  accumulatedSecondMoment: { originalName: string; variable: tf.Variable }[];
}

type VariableGradients = Parameters<tf.AdamOptimizer['applyGradients']>[0];

export class FusedAdamOptimizer extends tf.AdamOptimizer {
  /** The step size, which tfjs keeps protected; schedules change it between steps (the moments are kept). */
  get rate(): number {
    return this.learningRate;
  }

  set rate(value: number) {
    this.learningRate = value;
  }

  override applyGradients(variableGradients: VariableGradients): void {
    if (!tf.getKernel(FusedAdam, tf.getBackend())) {
      super.applyGradients(variableGradients);
      return;
    }
    const state = this as unknown as AdamState;
    const names = Array.isArray(variableGradients)
      ? variableGradients.map((entry) => entry.name)
      : Object.keys(variableGradients);
    tf.tidy(() => {
      const attrs: FusedAdamAttrs = {
        beta1: state.beta1,
        beta2: state.beta2,
        epsilon: state.epsilon,
        learningRate: this.learningRate,
        // sub(1, accBeta) in float32, as the stock optimizer computes it.
        oneMinusAccBeta1: Math.fround(1 - (state.accBeta1.dataSync()[0] as number)),
        oneMinusAccBeta2: Math.fround(1 - (state.accBeta2.dataSync()[0] as number)),
      };
      names.forEach((name, index) => {
        const value = tf.engine().registeredVariables[name]!;
        state.accumulatedFirstMoment[index] ??= {
          originalName: `${name}/m`,
          variable: tf.tidy(() => tf.zerosLike(value).variable(false)),
        };
        state.accumulatedSecondMoment[index] ??= {
          originalName: `${name}/v`,
          variable: tf.tidy(() => tf.zerosLike(value).variable(false)),
        };
        const gradient = Array.isArray(variableGradients) ? variableGradients[index]?.tensor : variableGradients[name];
        if (gradient == null) return;
        const m = state.accumulatedFirstMoment[index].variable;
        const v = state.accumulatedSecondMoment[index].variable;
        const [newValue, newM, newV] = tf
          .engine()
          .runKernel(FusedAdam, { value, m, v, gradient }, attrs as unknown as tf.NamedAttrMap) as tf.Tensor[];
        m.assign(newM!);
        v.assign(newV!);
        value.assign(newValue!);
      });
      state.accBeta1.assign(tf.mul(state.accBeta1, state.beta1));
      state.accBeta2.assign(tf.mul(state.accBeta2, state.beta2));
    });
    this.incrementIterations();
  }
}

/** Adam with tfjs's defaults (beta1 0.9, beta2 0.999, the backend's epsilon), as tf.train.adam(learningRate). */
export function adam(learningRate: number): FusedAdamOptimizer {
  return new FusedAdamOptimizer(learningRate, 0.9, 0.999);
}

/** The factor on a base learning rate at progress 0…1 through a cosine decay: 1 at the start, 5% at the end. */
export function cosineDecay(progress: number): number {
  return 0.05 + 0.95 * 0.5 * (1 + Math.cos(Math.PI * progress));
}
