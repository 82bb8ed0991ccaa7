// Shape legend: N = batch, H/W = input spatial size, C = input channels,
// OH/OW = output spatial size, F = filters, KH/KW = filter size,
// M = N * OH * OW output pixels, KKC = KH * KW * C patch length.
//
// dx[N,H,W,C], the input gradient of a convolution and the forward pass of Conv2DTranspose.
// tfjs-backend-wasm 4.22 implements it as a scalar loop (about 1 GFLOP/s: 300 ms for one
// 14x14x64 -> 28x28x32 batch of 128). Two ways here, both doing the arithmetic in XNNPACK:
// - fast: one stride-1 XNNPACK convolution per stride phase (stride_phases.ts), interleaved;
// - general: col2im(dy [M, F] x filter^T [F, KKC]), one XNNPACK matmul per block of output
//   pixels and the scatter-add in JS; for paddings the phases cannot express, filters smaller
//   than the stride, and C < 8.
import { Conv2DBackpropInput } from '@tensorflow/tfjs-core';
import type { Conv2DBackpropInputAttrs, KernelConfig, KernelFunc, TensorInfo } from '@tensorflow/tfjs-core';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';

import { matMulFast, runBaseKernel } from './base_kernels.js';
import { allocateFloat, floatView, release, requireFloat32, withShape } from './heap.js';
import { col2imAccumulateImpl, convGeometry } from './im2col.js';
import type { ConvGeometry } from './im2col.js';
import { transpose2dImpl } from './layout.js';
import { axisPhases, interleavePhaseImpl, phaseFilterImpl } from './stride_phases.js';
import type { AxisPhase } from './stride_phases.js';

/** Floats of patch columns per block: 1 MiB, so the scatter-add reads them from cache. */
const PATCH_BLOCK_FLOATS = 1 << 18;

function conv2DBackpropInput(args: Parameters<KernelFunc>[0]): TensorInfo {
  const backend = args.backend as BackendWasm;
  const { dy, filter } = args.inputs as { dy: TensorInfo; filter: TensorInfo };
  const attrs = args.attrs as unknown as Conv2DBackpropInputAttrs;
  requireFloat32(Conv2DBackpropInput, { dy, filter });
  const g = convGeometry(Conv2DBackpropInput, attrs.inputShape, filter.shape, dy, attrs);
  const rowPhases = axisPhases(g.inHeight, g.outHeight, g.filterHeight, g.strideHeight, g.padTop);
  const columnPhases = axisPhases(g.inWidth, g.outWidth, g.filterWidth, g.strideWidth, g.padLeft);
  // XNNPACK computes output channels in tiles of 8, so a phase convolution with fewer than 8
  // (here dx's C) wastes most of each tile: for dy [128,28,28,32] -> dx [128,28,28,1] the
  // col2im way takes 9 ms and the phase way 13 ms.
  const phasesPayOff = g.inChannels >= 8;
  if (rowPhases !== undefined && columnPhases !== undefined && phasesPayOff && g.batch > 0) {
    return byStridePhases(backend, dy, filter, g, rowPhases, columnPhases);
  }
  return byCol2im(backend, dy, filter, g);
}

function byStridePhases(
  backend: BackendWasm,
  dy: TensorInfo,
  filter: TensorInfo,
  g: ConvGeometry,
  rowPhases: AxisPhase[],
  columnPhases: AxisPhase[],
): TensorInfo {
  const phases = rowPhases.flatMap((py, cy) => columnPhases.map((px, cx) => ({ py, px, cy, cx })));
  const phaseFilters = phases.map(({ py, px }) =>
    allocateFloat(backend, [py.taps, px.taps, g.outChannels, g.inChannels]),
  );
  phases.forEach(({ py, px }, i) =>
    phaseFilterImpl(floatView(backend, filter), g, py, px, floatView(backend, phaseFilters[i] as TensorInfo)),
  );
  const convolve = (i: number): TensorInfo => {
    const { py, px } = phases[i] as (typeof phases)[number];
    const pad = [
      [0, 0],
      [py.padBefore, py.padAfter],
      [px.padBefore, px.padAfter],
      [0, 0],
    ];
    return runBaseKernel(
      'Conv2D',
      backend,
      { x: dy, filter: phaseFilters[i] as TensorInfo },
      { strides: 1, dilations: 1, pad, dataFormat: 'NHWC', dimRoundingMode: 'floor' },
    );
  };

  if (phases.length === 1) {
    // Stride 1: the one phase is dx.
    const dx = convolve(0);
    release(backend, ...phaseFilters);
    return dx;
  }
  const dx = allocateFloat(backend, [g.batch, g.inHeight, g.inWidth, g.inChannels]);
  phases.forEach(({ py, px, cy, cx }, i) => {
    const phase = convolve(i);
    interleavePhaseImpl(floatView(backend, phase), g, cy, cx, py.length, px.length, floatView(backend, dx));
    release(backend, phase);
  });
  release(backend, ...phaseFilters);
  return dx;
}

function byCol2im(backend: BackendWasm, dy: TensorInfo, filter: TensorInfo, g: ConvGeometry): TensorInfo {
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
