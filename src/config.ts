// The experiment's one typed configuration: defaults live here and only here, presets are data, and the
// resolved config is written next to every result.
import type { BackendName } from './backend/index.js';
import { backendNames } from './backend/index.js';
import { classNamesProblem, maxDatasetNameLength } from './data/description.js';
import { validateNoiseSpec } from './data/noise.js';
import type { NoiseSpec } from './data/noise.js';
import { encoderModes } from './model/classifier.js';
import type { DataConfig } from './data/prepare.js';
import { learningRateSchedules } from './train/autoencoder.js';
import type { AutoencoderConfig } from './train/autoencoder.js';
import type { ClassifierConfig } from './train/classifier.js';
import type { SemiSupervisedConfig } from './train/semi-supervised.js';

export interface ExperimentConfig {
  preset: PresetName;
  /** Drives every random choice: splits, label subsets, weight initialisation, shuffling, noise. */
  seed: number;
  data: DataConfig;
  backend: {
    name: BackendName;
    /** Kernel threads; 0 = every core. */
    threads: number;
    /**
     * Classifier runs trained at once, each in its own worker thread on one kernel thread (native backend only;
     * results are the same bit for bit as one at a time). 0 = one per kernel thread; 1 = one at a time.
     */
    workers: number;
  };
  autoencoder: AutoencoderConfig;
  classifier: ClassifierConfig;
  inspection: { topImages: number; featureMapDigits: number; reconstructionDigits: number };
}

export const presetNames = ['full', 'quick', 'tiny'] as const;
export type PresetName = (typeof presetNames)[number];

const evaluationNoise: NoiseSpec[] = [
  { kind: 'salt-and-pepper', amount: 0.1 },
  { kind: 'salt-and-pepper', amount: 0.4 },
  { kind: 'gaussian', amount: 0.2 },
  { kind: 'gaussian', amount: 0.4 },
  { kind: 'masking', amount: 0.3 },
  { kind: 'masking', amount: 0.5 },
];

const full: ExperimentConfig = {
  preset: 'full',
  seed: 1,
  data: { directory: null, name: null, classNames: null, validationCount: 5000, trainLimit: null, testLimit: null },
  backend: { name: 'auto', threads: 0, workers: 0 },
  autoencoder: {
    noise: { kind: 'salt-and-pepper', amount: 0.2 },
    maxEpochs: 5,
    patience: 2,
    batchSize: 128,
    learningRate: 5e-3,
    learningRateSchedule: 'cosine',
    evaluationNoise,
  },
  classifier: {
    encoders: ['frozen', 'finetuned', 'scratch', 'fixmatch-finetuned', 'fixmatch-scratch'],
    labelFractions: [0.1, 1],
    batchSize: 128,
    headLearningRate: 2e-3,
    learningRate: 3e-3,
    warmupEpochs: 1,
    fineTuneLearningRate: 3e-3,
    maxEpochs: 25,
    patience: 10,
    plateauPatience: 2,
    augmentation: { maxShift: 2, maxRotationDegrees: 12, maxScale: 0.1 },
    labelSmoothing: 0,
    maxImagesPerRun: 550_000,
    frozenMaxEpochs: 100,
    frozenMaxImagesPerRun: 1_100_000,
    frozenPatience: 20,
    frozenCopies: 16,
    frozenCopyImagesPerRun: 110_000,
    frozenCopyAugmentation: { maxShift: 1, maxRotationDegrees: 8, maxScale: 0.05 },
    semiSupervised: {
      labelledBatchSize: 64,
      unlabelledRatio: 3,
      threshold: 0.95,
      thresholds: 'curriculum',
      unlabelledWeight: 1,
      weakAugmentation: { maxShift: 1, maxRotationDegrees: 5, maxScale: 0.05 },
      strongAugmentation: { maxShift: 3, maxRotationDegrees: 20, maxScale: 0.15 },
      strongCorruptions: [
        { kind: 'salt-and-pepper', amount: 0.1 },
        { kind: 'gaussian', amount: 0.2 },
        { kind: 'masking', amount: 0.3 },
      ],
      averageDecay: 0.99,
      teacher: true,
      stepsPerEpoch: 100,
      maxEpochs: 12,
      patience: 4,
    },
  },
  inspection: { topImages: 9, featureMapDigits: 4, reconstructionDigits: 10 },
};

