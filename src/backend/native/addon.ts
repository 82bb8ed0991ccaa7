// Loads the compiled kernel addon (build/Release/dae_native.node), built from native/ during `npm ci`.
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Activation codes the addon fuses into a convolution or matmul epilogue. */
export const nativeActivationCodes = { linear: 0, relu: 1, sigmoid: 2 } as const;
export type NativeActivation = keyof typeof nativeActivationCodes;

/**
 * The addon's functions. Geometry is [N, H, W, C, KH, KW, F, OH, OW, strideH, strideW, padTop, padLeft,
 * dilationH, dilationW]. Outputs are written into the last Float32Array argument; `reference` runs the plain
 * loops instead of the fast path (the oracle for the conformance tests).
 */
export interface NativeAddon {
  conv2d(geometry: Int32Array, x: Float32Array, filter: Float32Array, y: Float32Array, bias: Float32Array | null,
    activation: number, reference?: boolean): void;
  conv2dBackpropInput(geometry: Int32Array, dy: Float32Array, filter: Float32Array, dx: Float32Array,
    reference?: boolean): void;
  conv2dBackpropFilter(geometry: Int32Array, x: Float32Array, dy: Float32Array, dw: Float32Array,
    reference?: boolean): void;
  batchMatMul(a: Float32Array, b: Float32Array, c: Float32Array, batch: number, m: number, n: number, k: number,
    transposeA: boolean, transposeB: boolean, batchStrideA: number, batchStrideB: number,
    bias: Float32Array | null, activation: number, reference?: boolean): void;
  sumRows(x: Float32Array, rows: number, columns: number, out: Float32Array): void;
  /** out[r] = mean of row r of x[rows, columns] */
  meanColumns(x: Float32Array, rows: number, columns: number, out: Float32Array): void;
  /** out[i] = op(a[i % a.length], b[i % b.length]); op codes in kernels/Elementwise.ts */
  binary(op: number, a: Float32Array, b: Float32Array, out: Float32Array): void;
  /** out[i] = op(x[i]); alpha is step's value for x <= 0 */
  unary(op: number, x: Float32Array, out: Float32Array, alpha: number): void;
  /** One Adam step: parameters = [beta1, beta2, 1-beta1, 1-beta2, 1-accBeta1, 1-accBeta2, epsilon, -learningRate]. */
  adamUpdate(value: Float32Array, m: Float32Array, v: Float32Array, gradient: Float32Array,
    newValue: Float32Array, newM: Float32Array, newV: Float32Array, parameters: Float32Array): void;
  /**
   * A whole training step of a layer chain (native/training_step.h): `layers` holds 21 values per layer (kind
   * 0 dense / 1 conv / 2 transposed conv, activation 0 linear / 1 relu / 2 sigmoid / 3 softmax, trainable, has
   * bias, in size, out size, geometry); loss 0 is mean squared error, 1 categorical cross-entropy.
   */
  createTrainingStep(layers: Int32Array, loss: number): NativeTrainingStep;
  /**
   * Trains on `count` rows: `parameters` holds per layer its kernel, bias, and the kernel's and bias's Adam
   * moments (null where absent), updated in place; `adam` as for adamUpdate. Runs off the JavaScript thread and
   * resolves to the mean loss; the arrays must not be touched until it has.
   */
  trainingStep(step: NativeTrainingStep, parameters: (Float32Array | null)[], x: Float32Array, target: Float32Array,
    count: number, adam: Float32Array): Promise<number>;
  /** The forward pass of a training step's layer chain over `count` rows of x into out, on this thread. */
  predict(step: NativeTrainingStep, parameters: (Float32Array | null)[], x: Float32Array, count: number, out: Float32Array): void;
  setThreads(threads: number): number;
  threads(): number;
  /** The instruction set the addon was compiled for: avx512, avx2, avx, neon or generic. */
  target(): string;
}

/** An opaque handle to a compiled training step; freed when garbage-collected. */
export type NativeTrainingStep = { readonly __brand: 'NativeTrainingStep' };

export type AddonLoadResult = { addon: NativeAddon; reason?: undefined } | { addon: null; reason: string };

let cached: AddonLoadResult | undefined;

function packageRoot(): string {
  let directory = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(directory, 'binding.gyp'))) {
    const parent = dirname(directory);
    if (parent === directory) throw new Error('dae-pretrain: cannot find the package root (binding.gyp) above ' + fileURLToPath(import.meta.url));
    directory = parent;
  }
  return directory;
}

/** Loads the addon once; when it is missing, says why (from the install step's status file). */
export function loadNativeAddon(): AddonLoadResult {
  if (cached) return cached;
  const root = packageRoot();
  const path = join(root, 'build', 'Release', 'dae_native.node');
  if (!existsSync(path)) {
    const statusPath = join(root, 'build', 'native-status.json');
    let reason = 'the native addon was not built (run `npm rebuild dae-pretrain` or `node scripts/build-native.mjs`)';
    if (existsSync(statusPath)) {
      const status = JSON.parse(readFileSync(statusPath, 'utf8')) as { built: boolean; reason?: string };
      if (!status.built && status.reason) reason = `the native addon did not build: ${status.reason}`;
    }
    cached = { addon: null, reason };
    return cached;
  }
  try {
    const require = createRequire(import.meta.url);
    cached = { addon: require(path) as NativeAddon };
  } catch (error) {
    cached = { addon: null, reason: `the native addon did not load: ${(error as Error).message.split('\n')[0]}` };
  }
  return cached;
}
