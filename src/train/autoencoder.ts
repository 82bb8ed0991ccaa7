// Pretraining: the autoencoder learns to map a freshly corrupted image back to the clean one (MSE, Adam),
// with early stopping on the loss over a fixed corrupted validation set. The labels are never read.

import type { NoiseSpec } from '../data/noise.js';
import { floatPixels } from '../data/dataset.js';
import type { ImageSet } from '../data/dataset.js';
import { corrupt } from '../data/noise.js';
import { Random } from '../data/random.js';
import type { EpochRecord } from './events.js';
import type { Autoencoder } from '../model/autoencoder.js';
import { alternatingBuffers, gatherImages, predictInBatches, shuffledOrder } from './batches.js';
import type { CheckpointStore, TrainingState } from './checkpoint.js';
import { optimizerState, restoreOptimizerState } from './checkpoint.js';
import { adam, cosineDecay } from './adam.js';
import { trainBatches, trainingStep } from './training-step.js';
import { DivergenceError, InterruptedError } from './events.js';
import type { Reporter } from './events.js';
import { restoreWeights, snapshotWeights } from './weights.js';

export const learningRateSchedules = ['cosine', 'constant'] as const;
export type LearningRateSchedule = (typeof learningRateSchedules)[number];

/** The config's autoencoder section: its corruption and how it trains. */
export interface AutoencoderConfig {
  noise: NoiseSpec;
  maxEpochs: number;
  /** Early stopping: epochs without a better validation loss before training stops. */
  patience: number;
  batchSize: number;
  learningRate: number;
  /**
   * 'cosine': the rate follows a cosine from learningRate down to 5% of it over maxEpochs, batch by batch;
   * 'constant': learningRate throughout.
   */
  learningRateSchedule: LearningRateSchedule;
  /** Other corruptions the trained autoencoder is scored on. */
  evaluationNoise: NoiseSpec[];
}

/** Unlabelled images: the labels of the dataset's image sets are never read here. */
export type Images = Pick<ImageSet, 'images' | 'count' | 'height' | 'width'>;

export interface AutoencoderTrainingOptions {
  autoencoder: Autoencoder;
  train: Images;
  validation: Images;
  config: AutoencoderConfig;
  seed: number;
  reporter: Reporter;
  checkpoint?: CheckpointStore;
  /** Polled between batches; true stops at that safe point with an InterruptedError. */
  shouldStop?: () => boolean;
  /** The stage its events carry; default `pretrain` (the ablation's pretrainings are `ablate pretrain <name>`). */
  stage?: string;
}

export interface AutoencoderTrainingResult {
  history: EpochRecord[];
  epochs: number;
  bestEpoch: number;
  seconds: number;
}

export function meanSquaredError(a: Float32Array, b: Float32Array): number {
  let sum = 0;
  for (let i = 0; i < a.length; i += 1) sum += ((a[i] as number) - (b[i] as number)) ** 2;
  return sum / a.length;
}

