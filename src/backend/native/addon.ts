// Loads the compiled kernel addon. Two places may hold it: build/Release, compiled from native/ by the install script,
// and prebuilds/<platform>-<arch>, shipped in the package and chosen by node-gyp-build's file-name tags (libc, N-API);
// a build compiled here comes first, as node-gyp-build does. On x86-64 each place holds the kernels three times,
// compiled for the microarchitecture levels x86-64-v4 (AVX-512), x86-64-v3 (AVX2 + FMA) and x86-64 (SSE2), and
// dae_cpu, compiled for the baseline, says which level this CPU runs: the loader takes the best build it can run,
// as oneDNN and XNNPACK pick their kernels at run time. Elsewhere one build for the machine it was compiled on.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { basename, dirname, join } from 'node:path';
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
  conv2d(
    geometry: Int32Array,
    x: Float32Array,
    filter: Float32Array,
    y: Float32Array,
    bias: Float32Array | null,
    activation: number,
    reference?: boolean,
  ): void;
  conv2dBackpropInput(
    geometry: Int32Array,
    dy: Float32Array,
    filter: Float32Array,
    dx: Float32Array,
    reference?: boolean,
  ): void;
  conv2dBackpropFilter(
    geometry: Int32Array,
    x: Float32Array,
    dy: Float32Array,
    dw: Float32Array,
    reference?: boolean,
  ): void;
  batchMatMul(
    a: Float32Array,
    b: Float32Array,
    c: Float32Array,
    batch: number,
    m: number,
    n: number,
    k: number,
    transposeA: boolean,
    transposeB: boolean,
    batchStrideA: number,
    batchStrideB: number,
    bias: Float32Array | null,
    activation: number,
    reference?: boolean,
  ): void;
  sumRows(x: Float32Array, rows: number, columns: number, out: Float32Array): void;
  /** out[r] = mean of row r of x[rows, columns] */
  meanColumns(x: Float32Array, rows: number, columns: number, out: Float32Array): void;
  /** out[i] = op(a[i % a.length], b[i % b.length]); op codes in kernels/Elementwise.ts */
  binary(op: number, a: Float32Array, b: Float32Array, out: Float32Array): void;
  /** out[i] = op(x[i]); alpha is step's value for x <= 0 */
  unary(op: number, x: Float32Array, out: Float32Array, alpha: number): void;
  /** One Adam step: parameters = [beta1, beta2, 1-beta1, 1-beta2, 1-accBeta1, 1-accBeta2, epsilon, -learningRate]. */
  adamUpdate(
    value: Float32Array,
    m: Float32Array,
    v: Float32Array,
    gradient: Float32Array,
    newValue: Float32Array,
    newM: Float32Array,
    newV: Float32Array,
    parameters: Float32Array,
  ): void;
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
  trainingStep(
    step: NativeTrainingStep,
    parameters: (Float32Array | null)[],
    x: Float32Array,
    target: Float32Array,
    count: number,
    adam: Float32Array,
  ): Promise<number>;
  /** The forward pass of a training step's layer chain over `count` rows of x into out, on this thread. */
  predict(
    step: NativeTrainingStep,
    parameters: (Float32Array | null)[],
    x: Float32Array,
    count: number,
    out: Float32Array,
  ): void;
  /**
   * Gives back a training step's buffers (its activations and gradients), which otherwise stay at the largest batch
   * it has seen until its handle is collected. Absent from addons built before it.
   */
  freeBuffers?(step: NativeTrainingStep): void;
  /**
   * Gives the memory that every thread's heap holds free back to the system (glibc's malloc_trim; elsewhere
   * nothing). Absent from addons built before it.
   */
  releaseFreeMemory?(): void;
  /**
   * The bilinear affine warp of src/data/augment.ts over `count` images into out, on this thread: `maps` holds per
   * image cos(rotation) / scale, sin(rotation) / scale, shift x and shift y. Absent from addons built before it.
   */
  warpImages?(
    images: Float32Array,
    count: number,
    height: number,
    width: number,
    maps: Float64Array,
    out: Float32Array,
  ): void;
  /**
   * Per image of `count`, its sum of squared differences and mean SSIM, as src/eval/reconstruction.ts's scoreImages
   * computes them, spread over the pool. Absent from addons built before it.
   */
  reconstructionScores?(
    clean: Float32Array,
    other: Float32Array,
    count: number,
    height: number,
    width: number,
    taps: Float64Array,
    c1: number,
    c2: number,
    squaredErrors: Float64Array,
    ssims: Float64Array,
  ): void;
  /**
   * Runs `iterations` rounds of 12 independent vector multiply-adds on each of `threads` threads at once (this one
   * and threads of its own): the FLOP done (2 per lane of each), the wall time, the sum of the accumulators (so the
   * loop is not optimised away) and the build's lanes per vector. src/backend/native/peak.ts wraps it. Absent from
   * addons built before it.
   */
  peakFlops?(threads: number, iterations: number): { flops: number; seconds: number; checksum: number; lanes: number };
  setThreads(threads: number): number;
  threads(): number;
  /** The instruction set the addon was compiled for: avx512, avx2, avx, neon or generic. */
  target(): string;
}

