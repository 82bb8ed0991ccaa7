// Conv2DBackpropFilter: dw = im2col(x)ᵀ · dy, summed over chunks of output pixels per thread.
import { backend_util, Conv2DBackpropFilter } from '@tensorflow/tfjs-core';
import type { Conv2DBackpropFilterAttrs, KernelConfig, TensorInfo } from '@tensorflow/tfjs-core';
import type { MathBackendCPU } from '@tensorflow/tfjs-backend-cpu';

import type { NativeAddon } from '../addon.js';
import { allocate, convGeometry, fallback, floatValues, output, size } from '../tensors.js';
import type { KernelArgs } from '../tensors.js';

export function conv2dBackpropFilterConfig(addon: NativeAddon): KernelConfig {
  return {
    kernelName: Conv2DBackpropFilter,
    backendName: 'native',
    kernelFunc: (args) => {
      const backend = args.backend as MathBackendCPU;
      const { x, dy } = args.inputs as { x: TensorInfo; dy: TensorInfo };
      const attrs = args.attrs as unknown as Conv2DBackpropFilterAttrs;
      const info = backend_util.computeConv2DInfo(
        x.shape as [number, number, number, number],
        attrs.filterShape,
        attrs.strides,
        1,
        attrs.pad,
        attrs.dimRoundingMode,
        false,
        backend_util.convertConv2DDataFormat(attrs.dataFormat),
      );
      const geometry = convGeometry(info);
      const xValues = floatValues(backend, x);
      const dyValues = floatValues(backend, dy);
      if (!geometry || !xValues || !dyValues) return fallback(Conv2DBackpropFilter, args as KernelArgs);
      const dw = allocate(backend, size(info.filterShape));
      addon.conv2dBackpropFilter(geometry, xValues, dyValues, dw);
      return output(backend, info.filterShape, dw);
    },
  };
}