/** Presets as data: each is the full preset with a few values changed. */
export const presets: Record<PresetName, ExperimentConfig> = {
  full,
  quick: {
    ...full,
    preset: 'quick',
    data: { ...full.data, validationCount: 1000, trainLimit: 12_000, testLimit: 2000 },
    autoencoder: { ...full.autoencoder, maxEpochs: 4 },
    classifier: {
      ...full.classifier,
      maxEpochs: 20,
      patience: 4,
      maxImagesPerRun: 60_000,
      frozenMaxEpochs: 40,
      frozenMaxImagesPerRun: 120_000,
      semiSupervised: { ...full.classifier.semiSupervised, maxEpochs: 6, patience: 3 },
    },
  },
  tiny: {
    ...full,
    preset: 'tiny',
    data: { ...full.data, validationCount: 200, trainLimit: 1200, testLimit: 300 },
    autoencoder: { ...full.autoencoder, maxEpochs: 2, evaluationNoise: evaluationNoise.slice(0, 2) },
    classifier: {
      ...full.classifier,
      maxEpochs: 4,
      patience: 2,
      warmupEpochs: 1,
      maxImagesPerRun: 8000,
      frozenMaxEpochs: 4,
      frozenMaxImagesPerRun: 8000,
      semiSupervised: {
        ...full.classifier.semiSupervised,
        labelledBatchSize: 16,
        unlabelledRatio: 3,
        stepsPerEpoch: 4,
        maxEpochs: 3,
        patience: 2,
      },
    },
    inspection: { topImages: 4, featureMapDigits: 2, reconstructionDigits: 4 },
  },
};

