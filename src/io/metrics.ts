// The shape of metrics.json: what a finished run measured. Every stage writes its part; the report reads it.

export type EncoderMode = 'frozen' | 'finetuned' | 'scratch';

/** Image-quality scores of one image set against the clean originals, averaged over images. */
export interface ReconstructionScores {
  mse: number;
  /** Peak signal-to-noise ratio in dB (peak 1.0), the mean of per-image values. */
  psnr: number;
  /** Structural similarity (Wang et al. 2004: 7x7 Gaussian window, sigma 1.5), mean over images. */
  ssim: number;
}

export interface NoiseSpec {
  kind: 'salt-and-pepper' | 'gaussian' | 'masking';
  /** Fraction of pixels hit (salt-and-pepper, masking) or the standard deviation (gaussian). */
  amount: number;
}

export interface EpochRecord {
  epoch: number;
  loss: number;
  validationLoss: number;
  accuracy?: number;
  validationAccuracy?: number;
  seconds: number;
}

export interface ClassMetrics {
  precision: number;
  recall: number;
  f1: number;
  support: number;
}

/** The layout of scikit-learn's classification_report, plus the confusion matrix (rows = true class). */
export interface ClassificationMetrics {
  accuracy: number;
  macroF1: number;
  weightedF1: number;
  perClass: ClassMetrics[];
  macro: ClassMetrics;
  weighted: ClassMetrics;
  confusion: number[][];
}

/** A test image the classifier got wrong, with the probability it gave its (wrong) answer. */
export interface Mistake {
  testIndex: number;
  label: number;
  predicted: number;
  probability: number;
}

/**
 * Test accuracy on corrupted copies of the test images: the classifier on the corrupted images, and ("denoise
 * first, then classify") on what the autoencoder makes of them. Every classifier of a run sees the same corrupted
 * pixels (seeded by the run's seed), so the numbers compare pairwise.
 */
export interface Robustness {
  /** How many test images (the first ones of the test set). */
  images: number;
  /** Accuracy on those images uncorrupted. */
  clean: number;
  corruptions: { noise: NoiseSpec; accuracy: number; denoisedAccuracy?: number }[];
}

export interface ClassifierResult {
  encoder: EncoderMode;
  labelFraction: number;
  labels: number;
  epochs: number;
  trainSeconds: number;
  history: EpochRecord[];
  validation: { accuracy: number };
  test: ClassificationMetrics;
  /** The most confident mistakes on the test set, most confident first (format 3; absent before). */
  mistakes?: Mistake[];
  /** Accuracy on corrupted test images (format 3; absent before). */
  robustness?: Robustness;
}

/** One classifier trained in the label-efficiency sweep. */
export interface SweepCell {
  encoder: EncoderMode;
  labels: number;
  seed: number;
  accuracy: number;
  macroF1: number;
  epochs: number;
  seconds: number;
  /** On the first test images only, to keep cells cheap (format 3; absent before). */
  robustness?: Robustness;
}

export interface MeanAndSpread {
  mean: number;
  /** Sample standard deviation over seeds (0 for a single seed). */
  std: number;
}

export interface SweepResult {
  labelCounts: number[];
  seeds: number[];
  /** How early stopping was validated in each cell. */
  validationPolicy: string;
  cells: SweepCell[];
  summary: {
    encoder: EncoderMode; labels: number; seeds: number; accuracy: MeanAndSpread; macroF1: MeanAndSpread;
    /** Mean accuracy over the corruptions per seed, then mean ± std over seeds: on the corrupted and on the denoised images (format 3). */
    corrupted?: MeanAndSpread; denoised?: MeanAndSpread;
  }[];
  /** Fine-tuned minus scratch test accuracy, paired by seed: mean and spread of the differences. */
  gain: ({ labels: number } & MeanAndSpread)[];
}

/** One autoencoder of the pretraining ablation: its corruption, its budget, and how well it reconstructs. */
export interface AblationPretraining {
  name: string;
  title: string;
  noise: NoiseSpec;
  epochs: number;
  /** Unlabelled training images per epoch. */
  images: number;
  trainSeconds: number;
  /** Best validation loss: MSE of the output for validation images under its own corruption, against the clean ones. */
  validationLoss: number;
  /** MSE of the output for clean validation images. */
  cleanValidationMse: number;
  /** MSE of the output for validation images under 20% salt and pepper (the study's corruption): one yardstick for all. */
  referenceValidationMse: number;
}

/** A cell of the ablation: a sweep cell on the named pretraining's encoder ('scratch' for the baseline). */
export interface AblationCell extends SweepCell {
  pretraining: string;
}

export interface AblationSummaryEntry {
  pretraining: string;
  encoder: EncoderMode;
  labels: number;
  seeds: number;
  accuracy: MeanAndSpread;
  corrupted?: MeanAndSpread;
  denoised?: MeanAndSpread;
  /** This cell minus the plain autoencoder's cell of the same variant, labels and seed: mean ± std over seeds. */
  versusPlain?: MeanAndSpread;
  /** This cell minus scratch's cell of the same labels and seed. */
  versusScratch?: MeanAndSpread;
}

/** The pretraining ablation (`dae ablate`). */
export interface AblationResult {
  /** The budget every pretraining and cell had. */
  budget: { pretrainEpochs: number; pretrainImages: number; minimumSteps: number; imagesPerCell: number };
  labelCounts: number[];
  seeds: number[];
  pretrainings: AblationPretraining[];
  cells: AblationCell[];
  summary: AblationSummaryEntry[];
  /** Wall time of the sessions that wrote it, pretraining included. */
  totalSeconds: number;
}

/** metrics.json's format version; io/metrics-file.ts reads the older ones. */
export const metricsFormatVersion = 3;

export interface Metrics {
  formatVersion: typeof metricsFormatVersion;
  /** classNames: one per class, label 0 first, as the confusion matrices and per-class scores are ordered. */
  dataset: { name: string; classNames: string[]; train: number; validation: number; test: number; height: number; width: number };
  /**
   * classifierWorkers: classifier runs trained at once, each on one kernel thread when more than 1. detail: what ran
   * the kernels (for native, e.g. "avx2 kernels, x86-64-v3 build, prebuilt"; absent in files written before it was).
   */
  backend: { name: string; detail?: string; threads: number; classifierWorkers: number };
  autoencoder: {
    encoderParams: number;
    decoderParams: number;
    epochs: number;
    trainSeconds: number;
    history: EpochRecord[];
    noise: NoiseSpec;
    test: { noisy: ReconstructionScores; denoised: ReconstructionScores; clean: ReconstructionScores };
    /** The same scores at other noise levels than the training one. */
    noiseLevels: { noise: NoiseSpec; noisy: ReconstructionScores; denoised: ReconstructionScores }[];
  };
  classifiers: ClassifierResult[];
  /** The label-efficiency sweep (`dae sweep`), when it has been run on this folder. */
  sweep?: SweepResult;
  /** The pretraining ablation (`dae ablate`), when it has been run on this folder (format 3). */
  ablation?: AblationResult;
  totalSeconds: number;
}
