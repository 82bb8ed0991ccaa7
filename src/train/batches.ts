// Batches of images as tensors, in a seeded order, with optional corruption or shifting per batch.
import * as tf from '@tensorflow/tfjs-core';
import type { LayersModel } from '@tensorflow/tfjs-layers';

import type { Random } from '../data/random.js';

/** Gathers images[indices] ([count, height*width] rows) into one new array. */
export function gatherImages(images: Float32Array, pixels: number, indices: ArrayLike<number>): Float32Array {
  const out = new Float32Array(indices.length * pixels);
  for (let i = 0; i < indices.length; i += 1) {
    const start = (indices[i] as number) * pixels;
    out.set(images.subarray(start, start + pixels), i * pixels);
  }
  return out;
}

/** Shifts each image by a random whole number of pixels in [-maxShift, maxShift] per axis, filling with 0. */
export function shiftImages(images: Float32Array, count: number, height: number, width: number, maxShift: number, random: Random): Float32Array {
  if (maxShift === 0) return images;
  const out = new Float32Array(images.length);
  for (let n = 0; n < count; n += 1) {
    const dy = random.integer(2 * maxShift + 1) - maxShift;
    const dx = random.integer(2 * maxShift + 1) - maxShift;
    const base = n * height * width;
    for (let y = 0; y < height; y += 1) {
      const sourceY = y - dy;
      if (sourceY < 0 || sourceY >= height) continue;
      for (let x = 0; x < width; x += 1) {
        const sourceX = x - dx;
        if (sourceX >= 0 && sourceX < width) out[base + y * width + x] = images[base + sourceY * width + sourceX] as number;
      }
    }
  }
  return out;
}

export function shuffledOrder(count: number, random: Random): Int32Array {
  const order = Int32Array.from({ length: count }, (_, index) => index);
  random.shuffle(order);
  return order;
}

/** Runs the model over [count, height, width, 1] images in batches; returns the outputs concatenated. */
export function predictInBatches(model: LayersModel, images: Float32Array, count: number, height: number, width: number,
  batchSize = 500): Float32Array {
  const pixels = height * width;
  let out: Float32Array | null = null;
  let outputSize = 0;
  for (let start = 0; start < count; start += batchSize) {
    const size = Math.min(batchSize, count - start);
    let batch: Float32Array = new Float32Array(0);
    // The array leaves through a closure, not as tidy's result: tidy walks a returned container element by
    // element looking for tensors, which for a typed array of activations took longer than the model itself.
    tf.tidy(() => {
      const input = tf.tensor4d(images.subarray(start * pixels, (start + size) * pixels), [size, height, width, 1]);
      batch = (model.predict(input) as tf.Tensor).dataSync() as Float32Array;
    });
    if (!out) {
      outputSize = batch.length / size;
      out = new Float32Array(count * outputSize);
    }
    out.set(batch, start * outputSize);
  }
  return out ?? new Float32Array(0);
}
