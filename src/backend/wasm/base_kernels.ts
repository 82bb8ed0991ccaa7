// The wasm backend's own kernels, captured before we replace any of them, so that our
// kernels can call the fast originals (XNNPACK matmul) without going through the engine.
import { getKernel } from '@tensorflow/tfjs-core';
import type { KernelConfig, NamedAttrMap, NamedTensorInfoMap, TensorInfo } from '@tensorflow/tfjs-core';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';

import { withShape } from './heap.js';

const baseKernels = new Map<string, KernelConfig>();

/** Remembers tfjs-backend-wasm's config for `kernelName`; call before replacing it. */
export function captureBaseKernel(kernelName: string): KernelConfig | undefined {
  const known = baseKernels.get(kernelName);
  if (known !== undefined) return known;
  const config = getKernel(kernelName, 'wasm') as KernelConfig | undefined;
  if (config !== undefined) baseKernels.set(kernelName, config);
  return config;
}

export function runBaseKernel(
  kernelName: string,
  backend: BackendWasm,
  inputs: NamedTensorInfoMap,
  attrs: NamedAttrMap,
): TensorInfo {
  const config = captureBaseKernel(kernelName);
  if (config === undefined) {
    throw new Error(`wasm base kernel ${kernelName} is not registered; call registerWasmBackend() first`);
  }
  const out = config.kernelFunc({ inputs, backend, attrs });
  if (Array.isArray(out)) {
    throw new Error(`wasm base kernel ${kernelName} returned ${out.length} outputs, expected one`);
  }
  return out;
}

/**
 * [M, K] x [K, N] -> [M, N] on the wasm backend's fast path. tfjs-backend-wasm hands a
 * matmul to XNNPACK only when both operands are single matrices and neither is transposed;
 * everything else runs a scalar triple loop about ten times slower.
 *
 * XNNPACK packs `b` once and caches the packing under b's tensor id until b is disposed, so
 * `b` must be a tensor whose contents never change after this call (fresh scratch tensors
 * and model weights are fine; a reused scratch buffer is not).
 */
export function matMulFast(backend: BackendWasm, a: TensorInfo, b: TensorInfo): TensorInfo {
  const [m, k] = a.shape;
  const [kB, n] = b.shape;
  if (m === undefined || k === undefined || n === undefined || k !== kB) {
    throw new Error(`matMulFast: shapes [${a.shape.join(',')}] x [${b.shape.join(',')}] do not chain`);
  }
  const product = runBaseKernel(
    'BatchMatMul',
    backend,
    { a: withShape(a, [1, m, k]), b: withShape(b, [1, k, n]) },
    { transposeA: false, transposeB: false },
  );
  return withShape(product, [m, n]);
}
