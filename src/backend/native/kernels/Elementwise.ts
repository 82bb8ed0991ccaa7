// Element-wise kernels and the leading-axes Sum on the addon. In a training step these are the bias adds of
// the transposed convolutions, the relu gradients (Step, Multiply), the bias gradients (Sum) and Adam's
// update (scalar Multiply, Add, RealDiv, Sqrt, Square): tfjs's cpu backend runs any broadcast through a
// per-element index computation, which made them ~90% of a step before they moved here.
import {
  Abs,
  Add,
  backend_util,
  Exp,
  Log,
  Maximum,
  Mean,
  Minimum,
  Multiply,
  Neg,
  RealDiv,
  Relu,
  Sigmoid,
  Sqrt,
  Square,
  SquaredDifference,
  Step,
  Sub,
  Sum,
  util,
} from '@tensorflow/tfjs-core';
import type { KernelConfig, MeanAttrs, StepAttrs, SumAttrs, TensorInfo } from '@tensorflow/tfjs-core';
import type { MathBackendCPU } from '@tensorflow/tfjs-backend-cpu';

import { ReluGradient } from '../../relu-gradient.js';
import type { NativeAddon } from '../addon.js';
import { allocate, fallback, floatValues, output, size } from '../tensors.js';
import type { KernelArgs } from '../tensors.js';

const binaryOps = {
  [Add]: 0,
  [Sub]: 1,
  [Multiply]: 2,
  [RealDiv]: 3,
  [Maximum]: 4,
  [Minimum]: 5,
  [SquaredDifference]: 6,
} as const;
/** The addon's binary op for relu's gradient, dy * step(x): not a tfjs kernel, so not in the table above. */
const reluGradientOp = 7;
const unaryOps = {
  [Relu]: 0,
  [Sigmoid]: 1,
  [Step]: 2,
  [Sqrt]: 3,
  [Square]: 4,
  [Neg]: 5,
  [Exp]: 6,
  [Log]: 7,
  [Abs]: 8,
} as const;

/** True when `shape`, without its leading 1s, equals the trailing dimensions of `outShape`. */
function broadcastsTrailing(shape: readonly number[], outShape: readonly number[]): boolean {
  let first = 0;
  while (first < shape.length && shape[first] === 1) first += 1;
  const rest = shape.slice(first);
  const tail = outShape.slice(outShape.length - rest.length);
  return rest.length <= outShape.length && rest.every((dimension, index) => dimension === tail[index]);
}

function binaryConfig(addon: NativeAddon, kernelName: keyof typeof binaryOps): KernelConfig {
  const op = binaryOps[kernelName];
  return {
    kernelName,
    backendName: 'native',
    kernelFunc: (args) => {
      const backend = args.backend as MathBackendCPU;
      const { a, b } = args.inputs as { a: TensorInfo; b: TensorInfo };
      const aValues = floatValues(backend, a);
      const bValues = floatValues(backend, b);
      if (aValues && bValues && aValues.length > 0 && bValues.length > 0) {
        const outShape = backend_util.assertAndGetBroadcastShape(a.shape, b.shape);
        if (broadcastsTrailing(a.shape, outShape) && broadcastsTrailing(b.shape, outShape)) {
          const out = allocate(backend, size(outShape));
          if (out.length > 0) addon.binary(op, aValues, bValues, out);
          return output(backend, outShape, out);
        }
      }
      return fallback(kernelName, args as KernelArgs);
    },
  };
}

function unaryConfig(addon: NativeAddon, kernelName: keyof typeof unaryOps): KernelConfig {
  const op = unaryOps[kernelName];
  return {
    kernelName,
    backendName: 'native',
    kernelFunc: (args) => {
      const backend = args.backend as MathBackendCPU;
      const { x } = args.inputs as { x: TensorInfo };
      const values = floatValues(backend, x);
      if (!values) return fallback(kernelName, args as KernelArgs);
      const alpha = kernelName === Step ? (args.attrs as unknown as StepAttrs).alpha : 0;
      const out = allocate(backend, values.length);
      addon.unary(op, values, out, alpha);
      return output(backend, [...x.shape], out);
    },
  };
}

/**
 * A reduction over `axis` seen as a matrix, when the reduced axes are a leading (or trailing) run: `reduced` is
 * the product of their sizes, `kept` that of the others, and `outShape` the result's shape. Null otherwise.
 */
function contiguousReduction(
  shape: number[],
  axis: number | number[],
  keepDims: boolean,
  side: 'leading' | 'trailing',
) {
  const axes = util.parseAxisParam(axis, shape).sort((p, q) => p - q);
  const first = side === 'leading' ? 0 : shape.length - axes.length;
  if (axes.length === 0 || !axes.every((value, index) => value === first + index)) return null;
  const keptShape = side === 'leading' ? shape.slice(axes.length) : shape.slice(0, first);
  const ones = axes.map(() => 1);
  const outShape = !keepDims ? keptShape : side === 'leading' ? [...ones, ...keptShape] : [...keptShape, ...ones];
  return { reduced: size(axes.map((value) => shape[value] as number)), kept: size(keptShape), outShape };
}

/**
 * Sum over a leading run of axes (addon.sumRows: rows = their product, columns = the rest), or Mean over a
 * trailing run (addon.meanColumns: one mean per row of the others); any other axes go to tfjs's kernel.
 */
function reductionConfig(addon: NativeAddon, kernelName: typeof Sum | typeof Mean): KernelConfig {
  const side = kernelName === Sum ? 'leading' : 'trailing';
  return {
    kernelName,
    backendName: 'native',
    kernelFunc: (args) => {
      const backend = args.backend as MathBackendCPU;
      const { x } = args.inputs as { x: TensorInfo };
      const attrs = args.attrs as unknown as SumAttrs | MeanAttrs;
      const values = floatValues(backend, x);
      const reduction = contiguousReduction(x.shape, attrs.axis, attrs.keepDims, side);
      if (!values || !reduction || values.length === 0) return fallback(kernelName, args as KernelArgs);
      const out = allocate(backend, reduction.kept);
      if (kernelName === Sum) addon.sumRows(values, reduction.reduced, reduction.kept, out);
      else addon.meanColumns(values, reduction.kept, reduction.reduced, out);
      return output(backend, reduction.outShape, out);
    },
  };
}

/** dy * step(x) in one pass (see ../../relu-gradient.ts). */
function reluGradientConfig(addon: NativeAddon): KernelConfig {
  return {
    kernelName: ReluGradient,
    backendName: 'native',
    kernelFunc: (args) => {
      const backend = args.backend as MathBackendCPU;
      const { dy, x } = args.inputs as { dy: TensorInfo; x: TensorInfo };
      const dyValues = floatValues(backend, dy);
      const xValues = floatValues(backend, x);
      if (!dyValues || !xValues || dyValues.length !== xValues.length) {
        throw new Error(`${ReluGradient}: dy and x must be float32 tensors of one size`);
      }
      const out = allocate(backend, dyValues.length);
      if (out.length > 0) addon.binary(reluGradientOp, dyValues, xValues, out);
      return output(backend, [...x.shape], out);
    },
  };
}

export function elementwiseConfigs(addon: NativeAddon): KernelConfig[] {
  return [
    reductionConfig(addon, Mean),
    reluGradientConfig(addon),
    ...(Object.keys(binaryOps) as (keyof typeof binaryOps)[]).map((name) => binaryConfig(addon, name)),
    ...(Object.keys(unaryOps) as (keyof typeof unaryOps)[]).map((name) => unaryConfig(addon, name)),
    reductionConfig(addon, Sum),
  ];
}
