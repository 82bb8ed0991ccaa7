// What a study or a label sweep will do, in planned amounts of work per stage and per classifier run: sent as the
// first event, so that reporters can say how far along a command is and estimate the time left (cli/eta.ts).
// Amounts are counts (epochs, images, steps), never times: the ETA measures how fast each kind of work goes.
import type { ExperimentConfig } from '../config.js';
import type { EncoderMode } from '../model/classifier.js';
import { codeMapImages, mappedImages } from '../eval/code-map.js';
import { referenceShape, workArithmetic } from '../model/arithmetic.js';
import { epochsFor, frozenCopiesFor } from '../train/classifier.js';
import type { PlannedEpochs, PlannedRun } from '../train/events.js';

export interface DataCounts { train: number; validation: number; test: number }

/** The study's steps, in order: the `step` of every planned run, and the "stage k of n" of the display. */
export const studySteps = ['pretrain', 'denoise', 'inspect', 'classify', 'evaluate', 'report'] as const;

/** The stage name a classifier run of the study reports under, e.g. `classify finetuned 10%`. */
export const classifierStage = (mode: EncoderMode, fraction: number) => `classify ${mode} ${(100 * fraction).toFixed(0)}%`;

/** The autoencoder's training: every epoch trains the training split and scores the validation split. */
export function pretrainPlan(config: ExperimentConfig, counts: DataCounts, done: boolean): PlannedRun {
  const { maxEpochs, patience, batchSize } = config.autoencoder;
  return {
    stage: 'pretrain', step: 'pretrain', label: 'pretrain', done, parallel: false, patience, firstStoppingEpoch: 1, encoderImages: { before: 0, after: 0 }, autoencoderImages: 0,
    epochs: [{ kind: 'autoencoder', count: maxEpochs, images: counts.train, batches: Math.ceil(counts.train / batchSize), validationImages: counts.validation }],
  };
}

/**
 * One classifier run on `labels` labelled images with the budget `budget`: the head's epochs on codes first
 * (frozen runs: all of them; fine-tuning: the warm-up), then whole-network epochs on images.
 */
export function classifierRunPlan(options: {
  stage: string; step: string; label: string; mode: EncoderMode; labels: number; validation: number; test: number;
  budget: ExperimentConfig['classifier']; done: boolean; parallel: boolean;
}): PlannedRun {
  const { mode, labels, validation, budget } = options;
  const maxEpochs = epochsFor(budget, mode, labels);
  const headEpochs = mode === 'frozen' ? maxEpochs : mode === 'finetuned' ? budget.warmupEpochs : 0;
  const batches = Math.ceil(labels / budget.batchSize);
  const epochs: PlannedEpochs[] = [];
  if (headEpochs > 0) epochs.push({ kind: 'head', count: headEpochs, images: labels, batches, validationImages: validation });
  if (maxEpochs > headEpochs) epochs.push({ kind: 'classifier', count: maxEpochs - headEpochs, images: labels, batches, validationImages: validation });
  // Codes of the labelled images (and of a frozen run's distorted copies) and of the validation images, before
  // the first epoch; predictions on the test set after the last.
  const codes = headEpochs === 0 ? 0 : labels * (1 + (mode === 'frozen' ? frozenCopiesFor(budget, labels) : 0)) + validation;
  return {
    stage: options.stage, step: options.step, label: options.label, variant: mode, done: options.done, parallel: options.parallel,
    epochs, encoderImages: { before: codes, after: options.test }, autoencoderImages: 0,
    patience: mode === 'frozen' ? budget.frozenPatience : budget.patience,
    firstStoppingEpoch: mode === 'finetuned' ? budget.warmupEpochs + 1 : 1,
  };
}

/** What is already in the run folder of a resumed study. */
export interface StudyProgress {
  stagesDone: ReadonlySet<string>;
  /** Stage names of the classifier runs whose results are saved. */
  classifierRunsDone: ReadonlySet<string>;
}

/** A classifier's forward pass in autoencoder passes, by their multiply-adds (about 0.16). */
const arithmetic = workArithmetic(referenceShape, 10);
const classifierPassShare = arithmetic.classifierForward / arithmetic.autoencoderForward;
/**
 * The evaluate stage's map of the codes of a test set of `test` images, in autoencoder passes' worth of time: about
 * 36,000 for 2,000 codes (see studyPlan), and in proportion to the codes mapped (UMAP's epochs go over every code's
 * neighbours).
 */
const codeMapPasses = (test: number) => 36_000 * mappedImages(test) / codeMapImages;

/**
 * The whole study, in the order it runs. Classifier runs are listed in the order the pool hands them out
 * (`classifierOrder`), and run `workers` at once.
 */
export function studyPlan(config: ExperimentConfig, counts: DataCounts, progress: StudyProgress, classifierRuns: { mode: EncoderMode; fraction: number; labels: number }[],
  workers: number): PlannedRun[] {
  const single = (step: string, autoencoderImages: number): PlannedRun => ({
    stage: step, step, label: step, done: progress.stagesDone.has(step), parallel: false, epochs: [], encoderImages: { before: 0, after: 0 },
    autoencoderImages, patience: null, firstStoppingEpoch: 1,
  });
  // The evaluation stage's corruptions: the training noise and the denoising check's others.
  const corruptions = 1 + config.autoencoder.evaluationNoise.length;
  return [
    pretrainPlan(config, counts, progress.stagesDone.has('pretrain')),
    // The denoised and the clean test images at the training noise, and the denoised ones at each other corruption.
    single('denoise', counts.test * (2 + config.autoencoder.evaluationNoise.length)),
    // Codes of the test images, the conv layers' strongest responses, decoded prototypes and their figures: about
    // two passes' worth (6.9 s against the denoising's 40.8 s for eight passes, both on the same loaded machine).
    single('inspect', counts.test * 2),
    ...classifierRuns.map(({ mode, fraction, labels }) => {
      const stage = classifierStage(mode, fraction);
      return classifierRunPlan({
        stage, step: 'classify', label: `${mode} ${(100 * fraction).toFixed(0)}%`, mode, labels, validation: counts.validation, test: counts.test,
        budget: config.classifier, done: progress.classifierRunsDone.has(stage), parallel: workers > 1,
      });
    }),
    // Each classifier's mistakes and its scores on every corruption, directly and denoised first (the clean scores
    // come from the mistakes' pass), and the map of the codes (UMAP); the corrupted test images are denoised again
    // only when the denoising check ran in an earlier process (otherwise its denoised copies are reused). Counted in
    // autoencoder passes: a classifier's pass costs its multiply-adds' share of one (0.16), and the map of 2,000
    // codes about 36,000 passes' worth (4.7 s in the seed-2 study, whose autoencoder passes went at 7,700 a second).
    single('evaluate', counts.test * ((progress.stagesDone.has('denoise') ? corruptions : 0)
      + classifierRuns.length * (1 + 2 * corruptions) * classifierPassShare) + codeMapPasses(counts.test)),
    // metrics.json and report.html: no passes; reading and embedding the figures takes about as long as one.
    single('report', counts.test),
  ];
}
