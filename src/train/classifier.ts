// Supervised training of one classifier variant on a labelled subset, with early stopping on validation
// accuracy and the best epoch's weights restored. While the encoder is frozen (frozen runs, and fine-tuning's
// warm-up) the head trains on precomputed codes (frozen runs: also those of distorted copies of the images); then,
// for fine-tuning, the whole network at its own rate.
import * as tfl from '@tensorflow/tfjs-layers';
import type { LayersModel } from '@tensorflow/tfjs-layers';

import { augmentImages, batchWarp, noAugmentation } from '../data/augment.js';
import type { AugmentationSpec } from '../data/augment.js';
import { floatPixels } from '../data/dataset.js';
import type { ImageSet, Pixels } from '../data/dataset.js';
import { Random } from '../data/random.js';
import { variants } from '../model/classifier.js';
import type { EncoderMode } from '../model/classifier.js';
import type { EpochRecord } from './events.js';
import type { Classifier } from '../model/classifier.js';
import { alternatingBuffers, copyRow, gatherImages, predictInBatches, predictRows, shuffledOrder } from './batches.js';
import { adam, cosineDecay } from './adam.js';
import { trainBatches, trainingStep } from './training-step.js';
import type { TrainingStep } from './training-step.js';
import type { FusedAdamOptimizer } from './adam.js';
import { DivergenceError, InterruptedError } from './events.js';
import { CurriculumThresholds, fixMatchEpoch } from './semi-supervised.js';
import type { SemiSupervisedConfig } from './semi-supervised.js';
import type { Reporter } from './events.js';
import { restoreWeights, snapshotWeights, WeightAverage } from './weights.js';

/** The config's classifier section: the variants, their labels and how each trains. */
export interface ClassifierConfig {
  encoders: EncoderMode[];
  labelFractions: number[];
  /** Units of each of the head's two hidden layers (the reference write-up has 16). */
  headUnits: number;
  batchSize: number;
  /** Adam's learning rate while only the head trains (frozen runs, fine-tuning's warm-up). */
  headLearningRate: number;
  /** Adam's learning rate for the whole network (scratch runs). */
  learningRate: number;
  /** Fine-tuning: epochs with the encoder frozen, then the whole network at fineTuneLearningRate. */
  warmupEpochs: number;
  fineTuneLearningRate: number;
  /** Upper bound on epochs; early stopping on validation accuracy usually ends sooner. */
  maxEpochs: number;
  /** Epochs without a better validation accuracy before training stops. */
  patience: number;
  /** Epochs without a better validation accuracy before the learning rate is halved. */
  plateauPatience: number;
  /** Random distortions of the labelled images, fresh each epoch, while the encoder trains (all zero = none). */
  augmentation: AugmentationSpec;
  /** Training targets move this much of the label's probability evenly onto all classes (0 = plain one-hot). */
  labelSmoothing: number;
  /** Cap on the images seen per run (epochs x labels), so the 100% runs fit the time budget. */
  maxImagesPerRun: number;
  /**
   * The same bounds for frozen runs, and their own patience: the encoder's codes are computed once and only the
   * small head trains on them, so an epoch costs a few percent of the others and the head keeps improving slowly.
   */
  frozenMaxEpochs: number;
  frozenMaxImagesPerRun: number;
  frozenPatience: number;
  /**
   * Frozen runs also train the head on the codes of distorted copies of the labelled images, computed once like
   * the undistorted codes; each epoch takes every image from one of its versions at random. This many copies,
   * fewer when they would exceed frozenCopyImagesPerRun images; 0 = the undistorted codes only.
   */
  frozenCopies: number;
  frozenCopyImagesPerRun: number;
  frozenCopyAugmentation: AugmentationSpec;
  /** The semi-supervised variants' FixMatch settings. */
  semiSupervised: SemiSupervisedConfig;
}

/** Images with one label each: the dataset's own image set type. */
export type LabelledImages = ImageSet;

