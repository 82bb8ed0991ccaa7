// Supervised training of one classifier variant on a labelled subset, with early stopping on validation
// accuracy and the best epoch's weights restored. Fine-tuning first trains the head with the encoder frozen,
// then the whole network at a lower learning rate.
import * as tf from '@tensorflow/tfjs-core';

import type { ExperimentConfig } from '../config.js';
import type { ImageSet } from '../data/dataset.js';
import { Random } from '../data/random.js';
import type { EncoderMode, EpochRecord } from '../metrics.js';
import type { Classifier } from '../model/classifier.js';
import { gatherImages, predictInBatches, shiftImages, shuffledOrder } from './batches.js';
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

export async function trainClassifier(options: ClassifierTrainingOptions): Promise<ClassifierTrainingResult> {
  const { classifier: { model, encoder }, mode, train, validation, config, seed, stage, reporter } = options;
  const pixels = train.height * train.width;
  const maxEpochs = epochsFor(config, mode, train.count);
  const batches = Math.ceil(train.count / config.batchSize);
  let optimizer: tf.Optimizer | null = null;
  const compile = (trainableEncoder: boolean, learningRate: number) => {
    encoder.trainable = trainableEncoder;
    optimizer?.dispose();
    optimizer = tf.train.adam(learningRate);
    model.compile({ optimizer, loss: 'categoricalCrossentropy' });
  };
  compile(mode === 'scratch', mode === 'scratch' ? config.learningRate : config.headLearningRate);

  const history: EpochRecord[] = [];
  let best = { accuracy: -1, epoch: 0, weights: snapshotWeights(model) };
  let staleEpochs = 0;
  let plateauFactor = 1;
  for (let epoch = 1; epoch <= maxEpochs; epoch += 1) {
    if (mode === 'finetuned' && epoch === config.warmupEpochs + 1) {
      compile(true, config.fineTuneLearningRate);
      plateauFactor = 1;
      // Early stopping starts over for the unfrozen phase: its first epochs may dip before they improve.
      staleEpochs = 0;
    }
    if (optimizer && (mode === 'scratch' || (mode === 'finetuned' && epoch > config.warmupEpochs))) {
      // Cosine decay over the epochs left for the whole-network phase, down to 5% of the base rate; a plateau
      // halving below scales it further.
      const first = mode === 'scratch' ? 1 : config.warmupEpochs + 1;
      const progress = (epoch - first) / Math.max(1, maxEpochs - first);
      const base = mode === 'scratch' ? config.learningRate : config.fineTuneLearningRate;
      (optimizer as unknown as { learningRate: number }).learningRate = base * plateauFactor * (0.05 + 0.95 * 0.5 * (1 + Math.cos(Math.PI * progress)));
    }
    const epochStarted = performance.now();
    reporter({ type: 'epoch-start', stage, epoch, maxEpochs, batches });
    const random = new Random(seed).fork(`${stage}-epoch-${epoch}`);
    const order = shuffledOrder(train.count, random);
    let lossSum = 0;
    for (let batch = 0; batch < batches; batch += 1) {
      if (options.shouldStop?.()) throw new InterruptedError(stage, epoch);
      const indices = order.subarray(batch * config.batchSize, Math.min(train.count, (batch + 1) * config.batchSize));
      const images = shiftImages(gatherImages(train.images, pixels, indices), indices.length, train.height, train.width, config.augmentShift, random);
      const labels = Uint8Array.from(indices, (index) => train.labels[index] as number);
      const x = tf.tensor4d(images, [indices.length, train.height, train.width, 1]);
      const y = tf.tensor2d(oneHot(labels, train.classes), [indices.length, train.classes]);
      const loss = (await model.trainOnBatch(x, y)) as number;
      tf.dispose([x, y]);
      if (!Number.isFinite(loss)) throw new DivergenceError(stage, epoch, batch + 1, loss);
      lossSum += loss * indices.length;
      reporter({ type: 'batch-end', stage, epoch, batch: batch + 1, batches, loss });
    }
    const probabilities = predictInBatches(model, validation.images, validation.count, validation.height, validation.width);
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
    if (staleEpochs > 0 && staleEpochs % config.plateauPatience === 0 && optimizer) {
      // Halve Adam's step on a plateau (Keras's ReduceLROnPlateau); the moments are kept.
      const adam = optimizer as unknown as { learningRate: number };
      plateauFactor /= 2;
      adam.learningRate /= 2;
      reporter({ type: 'message', stage, text: `learning rate halved to ${adam.learningRate.toExponential(1)}` });
    }
    const warmingUp = mode === 'finetuned' && epoch <= config.warmupEpochs;
    if (!warmingUp && staleEpochs >= config.patience) break;
  }
  restoreWeights(model, best.weights);
  (optimizer as tf.Optimizer | null)?.dispose();
  const seconds = history.reduce((sum, record) => sum + record.seconds, 0);
  reporter({ type: 'stage-end', stage, seconds, summary: `best validation accuracy ${(100 * best.accuracy).toFixed(2)}% at epoch ${best.epoch} of ${history.length}` });
  return { history, epochs: history.length, bestEpoch: best.epoch, validationAccuracy: best.accuracy, seconds };
}
