// The augmentation's batch warp on the addon, when the native backend runs: the same pixels as the JavaScript warp
// (test/augment.test.ts), at a fraction of its time, off the kernels' critical path only in that it is shorter.
import * as tf from '@tensorflow/tfjs-core';

import type { BatchWarp } from '../../data/augment.js';
import { loadNativeAddon } from './addon.js';

/** The addon's warp on the native backend; null on another backend or with an addon built before it had one. */
export function nativeWarp(): BatchWarp | null {
  if (tf.getBackend() !== 'native') return null;
  const addon = loadNativeAddon().addon;
  const warp = addon?.warpImages?.bind(addon);
  return warp ?? null;
}