export interface ClassifierTrainingOptions {
  classifier: Classifier;
  mode: EncoderMode;
  train: LabelledImages;
  validation: LabelledImages;
  /** Every training image, labels unread: what the semi-supervised variants learn from besides `train`. */
  unlabelled: ImageSet;
  config: ClassifierConfig;
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

/**
 * Target rows: 1 for the label, 0 elsewhere; with smoothing ε, 1 − ε + ε/classes and ε/classes (Keras's
 * label_smoothing).
 */
export function oneHot(labels: Uint8Array, classes: number, smoothing = 0): Float32Array {
  const out = new Float32Array(labels.length * classes).fill(smoothing / classes);
  labels.forEach((label, index) => {
    out[index * classes + label] = 1 - smoothing + smoothing / classes;
  });
  return out;
}

/** Index of the largest of each row of `probabilities` [count, classes]. */
export function argmaxRows(probabilities: Float32Array, classes: number): Uint8Array {
  const count = probabilities.length / classes;
  const out = new Uint8Array(count);
  for (let n = 0; n < count; n += 1) {
    let best = 0;
    for (let c = 1; c < classes; c += 1)
      if ((probabilities[n * classes + c] as number) > (probabilities[n * classes + best] as number)) best = c;
    out[n] = best;
  }
  return out;
}

function accuracyAndLoss(
  probabilities: Float32Array,
  labels: Uint8Array,
  classes: number,
): { accuracy: number; loss: number } {
  const predicted = argmaxRows(probabilities, classes);
  let correct = 0,
    loss = 0;
  labels.forEach((label, index) => {
    if (predicted[index] === label) correct += 1;
    loss -= Math.log(Math.max(probabilities[index * classes + label] as number, 1e-7));
  });
  return { accuracy: correct / labels.length, loss: loss / labels.length };
}

export function epochsFor(config: ClassifierConfig, mode: EncoderMode, labels: number): number {
  if (variants[mode].semiSupervised)
    return (variants[mode].pretrained ? config.warmupEpochs : 0) + config.semiSupervised.epochs;
  const [epochs, images] =
    mode === 'frozen'
      ? [config.frozenMaxEpochs, config.frozenMaxImagesPerRun]
      : [config.maxEpochs, config.maxImagesPerRun];
  return Math.max(config.warmupEpochs + 1, Math.min(epochs, Math.floor(images / labels)));
}

/** What one epoch trains: the whole classifier on images, or, while the encoder is frozen, the head on codes. */
interface Phase {
  model: LayersModel;
  /** Versions of the training rows (the images, or their codes and those of distorted copies), one array each. */
  train: Pixels[];
  validation: Pixels;
  rowShape: number[];
  augmentation: AugmentationSpec;
  learningRate: number;
  /** FixMatch on the labelled and unlabelled images, or plain supervised batches. */
  semiSupervised: boolean;
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
  for (const layer of model.layers)
    if (layer.name.startsWith('head_')) output = layer.apply(output) as tfl.SymbolicTensor;
  return tfl.model({ inputs: input, outputs: output, name: 'head' });
}

/** How many distorted copies of the labelled images a frozen run adds, within its image budget. */
export function frozenCopiesFor(config: ClassifierConfig, labels: number): number {
  return Math.min(config.frozenCopies, Math.floor(config.frozenCopyImagesPerRun / labels));
}

/**
 * The codes of the labelled images, then those of `copies` distorted copies of them. Copies are distorted and
 * encoded a few thousand images at a time, so no whole distorted copy (nor the whole set as floats) is ever held;
 * the chunk is a multiple of predictInBatches' batch, so the batches, and the codes, are those of one pass.
 */
function codeVersions(
  encoder: LayersModel,
  images: LabelledImages,
  copies: number,
  augmentation: AugmentationSpec,
  random: Random,
): Float32Array[] {
  const { count, height, width } = images;
  const pixels = height * width;
  const chunk = 5000;
  const warp = batchWarp();
  const versions = [predictInBatches(encoder, images.images, count, height, width)];
  const codeSize = versions[0]!.length / count;
  for (let copy = 1; copy <= copies; copy += 1) {
    const copyRandom = random.fork(`copy-${copy}`);
    const codes = new Float32Array(count * codeSize);
    for (let start = 0; start < count; start += chunk) {
      const end = Math.min(count, start + chunk);
      const distorted = augmentImages(
        floatPixels(images.images, start * pixels, end * pixels),
        end - start,
        height,
        width,
        augmentation,
        copyRandom,
        warp,
      );
      codes.set(predictInBatches(encoder, distorted, end - start, height, width), start * codeSize);
    }
    versions.push(codes);
  }
  return versions;
}

/** The rows of `indices` into `out`, each from one of the versions at random (from the only one when there is one). */
function gatherRows(
  versions: Pixels[],
  rowSize: number,
  indices: Int32Array,
  random: Random,
  out: Float32Array,
): Float32Array {
  if (versions.length === 1) return gatherImages(versions[0]!, rowSize, indices, out);
  indices.forEach((index, row) => copyRow(versions[random.integer(versions.length)]!, rowSize, index, out, row));
  return out;
}

export async function trainClassifier(options: ClassifierTrainingOptions): Promise<ClassifierTrainingResult> {
  const {
    classifier: { model, encoder },
    mode,
    train,
    validation,
    config,
    seed,
    stage,
    reporter,
  } = options;
  const variant = variants[mode];
  const maxEpochs = epochsFor(config, mode, train.count);
  const frozenEpochs = !variant.encoderTrains ? maxEpochs : variant.pretrained ? config.warmupEpochs : 0;
  // A semi-supervised run trains its whole schedule and keeps the last epoch (SemiSupervisedConfig.epochs).
  const patience = !variant.encoderTrains ? config.frozenPatience : variant.semiSupervised ? Infinity : config.patience;
  const imageShape = [train.height, train.width, 1];
  const warp = batchWarp();

  const phases: Phase[] = [];
  if (frozenEpochs > 0) {
    const codingUnits = encoder.outputs[0]!.shape[1] as number;
    const copies = mode === 'frozen' ? frozenCopiesFor(config, train.count) : 0;
    phases.push({
      model: headModel(model, codingUnits),
      train: codeVersions(
        encoder,
        train,
        copies,
        config.frozenCopyAugmentation,
        new Random(seed).fork(`${stage}-copies`),
      ),
      validation: predictInBatches(encoder, validation.images, validation.count, validation.height, validation.width),
      rowShape: [codingUnits],
      // Codes are computed once; distorting afresh each epoch would mean a pass through the encoder every epoch.
      augmentation: noAugmentation,
      learningRate: config.headLearningRate,
      semiSupervised: false,
      firstEpoch: 1,
      lastEpoch: frozenEpochs,
      decay: !variant.encoderTrains,
    });
  }
  if (variant.encoderTrains) {
    phases.push({
      model,
      train: [train.images],
      validation: validation.images,
      rowShape: imageShape,
      augmentation: config.augmentation,
      learningRate: variant.pretrained ? config.fineTuneLearningRate : config.learningRate,
      semiSupervised: variant.semiSupervised,
      firstEpoch: frozenEpochs + 1,
      lastEpoch: maxEpochs,
      decay: true,
    });
  }

  const semi = config.semiSupervised;
  const curriculum =
    variant.semiSupervised && semi.thresholds === 'curriculum'
      ? new CurriculumThresholds(options.unlabelled.count, train.classes, semi.threshold)
      : null;
  let average: WeightAverage | null = null;
  let optimizer: FusedAdamOptimizer | null = null;
  let step: TrainingStep | null = null;
  const history: EpochRecord[] = [];
  let best = { accuracy: -1, epoch: 0, weights: snapshotWeights(model) };
  let staleEpochs = 0;
  let plateauFactor = 1;
  for (let epoch = 1; epoch <= maxEpochs; epoch += 1) {
    const phase = phases.find((candidate) => epoch >= candidate.firstEpoch && epoch <= candidate.lastEpoch)!;
    if (epoch === phase.firstEpoch) {
      average = phase.semiSupervised && semi.averageDecay > 0 ? new WeightAverage(model, semi.averageDecay) : null;
      encoder.trainable = phase.model === model;
      optimizer?.dispose();
      step?.dispose();
      optimizer = adam(phase.learningRate);
      phase.model.compile({ optimizer, loss: 'categoricalCrossentropy' });
      step = trainingStep(phase.model, optimizer, 'categoricalCrossentropy');
      plateauFactor = 1;
      // Early stopping starts over in a new phase: its first epochs may dip before they improve.
      staleEpochs = 0;
    }
    if (phase.decay && optimizer) {
      // Cosine decay over the phase, down to 5% of its base rate; a plateau halving below scales it further.
      const progress = (epoch - phase.firstEpoch) / Math.max(1, phase.lastEpoch - phase.firstEpoch);
      optimizer.rate = phase.learningRate * plateauFactor * cosineDecay(progress);
    }
    const epochStarted = performance.now();
    const batches = phase.semiSupervised
      ? config.semiSupervised.stepsPerEpoch
      : Math.ceil(train.count / config.batchSize);
    reporter({ type: 'epoch-start', stage, epoch, maxEpochs, batches });
    const random = new Random(seed).fork(`${stage}-epoch-${epoch}`);
    const order = shuffledOrder(train.count, random);
    const rowSize = phase.rowShape.reduce((product, dimension) => product * dimension, 1);
    let lossSum = 0;
    let rowsSeen = 0;
    const batchDone = (batch: number, loss: number, count: number) => {
      if (!Number.isFinite(loss)) throw new DivergenceError(stage, epoch, batch + 1, loss);
      lossSum += loss * count;
      rowsSeen += count;
      reporter({ type: 'batch-end', stage, epoch, batch: batch + 1, batches, loss });
    };
    const stopCheck = () => {
      if (options.shouldStop?.()) throw new InterruptedError(stage, epoch);
    };
    if (phase.semiSupervised) {
      const confident = await fixMatchEpoch({
        model: phase.model,
        step: step!,
        labelled: train,
        unlabelled: options.unlabelled,
        config: config.semiSupervised,
        augmentation: phase.augmentation,
        random,
        warp,
        curriculum,
        average,
        teacher: semi.teacher,
        done: batchDone,
        beforeBatch: stopCheck,
      });
      reporter({
        type: 'message',
        stage,
        text: `${(100 * confident).toFixed(1)}% of the unlabelled images had a confident pseudo-label`,
      });
    } else {
      // Each batch's rows as they are gathered, then distorted into the step's input (buffers kept for the epoch).
      const gathered = new Float32Array(config.batchSize * rowSize);
      const batchRows = alternatingBuffers(config.batchSize * rowSize);
      await trainBatches(
        step!,
        batches,
        (batch) => {
          const indices = order.subarray(
            batch * config.batchSize,
            Math.min(train.count, (batch + 1) * config.batchSize),
          );
          const used = indices.length * rowSize;
          const rows =
            phase.augmentation === noAugmentation
              ? gatherRows(phase.train, rowSize, indices, random, batchRows(batch, used))
              : augmentImages(
                  gatherRows(phase.train, rowSize, indices, random, gathered.subarray(0, used)),
                  indices.length,
                  train.height,
                  train.width,
                  phase.augmentation,
                  random,
                  warp,
                  batchRows(batch, used),
                );
          const labels = Uint8Array.from(indices, (index) => train.labels[index] as number);
          return { x: rows, target: oneHot(labels, train.classes, config.labelSmoothing), count: indices.length };
        },
        batchDone,
        stopCheck,
      );
    }
    // A semi-supervised phase validates, and keeps, its average weights; training goes on from the live ones.
    const live = average ? snapshotWeights(model) : null;
    if (average) restoreWeights(model, average.values);
    const probabilities = predictRows(phase.model, phase.validation, validation.count, phase.rowShape);
    const scores = accuracyAndLoss(probabilities, validation.labels, validation.classes);
    const record: EpochRecord = {
      epoch,
      loss: lossSum / rowsSeen,
      validationLoss: scores.loss,
      validationAccuracy: scores.accuracy,
      seconds: (performance.now() - epochStarted) / 1000,
    };
    history.push(record);
    const improved = scores.accuracy > best.accuracy;
    if (improved || phase.semiSupervised) best = { accuracy: scores.accuracy, epoch, weights: snapshotWeights(model) };
    if (live) restoreWeights(model, live);
    staleEpochs = improved ? 0 : staleEpochs + 1;
    reporter({ type: 'epoch-end', stage, record, improved });
    const plateaus = variant.encoderTrains && !phase.semiSupervised;
    if (staleEpochs > 0 && staleEpochs % config.plateauPatience === 0 && optimizer && plateaus) {
      // Halve Adam's step on a plateau (Keras's ReduceLROnPlateau); the moments are kept. Not for frozen runs:
      // their long patience would halve the rate to nothing, and the cosine decay alone served them better; not
      // for semi-supervised ones, whose schedule is fixed in advance.
      plateauFactor /= 2;
      optimizer.rate /= 2;
      reporter({ type: 'message', stage, text: `learning rate halved to ${optimizer.rate.toExponential(1)}` });
    }
    const warmingUp = variant.pretrained && variant.encoderTrains && epoch <= config.warmupEpochs;
    if (!warmingUp && staleEpochs >= patience) break;
  }
  restoreWeights(model, best.weights);
  encoder.trainable = variant.encoderTrains;
  (optimizer as FusedAdamOptimizer | null)?.dispose();
  (step as TrainingStep | null)?.dispose();
  // The head model's applications hold references to the shared layers; without this they outlive the classifier.
  for (const phase of phases) if (phase.model !== model) phase.model.dispose();
  const seconds = history.reduce((sum, record) => sum + record.seconds, 0);
  reporter({
    type: 'stage-end',
    stage,
    seconds,
    summary: variant.semiSupervised
      ? `validation accuracy ${(100 * best.accuracy).toFixed(2)}% after the whole schedule of ${history.length} epochs`
      : `best validation accuracy ${(100 * best.accuracy).toFixed(2)}% at epoch ${best.epoch} of ${history.length}`,
  });
  return { history, epochs: history.length, bestEpoch: best.epoch, validationAccuracy: best.accuracy, seconds };
}
