// The machine's limit for our kernels, measured at run time: the FLOP/s of independent multiply-adds at the loaded
// build's vector width (native/peak.cc). The bench reports every kernel and training step as a share of it.
import { BackendError } from '../index.js';
import { loadNativeAddon } from './addon.js';

export interface PeakFlops {
  /** FLOP/s over all the threads, 2 per lane of each multiply-add: the best of the repeats. */
  flopsPerSecond: number;
  threads: number;
  /** Lanes per vector of the loaded build: 16 with AVX-512, 8 with AVX2, 4 otherwise. */
  lanes: number;
  /** The instruction set the build was compiled for, as the addon's target() names it (avx512, avx2, ...). */
  target: string;
}

/**
 * The peak multiply-add rate of `threads` threads running at once, measured now. The iterations double until one
 * run lasts `minimumSeconds`, then the best of `repeats` such runs counts: another process taking a core for a
 * moment can only slow a run down, so the fastest is the closest to the machine's limit. Throws a BackendError when
 * the native addon is missing or was built before it could measure this.
 */
export function measurePeakFlops(threads: number, { minimumSeconds = 0.02, repeats = 5 } = {}): PeakFlops {
  const loaded = loadNativeAddon();
  if (!loaded.addon) throw new BackendError(`peak FLOP/s: the native addon is not available: ${loaded.reason}`);
  const { addon } = loaded;
  if (!addon.peakFlops)
    throw new BackendError(
      'peak FLOP/s: this native addon predates peakFlops; rebuild it (node scripts/build-native.mjs)',
    );
  if (!Number.isInteger(threads) || threads < 1)
    throw new BackendError(`peak FLOP/s: threads must be a whole number >= 1, got ${threads}`);
  let iterations = 1 << 14;
  let run = addon.peakFlops(threads, iterations);
  while (run.seconds < minimumSeconds) {
    iterations *= 2;
    run = addon.peakFlops(threads, iterations);
  }
  let best = run.flops / run.seconds;
  for (let repeat = 1; repeat < repeats; repeat += 1) {
    run = addon.peakFlops(threads, iterations);
    best = Math.max(best, run.flops / run.seconds);
  }
  return { flopsPerSecond: best, threads, lanes: run.lanes, target: addon.target() };
}
