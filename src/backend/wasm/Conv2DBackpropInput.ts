// Shape legend: N = batch, H/W = input spatial size, C = input channels,
// OH/OW = output spatial size, F = filters, KH/KW = filter size,
// M = N * OH * OW output pixels, KKC = KH * KW * C patch length.
//
// dx[N,H,W,C] = col2im(dy [M, F] x filter^T [F, KKC]). This is also the forward pass of
// Conv2DTranspose. tfjs-backend-wasm 4.22 implements it as a scalar loop (about 1 GFLOP/s,
// 300 ms for one 14x14x64 -> 28x28x32 batch of 128); here the arithmetic is one XNNPACK matmul
// per block of output pixels and only the scatter-add runs in JavaScript.
import { Conv2DBackpropInput } from '@tensorflow/tfjs-core';
import type { Conv2DBackpropInputAttrs, KernelConfig, KernelFunc, TensorInfo } from '@tensorflow/tfjs-core';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';

import { matMulFast } from './base_kernels.js';
import { allocateFloat, floatView, release, requireFloat32, withShape } from './heap.js';
import { col2imAccumulateImpl, convGeometry } from './im2col.js';
import { transpose2dImpl } from './layout.js';

/** Floats of patch columns per block: 1 MiB, so the scatter-add reads them from cache. */
const PATCH_BLOCK_FLOATS = 1 << 18;

function conv2DBackpropInput(args: Parameters<KernelFunc>[0]): TensorInfo {
  const backend = args.backend as BackendWasm;
  const { dy, filter } = args.inputs as { dy: TensorInfo; filter: TensorInfo };
  const attrs = args.attrs as unknown as Conv2DBackpropInputAttrs;
  requireFloat32(Conv2DBackpropInput, { dy, filter });
  const g = convGeometry(Conv2DBackpropInput, attrs.inputShape, filter.shape, dy, attrs);

  const pixels = g.batch * g.outHeight * g.outWidth;
  const patch = g.filterHeight * g.filterWidth * g.inChannels;
  const filters = g.outChannels;
  const blockPixels = Math.max(64, Math.floor(PATCH_BLOCK_FLOATS / patch));

  const dx = allocateFloat(backend, [g.batch, g.inHeight, g.inWidth, g.inChannels]);
  floatView(backend, dx).fill(0);
  if (pixels === 0 || patch * filters === 0) return dx;

  // filter [KH,KW,C,F] = [KKC, F] -> filterT [F, KKC]; constant for this call, so XNNPACK
  // packs it once and reuses the packing for every block.
  const filterT = allocateFloat(backend, [filters, patch]);
  transpose2dImpl(floatView(backend, filter), patch, filters, floatView(backend, filterT));

  for (let m0 = 0; m0 < pixels; m0 += blockPixels) {
    const m1 = Math.min(m0 + blockPixels, pixels);
    const single = m0 === 0 && m1 === pixels;
    const dyBlock = single ? withShape(dy, [pixels, filters]) : allocateFloat(backend, [m1 - m0, filters]);
    if (!single) floatView(backend, dyBlock).set(floatView(backend, dy).subarray(m0 * filters, m1 * filters));
    const cols = matMulFast(backend, dyBlock, filterT);
    col2imAccumulateImpl(floatView(backend, cols), g, m0, m1, floatView(backend, dx));
    release(backend, cols);
    if (!single) release(backend, dyBlock);
  }
  release(backend, filterT);
  return dx;
}

export const conv2DBackpropInputConfig: KernelConfig = {
  kernelName: Conv2DBackpropInput,
  backendName: 'wasm',
  kernelFunc: conv2DBackpropInput,
};
