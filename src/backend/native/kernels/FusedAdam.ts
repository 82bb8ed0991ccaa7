// FusedAdam on the addon: one pass over the variable, its two moments and its gradient (native/adam.cc).
import type { KernelConfig, TensorInfo } from '@tensorflow/tfjs-core';
import type { MathBackendCPU } from '@tensorflow/tfjs-backend-cpu';

import { FusedAdam } from '../../fused-adam.js';
import type { FusedAdamAttrs } from '../../fused-adam.js';
import type { NativeAddon } from '../addon.js';
import { allocate, floatValues, output } from '../tensors.js';

export function fusedAdamConfig(addon: NativeAddon): KernelConfig {
  return {
    kernelName: FusedAdam,
    backendName: 'native',
    kernelFunc: (args) => {
      const backend = args.backend as MathBackendCPU;
      const { value, m, v, gradient } = args.inputs as Record<'value' | 'm' | 'v' | 'gradient', TensorInfo>;
      const attrs = args.attrs as unknown as FusedAdamAttrs;
      const arrays = [value, m, v, gradient].map((tensor) => floatValues(backend, tensor));
      const length = arrays[0]?.length ?? 0;
      if (arrays.some((array) => !array || array.length !== length)) {
        throw new Error(`${FusedAdam}: value, moments and gradient must be float32 tensors of one size`);
      }
      const outputs = [allocate(backend, length), allocate(backend, length), allocate(backend, length)] as const;
      // A Float32Array rounds each parameter to float32, as tfjs's scalar() does.
      const parameters = Float32Array.of(
        attrs.beta1,
        attrs.beta2,
        1 - attrs.beta1,
        1 - attrs.beta2,
        attrs.oneMinusAccBeta1,
        attrs.oneMinusAccBeta2,
        attrs.epsilon,
        -attrs.learningRate,
      );
      if (length > 0)
        addon.adamUpdate(
          ...(arrays as [Float32Array, Float32Array, Float32Array, Float32Array]),
          ...outputs,
          parameters,
        );
      return outputs.map((values) => output(backend, [...value.shape], values));
    },
  };
}
