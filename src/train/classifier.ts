// Supervised training of one classifier variant on a labelled subset, with early stopping on validation
// accuracy and the best epoch's weights restored. While the encoder is frozen (frozen runs, and fine-tuning's
// warm-up) the head trains on precomputed codes; then, for fine-tuning, the whole network at its own rate.
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import type { LayersModel } from '@tensorflow/tfjs-layers';

import type { ExperimentConfig } from '../config.js';
import { augmentImages, noAugmentation } from '../data/augment.js';
import type { AugmentationSpec } from '../data/augment.js';
import type { ImageSet } from '../data/dataset.js';
import { Random } from '../data/random.js';
import type { EncoderMode, EpochRecord } from '../metrics.js';
import type { Classifier } from '../model/classifier.js';
import { gatherImages, predictInBatches, predictRows, shuffledOrder } from './batches.js';
import { adam } from './adam.js';
import { DivergenceError, InterruptedError } from './events.js';
import type { Reporter } from './events.js';
import { restoreWeights, snapshotWeights } from './weights.js';

/** Images with one label each: the dataset's own image set type. */
export type LabelledImages = ImageSet;

export interface ClassifierTrainingOptions {
  classifier: Classifier;
  mode: EncoderMode;
  train: LabelledImages;
  validation: LabelledImages;
  config: ExperimentConfig['classifier'];
  seed: number;
  stage: string;
  reporter: Reporter;
  shouldStop?: () => boolean;
}

export interface ClassifierTrainingResult {
  history: EpochRecord[];
  epochs: number;
  bestEpoch: number;
  validationAccuracy: number;
  seconds: number;
}

export function oneHot(labels: Uint8Array, classes: number): Float32Array {
  const out = new Float32Array(labels.length * classes);
  labels.forEach((label, index) => {
    out[index * classes + label] = 1;
  });
  return out;
}

/** Index of the largest of each row of `probabilities` [count, classes]. */
export function argmaxRows(probabilities: Float32Array, classes: number): Uint8Array {
  const count = probabilities.length / classes;
  const out = new Uint8Array(count);
  for (let n = 0; n < count; n += 1) {
    let best = 0;
    for (let c = 1; c < classes; c += 1) if ((probabilities[n * classes + c] as number) > (probabilities[n * classes + best] as number)) best = c;
    out[n] = best;
  }
  return out;
}

function accuracyAndLoss(probabilities: Float32Array, labels: Uint8Array, classes: number): { accuracy: number; loss: number } {
  const predicted = argmaxRows(probabilities, classes);
  let correct = 0, loss = 0;
  labels.forEach((label, index) => {
    if (predicted[index] === label) correct += 1;
    loss -= Math.log(Math.max(probabilities[index * classes + label] as number, 1e-7));
  });
  return { accuracy: correct / labels.length, loss: loss / labels.length };
}

export function epochsFor(config: ExperimentConfig['classifier'], mode: EncoderMode, labels: number): number {
  const [epochs, images] = mode === 'frozen' ? [config.frozenMaxEpochs, config.frozenMaxImagesPerRun] : [config.maxEpochs, config.maxImagesPerRun];
  return Math.max(config.warmupEpochs + 1, Math.min(epochs, Math.floor(images / labels)));
}

/** What one epoch trains: the whole classifier on images, or, while the encoder is frozen, the head on codes. */
interface Phase {
  model: LayersModel;
  train: Float32Array;
  validation: Float32Array;
  rowShape: number[];
  augmentation: AugmentationSpec;
  learningRate: number;
  /** First and last epoch of the phase, for the cosine decay (equal = a constant rate). */
  firstEpoch: number;
  lastEpoch: number;
  decay: boolean;
}

/**
 * The head alone, sharing its layers (and so its weights) with the classifier: input the encoder's code. While
 * the encoder is frozen each image's code never changes, so it is computed once and the head trains on codes,
 * which costs a small fraction of a pass through the encoder.
 */
function headModel(model: LayersModel, codingUnits: number): LayersModel {
  const input = tfl.input({ shape: [codingUnits], name: 'code' });
  let output = input;
  for (const layer of model.layers) if (layer.name.startsWith('head_')) output = layer.apply(output) as tfl.SymbolicTensor;
  return tfl.model({ inputs: input, outputs: output, name: 'head' });
}

