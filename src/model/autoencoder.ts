// The reference denoising autoencoder (NHWC, Keras 'same' padding), layer for layer as in the reference write-up:
//   encoder [28,28,1] -> conv 32 3x3 s2 relu [14,14,32] -> conv 64 3x3 s2 relu [7,7,64] -> flatten [3136]
//           -> dense 32 (the coding layer)                                                      119,200 params
//   decoder [32] -> dense 3136 -> reshape [7,7,64] -> conv-transpose 64 3x3 s2 relu [14,14,64]
//           -> conv-transpose 32 3x3 s2 relu [28,28,32] -> conv-transpose 1 3x3 s1 sigmoid [28,28,1]   159,169
import * as tfl from '@tensorflow/tfjs-layers';
import type { LayersModel } from '@tensorflow/tfjs-layers';

export interface AutoencoderShape {
  height: number;
  width: number;
  /** Units of the coding layer (the reference uses 32). */
  codingUnits: number;
}

export const referenceShape: AutoencoderShape = { height: 28, width: 28, codingUnits: 32 };

/** Layer names the inspection stage looks up. */
export const encoderLayerNames = { conv1: 'encoder_conv1', conv2: 'encoder_conv2', coding: 'coding' } as const;

/** Two stride-2 convolutions halve each image side twice: the sides must be multiples of this. */
export const imageSideMultiple = 4;

export function buildEncoder(shape: AutoencoderShape = referenceShape): LayersModel {
  if (shape.height % imageSideMultiple !== 0 || shape.width % imageSideMultiple !== 0) {
    throw new RangeError(
      `encoder: image sides must be multiples of 4 (two stride-2 convolutions), got ${shape.height}x${shape.width}`,
    );
  }
  const input = tfl.input({ shape: [shape.height, shape.width, 1], name: 'image' });
  const conv1 = tfl.layers.conv2d({
    name: encoderLayerNames.conv1,
    filters: 32,
    kernelSize: 3,
    strides: 2,
    padding: 'same',
    activation: 'relu',
  });
  const conv2 = tfl.layers.conv2d({
    name: encoderLayerNames.conv2,
    filters: 64,
    kernelSize: 3,
    strides: 2,
    padding: 'same',
    activation: 'relu',
  });
  const flatten = tfl.layers.flatten({ name: 'encoder_flatten' });
  const coding = tfl.layers.dense({ name: encoderLayerNames.coding, units: shape.codingUnits });
  const output = coding.apply(flatten.apply(conv2.apply(conv1.apply(input)))) as tfl.SymbolicTensor;
  return tfl.model({ inputs: input, outputs: output, name: 'encoder' });
}

export function buildDecoder(shape: AutoencoderShape = referenceShape): LayersModel {
  const [h, w] = [shape.height / 4, shape.width / 4];
  return tfl.sequential({
    name: 'decoder',
    layers: [
      tfl.layers.dense({ name: 'decoder_dense', inputShape: [shape.codingUnits], units: h * w * 64 }),
      tfl.layers.reshape({ name: 'decoder_reshape', targetShape: [h, w, 64] }),
      tfl.layers.conv2dTranspose({
        name: 'decoder_deconv1',
        filters: 64,
        kernelSize: 3,
        strides: 2,
        padding: 'same',
        activation: 'relu',
      }),
      tfl.layers.conv2dTranspose({
        name: 'decoder_deconv2',
        filters: 32,
        kernelSize: 3,
        strides: 2,
        padding: 'same',
        activation: 'relu',
      }),
      tfl.layers.conv2dTranspose({
        name: 'decoder_output',
        filters: 1,
        kernelSize: 3,
        strides: 1,
        padding: 'same',
        activation: 'sigmoid',
      }),
    ],
  });
}

export interface Autoencoder {
  encoder: LayersModel;
  decoder: LayersModel;
  /** encoder followed by decoder, sharing their weights. */
  autoencoder: LayersModel;
}

/** The reference architecture's shape for images of `images`' size. */
export const shapeOf = (images: { height: number; width: number }): AutoencoderShape => ({
  height: images.height,
  width: images.width,
  codingUnits: referenceShape.codingUnits,
});

export function buildAutoencoder(shape: AutoencoderShape = referenceShape): Autoencoder {
  return joinAutoencoder(buildEncoder(shape), buildDecoder(shape));
}

export function joinAutoencoder(encoder: LayersModel, decoder: LayersModel): Autoencoder {
  const input = tfl.input({ shape: encoder.inputs[0]?.shape.slice(1) as number[], name: 'noisy_image' });
  const output = decoder.apply(encoder.apply(input)) as tfl.SymbolicTensor;
  return { encoder, decoder, autoencoder: tfl.model({ inputs: input, outputs: output, name: 'autoencoder' }) };
}
