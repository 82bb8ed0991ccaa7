// Tensor plumbing for kernels that run on tfjs's wasm backend: allocating float32 tensors on
// the wasm heap, viewing them as Float32Array, and releasing intermediates.
//
// A view is only valid until the next allocation: growing the wasm memory detaches the old
// ArrayBuffer, and writes through a detached view are silently dropped. Kernels therefore
// allocate first, then take views, then run their loops, and take fresh views after every
// call into a wasm kernel (which may allocate).
import type { TensorInfo } from '@tensorflow/tfjs-core';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';

import { UnsupportedKernelAttributeError } from './errors.js';

export function allocateFloat(backend: BackendWasm, shape: number[]): TensorInfo {
  return backend.makeOutput(shape, 'float32');
}

/** A float32 view of a tensor's bytes on the wasm heap, `shape` taken from `info`. */
export function floatView(backend: BackendWasm, info: TensorInfo): Float32Array {
  const view = backend.typedArrayFromHeap(info);
  if (!(view instanceof Float32Array)) {
    throw new Error(`floatView: expected a float32 tensor, got dtype ${info.dtype}`);
  }
  return view;
}

/** The same bytes under another shape of equal size; shares the buffer, so no release needed. */
export function withShape(info: TensorInfo, shape: number[]): TensorInfo {
  return { dataId: info.dataId, shape, dtype: info.dtype };
}

export function release(backend: BackendWasm, ...infos: TensorInfo[]): void {
  for (const info of infos) backend.disposeData(info.dataId);
}

export function requireFloat32(kernelName: string, inputs: Record<string, TensorInfo>): void {
  for (const [name, info] of Object.entries(inputs)) {
    if (info.dtype !== 'float32') {
      throw new UnsupportedKernelAttributeError(
        kernelName,
        `${name}.dtype`,
        info.dtype,
        'Cast the input to float32 first.',
      );
    }
  }
}

export function sizeOf(shape: readonly number[]): number {
  let size = 1;
  for (const dim of shape) size *= dim;
  return size;
}
