// Multiply-adds per image of the reference models, from their layer shapes (autoencoder.ts, classifier.ts): what one
// image costs in arithmetic, passed forward and trained. Pure, no tfjs: the ETA (cli/eta.ts) uses it to say how fast
// one kind of work goes from the measured speed of another. The models' builders stay the source of truth; a test
// checks that these layers have the parameters the built models have.

export interface AutoencoderShape {
  height: number;
  width: number;
  /** Units of the coding layer (the reference uses 32). */
  codingUnits: number;
}

export const referenceShape: AutoencoderShape = { height: 28, width: 28, codingUnits: 32 };

/** One layer: its multiply-adds for one image passed forward, and its parameter count. */
export interface LayerArithmetic { name: string; multiplyAdds: number; parameters: number }

/** A 3x3 convolution, 'same' padding: every output position sums kernel x kernel x input channels for each filter. */
function convolution(name: string, outputPositions: number, inputChannels: number, filters: number, kernel = 3): LayerArithmetic {
  return { name, multiplyAdds: outputPositions * filters * kernel * kernel * inputChannels, parameters: kernel * kernel * inputChannels * filters + filters };
}

/** A transposed convolution: every input position scatters kernel x kernel x filters products of each input channel. */
function transposedConvolution(name: string, inputPositions: number, inputChannels: number, filters: number, kernel = 3): LayerArithmetic {
  return { name, multiplyAdds: inputPositions * inputChannels * filters * kernel * kernel, parameters: kernel * kernel * inputChannels * filters + filters };
}

function dense(name: string, inputs: number, units: number): LayerArithmetic {
  return { name, multiplyAdds: inputs * units, parameters: inputs * units + units };
}

/** [h,w,1] -> conv 32 s2 [h/2,w/2,32] -> conv 64 s2 [h/4,w/4,64] -> flatten -> dense codingUnits. */
export function encoderArithmetic(shape: AutoencoderShape): LayerArithmetic[] {
  const quarter = (shape.height / 4) * (shape.width / 4);
  return [
    convolution('encoder_conv1', 4 * quarter, 1, 32),
    convolution('encoder_conv2', quarter, 32, 64),
    dense('coding', quarter * 64, shape.codingUnits),
  ];
}

/** [codingUnits] -> dense [h/4,w/4,64] -> conv-transpose 64 s2 [h/2,w/2,64] -> conv-transpose 32 s2 [h,w,32] -> conv-transpose 1 s1 [h,w,1]. */
export function decoderArithmetic(shape: AutoencoderShape): LayerArithmetic[] {
  const quarter = (shape.height / 4) * (shape.width / 4);
  return [
    dense('decoder_dense', shape.codingUnits, quarter * 64),
    transposedConvolution('decoder_deconv1', quarter, 64, 64),
    transposedConvolution('decoder_deconv2', 4 * quarter, 64, 32),
    transposedConvolution('decoder_output', 16 * quarter, 32, 1),
  ];
}

/** The classifier's head on the code: dense 16 -> dense 16 -> dense classes. */
export function headArithmetic(codingUnits: number, classes: number): LayerArithmetic[] {
  return [dense('head_dense1', codingUnits, 16), dense('head_dense2', 16, 16), dense('head_output', 16, classes)];
}

export const forwardMultiplyAdds = (layers: readonly LayerArithmetic[]) => layers.reduce((total, layer) => total + layer.multiplyAdds, 0);

/**
 * One training image: the forward pass, then the backward pass's two products per layer, the gradient of its weights
 * and the gradient of its input (each as many multiply-adds as its forward pass), except the first layer's input
 * gradient, which nothing needs. Losses, activations and the optimizer's update are not multiply-adds of the layers;
 * the ETA counts the update with a step's fixed cost.
 */
export const trainingMultiplyAdds = (layers: readonly LayerArithmetic[]) => 3 * forwardMultiplyAdds(layers) - (layers[0]?.multiplyAdds ?? 0);

/** Multiply-adds of one image for each kind of work the ETA measures. */
export interface WorkArithmetic {
  /** The autoencoder: trained on a noisy image, and passed forward (validation, denoising scores). */
  autoencoderTraining: number;
  autoencoderForward: number;
  /** The whole classifier (encoder and head) on an image. */
  classifierTraining: number;
  classifierForward: number;
  /** The head alone on a code (frozen runs, fine-tuning's warm-up). */
  headTraining: number;
  headForward: number;
  /** The encoder alone: an image to its code. */
  encoderForward: number;
}

export function workArithmetic(shape: AutoencoderShape, classes: number): WorkArithmetic {
  const encoder = encoderArithmetic(shape), decoder = decoderArithmetic(shape), head = headArithmetic(shape.codingUnits, classes);
  return {
    autoencoderTraining: trainingMultiplyAdds([...encoder, ...decoder]),
    autoencoderForward: forwardMultiplyAdds([...encoder, ...decoder]),
    classifierTraining: trainingMultiplyAdds([...encoder, ...head]),
    classifierForward: forwardMultiplyAdds([...encoder, ...head]),
    headTraining: trainingMultiplyAdds(head),
    headForward: forwardMultiplyAdds(head),
    encoderForward: forwardMultiplyAdds(encoder),
  };
}
