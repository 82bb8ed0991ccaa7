// Conv2D and FusedConv2D (NHWC, HWIO filters) on the addon; bias and relu/sigmoid fused into the epilogue.
import { backend_util, Conv2D, FusedConv2D } from '@tensorflow/tfjs-core';
import type { Conv2DAttrs, FusedConv2DAttrs, KernelConfig, TensorInfo } from '@tensorflow/tfjs-core';
import type { MathBackendCPU } from '@tensorflow/tfjs-backend-cpu';

import type { NativeAddon } from '../addon.js';
import { activationCode, allocate, convGeometry, fallback, floatValues, output, size } from '../tensors.js';
import type { KernelArgs } from '../tensors.js';

export function conv2dImpl(
  addon: NativeAddon,
  backend: MathBackendCPU,
  x: TensorInfo,
  filter: TensorInfo,
  attrs: Conv2DAttrs,
  bias: TensorInfo | undefined,
  activation: number,
): TensorInfo | null {
  const info = backend_util.computeConv2DInfo(
    x.shape as [number, number, number, number],
    filter.shape as [number, number, number, number],
    attrs.strides,
    attrs.dilations,
    attrs.pad,
    attrs.dimRoundingMode,
    false,
    backend_util.convertConv2DDataFormat(attrs.dataFormat),
  );
  const geometry = convGeometry(info);
  const xValues = floatValues(backend, x);
  const filterValues = floatValues(backend, filter);
  const biasValues = bias ? floatValues(backend, bias) : null;
  if (!geometry || !xValues || !filterValues || (bias && (!biasValues || size(bias.shape) !== info.outChannels))) {
    return null;
  }
  const y = allocate(backend, size(info.outShape));
  addon.conv2d(geometry, xValues, filterValues, y, biasValues, activation);
  return output(backend, info.outShape, y);
}

export function conv2dConfig(addon: NativeAddon): KernelConfig {
  return {
    kernelName: Conv2D,
    backendName: 'native',
    kernelFunc: (args) => {
      const { x, filter } = args.inputs as { x: TensorInfo; filter: TensorInfo };
      const result = conv2dImpl(
        addon,
        args.backend as MathBackendCPU,
        x,
        filter,
        args.attrs as unknown as Conv2DAttrs,
        undefined,
        0,
      );
      return result ?? fallback(Conv2D, args as KernelArgs);
    },
  };
}

export function fusedConv2dConfig(addon: NativeAddon): KernelConfig {
  return {
    kernelName: FusedConv2D,
    backendName: 'native',
    kernelFunc: (args) => {
      const { x, filter, bias, preluActivationWeights } = args.inputs as {
        x: TensorInfo;
        filter: TensorInfo;
        bias?: TensorInfo;
        preluActivationWeights?: TensorInfo;
      };
      const attrs = args.attrs as unknown as FusedConv2DAttrs;
      const activation = activationCode(attrs.activation, preluActivationWeights != null);
      const result =
        activation === null
          ? null
          : conv2dImpl(addon, args.backend as MathBackendCPU, x, filter, attrs, bias, activation);
      return result ?? fallback(FusedConv2D, args as KernelArgs);
    },
  };
}
