// BatchMatMul and _FusedMatMul. a: [...batch, M, K] (or [..., K, M] with transposeA), b likewise; batch
// dimensions must be equal or one side a single matrix (broadcast by a zero stride); anything else falls back.
import { _FusedMatMul, BatchMatMul } from '@tensorflow/tfjs-core';
import type { _FusedMatMulAttrs, BatchMatMulAttrs, KernelConfig, TensorInfo } from '@tensorflow/tfjs-core';
import type { MathBackendCPU } from '@tensorflow/tfjs-backend-cpu';

import type { NativeAddon } from '../addon.js';
import { activationCode, allocate, fallback, floatValues, output, size } from '../tensors.js';
import type { KernelArgs } from '../tensors.js';

function batchMatMulImpl(
  addon: NativeAddon,
  backend: MathBackendCPU,
  a: TensorInfo,
  b: TensorInfo,
  transposeA: boolean,
  transposeB: boolean,
  bias: TensorInfo | undefined,
  activation: number,
): TensorInfo | null {
  if (a.shape.length < 2 || b.shape.length < 2) return null;
  const aValues = floatValues(backend, a);
  const bValues = floatValues(backend, b);
  const biasValues = bias ? floatValues(backend, bias) : null;
  if (!aValues || !bValues || (bias && !biasValues)) return null;
  const aRows = a.shape[a.shape.length - 2] as number,
    aColumns = a.shape[a.shape.length - 1] as number;
  const bRows = b.shape[b.shape.length - 2] as number,
    bColumns = b.shape[b.shape.length - 1] as number;
  const [m, k] = transposeA ? [aColumns, aRows] : [aRows, aColumns];
  const [kB, n] = transposeB ? [bColumns, bRows] : [bRows, bColumns];
  if (k !== kB || m === 0 || n === 0) return null;
  if (biasValues && biasValues.length !== n) return null;
  const batchShapeA = a.shape.slice(0, -2),
    batchShapeB = b.shape.slice(0, -2);
  const batchA = size(batchShapeA),
    batchB = size(batchShapeB);
  let batchShape: number[];
  if (batchA === batchB && batchShapeA.join() === batchShapeB.join()) batchShape = batchShapeA;
  else if (batchB === 1) batchShape = batchShapeA;
  else if (batchA === 1) batchShape = batchShapeB;
  else return null;
  const batch = Math.max(batchA, batchB);
  const c = allocate(backend, batch * m * n);
  addon.batchMatMul(
    aValues,
    bValues,
    c,
    batch,
    m,
    n,
    k,
    transposeA,
    transposeB,
    batchA === 1 ? 0 : m * k,
    batchB === 1 ? 0 : k * n,
    biasValues,
    activation,
  );
  return output(backend, [...batchShape, m, n], c);
}

export function batchMatMulConfig(addon: NativeAddon): KernelConfig {
  return {
    kernelName: BatchMatMul,
    backendName: 'native',
    kernelFunc: (args) => {
      const { a, b } = args.inputs as { a: TensorInfo; b: TensorInfo };
      const attrs = args.attrs as unknown as BatchMatMulAttrs;
      const result = batchMatMulImpl(
        addon,
        args.backend as MathBackendCPU,
        a,
        b,
        attrs.transposeA,
        attrs.transposeB,
        undefined,
        0,
      );
      return result ?? fallback(BatchMatMul, args as KernelArgs);
    },
  };
}

export function fusedMatMulConfig(addon: NativeAddon): KernelConfig {
  return {
    kernelName: _FusedMatMul,
    backendName: 'native',
    kernelFunc: (args) => {
      const { a, b, bias, preluActivationWeights } = args.inputs as {
        a: TensorInfo;
        b: TensorInfo;
        bias?: TensorInfo;
        preluActivationWeights?: TensorInfo;
      };
      const attrs = args.attrs as unknown as _FusedMatMulAttrs;
      const activation = activationCode(attrs.activation, preluActivationWeights != null);
      const result =
        activation === null
          ? null
          : batchMatMulImpl(
              addon,
              args.backend as MathBackendCPU,
              a,
              b,
              attrs.transposeA,
              attrs.transposeB,
              bias,
              activation,
            );
      return result ?? fallback(_FusedMatMul, args as KernelArgs);
    },
  };
}
