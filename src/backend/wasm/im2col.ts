// Shape legend: N = batch, H/W = input spatial size, C = input channels,
// OH/OW = output spatial size, F = output channels (filters), KH/KW = filter size,
// M = N * OH * OW output pixels, KKC = KH * KW * C patch length.
//
// The convolution gradients are matmuls over image patches. These are the pure data-movement
// halves, over plain typed arrays; the matmul itself runs in XNNPACK (see base_kernels.ts).
import { backend_util } from '@tensorflow/tfjs-core';
import type { TensorInfo } from '@tensorflow/tfjs-core';

import { UnsupportedKernelAttributeError } from './errors.js';

export interface ConvGeometry {
  batch: number;
  inHeight: number;
  inWidth: number;
  inChannels: number;
  outHeight: number;
  outWidth: number;
  outChannels: number;
  filterHeight: number;
  filterWidth: number;
  strideHeight: number;
  strideWidth: number;
  padTop: number;
  padLeft: number;
}

type Pad = 'valid' | 'same' | number | backend_util.ExplicitPadding;

export interface ConvAttrs {
  strides: [number, number] | number;
  pad: Pad;
  dataFormat: 'NHWC' | 'NCHW';
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
}

type Shape4 = [number, number, number, number];

function asShape4(kernelName: string, what: string, shape: readonly number[]): Shape4 {
  const [a, b, c, d] = shape;
  if (shape.length !== 4 || a === undefined || b === undefined || c === undefined || d === undefined) {
    throw new Error(`Error in wasm kernel ${kernelName}: ${what} must be rank 4, got [${shape.join(',')}]`);
  }
  return [a, b, c, d];
}

/**
 * The geometry of the forward convolution x [N,H,W,C] * filter [KH,KW,C,F] -> dy [N,OH,OW,F]
 * that a gradient kernel differentiates, with tfjs's own padding rules ('same' puts the odd
 * pixel at the bottom/right). Throws for what the im2col kernels do not implement.
 */
export function convGeometry(
  kernelName: string,
  xShape: readonly number[],
  filterShape: readonly number[],
  dy: TensorInfo,
  attrs: ConvAttrs,
): ConvGeometry {
  if (attrs.dataFormat !== 'NHWC') {
    throw new UnsupportedKernelAttributeError(
      kernelName,
      'dataFormat',
      attrs.dataFormat,
      "Only 'NHWC' (channels last) is implemented; transpose to NHWC first.",
    );
  }
  const dilations = (attrs as { dilations?: unknown }).dilations;
  if (dilations !== undefined && dilations !== 1 && !(Array.isArray(dilations) && dilations.every((d) => d === 1))) {
    throw new UnsupportedKernelAttributeError(kernelName, 'dilations', dilations, 'Only dilation 1 is implemented.');
  }
  const info = backend_util.computeConv2DInfo(
    asShape4(kernelName, 'x', xShape),
    asShape4(kernelName, 'filter', filterShape),
    attrs.strides,
    1,
    attrs.pad,
    attrs.dimRoundingMode,
    false,
    'channelsLast',
  );
  const dyShape = asShape4(kernelName, 'dy', dy.shape);
  const expected = [info.batchSize, info.outHeight, info.outWidth, info.outChannels];
  if (dyShape.some((d, i) => d !== expected[i])) {
    throw new Error(
      `Error in wasm kernel ${kernelName}: dy has shape [${dyShape.join(',')}] but the convolution ` +
        `of x [${xShape.join(',')}] by filter [${filterShape.join(',')}] gives [${expected.join(',')}]`,
    );
  }
  return {
    batch: info.batchSize,
    inHeight: info.inHeight,
    inWidth: info.inWidth,
    inChannels: info.inChannels,
    outHeight: info.outHeight,
    outWidth: info.outWidth,
    outChannels: info.outChannels,
    filterHeight: info.filterHeight,
    filterWidth: info.filterWidth,
    strideHeight: info.strideHeight,
    strideWidth: info.strideWidth,
    padTop: info.padInfo.top,
    padLeft: info.padInfo.left,
  };
}

/**
 * Patches of output pixels m0 <= m < m1, written transposed: out[KKC, m1 - m0], row
 * (ky * KW + kx) * C + c, column m - m0, holding x[n, oy*SH + ky - padTop, ox*SW + kx - padLeft, c]
 * or 0 where that falls in the padding.
 */
export function im2colTransposedImpl(
  x: Float32Array,
  g: ConvGeometry,
  m0: number,
  m1: number,
  out: Float32Array,
): void {
  const { inHeight: H, inWidth: W, inChannels: C, outHeight: OH, outWidth: OW } = g;
  const { filterHeight: KH, filterWidth: KW, strideHeight: SH, strideWidth: SW, padTop, padLeft } = g;
  const span = m1 - m0;
  for (let m = m0; m < m1; m++) {
    const ox = m % OW;
    const rest = (m - ox) / OW;
    const oy = rest % OH;
    const n = (rest - oy) / OH;
    const column = m - m0;
    for (let ky = 0; ky < KH; ky++) {
      const iy = oy * SH + ky - padTop;
      const rowInside = iy >= 0 && iy < H;
      for (let kx = 0; kx < KW; kx++) {
        const ix = ox * SW + kx - padLeft;
        let o = (ky * KW + kx) * C * span + column;
        if (rowInside && ix >= 0 && ix < W) {
          const src = ((n * H + iy) * W + ix) * C;
          for (let c = 0; c < C; c++, o += span) out[o] = x[src + c] as number;
        } else {
          for (let c = 0; c < C; c++, o += span) out[o] = 0;
        }
      }
    }
  }
}

/**
 * The adjoint of im2col: adds patch values back onto the image they came from.
 * cols[m - m0, KKC] holds, for output pixel m, one value per (ky, kx, c); each is added to
 * dx[n, oy*SH + ky - padTop, ox*SW + kx - padLeft, c] unless that falls in the padding.
 */
export function col2imAccumulateImpl(
  cols: Float32Array,
  g: ConvGeometry,
  m0: number,
  m1: number,
  dx: Float32Array,
): void {
  const { inHeight: H, inWidth: W, inChannels: C, outHeight: OH, outWidth: OW } = g;
  const { filterHeight: KH, filterWidth: KW, strideHeight: SH, strideWidth: SW, padTop, padLeft } = g;
  const patch = KH * KW * C;
  for (let m = m0; m < m1; m++) {
    const ox = m % OW;
    const rest = (m - ox) / OW;
    const oy = rest % OH;
    const n = (rest - oy) / OH;
    const rowBase = (m - m0) * patch;
    for (let ky = 0; ky < KH; ky++) {
      const iy = oy * SH + ky - padTop;
      if (iy < 0 || iy >= H) continue;
      for (let kx = 0; kx < KW; kx++) {
        const ix = ox * SW + kx - padLeft;
        if (ix < 0 || ix >= W) continue;
        const dst = ((n * H + iy) * W + ix) * C;
        const src = rowBase + (ky * KW + kx) * C;
        for (let c = 0; c < C; c++) dx[dst + c] = (dx[dst + c] as number) + (cols[src + c] as number);
      }
    }
  }
}
