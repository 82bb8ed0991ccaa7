// Backend choice: `auto` takes the fastest engine present here, in the order
// tensorflow (tfjs-node / tfjs-node-gpu, when the user installed it) > native (our addon) > wasm > cpu.
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
// tfjs-core's Node bundle registers no gradients; tfjs-layers' Node bundle registers them all on import
// (as the @tensorflow/tfjs umbrella would). Needed for tf.grads and for training.
import '@tensorflow/tfjs-layers';

import { loadNativeAddon } from './native/addon.js';
import { registerNativeBackend } from './native/register.js';
import { registerReluGradient } from './relu-gradient.js';

// After tfjs-layers' registrations, which it replaces.
registerReluGradient();

export const backendNames = ['auto', 'tensorflow', 'native', 'wasm', 'cpu'] as const;
export type BackendName = (typeof backendNames)[number];
export type ConcreteBackendName = Exclude<BackendName, 'auto'>;

export interface BackendOptions {
  /** Threads for the kernels; 0 or absent means every core. */
  threads?: number;
}

export interface BackendInfo {
  name: ConcreteBackendName;
  threads: number;
  /**
   * What runs the kernels: for native, the instruction set, the build the loader chose for this CPU and where it came
   * from (e.g. "avx2 kernels, x86-64-v3 build, prebuilt").
   */
  detail: string;
  /** Why a faster backend was not used, when `auto` had to skip one. */
  fallbackReasons: string[];
}

export class BackendError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'BackendError';
  }
}

async function tryTensorflow(): Promise<string | null> {
  for (const packageName of ['@tensorflow/tfjs-node-gpu', '@tensorflow/tfjs-node']) {
    try {
      await import(packageName);
      return packageName;
    } catch {
      // Not installed: the next candidate.
    }
  }
  return null;
}

async function activate(name: ConcreteBackendName, options: BackendOptions): Promise<BackendInfo | string> {
  const threads = options.threads ?? 0;
  switch (name) {
    case 'tensorflow': {
      const packageName = await tryTensorflow();
      if (!packageName) return 'neither @tensorflow/tfjs-node nor @tensorflow/tfjs-node-gpu is installed';
      await tf.setBackend('tensorflow');
      return { name, threads: 0, detail: packageName, fallbackReasons: [] };
    }
    case 'native': {
      const loaded = loadNativeAddon();
      if (!loaded.addon) return loaded.reason;
      registerNativeBackend(loaded.addon);
      const used = loaded.addon.setThreads(threads);
      await tf.setBackend('native');
      const build = loaded.variant === 'native' ? 'built for this machine' : `${loaded.variant} build`;
      return {
        name,
        threads: used,
        detail: `${loaded.addon.target()} kernels, ${build}, ${loaded.origin}`,
        fallbackReasons: [],
      };
    }
    case 'wasm': {
      const { registerWasmBackend } = await import('./wasm/register.js');
      await registerWasmBackend({ threads });
      await tf.setBackend('wasm');
      return { name, threads: 1, detail: 'tfjs-backend-wasm (SIMD, one thread in Node)', fallbackReasons: [] };
    }
    case 'cpu':
      await tf.setBackend('cpu');
      return { name, threads: 1, detail: 'tfjs-backend-cpu', fallbackReasons: [] };
  }
}

/**
 * Runs `body`, then gives the native kernels back the thread count they had before it: a worker thread that sets
 * its own count sets the whole process's, and would otherwise leave the command's kernels on one thread.
 */
export async function keepingNativeThreads<T>(body: () => Promise<T>): Promise<T> {
  const addon = tf.getBackend() === 'native' ? loadNativeAddon().addon : null;
  const before = addon?.threads();
  try {
    return await body();
  } finally {
    if (addon && before !== undefined) addon.setThreads(before);
  }
}

/**
 * Sets the native kernels' thread count (0 = every core) and returns the count in use. The thread pool is shared
 * by every JS thread of the process, workers included.
 */
export function setNativeThreads(threads: number): number {
  const loaded = loadNativeAddon();
  if (!loaded.addon) throw new BackendError(`backend 'native' is not available: ${loaded.reason}`);
  return loaded.addon.setThreads(threads);
}

/**
 * Gives back to the system the memory that the heaps hold free once a run or a stage has let go of its arrays: the
 * native addon keeps freed memory for its next allocations, which is right within a run and wasted after it. Does
 * nothing without the addon.
 */
export function releaseFreeMemory(): void {
  if (tf.getBackend() === 'native') loadNativeAddon().addon?.releaseFreeMemory?.();
}

/** Makes the named backend current for tfjs. `auto` picks the fastest available and records what it skipped. */
export async function useBackend(name: BackendName = 'auto', options: BackendOptions = {}): Promise<BackendInfo> {
  if (!backendNames.includes(name)) {
    throw new BackendError(`unknown backend '${String(name)}': use one of ${backendNames.join(', ')}`);
  }
  if (options.threads !== undefined && (!Number.isInteger(options.threads) || options.threads < 0)) {
    throw new BackendError(`threads must be a whole number ≥ 0 (0 = every core), got ${options.threads}`);
  }
  if (name !== 'auto') {
    const result = await activate(name, options);
    if (typeof result === 'string') throw new BackendError(`backend '${name}' is not available: ${result}`);
    return result;
  }
  const fallbackReasons: string[] = [];
  for (const candidate of ['tensorflow', 'native', 'wasm', 'cpu'] as const) {
    const result = await activate(candidate, options);
    if (typeof result !== 'string') return { ...result, fallbackReasons };
    // The absence of the optional TensorFlow binding is the normal case, not worth a warning.
    if (candidate !== 'tensorflow') fallbackReasons.push(`${candidate}: ${result}`);
  }
  throw new BackendError('no tfjs backend could be activated');
}
