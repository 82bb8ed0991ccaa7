// Shape legend: N = batch, H/W = input spatial size, C = input channels,
// OH/OW = output spatial size, F = filters, KH/KW = filter size,
// M = N * OH * OW output pixels, KKC = KH * KW * C patch length.
//
// dFilter[KH,KW,C,F] = patches(x)^T [KKC, M] x dy [M, F]. tfjs-backend-wasm 4.22 has no
// kernel for this at all (tfjs issue 8474), so convolutions could not train on wasm.
//
// M is large (100k for a 28x28 batch of 128), so M is cut into blocks whose transposed patches
// fit in cache: scratch memory stays at ~1 MiB instead of M * KKC floats (29 MB for the
// 28x28x32 layer), and XNNPACK, which streams the whole shared dimension per output tile,
// runs slightly faster on them. Each block is one matmul; the [KKC, F] partials are summed here.
import { Conv2DBackpropFilter } from '@tensorflow/tfjs-core';
import type { Conv2DBackpropFilterAttrs, KernelConfig, KernelFunc, TensorInfo } from '@tensorflow/tfjs-core';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';

import { matMulFast } from './base_kernels.js';
import { allocateFloat, floatView, release, requireFloat32, withShape } from './heap.js';
import { convGeometry, im2colTransposedImpl } from './im2col.js';

/** Floats of transposed patches per block: 1 MiB, about one core's L2. */
const PATCH_BLOCK_FLOATS = 1 << 18;

function conv2DBackpropFilter(args: Parameters<KernelFunc>[0]): TensorInfo {
  const backend = args.backend as BackendWasm;
  const { x, dy } = args.inputs as { x: TensorInfo; dy: TensorInfo };
  const attrs = args.attrs as unknown as Conv2DBackpropFilterAttrs;
  requireFloat32(Conv2DBackpropFilter, { x, dy });
  const g = convGeometry(Conv2DBackpropFilter, x.shape, attrs.filterShape, dy, attrs);

  const pixels = g.batch * g.outHeight * g.outWidth;
  const patch = g.filterHeight * g.filterWidth * g.inChannels;
  const filters = g.outChannels;
  const blockPixels = Math.max(64, Math.floor(PATCH_BLOCK_FLOATS / patch));

  const filterShape = [g.filterHeight, g.filterWidth, g.inChannels, filters];
  if (pixels === 0 || patch * filters === 0) {
    const zeros = allocateFloat(backend, filterShape);
    floatView(backend, zeros).fill(0);
    return zeros;
  }
  if (pixels <= blockPixels) {
    // One block: dy itself is the right operand and the product is the answer.
    const patchesT = allocateFloat(backend, [patch, pixels]);
    im2colTransposedImpl(floatView(backend, x), g, 0, pixels, floatView(backend, patchesT));
    const product = matMulFast(backend, patchesT, withShape(dy, [pixels, filters]));
    release(backend, patchesT);
    return withShape(product, filterShape);
  }

  const dFilter = allocateFloat(backend, filterShape);
  floatView(backend, dFilter).fill(0);
  for (let m0 = 0; m0 < pixels; m0 += blockPixels) {
    const m1 = Math.min(m0 + blockPixels, pixels);
    const patchesT = allocateFloat(backend, [patch, m1 - m0]);
    // A fresh tensor per block: XNNPACK caches its packing of the right operand by tensor id.
    const dyBlock = allocateFloat(backend, [m1 - m0, filters]);
    im2colTransposedImpl(floatView(backend, x), g, m0, m1, floatView(backend, patchesT));
    floatView(backend, dyBlock).set(floatView(backend, dy).subarray(m0 * filters, m1 * filters));

    const partial = matMulFast(backend, patchesT, dyBlock);
    const sum = floatView(backend, dFilter);
    const add = floatView(backend, partial);
    for (let i = 0; i < sum.length; i++) sum[i] = (sum[i] as number) + (add[i] as number);
    release(backend, patchesT, dyBlock, partial);
  }
  return dFilter;
}

export const conv2DBackpropFilterConfig: KernelConfig = {
  kernelName: Conv2DBackpropFilter,
  backendName: 'wasm',
  kernelFunc: conv2DBackpropFilter,
};
