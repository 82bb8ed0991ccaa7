// What the autoencoder learned: first- and second-layer filters, feature maps for a few digits, and for every
// coding unit (and every conv channel) the test images that excite it most, plus what the decoder draws when
// only that coding unit is switched on.
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import type { LayersModel } from '@tensorflow/tfjs-layers';

import { floatPixels } from '../data/dataset.js';
import type { ImageSet } from '../data/dataset.js';
import { encoderLayerNames } from '../model/autoencoder.js';
import { predictInBatches } from '../train/batches.js';

export interface LayerActivations {
  name: string;
  /** [N, H, W, C] */
  activations: Float32Array;
  height: number;
  width: number;
  channels: number;
}

export interface UnitView {
  unit: number;
  /** Test-image indices, strongest first. */
  indices: number[];
  /** The activation values of those images. */
  values: number[];
}

export interface Inspection {
  filters: { name: string; kernel: Float32Array; shape: [number, number, number, number] }[];
  featureMaps: { images: Float32Array; count: number; layers: LayerActivations[] };
  codingUnits: (UnitView & { prototype: Float32Array })[];
  /** Per conv layer: top images per channel, by the channel's strongest response anywhere in the image. */
  convChannels: ConvChannels[];
}

/**
 * The input pixels one output position of a conv layer sees: a `size`-square whose corner is `start + stride *
 * position`.
 */
export interface ReceptiveField {
  size: number;
  stride: number;
  start: number;
}

export interface ConvChannels {
  name: string;
  receptiveField: ReceptiveField;
  /**
   * corners: per top image, the input row and column of the receptive field around the channel's strongest response.
   */
  units: (UnitView & { corners: [number, number][] })[];
}

/**
 * Receptive fields of a chain of 'same'-padded convolutions, by the usual recurrence: each layer widens the field by
 * (kernel - 1) times the stride so far, and 'same' padding puts floor(total padding / 2) before the first row.
 */
export function receptiveFields(
  layers: readonly { kernel: number; stride: number; inputSize: number; outputSize: number }[],
): ReceptiveField[] {
  let size = 1,
    stride = 1,
    start = 0;
  return layers.map(({ kernel, stride: layerStride, inputSize, outputSize }) => {
    const padBefore = Math.floor(Math.max((outputSize - 1) * layerStride + kernel - inputSize, 0) / 2);
    start -= padBefore * stride;
    size += (kernel - 1) * stride;
    stride *= layerStride;
    return { size, stride, start };
  });
}

/** Indices of the k largest values of column `column` in a [rows, columns] matrix, largest first. */
export function topIndices(
  matrix: Float32Array,
  rows: number,
  columns: number,
  column: number,
  k: number,
): { indices: number[]; values: number[] } {
  const order = Array.from({ length: rows }, (_, row) => row);
  order.sort((a, b) => (matrix[b * columns + column] as number) - (matrix[a * columns + column] as number) || a - b);
  const indices = order.slice(0, k);
  return { indices, values: indices.map((row) => matrix[row * columns + column] as number) };
}

/**
 * Per image and channel of [images, positions, channels] activations, the largest value and the first position
 * holding it: what tf.max and tf.argMax over axis 1 give, in one pass instead of tfjs's transposes.
 */
export function channelMaximaOf(
  activations: Float32Array,
  images: number,
  positions: number,
  channels: number,
  maxima: Float32Array,
  where: Int32Array,
): void {
  for (let image = 0; image < images; image += 1) {
    const base = image * positions * channels;
    const best = maxima.subarray(image * channels, (image + 1) * channels);
    const at = where.subarray(image * channels, (image + 1) * channels);
    best.set(activations.subarray(base, base + channels));
    at.fill(0);
    for (let position = 1; position < positions; position += 1) {
      const row = base + position * channels;
      for (let channel = 0; channel < channels; channel += 1) {
        const value = activations[row + channel] as number;
        if (value > (best[channel] as number)) {
          best[channel] = value;
          at[channel] = position;
        }
      }
    }
  }
}

function kernelOf(encoder: LayersModel, layerName: string) {
  const weight = encoder.getLayer(layerName).getWeights()[0];
  if (!weight) throw new Error(`inspection: layer ${layerName} has no kernel`);
  return {
    name: layerName,
    kernel: weight.dataSync().slice() as Float32Array,
    shape: weight.shape as [number, number, number, number],
  };
}