/** An opaque handle to a compiled training step; freed when garbage-collected. */
export type NativeTrainingStep = { readonly __brand: 'NativeTrainingStep' };

/** The builds of the kernels, best first; `native` is the one build of a machine that is not x86-64. */
export const nativeVariants = ['x86-64-v4', 'x86-64-v3', 'x86-64', 'native'] as const;
export type NativeVariant = (typeof nativeVariants)[number];
/** The addon file (without its tags and .node) of each build, as binding.gyp names its targets. */
const variantAddons: Record<NativeVariant, string> = {
  'x86-64-v4': 'dae_native_v4',
  'x86-64-v3': 'dae_native_v3',
  'x86-64': 'dae_native_v1',
  native: 'dae_native',
};
const cpuLevelAddon = 'dae_cpu';
/** Caps the x86-64 build the loader takes (to compare builds, or to rule one out): a level from nativeVariants. */
export const variantOverrideVariable = 'DAE_NATIVE_VARIANT';

/** Where the loaded addon came from: compiled from source at install, or the prebuilt binary in the package. */
export type NativeOrigin = 'from source' | 'prebuilt';

export type AddonLoadResult =
  | { addon: NativeAddon; variant: NativeVariant; origin: NativeOrigin; path: string; reason?: undefined }
  | { addon: null; reason: string };

/** One place's addon files, by name: build/Release/<name>.node, or prebuilds/<platform>-<arch>/<name>.<tags>.node. */
interface AddonFiles {
  origin: NativeOrigin;
  where: string;
  files: Map<string, string>;
}

/** The part of node-gyp-build this loader uses: its parsing and matching of prebuild folder and file names. */
interface NodeGypBuild {
  parseTuple(name: string): { name: string; platform: string; architectures: string[] } | undefined;
  matchTuple(platform: string, arch: string): (tuple: ReturnType<NodeGypBuild['parseTuple']>) => boolean;
  compareTuples(a: { architectures: string[] }, b: { architectures: string[] }): number;
  parseTags(file: string): { file: string } | undefined;
  matchTags(runtime: string, abi: string): (tags: ReturnType<NodeGypBuild['parseTags']>) => boolean;
  compareTags(runtime: string): (a: { file: string }, b: { file: string }) => number;
}

const require = createRequire(import.meta.url);
let cached: AddonLoadResult | undefined;

function packageRoot(): string {
  let directory = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(directory, 'binding.gyp'))) {
    const parent = dirname(directory);
    if (parent === directory)
      throw new Error(
        'dae-pretrain: cannot find the package root (binding.gyp) above ' + fileURLToPath(import.meta.url),
      );
    directory = parent;
  }
  return directory;
}

function listDirectory(directory: string): string[] {
  try {
    return readdirSync(directory);
  } catch {
    return [];
  }
}

function compiledAddons(root: string): AddonFiles {
  const release = join(root, 'build', 'Release');
  const files = new Map(
    listDirectory(release)
      .filter((file) => file.endsWith('.node'))
      .map((file) => [basename(file, '.node'), join(release, file)]),
  );
  return { origin: 'from source', where: 'build/Release', files };
}

