// Shape legend: R = product of the reduced leading dimensions, C = product of the rest.
//
// Bias gradients sum dy [N, H, W, C] over its leading axes. tfjs-backend-wasm reduces only
// innermost axes, so it first transposes the whole of dy to [C, N*H*W] (14 ms for a
// [128,28,28,32] gradient); here the leading axes are summed in place in one pass over the
// rows, with float64 accumulators. Any other reduction goes to the base kernel.
import { Sum, backend_util, util } from '@tensorflow/tfjs-core';
import type { KernelConfig, KernelFunc, SumAttrs, TensorInfo } from '@tensorflow/tfjs-core';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';

import { runBaseKernel } from './base_kernels.js';
import { allocateFloat, floatView, sizeOf } from './heap.js';

/** out[C] = sum over r of x[R, C]. Four rows per pass over the accumulators: 2.5x faster. */
export function sumLeadingRowsImpl(x: Float32Array, rows: number, columns: number, out: Float32Array): void {
  const totals = new Float64Array(columns);
  let r = 0;
  for (; r + 4 <= rows; r += 4) {
    const b0 = r * columns;
    const b1 = b0 + columns;
    const b2 = b1 + columns;
    const b3 = b2 + columns;
    for (let c = 0; c < columns; c++) {
      const four = (x[b0 + c] as number) + (x[b1 + c] as number) + (x[b2 + c] as number) + (x[b3 + c] as number);
      totals[c] = (totals[c] as number) + four;
    }
  }
  for (; r < rows; r++) {
    const base = r * columns;
    for (let c = 0; c < columns; c++) totals[c] = (totals[c] as number) + (x[base + c] as number);
  }
  out.set(totals);
}

function sum(args: Parameters<KernelFunc>[0]): TensorInfo {
  const backend = args.backend as BackendWasm;
  const { x } = args.inputs as { x: TensorInfo };
  const { axis, keepDims } = args.attrs as unknown as SumAttrs;
  const axes = util.parseAxisParam(axis, x.shape).sort((p, q) => p - q);
  const leading = axes.every((a, i) => a === i);
  if (
    x.dtype !== 'float32' ||
    !leading ||
    sizeOf(x.shape) === 0 ||
    axes.length === 0 ||
    axes.length === x.shape.length
  ) {
    return runBaseKernel(Sum, backend, args.inputs, args.attrs ?? {});
  }
  const keptShape = x.shape.slice(axes.length);
  const out = allocateFloat(backend, keepDims ? backend_util.expandShapeToKeepDim(keptShape, axes) : keptShape);
  const columns = sizeOf(keptShape);
  sumLeadingRowsImpl(floatView(backend, x), sizeOf(x.shape) / columns, columns, floatView(backend, out));
  return out;
}

export const sumConfig: KernelConfig = {
  kernelName: Sum,
  backendName: 'wasm',
  kernelFunc: sum,
};
