// What an exported model takes and gives: one naming scheme for every model and both formats, and a description of
// the preprocessing that goes into each file's metadata, so that a user of the ONNX or Keras file need not guess it.
//   input   image                float32 [batch, H, W, 1], NHWC, pixel values in [0, 1] (0-255 pixels divided by 255);
//                                in [0, 255] with --include-rescaling, whose first layer (rescale_pixels) divides
//           code                 float32 [batch, coding units]: the decoder's input, as the encoder gives it
//   output  code                 the encoder's coding units
//           reconstruction       float32 [batch, H, W, 1], NHWC, in [0, 1]: the autoencoder's and the decoder's image
//           class_probabilities  float32 [batch, classes], softmax, in the order of class_names
// The exported tree carries the names: its input layer is renamed, and an Identity layer named after the output ends
// it (Keras names a model's output after its last layer; ONNX names the graph's output after it too).
import { ExportError, flattenTree, isModelNode } from './model-tree.js';
import type { ModelNode, TreeLayer } from './model-tree.js';

export const inputNames = ['image', 'code'] as const;
export const outputNames = ['code', 'reconstruction', 'class_probabilities'] as const;
export type InputName = (typeof inputNames)[number];
export type OutputName = (typeof outputNames)[number];

/** The layer that --include-rescaling puts first: 0-255 pixels times 1/255. */
export const rescalingLayerName = 'rescale_pixels';
export const pixelScale = 1 / 255;

/** The names of a model's input and output, from what they are: an image or a vector, class probabilities or not. */
export function interfaceNames(tree: ModelNode): { input: InputName; output: OutputName } {
  const last = flattenTree(tree).at(-1);
  const softmax = last !== undefined && 'activation' in last && last.activation === 'softmax';
  return {
    input: tree.inputShape.length === 3 ? 'image' : 'code',
    output: tree.outputShape.length === 3 ? 'reconstruction' : softmax ? 'class_probabilities' : 'code',
  };
}

export interface InterfaceOptions {
  /** Put a layer in front that divides 0-255 pixels by 255 (models that take an image only). */
  includeRescaling: boolean;
  /** The nested model whose weights do not train (a frozen classifier's encoder), to be marked so. */
  frozenModel?: string;
}

function frozen(node: ModelNode): ModelNode {
  const layers = node.layers.map((layer): TreeLayer =>
    isModelNode(layer) ? frozen(layer) : { ...layer, trainable: false },
  );
  return { ...node, trainable: false, layers };
}

/**
 * `tree` as it is exported: its input and output named by interfaceNames, the pixel rescaling in front when asked
 * for, the frozen model marked. `subject` names the model in an ExportError (a layer that already has a name the
 * export gives).
 */
export function exportTree(tree: ModelNode, options: InterfaceOptions, subject: string): ModelNode {
  const names = interfaceNames(tree);
  const rescaled = options.includeRescaling && names.input === 'image';
  const given = [names.input, names.output, ...(rescaled ? [rescalingLayerName] : [])];
  const clash = tree.layers.find((layer) => given.includes(layer.name));
  if (clash) {
    throw new ExportError(
      subject,
      `layer '${clash.name}' has a name the export gives to the model's ${clash.name === names.input ? 'input' : 'output or rescaling'}`,
      'rename the layer in tfjs before exporting',
    );
  }
  const layers = tree.layers.map((layer) =>
    isModelNode(layer) && layer.name === options.frozenModel ? frozen(layer) : layer,
  );
  if (options.frozenModel !== undefined && !tree.layers.some((layer) => layer.name === options.frozenModel)) {
    throw new ExportError(
      subject,
      `is saved as a frozen classifier but holds no model '${options.frozenModel}' to freeze`,
      'export a classifier that `dae classify` saved',
    );
  }
  if (rescaled) {
    const shape = tree.inputShape;
    layers.unshift({
      kind: 'Rescaling',
      name: rescalingLayerName,
      inputShape: shape,
      outputShape: shape,
      scale: pixelScale,
    });
  }
  layers.push({ kind: 'Identity', name: names.output, inputShape: tree.outputShape, outputShape: tree.outputShape });
  return { ...tree, inputName: names.input, layers };
}

/** What goes into the files' metadata about the interface: enough to feed the model and read its answer. */
export interface InterfaceDescription {
  input: {
    name: InputName;
    /** With the batch axis first, null (any size). */
    shape: (number | null)[];
    dtype: 'float32';
    layout: 'NHWC' | 'vector';
    /** The values the model expects: [0, 1] pixels, [0, 255] with the rescaling in the model, or any codes. */
    range: [number, number] | null;
    preprocessing: string;
  };
  output: { name: OutputName; shape: (number | null)[]; dtype: 'float32'; meaning: string };
  /** The first layer divides 0-255 pixels by 255 (--include-rescaling): feed raw pixels. */
  rescalingIncluded: boolean;
  /** The class of each output index, label 0 first (classifiers). */
  classNames?: string[];
  /** The nested model whose weights are frozen (trainable false), if any. */
  frozen?: string;
}

const batched = (shape: number[]): (number | null)[] => [null, ...shape];
const shapeText = (shape: number[]) => `[batch, ${shape.join(', ')}]`;

/** The description of `tree`, as exportTree returned it, for its metadata. */
export function describeInterface(
  tree: ModelNode,
  options: InterfaceOptions & { classNames?: string[] },
): InterfaceDescription {
  // The names exportTree gave: its input layer's, and its last layer's (the Identity).
  const names = { input: tree.inputName as InputName, output: tree.layers.at(-1)?.name as OutputName };
  const rescalingIncluded = tree.layers[0]?.kind === 'Rescaling';
  const image = names.input === 'image';
  const preprocessing = !image
    ? `float32 codes ${shapeText(tree.inputShape)}, as the encoder outputs them`
    : rescalingIncluded
      ? `float32 raw pixel values in [0, 255], ${shapeText(tree.inputShape)}, NHWC; the model's first layer (${rescalingLayerName}) divides them by 255`
      : `float32 pixel values in [0, 1], ${shapeText(tree.inputShape)}, NHWC: divide 0-255 pixels by 255 first (x = pixels.astype("float32") / 255); raw 0-255 pixels give wrong answers without an error`;
  const meanings: Record<OutputName, string> = {
    code: `the coding units ${shapeText(tree.outputShape)}`,
    reconstruction: `the reconstructed image ${shapeText(tree.outputShape)}, NHWC, pixel values in [0, 1]`,
    class_probabilities: `class probabilities ${shapeText(tree.outputShape)} (softmax), in the order of classNames`,
  };
  return {
    input: {
      name: names.input,
      shape: batched(tree.inputShape),
      dtype: 'float32',
      layout: image ? 'NHWC' : 'vector',
      range: image ? (rescalingIncluded ? [0, 255] : [0, 1]) : null,
      preprocessing,
    },
    output: { name: names.output, shape: batched(tree.outputShape), dtype: 'float32', meaning: meanings[names.output] },
    rescalingIncluded,
    ...(options.classNames && names.output === 'class_probabilities' ? { classNames: options.classNames } : {}),
    ...(options.frozenModel ? { frozen: options.frozenModel } : {}),
  };
}
