// Output buffers for the native kernels, recycled when tfjs disposes a tensor instead of left to the garbage
// collector. A training step allocates ~150 MB of activation-sized Float32Arrays; fresh ones cost zeroing,
// page faults and garbage collections (measured: ~33 ms of GC per step at batch 128 before this pool).
//
// A buffer is recycled only when nothing outside the backend can still see it: it was made here, it was never
// handed out by readSync/read (dataSync, data, arraySync...), and no other tensor shares its memory (a cpu
// kernel that returns a view or the same array, as a simple Slice does, marks it as escaped).
import { MathBackendCPU } from '@tensorflow/tfjs-backend-cpu';
import type { DataId, TensorInfo } from '@tensorflow/tfjs-core';

const maximumPooledBytes = 512 * 1024 * 1024;

export class BufferPool {
  private readonly free = new Map<number, Float32Array[]>();
  private readonly owners = new WeakMap<ArrayBufferLike, Float32Array>();
  private readonly escaped = new WeakSet<Float32Array>();
  private pooledBytes = 0;

  /** A buffer of exactly `length` floats with arbitrary contents: the caller overwrites every element. */
  acquire(length: number): Float32Array {
    const recycled = this.free.get(length)?.pop();
    if (recycled) {
      this.pooledBytes -= recycled.byteLength;
      return recycled;
    }
    const buffer = new Float32Array(length);
    this.owners.set(buffer.buffer, buffer);
    return buffer;
  }

  /** Called when a tensor's data is deleted. */
  release(values: unknown): void {
    if (!(values instanceof Float32Array) || this.owners.get(values.buffer) !== values || this.escaped.has(values))
      return;
    if (this.pooledBytes + values.byteLength > maximumPooledBytes) return;
    const list = this.free.get(values.length);
    if (list) list.push(values);
    else this.free.set(values.length, [values]);
    this.pooledBytes += values.byteLength;
  }

  /** The buffer is visible outside the backend (or shared by two tensors): never recycle it. */
  markEscaped(values: unknown): void {
    if (ArrayBuffer.isView(values)) {
      const owner = this.owners.get(values.buffer);
      if (owner) this.escaped.add(owner);
    }
  }

  clear(): void {
    this.free.clear();
    this.pooledBytes = 0;
  }
}

/** tfjs's cpu backend with recycled output buffers for the native kernels. */
export class NativeBackend extends MathBackendCPU {
  readonly pool = new BufferPool();

  constructor() {
    super();
    // The cpu backend's first write prints advice to install tfjs-node for speed; on this backend it is wrong.
    (this as unknown as { firstUse: boolean }).firstUse = false;
  }

  override readSync(dataId: DataId): ReturnType<MathBackendCPU['readSync']> {
    const values = super.readSync(dataId);
    this.pool.markEscaped(values);
    return values;
  }

  override disposeData(dataId: DataId, force = false): boolean {
    const values = this.data.get(dataId)?.values;
    const deleted = super.disposeData(dataId, force);
    if (deleted && !this.data.has(dataId)) this.pool.release(values);
    return deleted;
  }

  /** For outputs of kernels that are not ours: if they share memory with a pooled buffer, pin that buffer. */
  pinSharedOutputs(outputs: TensorInfo | TensorInfo[]): void {
    for (const output of Array.isArray(outputs) ? outputs : [outputs]) {
      this.pool.markEscaped(this.data.get(output.dataId)?.values);
    }
  }

  override dispose(): void {
    this.pool.clear();
    super.dispose();
  }
}