export function inspect(
  encoder: LayersModel,
  decoder: LayersModel,
  test: ImageSet,
  options: { topImages: number; featureMapDigits: number },
): Inspection {
  const { count, height, width } = test;
  const pixels = height * width;
  const convLayers = [encoderLayerNames.conv1, encoderLayerNames.conv2].map((name) => encoder.getLayer(name));
  const convModel = tfl.model({
    inputs: encoder.inputs,
    outputs: convLayers.map((layer) => layer.output as tfl.SymbolicTensor),
  });

  // Feature maps of the first few test digits.
  const digits = Math.min(options.featureMapDigits, count);
  const digitImages = floatPixels(test.images, 0, digits * pixels).slice();
  // Arrays leave tidy through closures (see predictInBatches).
  let layers: LayerActivations[] = [];
  tf.tidy(() => {
    const outputs = convModel.predict(tf.tensor4d(digitImages, [digits, height, width, 1])) as tf.Tensor[];
    layers = outputs.map((output, index) => {
      const [, h, w, c] = output.shape as [number, number, number, number];
      return {
        name: convLayers[index]!.name,
        activations: output.dataSync().slice() as Float32Array,
        height: h,
        width: w,
        channels: c,
      };
    });
  });

  // Strongest response of every conv channel per test image: [N, C] per layer, computed in batches.
  // And where it is: [N, C] flattened output positions (row * width + column) per layer.
  const channelMaxima = layers.map((layer) => new Float32Array(count * layer.channels));
  const channelPositions = layers.map((layer) => new Int32Array(count * layer.channels));
  for (let start = 0; start < count; start += 500) {
    const size = Math.min(500, count - start);
    tf.tidy(() => {
      const outputs = convModel.predict(
        tf.tensor4d(floatPixels(test.images, start * pixels, (start + size) * pixels), [size, height, width, 1]),
      ) as tf.Tensor[];
      outputs.forEach((output, index) => {
        const { channels, height: h, width: w } = layers[index]!;
        channelMaximaOf(
          output.dataSync() as Float32Array,
          size,
          h * w,
          channels,
          channelMaxima[index]!.subarray(start * channels),
          channelPositions[index]!.subarray(start * channels),
        );
      });
    });
  }
  let side = height;
  const fields = receptiveFields(
    convLayers.map((convLayer, index) => {
      const { kernelSize, strides } = convLayer.getConfig() as { kernelSize: number[]; strides: number[] };
      const layer = {
        kernel: kernelSize[0] ?? 1,
        stride: strides[0] ?? 1,
        inputSize: side,
        outputSize: layers[index]!.height,
      };
      side = layers[index]!.height;
      return layer;
    }),
  );
  const convChannels: ConvChannels[] = layers.map((layer, index) => {
    const field = fields[index]!;
    return {
      name: layer.name,
      receptiveField: field,
      units: Array.from({ length: layer.channels }, (_, unit) => {
        const top = topIndices(channelMaxima[index]!, count, layer.channels, unit, options.topImages);
        const corners = top.indices.map((image): [number, number] => {
          const position = channelPositions[index]![image * layer.channels + unit]!;
          return [
            field.start + field.stride * Math.floor(position / layer.width),
            field.start + field.stride * (position % layer.width),
          ];
        });
        return { unit, ...top, corners };
      }),
    };
  });

  // Coding units: top images, and the decoder's drawing of a code with only that unit on (at the mean of its
  // top activations, so the unit is as active as on the images that excite it most).
  const codes = predictInBatches(encoder, test.images, count, height, width);
  const units = codes.length / count;
  const codingViews = Array.from({ length: units }, (_, unit) => ({
    unit,
    ...topIndices(codes, count, units, unit, options.topImages),
  }));
  const prototypeCodes = new Float32Array(units * units);
  codingViews.forEach((view) => {
    prototypeCodes[view.unit * units + view.unit] =
      view.values.reduce((sum, value) => sum + value, 0) / view.values.length;
  });
  let prototypes: Float32Array = new Float32Array(0);
  tf.tidy(() => {
    prototypes = (decoder.predict(tf.tensor2d(prototypeCodes, [units, units])) as tf.Tensor)
      .dataSync()
      .slice() as Float32Array;
  });
  return {
    filters: [kernelOf(encoder, encoderLayerNames.conv1), kernelOf(encoder, encoderLayerNames.conv2)],
    featureMaps: { images: digitImages, count: digits, layers },
    codingUnits: codingViews.map((view) => ({
      ...view,
      prototype: prototypes.slice(view.unit * pixels, (view.unit + 1) * pixels),
    })),
    convChannels,
  };
}
