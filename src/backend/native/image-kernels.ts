// Image work outside the networks on the addon, when the native backend runs: the augmentation's batch warp and the
// denoising check's per-image scores. Each gives the same numbers as its JavaScript version (test/conformance.test.ts),
// in a fraction of the time.
import * as tf from '@tensorflow/tfjs-core';

import type { BatchWarp } from '../../data/augment.js';
import type { ImageScorer } from '../../eval/reconstruction.js';
import { loadNativeAddon } from './addon.js';

/** The addon, on the native backend. */
function nativeAddon() {
  return tf.getBackend() === 'native' ? loadNativeAddon().addon : null;
}

/** The addon's warp on the native backend; null on another backend or with an addon built before it had one. */
export function nativeWarp(): BatchWarp | null {
  const addon = nativeAddon();
  return addon?.warpImages?.bind(addon) ?? null;
}

/** The addon's per-image scores on the native backend; null on another backend or with an addon without them. */
export function nativeImageScorer(): ImageScorer | null {
  const addon = nativeAddon();
  return addon?.reconstructionScores?.bind(addon) ?? null;
}
