// Image work outside the networks that the addon also does, when the native backend runs: the augmentation's batch
// warp and the denoising check's per-image scores. data/augment.ts and eval/reconstruction.ts hold the JavaScript
// versions and pick the addon's when it is here; both give the same numbers (test/conformance.test.ts).
import * as tf from '@tensorflow/tfjs-core';

import { loadNativeAddon } from './addon.js';
import type { NativeAddon } from './addon.js';

export type NativeImageKernels = Pick<NativeAddon, 'warpImages' | 'reconstructionScores'>;

/** The addon's image kernels on the native backend; null on other backends. An older addon may lack some. */
export function nativeImageKernels(): NativeImageKernels | null {
  if (tf.getBackend() !== 'native') return null;
  const { addon } = loadNativeAddon();
  if (addon === null) return null;
  return {
    ...(addon.warpImages ? { warpImages: addon.warpImages.bind(addon) } : {}),
    ...(addon.reconstructionScores ? { reconstructionScores: addon.reconstructionScores.bind(addon) } : {}),
  };
}