export async function trainAutoencoder(options: AutoencoderTrainingOptions): Promise<AutoencoderTrainingResult> {
  const {
    autoencoder: { autoencoder },
    train,
    validation,
    config,
    seed,
    reporter,
  } = options;
  const stage = options.stage ?? 'pretrain';
  const pixels = train.height * train.width;
  const optimizer = adam(config.learningRate);
  autoencoder.compile({ optimizer, loss: 'meanSquaredError' });
  const step = trainingStep(autoencoder, optimizer, 'meanSquaredError');
  const validationImages = floatPixels(validation.images);
  // One fixed corruption of the validation images, so validation losses compare across epochs.
  const noisyValidation = corrupt(
    validationImages,
    config.noise,
    new Random(seed).fork('autoencoder-validation-noise'),
  );

  let state: TrainingState = {
    epoch: 0,
    history: [],
    bestScore: Infinity,
    bestEpoch: 0,
    staleEpochs: 0,
    weights: [],
    bestWeights: [],
    optimizer: [],
  };
  const saved = await options.checkpoint?.load();
  if (saved) {
    state = saved;
    restoreWeights(autoencoder, saved.weights);
    if (saved.optimizer.length > 0) await restoreOptimizerState(optimizer, saved.optimizer);
    reporter({ type: 'message', stage, text: `continuing from the checkpoint after epoch ${saved.epoch}` });
  }
  const batches = Math.ceil(train.count / config.batchSize);
  const cleanRows = alternatingBuffers(config.batchSize * pixels);
  const noisyRows = alternatingBuffers(config.batchSize * pixels);
  const started = performance.now();
  while (state.epoch < config.maxEpochs && state.staleEpochs < config.patience) {
    const epoch = state.epoch + 1;
    const epochStarted = performance.now();
    reporter({ type: 'epoch-start', stage, epoch, maxEpochs: config.maxEpochs, batches });
    // Every epoch draws its order and its noise from its own stream, so a resumed run repeats them exactly.
    const random = new Random(seed).fork(`autoencoder-epoch-${epoch}`);
    const order = shuffledOrder(train.count, random);
    let lossSum = 0;
    await trainBatches(
      step,
      batches,
      (batch) => {
        if (config.learningRateSchedule === 'cosine') {
          // Set before the batch's step is called, which reads the rate then; the step before has already read its own.
          optimizer.rate =
            config.learningRate *
            cosineDecay(((epoch - 1) * batches + batch) / Math.max(1, config.maxEpochs * batches - 1));
        }
        const indices = order.subarray(batch * config.batchSize, Math.min(train.count, (batch + 1) * config.batchSize));
        const clean = gatherImages(train.images, pixels, indices, cleanRows(batch, indices.length * pixels));
        const x = corrupt(clean, config.noise, random, noisyRows(batch, indices.length * pixels));
        return { x, target: clean, count: indices.length };
      },
      (batch, loss, count) => {
        if (!Number.isFinite(loss)) throw new DivergenceError(stage, epoch, batch + 1, loss);
        lossSum += loss * count;
        reporter({ type: 'batch-end', stage, epoch, batch: batch + 1, batches, loss });
      },
      () => {
        if (options.shouldStop?.()) throw new InterruptedError(stage, epoch);
      },
    );
    const denoised = predictInBatches(
      autoencoder,
      noisyValidation,
      validation.count,
      validation.height,
      validation.width,
    );
    const validationLoss = meanSquaredError(denoised, validationImages);
    if (!Number.isFinite(validationLoss)) throw new DivergenceError(stage, epoch, batches, validationLoss);
    const record: EpochRecord = {
      epoch,
      loss: lossSum / train.count,
      validationLoss,
      seconds: (performance.now() - epochStarted) / 1000,
    };
    const improved = validationLoss < state.bestScore;
    state = {
      epoch,
      history: [...state.history, record],
      bestScore: improved ? validationLoss : state.bestScore,
      bestEpoch: improved ? epoch : state.bestEpoch,
      staleEpochs: improved ? 0 : state.staleEpochs + 1,
      weights: snapshotWeights(autoencoder),
      bestWeights: improved ? snapshotWeights(autoencoder) : state.bestWeights,
      optimizer: options.checkpoint ? await optimizerState(optimizer) : [],
    };
    await options.checkpoint?.save(state);
    reporter({ type: 'epoch-end', stage, record, improved });
  }
  restoreWeights(autoencoder, state.bestWeights);
  const seconds = (performance.now() - started) / 1000;
  reporter({
    type: 'stage-end',
    stage,
    seconds,
    summary: `best validation MSE ${state.bestScore.toFixed(5)} at epoch ${state.bestEpoch} of ${state.epoch}`,
  });
  optimizer.dispose();
  step.dispose();
  return {
    history: state.history,
    epochs: state.epoch,
    bestEpoch: state.bestEpoch,
    seconds: state.history.reduce((s, r) => s + r.seconds, 0),
  };
}
