// Plumbing shared by the native kernels: typed-array access to tfjs's cpu tensor storage, conv geometry,
// and the fallback to the stock cpu kernel for cases the addon does not handle.
import { getKernel } from '@tensorflow/tfjs-core';
import type { backend_util, KernelFunc, NamedAttrMap, NamedTensorInfoMap, TensorInfo } from '@tensorflow/tfjs-core';
import type { MathBackendCPU } from '@tensorflow/tfjs-backend-cpu';

import { nativeActivationCodes } from './addon.js';
import { NativeBackend } from './memory.js';

export type KernelArgs = { inputs: NamedTensorInfoMap; backend: unknown; attrs?: NamedAttrMap };

/** The tensor's float32 values, shared with tfjs (no copy); null when it is not a dense float32 tensor. */
export function floatValues(backend: MathBackendCPU, tensor: TensorInfo): Float32Array | null {
  if (tensor.dtype !== 'float32') return null;
  const values = backend.data.get(tensor.dataId).values;
  return values instanceof Float32Array ? values : null;
}

/** An output buffer whose every element the kernel will write: recycled from the pool when possible. */
export function allocate(backend: MathBackendCPU, length: number): Float32Array {
  return backend instanceof NativeBackend ? backend.pool.acquire(length) : new Float32Array(length);
}

export function output(backend: MathBackendCPU, shape: number[], values: Float32Array): TensorInfo {
  return backend.makeTensorInfo(shape, 'float32', values);
}

export function size(shape: readonly number[]): number {
  return shape.reduce((product, dimension) => product * dimension, 1);
}

/** Geometry for the addon, or null for layouts it does not handle (NCHW). */
export function convGeometry(info: backend_util.Conv2DInfo): Int32Array | null {
  if (info.dataFormat !== 'channelsLast') return null;
  return Int32Array.from([
    info.batchSize,
    info.inHeight,
    info.inWidth,
    info.inChannels,
    info.filterHeight,
    info.filterWidth,
    info.outChannels,
    info.outHeight,
    info.outWidth,
    info.strideHeight,
    info.strideWidth,
    info.padInfo.top,
    info.padInfo.left,
    info.dilationHeight,
    info.dilationWidth,
  ]);
}

/** The addon's code for a fused activation, or null when it must fall back. */
export function activationCode(activation: unknown, hasPreluWeights: boolean): number | null {
  if (hasPreluWeights) return null;
  const name = (activation ?? 'linear') as string;
  return name in nativeActivationCodes ? nativeActivationCodes[name as keyof typeof nativeActivationCodes] : null;
}

/** Runs tfjs's own cpu kernel on the same arguments: correct for every case, only slower. */
export function fallback(kernelName: string, args: KernelArgs): TensorInfo | TensorInfo[] {
  const kernel = getKernel(kernelName, 'cpu');
  if (!kernel) throw new Error(`native backend: no cpu kernel ${kernelName} to fall back to`);
  const outputs = (kernel.kernelFunc as KernelFunc)(args as Parameters<KernelFunc>[0]) as TensorInfo | TensorInfo[];
  if (args.backend instanceof NativeBackend) args.backend.pinSharedOutputs(outputs);
  return outputs;
}
