// Image work outside the networks on the addon, when the native backend runs: the augmentation's batch warp and the
// denoising check's per-image scores. Each gives the same numbers as its JavaScript version (test/conformance.test.ts),
// in a fraction of the time.
import * as tf from '@tensorflow/tfjs-core';

import { warpImages } from '../../data/augment.js';
import type { BatchWarp } from '../../data/augment.js';
import { scoreImages } from '../../eval/reconstruction.js';
import type { ImageScorer } from '../../eval/reconstruction.js';
import { loadNativeAddon } from './addon.js';

/** The addon, on the native backend. */
function nativeAddon() {
  return tf.getBackend() === 'native' ? loadNativeAddon().addon : null;
}

/** The batch warp to use: the addon's on the native backend, else (or with an addon built before it) JavaScript's. */
export function batchWarp(): BatchWarp {
  const addon = nativeAddon();
  return addon?.warpImages?.bind(addon) ?? warpImages;
}

/** The per-image scorer to use: the addon's on the native backend, else (or with an addon without it) JavaScript's. */
export function imageScorer(): ImageScorer {
  const addon = nativeAddon();
  return addon?.reconstructionScores?.bind(addon) ?? scoreImages;
}
