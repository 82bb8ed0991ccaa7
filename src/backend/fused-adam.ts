// The one kernel this project adds to tfjs's vocabulary: a whole Adam step for one variable. A backend that has
// it registers it under this name; the optimizer (src/train/adam.ts) looks it up and otherwise does tfjs's own
// thirteen-kernel update.
export const FusedAdam = 'DaeFusedAdam';

/** Attributes of FusedAdam; inputs are { value, m, v, gradient }, outputs [newValue, newM, newV]. */
export interface FusedAdamAttrs {
  beta1: number;
  beta2: number;
  epsilon: number;
  learningRate: number;
  /** 1 - beta1^t and 1 - beta2^t, as float32 values (tfjs computes them with a float32 subtraction). */
  oneMinusAccBeta1: number;
  oneMinusAccBeta2: number;
}
