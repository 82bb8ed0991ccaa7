// The work of one training step, counted from a model's layers: the multiply-adds of its convolutions and dense
// layers, forward and backward, at 2 FLOP each. That is what the bench divides by time to give a step's GFLOP/s.
//   forward           every layer: Conv2D its output pixels x kernel size (KH x KW x C x F); Conv2DTranspose its input
//                     pixels x kernel size (each input pixel meets every tap once); Dense its kernel size (in x out)
//   weight gradient   the same again for every trainable layer
//   input gradient    the same again for every layer but the first (nothing needs the gradient of the image)
// Biases, activations, the loss and Adam are left out: together under 1% here (Adam's ~10 FLOP per parameter is
// ~0.02 MFLOP per image at batch 128, against the autoencoder's ~41 MFLOP).
import type { LayersModel } from '@tensorflow/tfjs-layers';

/** The parts of a tfjs layer the count reads; a nested model has `layers`. */
interface CountedLayer {
  getClassName(): string;
  getConfig(): { strides?: unknown };
  outputShape: unknown;
  weights: { shape: number[] }[];
  trainable: boolean;
  layers?: CountedLayer[];
}

const product = (values: number[]) => values.reduce((a, b) => a * b, 1);

/** The layers of a model in order, nested models flattened. */
const chainOf = (layer: CountedLayer): CountedLayer[] => (layer.layers ? layer.layers.flatMap(chainOf) : [layer]);

/** Multiply-adds of one layer's forward pass for one image; 0 for layers without a kernel (flatten, reshape). */
function forwardMultiplyAdds(layer: CountedLayer): number {
  const className = layer.getClassName();
  const kernel = layer.weights[0]?.shape;
  if (!kernel || !['Conv2D', 'Conv2DTranspose', 'Dense'].includes(className)) return 0;
  if (className === 'Dense') return product(kernel);
  // [batch, H, W, F] after the layer; a transposed convolution's input has H / strideH x W / strideW pixels.
  const [, height, width] = layer.outputShape as [null, number, number, number];
  const [strideHeight = 1, strideWidth = 1] = layer.getConfig().strides as number[];
  const pixels = className === 'Conv2D' ? height * width : (height * width) / (strideHeight * strideWidth);
  return pixels * product(kernel);
}

/** FLOP of one training step per image (forward and backward), as counted above. */
export function trainingFlopsPerImage(model: LayersModel): number {
  const layers = chainOf(model as unknown as CountedLayer).filter((layer) => forwardMultiplyAdds(layer) > 0);
  let multiplyAdds = 0;
  layers.forEach((layer, index) => {
    const forward = forwardMultiplyAdds(layer);
    multiplyAdds += forward + (layer.trainable ? forward : 0) + (index > 0 ? forward : 0);
  });
  return 2 * multiplyAdds;
}
