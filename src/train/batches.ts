// Batches of rows (images, or codes) as tensors, in a seeded order, and models run over many rows in batches.
import * as tf from '@tensorflow/tfjs-core';
import type { LayersModel } from '@tensorflow/tfjs-layers';

import { byteValue, floatPixels } from '../data/dataset.js';
import type { Pixels } from '../data/dataset.js';
import type { Random } from '../data/random.js';
import { nativePredictor } from './training-step.js';
import type { NativePredictor } from './training-step.js';

/** Copies row `index` of `rows` ([count, rowSize]) into row `at` of `out`, as floats (bytes read as byteValue). */
export function copyRow(rows: Pixels, rowSize: number, index: number, out: Float32Array, at: number): void {
  const start = index * rowSize;
  if (rows instanceof Float32Array) out.set(rows.subarray(start, start + rowSize), at * rowSize);
  else
    for (let offset = 0; offset < rowSize; offset += 1) out[at * rowSize + offset] = byteValue(rows[start + offset]!);
}

/** Gathers images[indices] ([count, height*width] rows) as floats into `out` (by default a new array). */
export function gatherImages(
  images: Pixels,
  pixels: number,
  indices: ArrayLike<number>,
  out: Float32Array = new Float32Array(indices.length * pixels),
): Float32Array {
  for (let i = 0; i < indices.length; i += 1) copyRow(images, pixels, indices[i] as number, out, i);
  return out;
}

/**
 * Two arrays of `floats` taken in turn by batch number, the first `used` floats of one: a training loop makes each
 * batch while the step before still reads its own, so two are enough, and a fresh array per batch (a megabyte for a
 * semi-supervised step) kept the garbage collector and the page-fault handler busy.
 */
export function alternatingBuffers(floats: number): (batch: number, used: number) => Float32Array {
  const buffers = [new Float32Array(floats), new Float32Array(floats)];
  return (batch, used) => buffers[batch % 2]!.subarray(0, used);
}

export function shuffledOrder(count: number, random: Random): Int32Array {
  const order = Int32Array.from({ length: count }, (_, index) => index);
  random.shuffle(order);
  return order;
}

/**
 * Runs the model over [count, height, width, 1] images in batches; returns the outputs concatenated. Images of bytes
 * are turned into floats a batch at a time.
 */
export function predictInBatches(
  model: LayersModel,
  images: Pixels,
  count: number,
  height: number,
  width: number,
  batchSize = 500,
): Float32Array {
  return predictRows(model, images, count, [height, width, 1], batchSize);
}

/**
 * The addon's outputs for `count` rows of `rowSize` into `out`, `rowsPerPass` rows a forward pass (`weights` as
 * NativePredictor.predict takes them). On the addon a row's outputs do not depend on the rows in its pass, so the
 * pass size changes the time, never the bits.
 */
export function predictInPasses(
  predictor: NativePredictor,
  rows: Pixels,
  count: number,
  rowSize: number,
  rowsPerPass: number,
  out: Float32Array,
  weights?: Parameters<NativePredictor['predict']>[3],
): void {
  const outputSize = predictor.outputSize;
  for (let start = 0; start < count; start += rowsPerPass) {
    const size = Math.min(rowsPerPass, count - start);
    predictor.predict(
      floatPixels(rows, start * rowSize, (start + size) * rowSize),
      size,
      out.subarray(start * outputSize, (start + size) * outputSize),
      weights,
    );
  }
}

/** Runs the model over `count` rows of shape `rowShape` in batches; returns the outputs concatenated. */
export function predictRows(
  model: LayersModel,
  rows: Pixels,
  count: number,
  rowShape: readonly number[],
  batchSize = 500,
): Float32Array {
  const rowSize = rowShape.reduce((product, dimension) => product * dimension, 1);
  const native = nativePredictor(model);
  if (native) {
    // Passes of 128 rows keep the buffers small.
    const out = new Float32Array(count * native.outputSize);
    try {
      predictInPasses(native, rows, count, rowSize, 128, out);
    } finally {
      native.dispose();
    }
    return out;
  }
  let out: Float32Array | null = null;
  let outputSize = 0;
  for (let start = 0; start < count; start += batchSize) {
    const size = Math.min(batchSize, count - start);
    let batch: Float32Array = new Float32Array(0);
    // The array leaves through a closure, not as tidy's result: tidy walks a returned container element by
    // element looking for tensors, which for a typed array of activations took longer than the model itself.
    tf.tidy(() => {
      const input = tf.tensor(floatPixels(rows, start * rowSize, (start + size) * rowSize), [size, ...rowShape]);
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