/** A setting that cannot be used; the message names the flag or key and says what to do. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

function check(condition: boolean, message: string): void {
  if (!condition) throw new ConfigError(message);
}

const isPositiveInteger = (value: number) => Number.isInteger(value) && value > 0;

/** Throws ConfigError for the first value out of range. */
export function validateConfig(config: ExperimentConfig): ExperimentConfig {
  check(
    presetNames.includes(config.preset),
    `--preset: unknown preset '${config.preset}'; use ${presetNames.join(', ')}`,
  );
  check(Number.isSafeInteger(config.seed) && config.seed >= 0, `--seed must be a whole number ≥ 0, got ${config.seed}`);
  const { name, classNames } = config.data;
  check(
    name === null || (typeof name === 'string' && name.trim() !== '' && name.length <= maxDatasetNameLength),
    `--dataset-name must be 1..${maxDatasetNameLength} characters, got '${String(name)}'`,
  );
  if (classNames !== null) {
    const problem = classNamesProblem(classNames);
    check(problem === null, `--class-names: ${problem ?? ''}`);
  }
  check(
    isPositiveInteger(config.data.validationCount),
    `validation count must be a whole number > 0, got ${config.data.validationCount}`,
  );
  check(
    config.data.trainLimit === null || config.data.trainLimit > config.data.validationCount,
    `the training limit (${config.data.trainLimit}) must exceed the validation count (${config.data.validationCount})`,
  );
  check(
    config.data.testLimit === null || isPositiveInteger(config.data.testLimit),
    `test limit must be a whole number > 0`,
  );
  check(
    backendNames.includes(config.backend.name),
    `--backend: unknown backend '${config.backend.name}'; use ${backendNames.join(', ')}`,
  );
  check(
    Number.isInteger(config.backend.threads) && config.backend.threads >= 0 && config.backend.threads <= 256,
    `--threads must be a whole number from 0 (every core) to 256, got ${config.backend.threads}`,
  );
  check(
    Number.isInteger(config.backend.workers) && config.backend.workers >= 0 && config.backend.workers <= 64,
    `--workers must be a whole number from 0 (one per thread) to 64, got ${config.backend.workers}`,
  );
  const ae = config.autoencoder;
  check(isPositiveInteger(ae.maxEpochs), `--epochs must be a whole number > 0, got ${ae.maxEpochs}`);
  check(
    isPositiveInteger(ae.batchSize) && ae.batchSize <= 4096,
    `autoencoder batch size must be 1..4096, got ${ae.batchSize}`,
  );
  check(
    ae.learningRate > 0 && Number.isFinite(ae.learningRate),
    `--learning-rate must be a number > 0, got ${ae.learningRate}`,
  );
  check(Number.isInteger(ae.patience) && ae.patience >= 1, `autoencoder patience must be ≥ 1, got ${ae.patience}`);
  check(
    learningRateSchedules.includes(ae.learningRateSchedule),
    `autoencoder learningRateSchedule must be one of ${learningRateSchedules.join(', ')}, got ${String(ae.learningRateSchedule)}`,
  );
  const cl = config.classifier;
  check(
    cl.encoders.length > 0 && cl.encoders.every((mode) => encoderModes.includes(mode)),
    `classifier encoders must be some of ${encoderModes.join(', ')}; got ${cl.encoders.join(',')}`,
  );
  validateSemiSupervised(cl.semiSupervised);
  check(
    cl.labelFractions.length > 0 && cl.labelFractions.every((f) => f > 0 && f <= 1),
    `--label-fractions must be numbers in (0, 1], got ${cl.labelFractions.join(',')}`,
  );
  check(isPositiveInteger(cl.batchSize), `classifier batch size must be > 0, got ${cl.batchSize}`);
  check(
    isPositiveInteger(cl.maxEpochs) && cl.warmupEpochs >= 0 && cl.warmupEpochs < cl.maxEpochs,
    `classifier epochs: need 0 ≤ warmup (${cl.warmupEpochs}) < max epochs (${cl.maxEpochs})`,
  );
  check(
    cl.learningRate > 0 && cl.fineTuneLearningRate > 0 && cl.headLearningRate > 0,
    'classifier learning rates must be > 0',
  );
  check(
    Number.isInteger(cl.patience) &&
      cl.patience >= 1 &&
      Number.isInteger(cl.plateauPatience) &&
      cl.plateauPatience >= 1,
    'classifier patience and plateau patience must be whole numbers ≥ 1',
  );
  for (const [key, spec] of [
    ['augmentation', cl.augmentation],
    ['frozenCopyAugmentation', cl.frozenCopyAugmentation],
    ['semiSupervised.weakAugmentation', cl.semiSupervised.weakAugmentation],
    ['semiSupervised.strongAugmentation', cl.semiSupervised.strongAugmentation],
  ] as const) {
    const { maxShift, maxRotationDegrees, maxScale } = spec;
    check(maxShift >= 0 && maxShift <= 8, `classifier.${key}: the shift must be 0..8 pixels, got ${maxShift}`);
    check(
      maxRotationDegrees >= 0 && maxRotationDegrees <= 45,
      `classifier.${key}: the rotation must be 0..45 degrees, got ${maxRotationDegrees}`,
    );
    check(maxScale >= 0 && maxScale <= 0.5, `classifier.${key}: the scale change must be 0..0.5, got ${maxScale}`);
  }
  check(
    Number.isInteger(cl.frozenCopies) && cl.frozenCopies >= 0 && cl.frozenCopies <= 64,
    `classifier.frozenCopies must be a whole number 0..64, got ${cl.frozenCopies}`,
  );
  check(
    cl.labelSmoothing >= 0 && cl.labelSmoothing < 1,
    `classifier.labelSmoothing must be in [0, 1), got ${cl.labelSmoothing}`,
  );
  check(
    isPositiveInteger(cl.maxImagesPerRun) &&
      isPositiveInteger(cl.frozenMaxImagesPerRun) &&
      isPositiveInteger(cl.frozenMaxEpochs) &&
      isPositiveInteger(cl.frozenPatience) &&
      isPositiveInteger(cl.frozenCopyImagesPerRun),
    'classifier image and epoch budgets must be > 0',
  );
  check(
    isPositiveInteger(config.inspection.topImages) && config.inspection.topImages <= 64,
    `--top-images must be 1..64, got ${config.inspection.topImages}`,
  );
  return config;
}