/** The prebuilt addons that fit this platform, architecture, libc and Node, chosen as node-gyp-build chooses. */
function prebuiltAddons(root: string): AddonFiles {
  const nodeGypBuild = require('node-gyp-build') as NodeGypBuild;
  const prebuilds = join(root, 'prebuilds');
  const tuple = listDirectory(prebuilds)
    .map((name) => nodeGypBuild.parseTuple(name))
    .filter(nodeGypBuild.matchTuple(process.platform, process.arch))
    .sort((a, b) => nodeGypBuild.compareTuples(a!, b!))[0];
  const files = new Map<string, string>();
  if (!tuple) return { origin: 'prebuilt', where: 'prebuilds', files };
  const candidates = listDirectory(join(prebuilds, tuple.name))
    .map((file) => nodeGypBuild.parseTags(file))
    .filter(nodeGypBuild.matchTags('node', process.versions.modules))
    .sort((a, b) => nodeGypBuild.compareTags('node')(a!, b!));
  for (const tags of candidates) {
    const name = tags!.file.split('.')[0]!;
    if (!files.has(name)) files.set(name, join(prebuilds, tuple.name, tags!.file));
  }
  return { origin: 'prebuilt', where: `prebuilds/${tuple.name}`, files };
}

/** The builds to try, best first: those of x86-64 levels this CPU runs (and the override allows), or `native`. */
function variantsToTry(found: AddonFiles): NativeVariant[] | string {
  const cpuAddon = found.files.get(cpuLevelAddon);
  if (!cpuAddon) return found.files.has(variantAddons.native) ? ['native'] : 'no kernel build in it';
  const level = (require(cpuAddon) as { level(): NativeVariant }).level();
  const override = process.env[variantOverrideVariable];
  let best = nativeVariants.indexOf(level);
  if (override) {
    const wanted = nativeVariants.indexOf(override as NativeVariant);
    if (wanted < 0 || override === 'native')
      return `${variantOverrideVariable}=${override} is not an x86-64 level: use x86-64-v4, x86-64-v3 or x86-64`;
    if (wanted < best)
      return `${variantOverrideVariable}=${override} but this CPU runs ${level} at best: unset it or name a lower level`;
    best = wanted;
  }
  return nativeVariants.slice(best, nativeVariants.indexOf('native'));
}

function loadFrom(found: AddonFiles): AddonLoadResult {
  let variants: NativeVariant[] | string;
  try {
    variants = variantsToTry(found);
  } catch (error) {
    return {
      addon: null,
      reason: `${found.where}/${cpuLevelAddon} did not load: ${(error as Error).message.split('\n')[0]}`,
    };
  }
  if (typeof variants === 'string') return { addon: null, reason: `${found.where}: ${variants}` };
  const failures: string[] = [];
  for (const variant of variants) {
    const path = found.files.get(variantAddons[variant]);
    if (!path) continue;
    try {
      return { addon: require(path) as NativeAddon, variant, origin: found.origin, path };
    } catch (error) {
      failures.push(`${variant}: ${(error as Error).message.split('\n')[0]}`);
    }
  }
  const tried = failures.length > 0 ? failures.join('; ') : `none of ${variants.join(', ')} is there`;
  return { addon: null, reason: `the native addon in ${found.where} did not load (${tried})` };
}

/** Why nothing was compiled from source, from the install step's status file. */
function buildReason(root: string): string {
  const statusPath = join(root, 'build', 'native-status.json');
  if (existsSync(statusPath)) {
    const status = JSON.parse(readFileSync(statusPath, 'utf8')) as { built: boolean; reason?: string };
    if (!status.built && status.reason) return `the native addon did not build: ${status.reason}`;
  }
  return 'the native addon was not built (run `npm rebuild dae-pretrain --build-from-source` or `node scripts/build-native.mjs`)';
}

/**
 * Loads the addon once: the build compiled here if there is one, else the prebuilt one; on x86-64 the best of
 * its three builds this CPU runs. When none loads, says why.
 */
export function loadNativeAddon(): AddonLoadResult {
  if (cached) return cached;
  const root = packageRoot();
  const reasons: string[] = [];
  for (const found of [compiledAddons(root), prebuiltAddons(root)]) {
    if (found.files.size === 0) {
      reasons.push(
        found.origin === 'from source'
          ? buildReason(root)
          : `no prebuilt addon fits ${process.platform}-${process.arch} here`,
      );
      continue;
    }
    const loaded = loadFrom(found);
    if (loaded.addon) return (cached = loaded);
    reasons.push(loaded.reason);
  }
  cached = { addon: null, reason: reasons.join('; ') };
  return cached;
}