export async function trainClassifier(options: ClassifierTrainingOptions): Promise<ClassifierTrainingResult> {
  const { classifier: { model, encoder }, mode, train, validation, config, seed, stage, reporter } = options;
  const maxEpochs = epochsFor(config, mode, train.count);
  const frozenEpochs = mode === 'frozen' ? maxEpochs : mode === 'finetuned' ? config.warmupEpochs : 0;
  const patience = mode === 'frozen' ? config.frozenPatience : config.patience;
  const batches = Math.ceil(train.count / config.batchSize);
  const imageShape = [train.height, train.width, 1];

  const phases: Phase[] = [];
  if (frozenEpochs > 0) {
    const codingUnits = encoder.outputs[0]!.shape[1] as number;
    phases.push({
      model: headModel(model, codingUnits),
      train: predictInBatches(encoder, train.images, train.count, train.height, train.width),
      validation: predictInBatches(encoder, validation.images, validation.count, validation.height, validation.width),
      rowShape: [codingUnits],
      // Codes are computed once from the undistorted images; measured, a frozen head also scores better without
      // distortions (it cannot learn invariances the encoder lacks).
      augmentation: noAugmentation,
      learningRate: config.headLearningRate,
      firstEpoch: 1, lastEpoch: frozenEpochs, decay: mode === 'frozen',
    });
  }
  if (mode !== 'frozen') {
    phases.push({
      model, train: train.images, validation: validation.images, rowShape: imageShape, augmentation: config.augmentation,
      learningRate: mode === 'scratch' ? config.learningRate : config.fineTuneLearningRate,
      firstEpoch: frozenEpochs + 1, lastEpoch: maxEpochs, decay: true,
    });
  }

  let optimizer: tf.Optimizer | null = null;
  const history: EpochRecord[] = [];
  let best = { accuracy: -1, epoch: 0, weights: snapshotWeights(model) };
  let staleEpochs = 0;
  let plateauFactor = 1;
  for (let epoch = 1; epoch <= maxEpochs; epoch += 1) {
    const phase = phases.find((candidate) => epoch >= candidate.firstEpoch && epoch <= candidate.lastEpoch)!;
    if (epoch === phase.firstEpoch) {
      encoder.trainable = phase.model === model;
      optimizer?.dispose();
      optimizer = adam(phase.learningRate);
      phase.model.compile({ optimizer, loss: 'categoricalCrossentropy' });
      plateauFactor = 1;
      // Early stopping starts over in a new phase: its first epochs may dip before they improve.
      staleEpochs = 0;
    }
    if (phase.decay && optimizer) {
      // Cosine decay over the phase, down to 5% of its base rate; a plateau halving below scales it further.
      const progress = (epoch - phase.firstEpoch) / Math.max(1, phase.lastEpoch - phase.firstEpoch);
      (optimizer as unknown as { learningRate: number }).learningRate =
        phase.learningRate * plateauFactor * (0.05 + 0.95 * 0.5 * (1 + Math.cos(Math.PI * progress)));
    }
    const epochStarted = performance.now();
    reporter({ type: 'epoch-start', stage, epoch, maxEpochs, batches });
    const random = new Random(seed).fork(`${stage}-epoch-${epoch}`);
    const order = shuffledOrder(train.count, random);
    const rowSize = phase.rowShape.reduce((product, dimension) => product * dimension, 1);
    let lossSum = 0;
    for (let batch = 0; batch < batches; batch += 1) {
      if (options.shouldStop?.()) throw new InterruptedError(stage, epoch);
      const indices = order.subarray(batch * config.batchSize, Math.min(train.count, (batch + 1) * config.batchSize));
      const rows = phase.augmentation === noAugmentation
        ? gatherImages(phase.train, rowSize, indices)
        : augmentImages(gatherImages(phase.train, rowSize, indices), indices.length, train.height, train.width, phase.augmentation, random);
      const labels = Uint8Array.from(indices, (index) => train.labels[index] as number);
      const x = tf.tensor(rows, [indices.length, ...phase.rowShape]);
      const y = tf.tensor2d(oneHot(labels, train.classes), [indices.length, train.classes]);
      const loss = (await phase.model.trainOnBatch(x, y)) as number;
      tf.dispose([x, y]);
      if (!Number.isFinite(loss)) throw new DivergenceError(stage, epoch, batch + 1, loss);
      lossSum += loss * indices.length;
      reporter({ type: 'batch-end', stage, epoch, batch: batch + 1, batches, loss });
    }
    const probabilities = predictRows(phase.model, phase.validation, validation.count, phase.rowShape);
    const scores = accuracyAndLoss(probabilities, validation.labels, validation.classes);
    const record: EpochRecord = {
      epoch, loss: lossSum / train.count, validationLoss: scores.loss, validationAccuracy: scores.accuracy,
      seconds: (performance.now() - epochStarted) / 1000,
    };
    history.push(record);
    const improved = scores.accuracy > best.accuracy;
    if (improved) best = { accuracy: scores.accuracy, epoch, weights: snapshotWeights(model) };
    staleEpochs = improved ? 0 : staleEpochs + 1;
    reporter({ type: 'epoch-end', stage, record, improved });
    if (staleEpochs > 0 && staleEpochs % config.plateauPatience === 0 && optimizer && mode !== 'frozen') {
      // Halve Adam's step on a plateau (Keras's ReduceLROnPlateau); the moments are kept. Not for frozen runs:
      // their long patience would halve the rate to nothing, and the cosine decay alone served them better.
      const halved = optimizer as unknown as { learningRate: number };
      plateauFactor /= 2;
      halved.learningRate /= 2;
      reporter({ type: 'message', stage, text: `learning rate halved to ${halved.learningRate.toExponential(1)}` });
    }
    const warmingUp = mode === 'finetuned' && epoch <= config.warmupEpochs;
    if (!warmingUp && staleEpochs >= patience) break;
  }
  restoreWeights(model, best.weights);
  encoder.trainable = mode !== 'frozen';
  (optimizer as tf.Optimizer | null)?.dispose();
  const seconds = history.reduce((sum, record) => sum + record.seconds, 0);
  reporter({ type: 'stage-end', stage, seconds, summary: `best validation accuracy ${(100 * best.accuracy).toFixed(2)}% at epoch ${best.epoch} of ${history.length}` });
  return { history, epochs: history.length, bestEpoch: best.epoch, validationAccuracy: best.accuracy, seconds };
}