/** FixMatch's settings (train/semi-supervised.ts): each within the range where it still means what it says. */
function validateSemiSupervised(semi: SemiSupervisedConfig): void {
  const key = (name: keyof SemiSupervisedConfig) => `classifier.semiSupervised.${name}`;
  const wholeIn = (name: keyof SemiSupervisedConfig, low: number, high: number) =>
    check(
      Number.isInteger(semi[name]) && (semi[name] as number) >= low && (semi[name] as number) <= high,
      `${key(name)} must be a whole number from ${low} to ${high}, got ${String(semi[name])}`,
    );
  wholeIn('labelledBatchSize', 1, 1024);
  wholeIn('unlabelledRatio', 1, 32);
  wholeIn('stepsPerEpoch', 1, 100_000);
  wholeIn('maxEpochs', 1, 1000);
  wholeIn('patience', 1, 1000);
  check(
    semi.threshold >= 0 && semi.threshold <= 1,
    `${key('threshold')} must be a probability in [0, 1], got ${semi.threshold}`,
  );
  check(
    semi.averageDecay >= 0 && semi.averageDecay < 1,
    `${key('averageDecay')} must be in [0, 1), got ${semi.averageDecay}`,
  );
  check(
    semi.thresholds === 'fixed' || semi.thresholds === 'curriculum',
    `${key('thresholds')} must be 'fixed' or 'curriculum', got ${String(semi.thresholds)}`,
  );
  check(
    semi.unlabelledWeight >= 0 && semi.unlabelledWeight <= 100,
    `${key('unlabelledWeight')} must be in [0, 100], got ${semi.unlabelledWeight}`,
  );
  for (const noise of semi.strongCorruptions) {
    try {
      validateNoiseSpec(noise);
    } catch (error) {
      throw new ConfigError(`${key('strongCorruptions')}: ${(error as Error).message}`);
    }
  }
}

/** The preset with the user's overrides applied (a deep merge of plain objects), validated. */
export function resolveConfig(preset: PresetName, overrides: DeepPartial<ExperimentConfig> = {}): ExperimentConfig {
  check(presetNames.includes(preset), `--preset: unknown preset '${preset}'; use ${presetNames.join(', ')}`);
  const base = structuredClone(presets[preset]) as unknown as Record<string, unknown>;
  return validateConfig(merge(base, overrides) as unknown as ExperimentConfig);
}

/**
 * Settings added since run folders were first written, with the value that gives an older folder's behaviour: a
 * folder without them reads as it was run (the dataset names itself, MNIST for the embedded set; a constant
 * autoencoder learning rate).
 */
const addedSettings: { section: 'data' | 'autoencoder'; key: string; value: unknown }[] = [
  { section: 'data', key: 'name', value: null },
  { section: 'data', key: 'classNames', value: null },
  // Autoencoders were trained at a constant rate before the schedule was added.
  { section: 'autoencoder', key: 'learningRateSchedule', value: 'constant' },
];

/**
 * A run folder's saved config, checked against the current shape: settings added since (addedSettings) are filled
 * in; a folder written by an older version with any other setting missing or renamed is refused with the first
 * missing key named, rather than run with holes.
 */
export function savedConfig(stored: unknown, file: string): ExperimentConfig {
  const saved = structuredClone(stored);
  if (saved !== null && typeof saved === 'object') {
    const sections = saved as Record<string, unknown>;
    for (const { section, key, value } of addedSettings) {
      const inner = sections[section];
      if (inner !== null && typeof inner === 'object' && !(key in inner))
        sections[section] = { ...inner, [key]: value };
    }
  }
  const missing = (expected: object, actual: unknown, path: string): string | null => {
    if (actual === null || typeof actual !== 'object') return path;
    for (const [key, value] of Object.entries(expected)) {
      const inner = (actual as Record<string, unknown>)[key];
      if (!(key in actual)) return `${path}.${key}`;
      if (value !== null && typeof value === 'object' && !Array.isArray(value) && inner !== null) {
        const found = missing(value as object, inner, `${path}.${key}`);
        if (found) return found;
      }
    }
    return null;
  };
  const gap = missing(full, saved, 'config');
  if (gap)
    throw new ConfigError(`${file}: made by an older version of dae-pretrain (no ${gap}); start a new run folder`);
  return validateConfig(saved as ExperimentConfig);
}

export type DeepPartial<T> = {
  [K in keyof T]?: T[K] extends (infer U)[] ? U[] : T[K] extends object | null ? DeepPartial<T[K]> : T[K];
};

function merge(target: Record<string, unknown>, source: object): Record<string, unknown> {
  for (const [key, value] of Object.entries(source)) {
    if (value === undefined) continue;
    const existing = target[key];
    if (
      value !== null &&
      typeof value === 'object' &&
      !Array.isArray(value) &&
      existing !== null &&
      typeof existing === 'object'
    ) {
      target[key] = merge(existing as Record<string, unknown>, value);
    } else {
      target[key] = value;
    }
  }
  return target;
}
