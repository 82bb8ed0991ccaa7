// The run's models in the browser, loaded with stock tf.loadLayersModel from the dae server, and the one pass the
// page shows: clean -> corrupted -> encoder -> code -> decoder -> denoised, plus the classifiers on one of those
// images.
// H/W = image sides (28), U = coding units (32), C = classes (10).
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import * as tfl from '@tensorflow/tfjs-layers';

import { corrupt } from '../src/data/noise.js';
import { Random } from '../src/data/random.js';
import type { NoiseSpec } from '../src/data/noise.js';
import type { RunSummary, ServedClassifier } from '../src/serve/api.js';

export type ClassifierInput = 'clean' | 'corrupted' | 'denoised';

export interface Pipeline {
  height: number;
  width: number;
  encoder: tfl.LayersModel;
  decoder: tfl.LayersModel;
  classifiers: { info: ServedClassifier; model: tfl.LayersModel }[];
}

export interface PassResult {
  /** [H*W] each, in [0, 1]. */
  corrupted: Float32Array;
  denoised: Float32Array;
  /** [U] coding-layer activations for the corrupted image. */
  code: Float32Array;
  /** One [C] probability vector per classifier, in the pipeline's order. */
  probabilities: Float32Array[];
}

/** Selects the CPU backend (the one that works in every browser, GPU or not) and loads every model the run serves. */
export async function loadPipeline(
  summary: RunSummary,
  onProgress: (loaded: number, total: number) => void,
): Promise<Pipeline> {
  await tf.setBackend('cpu');
  await tf.ready();
  const urls = [summary.encoderUrl, summary.decoderUrl, ...summary.classifiers.map((c) => c.modelUrl)];
  let loaded = 0;
  onProgress(loaded, urls.length);
  const models = await Promise.all(
    urls.map(async (url) => {
      const model = await tfl.loadLayersModel(url);
      onProgress((loaded += 1), urls.length);
      return model;
    }),
  );
  const [encoder, decoder, ...classifierModels] = models;
  if (!encoder || !decoder) throw new Error('loadPipeline: the encoder or decoder did not load');
  return {
    height: summary.height,
    width: summary.width,
    encoder,
    decoder,
    classifiers: classifierModels.map((model, index) => ({ info: summary.classifiers[index]!, model })),
  };
}

const asImageBatch = (pixels: Float32Array, pipeline: Pipeline) =>
  tf.tensor4d(pixels, [pixels.length / (pipeline.height * pipeline.width), pipeline.height, pipeline.width, 1]);

/** One pass for one image. `seed` fixes the noise, so redrawing a stroke does not re-roll every noisy pixel. */
export function runPass(
  pipeline: Pipeline,
  clean: Float32Array,
  noise: NoiseSpec,
  seed: number,
  classifierInput: ClassifierInput,
): PassResult {
  const corrupted = noise.amount > 0 ? corrupt(clean, noise, new Random(seed)) : Float32Array.from(clean);
  return tf.tidy(() => {
    const code = pipeline.encoder.predict(asImageBatch(corrupted, pipeline)) as tf.Tensor2D; // [1, U]
    const denoisedTensor = pipeline.decoder.predict(code) as tf.Tensor4D; // [1, H, W, 1]
    const denoised = denoisedTensor.dataSync() as Float32Array;
    const seen = classifierInput === 'clean' ? clean : classifierInput === 'corrupted' ? corrupted : denoised;
    const input = asImageBatch(seen, pipeline);
    const probabilities = pipeline.classifiers.map(
      ({ model }) => (model.predict(input) as tf.Tensor2D).dataSync() as Float32Array,
    );
    return {
      corrupted,
      denoised: Float32Array.from(denoised),
      code: Float32Array.from(code.dataSync()),
      probabilities,
    };
  });
}

/** [U, H*W] decoder outputs for codes with only unit u switched on, at `values[u]`. */
export function decodePrototypes(pipeline: Pipeline, values: readonly number[]): Float32Array[] {
  const units = values.length;
  return tf.tidy(() => {
    const codes = tf.mul(tf.eye(units), tf.tensor1d(values.slice())) as tf.Tensor2D; // [U, U], one row per unit
    const images = (pipeline.decoder.predict(codes) as tf.Tensor4D).dataSync() as Float32Array; // [U, H, W, 1]
    const pixels = pipeline.height * pipeline.width;
    return Array.from({ length: units }, (_, unit) => images.slice(unit * pixels, (unit + 1) * pixels));
  });
}

/** Peak signal-to-noise ratio of `image` against `reference`, both in [0, 1]; Infinity when they are equal. */
export function psnr(reference: Float32Array, image: Float32Array): number {
  let squared = 0;
  for (let index = 0; index < reference.length; index += 1)
    squared += ((reference[index] ?? 0) - (image[index] ?? 0)) ** 2;
  const mse = squared / reference.length;
  return mse === 0 ? Number.POSITIVE_INFINITY : 10 * Math.log10(1 / mse);
}
