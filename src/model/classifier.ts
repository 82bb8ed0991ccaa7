// The classifier: the autoencoder's encoder, then two relu Dense layers of `headUnits` each and a softmax Dense layer.
//   [28,28,1] -> encoder -> [32] -> [headUnits] -> [headUnits] -> [classes]
import * as tfl from '@tensorflow/tfjs-layers';
import type { LayersModel } from '@tensorflow/tfjs-layers';

import { buildEncoder } from './autoencoder.js';
import type { AutoencoderShape } from './autoencoder.js';

/**
 * The classifier variants, in one table: whether the encoder starts from the pretrained weights, whether it trains
 * (fine-tuned after a warm-up of the head alone, when pretrained), and whether the unlabelled images join in
 * (FixMatch, train/semi-supervised.ts).
 */
export const variants = {
  finetuned: {
    pretrained: true,
    encoderTrains: true,
    semiSupervised: false,
    title: 'pretrained, fine-tuned',
    shortName: 'fine-tuned',
  },
  frozen: {
    pretrained: true,
    encoderTrains: false,
    semiSupervised: false,
    title: 'pretrained, frozen',
    shortName: 'frozen',
  },
  scratch: {
    pretrained: false,
    encoderTrains: true,
    semiSupervised: false,
    title: 'from scratch',
    shortName: 'scratch',
  },
  'fixmatch-finetuned': {
    pretrained: true,
    encoderTrains: true,
    semiSupervised: true,
    title: 'FixMatch, pretrained, fine-tuned',
    shortName: 'FixMatch fine-tuned',
  },
  'fixmatch-scratch': {
    pretrained: false,
    encoderTrains: true,
    semiSupervised: true,
    title: 'FixMatch, from scratch',
    shortName: 'FixMatch scratch',
  },
} as const satisfies Record<string, Variant>;

interface Variant {
  pretrained: boolean;
  encoderTrains: boolean;
  semiSupervised: boolean;
  /** The report's name: 'pretrained, fine-tuned'. */
  title: string;
  /** For column headers and the page: 'fine-tuned'. */
  shortName: string;
}

export type EncoderMode = keyof typeof variants;
export const encoderModes = Object.keys(variants) as EncoderMode[];

export interface Classifier {
  model: LayersModel;
  /** The encoder inside `model`: freeze or unfreeze it through `encoder.trainable`. */
  encoder: LayersModel;
}

/**
 * The reference write-up's head: 16 units a layer. The bench's peers build it, so the bench times it; the study's
 * head is the config's classifier.headUnits.
 */
export const referenceHeadUnits = 16;

/**
 * A classifier with its own copy of the encoder: the pretrained weights for `frozen` and `finetuned`,
 * fresh ones (to be initialised by the caller) for `scratch`.
 */
export function buildClassifier(
  mode: EncoderMode,
  shape: AutoencoderShape,
  classes: number,
  pretrained: LayersModel | null,
  headUnits: number,
): Classifier {
  const encoder = buildEncoder(shape);
  if (variants[mode].pretrained) {
    if (!pretrained) throw new Error(`buildClassifier: the ${mode} classifier needs the pretrained encoder`);
    encoder.setWeights(pretrained.getWeights());
  }
  const input = tfl.input({ shape: [shape.height, shape.width, 1], name: 'input_image' });
  const code = encoder.apply(input) as tfl.SymbolicTensor;
  const hidden1 = tfl.layers.dense({ name: 'head_dense1', units: headUnits, activation: 'relu' }).apply(code);
  const hidden2 = tfl.layers.dense({ name: 'head_dense2', units: headUnits, activation: 'relu' }).apply(hidden1);
  const output = tfl.layers
    .dense({ name: 'head_output', units: classes, activation: 'softmax' })
    .apply(hidden2) as tfl.SymbolicTensor;
  return { model: tfl.model({ inputs: input, outputs: output, name: `classifier_${mode}` }), encoder };
}
