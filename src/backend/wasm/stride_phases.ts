// Shape legend: N = batch, H/W = input spatial size, C = input channels,
// OH/OW = output spatial size, F = filters, KH/KW = filter size, S = stride, P = leading pad.
//
// The input gradient of a strided convolution (the forward pass of a transposed one), split by
// stride phase so that XNNPACK's ordinary convolution can compute it. Along one axis,
//   dx[i] = sum over (o, k) with o*S + k - P = i of dy[o] * w[k].
// Write i = a*S + c with phase c in [0, S). Only the taps k = r + S*j with r = (c + P) mod S
// reach phase c, from o = a + e - j with e = floor((c + P) / S), so phase c of dx is a
// stride-1 correlation of dy with the J = ceil((K - r) / S) taps w[r], w[r + S], ... reversed:
//   dx[a*S + c] = sum over t < J of dy[a - L + t] * w[r + S*(J - 1 - t)],  L = J - 1 - e,
// i.e. a 'valid' convolution of dy padded by L zeros before and R after. In 2-D the phases
// of the two axes combine into S_H * S_W convolutions whose outputs interleave into dx.

import type { ConvGeometry } from './im2col.js';

export interface AxisPhase {
  /** First filter tap of this phase, r. */
  firstTap: number;
  /** Taps in this phase, J. */
  taps: number;
  /** Rows (or columns) of dx in this phase, ceil((H - c) / S). */
  length: number;
  /** Zero padding of dy before (L) and after (R) for the phase's convolution. */
  padBefore: number;
  padAfter: number;
}

/** The phases of one axis, or undefined when one would need negative padding or has no tap
 * (or the axis is empty). */
export function axisPhases(
  inSize: number,
  outSize: number,
  filterSize: number,
  stride: number,
  padBefore: number,
): AxisPhase[] | undefined {
  if (inSize < 1 || outSize < 1) return undefined;
  const phases: AxisPhase[] = [];
  for (let c = 0; c < stride; c++) {
    const firstTap = (c + padBefore) % stride;
    const offset = Math.floor((c + padBefore) / stride);
    const taps = firstTap < filterSize ? Math.ceil((filterSize - firstTap) / stride) : 0;
    const length = Math.ceil((inSize - c) / stride);
    const before = taps - 1 - offset;
    // A 'valid' convolution of outSize + before + after rows by `taps` gives `length` rows.
    const after = length + taps - 1 - outSize - before;
    if (taps === 0 || length <= 0 || before < 0 || after < 0) return undefined;
    phases.push({ firstTap, taps, length, padBefore: before, padAfter: after });
  }
  return phases;
}

/**
 * The filter of phase (py, px): out[ty, tx, f, c] = w[py.firstTap + SH*(py.taps - 1 - ty),
 * px.firstTap + SW*(px.taps - 1 - tx), c, f] from w [KH, KW, C, F]; shape [Jy, Jx, F, C].
 */
export function phaseFilterImpl(
  w: Float32Array,
  g: ConvGeometry,
  py: AxisPhase,
  px: AxisPhase,
  out: Float32Array,
): void {
  const { filterWidth: KW, inChannels: C, outChannels: F, strideHeight: SH, strideWidth: SW } = g;
  let o = 0;
  for (let ty = 0; ty < py.taps; ty++) {
    const ky = py.firstTap + SH * (py.taps - 1 - ty);
    for (let tx = 0; tx < px.taps; tx++) {
      const kx = px.firstTap + SW * (px.taps - 1 - tx);
      const tap = (ky * KW + kx) * C * F;
      for (let f = 0; f < F; f++) {
        for (let c = 0; c < C; c++) out[o++] = w[tap + c * F + f] as number;
      }
    }
  }
}

/**
 * Writes phase (cy, cx) of dx: dx[n, a*SH + cy, b*SW + cx, :] = phase[n, a, b, :], with
 * phase [N, Ay, Ax, C] and dx [N, H, W, C].
 */
export function interleavePhaseImpl(
  phase: Float32Array,
  g: ConvGeometry,
  cy: number,
  cx: number,
  rows: number,
  columns: number,
  dx: Float32Array,
): void {
  const { batch: N, inHeight: H, inWidth: W, inChannels: C, strideHeight: SH, strideWidth: SW } = g;
  let o = 0;
  for (let n = 0; n < N; n++) {
    for (let a = 0; a < rows; a++) {
      const rowBase = (n * H + a * SH + cy) * W;
      for (let b = 0; b < columns; b++) {
        const dst = (rowBase + b * SW + cx) * C;
        for (let c = 0; c < C; c++) dx[dst + c] = phase[o++] as number;
      }
    }
  }
}
