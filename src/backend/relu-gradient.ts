// Relu's gradient, dy * step(x), as one kernel where the backend has it. tfjs computes it as step, cast and
// multiply: three passes over activations that, at the decoder's 28x28x32 layer, are 12.8 MB per batch and
// come from main memory. The override applies to every backend; one without the kernel gets tfjs's formula.
import * as tf from '@tensorflow/tfjs-core';
import { Relu } from '@tensorflow/tfjs-core';
import type { GradConfig, Tensor } from '@tensorflow/tfjs-core';

export const ReluGradient = 'DaeReluGradient';

let registered = false;

export function registerReluGradient(): void {
  if (registered) return;
  const config: GradConfig = {
    kernelName: Relu,
    inputsToSave: ['x'],
    gradFunc: (dy, saved) => {
      const gradient = dy as Tensor;
      const [x] = saved as [Tensor];
      return {
        x: () =>
          gradient.dtype === 'float32' && x.dtype === 'float32' && tf.getKernel(ReluGradient, tf.getBackend())
            ? (tf.engine().runKernel(ReluGradient, { dy: gradient, x }) as Tensor)
            : tf.mul(gradient, tf.cast(tf.step(x), 'float32')),
      };
    },
  };
  tf.registerGradient(config);
  registered = true;
}
