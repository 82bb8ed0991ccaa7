// Shape legend: B = batch (product of the leading dimensions), M/K/N = matrix sizes,
// out[B, M, N] = op(a)[B, M, K] x op(b)[B, K, N], op = optional transpose.
//
// tfjs-backend-wasm sends a matmul to XNNPACK only for a single matrix pair with no
// transposes; the backward pass of every Dense layer needs a transposed operand
// (dA = dy x b^T, dB = a^T x dy), which fell onto a scalar loop about ten times slower
// (10 ms for [128,3136]^T x [128,32]). Here transposes are made explicit copies and batches
// are split into single matrices, so every product runs in XNNPACK.
import { BatchMatMul, broadcast_util } from '@tensorflow/tfjs-core';
import type { BatchMatMulAttrs, KernelConfig, KernelFunc, TensorInfo } from '@tensorflow/tfjs-core';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';

import { matMulFast, runBaseKernel } from './base_kernels.js';
import { allocateFloat, floatView, release, sizeOf, withShape } from './heap.js';
import { transpose2dImpl } from './layout.js';

interface Operand {
  info: TensorInfo;
  /** Whether `info` is a scratch copy this kernel must release. */
  owned: boolean;
}

/**
 * Matrix `index` of x (shape [..., rows, cols] as stored) as a plain [rows, cols] tensor, or
 * [cols, rows] if `transposed`. Reuses x itself when no copy is needed.
 */
function matrixOperand(
  backend: BackendWasm,
  x: TensorInfo,
  index: number,
  transposed: boolean,
  rows: number,
  cols: number,
): Operand {
  const batch = sizeOf(x.shape) / (rows * cols);
  if (batch === 1 && !transposed) return { info: withShape(x, [rows, cols]), owned: false };
  const info = allocateFloat(backend, transposed ? [cols, rows] : [rows, cols]);
  const source = floatView(backend, x).subarray(index * rows * cols, (index + 1) * rows * cols);
  const target = floatView(backend, info);
  if (transposed) transpose2dImpl(source, rows, cols, target);
  else target.set(source);
  return { info, owned: true };
}

function batchMatMul(args: Parameters<KernelFunc>[0]): TensorInfo {
  const backend = args.backend as BackendWasm;
  const { a, b } = args.inputs as { a: TensorInfo; b: TensorInfo };
  const { transposeA, transposeB } = args.attrs as unknown as BatchMatMulAttrs;
  const delegate = (): TensorInfo => runBaseKernel(BatchMatMul, backend, args.inputs, args.attrs ?? {});

  const aRank = a.shape.length;
  const bRank = b.shape.length;
  const aRows = a.shape[aRank - 2];
  const aCols = a.shape[aRank - 1];
  const bRows = b.shape[bRank - 2];
  const bCols = b.shape[bRank - 1];
  if (
    a.dtype !== 'float32' ||
    b.dtype !== 'float32' ||
    aRows === undefined ||
    aCols === undefined ||
    bRows === undefined ||
    bCols === undefined
  ) {
    return delegate(); // the base kernel raises tfjs's own error for these
  }
  const m = transposeA ? aCols : aRows;
  const k = transposeA ? aRows : aCols;
  const n = transposeB ? bRows : bCols;
  if (k !== (transposeB ? bCols : bRows)) return delegate();

  const batchA = sizeOf(a.shape.slice(0, -2));
  const batchB = sizeOf(b.shape.slice(0, -2));
  const outBatchShape = broadcast_util.assertAndGetBroadcastShape(a.shape.slice(0, -2), b.shape.slice(0, -2));
  const batch = sizeOf(outBatchShape);
  const simpleBroadcast = (batchA === batch || batchA === 1) && (batchB === batch || batchB === 1);
  const alreadyFast = batch === 1 && !transposeA && !transposeB;
  if (!simpleBroadcast || alreadyFast || batch * m * n * k === 0) return delegate();

  const outShape = [...outBatchShape, m, n];
  // An operand shared by the whole batch is prepared once (and packed once by XNNPACK).
  const sharedA = batchA === 1 ? matrixOperand(backend, a, 0, transposeA, aRows, aCols) : undefined;
  const sharedB = batchB === 1 ? matrixOperand(backend, b, 0, transposeB, bRows, bCols) : undefined;
  if (batch === 1 && sharedA !== undefined && sharedB !== undefined) {
    const product = matMulFast(backend, sharedA.info, sharedB.info);
    releaseOwned(backend, sharedA, sharedB);
    return withShape(product, outShape);
  }

  const out = allocateFloat(backend, outShape);
  for (let i = 0; i < batch; i++) {
    const left = sharedA ?? matrixOperand(backend, a, i, transposeA, aRows, aCols);
    const right = sharedB ?? matrixOperand(backend, b, i, transposeB, bRows, bCols);
    const product = matMulFast(backend, left.info, right.info);
    floatView(backend, out).set(floatView(backend, product), i * m * n);
    release(backend, product);
    releaseOwned(backend, ...[left, right].filter((o) => o !== sharedA && o !== sharedB));
  }
  releaseOwned(backend, ...[sharedA, sharedB].filter((o) => o !== undefined));
  return out;
}

function releaseOwned(backend: BackendWasm, ...operands: Operand[]): void {
  for (const operand of operands) if (operand.owned) release(backend, operand.info);
}

export const batchMatMulConfig: KernelConfig = {
  kernelName: BatchMatMul,
  backendName: 'wasm',
  kernelFunc: batchMatMul,
};
