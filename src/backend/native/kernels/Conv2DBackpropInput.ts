// Conv2DBackpropInput (also the forward pass of Conv2DTranspose): dx = col2im(dy · filterᵀ).
import { backend_util, Conv2DBackpropInput } from '@tensorflow/tfjs-core';
import type { Conv2DBackpropInputAttrs, KernelConfig, TensorInfo } from '@tensorflow/tfjs-core';
import type { MathBackendCPU } from '@tensorflow/tfjs-backend-cpu';

import type { NativeAddon } from '../addon.js';
import { allocate, convGeometry, fallback, floatValues, output, size } from '../tensors.js';
import type { KernelArgs } from '../tensors.js';

export function conv2dBackpropInputConfig(addon: NativeAddon): KernelConfig {
  return {
    kernelName: Conv2DBackpropInput,
    backendName: 'native',
    kernelFunc: (args) => {
      const backend = args.backend as MathBackendCPU;
      const { dy, filter } = args.inputs as { dy: TensorInfo; filter: TensorInfo };
      const attrs = args.attrs as unknown as Conv2DBackpropInputAttrs;
      const info = backend_util.computeConv2DInfo(
        attrs.inputShape,
        filter.shape as [number, number, number, number],
        attrs.strides,
        1,
        attrs.pad,
        attrs.dimRoundingMode,
        false,
        backend_util.convertConv2DDataFormat(attrs.dataFormat),
      );
      const geometry = convGeometry(info);
      const dyValues = floatValues(backend, dy);
      const filterValues = floatValues(backend, filter);
      if (!geometry || !dyValues || !filterValues) return fallback(Conv2DBackpropInput, args as KernelArgs);
      const dx = allocate(backend, size(info.inShape));
      addon.conv2dBackpropInput(geometry, dyValues, filterValues, dx);
      return output(backend, info.inShape, dx);
    },
  };
}
