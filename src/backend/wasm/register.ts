// Makes tfjs's 'wasm' backend available in Node and trainable: loads tfjs-backend-wasm's
// binaries from node_modules (no network) and installs our kernels for the ones it lacks or
// runs slowly. The caller picks the backend with tf.setBackend('wasm').
import { createRequire } from 'node:module';
import path from 'node:path';

import { getKernel, registerKernel, unregisterKernel } from '@tensorflow/tfjs-core';
import type { KernelConfig } from '@tensorflow/tfjs-core';

import { captureBaseKernel } from './base_kernels.js';
import { batchMatMulConfig } from './BatchMatMul.js';
import { conv2DBackpropFilterConfig } from './Conv2DBackpropFilter.js';
import { conv2DBackpropInputConfig } from './Conv2DBackpropInput.js';
import { sumConfig } from './Sum.js';

/** Kernels we add to tfjs-backend-wasm (Conv2DBackpropFilter) or replace (the rest). */
export const WASM_TRAINING_KERNELS: readonly KernelConfig[] = [
  conv2DBackpropFilterConfig,
  conv2DBackpropInputConfig,
  batchMatMulConfig,
  sumConfig,
];

let registration: Promise<void> | undefined;

/**
 * Registers backend 'wasm' with tfjs and our training kernels for it. Idempotent: later
 * calls wait for the first and do nothing else. Does not select the backend.
 *
 * `threads` (0 = every core) is passed to tfjs-backend-wasm, but in Node it has no effect: tfjs reports
 * WASM_HAS_MULTITHREAD_SUPPORT = false under Node (tfjs issue 3830), so the single-threaded
 * SIMD binary is loaded and every kernel runs on the calling thread.
 */
export async function registerWasmBackend(options: { threads: number }): Promise<void> {
  registration ??= register(options).catch((error: unknown) => {
    registration = undefined;
    throw error;
  });
  await registration;
}

async function register(options: { threads: number }): Promise<void> {
  if (!Number.isInteger(options.threads) || options.threads < 0) {
    throw new RangeError(
      `registerWasmBackend: threads must be a whole number >= 0 (0 = every core), got ${options.threads}`,
    );
  }
  // Importing the package registers backend 'wasm' and its kernels, which is why it happens
  // here and not at the top of this module.
  const wasm = await import('@tensorflow/tfjs-backend-wasm');
  // The package's Node bundle sits next to the .wasm binaries; emscripten reads them with fs.
  const entry = createRequire(import.meta.url).resolve('@tensorflow/tfjs-backend-wasm');
  wasm.setWasmPaths(path.dirname(entry) + path.sep);
  if (options.threads > 0) wasm.setThreadsCount(options.threads);

  for (const config of WASM_TRAINING_KERNELS) replaceKernel(config);
}

/**
 * Installs `config` for backend 'wasm', keeping the package's own kernel of that name (if
 * any) reachable through base_kernels.ts. The package's kernels do their wasm function
 * lookup in a setupFunc that tfjs only calls for registered kernels, so ours chains to it.
 */
function replaceKernel(config: KernelConfig): void {
  const base = captureBaseKernel(config.kernelName);
  if ((getKernel(config.kernelName, 'wasm') as KernelConfig | undefined) !== undefined) {
    unregisterKernel(config.kernelName, 'wasm');
  }
  const baseSetup = base?.setupFunc;
  const ownSetup = config.setupFunc;
  registerKernel({
    ...config,
    setupFunc: (backend) => {
      baseSetup?.(backend);
      ownSetup?.(backend);
    },
  });
}
