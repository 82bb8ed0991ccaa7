// What a study or a grid will do, in planned amounts of work per stage and per classifier run, sent as the first
// event so that reporters can say how far along a command is and how long it has left (cli/eta.ts). Amounts are
// counts (epochs, images, codes), never times: the estimate measures how fast each kind of work goes on this machine.
import type { ExperimentConfig } from '../config.js';
import { mappedImages } from '../eval/code-map.js';
import { variants } from '../model/classifier.js';
import type { EncoderMode } from '../model/classifier.js';
import type { AutoencoderConfig } from '../train/autoencoder.js';
import { epochsFor, frozenCopiesFor } from '../train/classifier.js';
import type { ClassifierConfig } from '../train/classifier.js';
import type { ForwardWork, PlannedEpochs, PlannedRun } from '../train/events.js';

export interface DataCounts {
  train: number;
  validation: number;
  test: number;
}

/** The study's steps, in order: the `step` of every planned run, and the "step k of n" of the display. */
export const studySteps = ['pretrain', 'denoise', 'inspect', 'classify', 'evaluate', 'report'] as const;

/** The stage name a classifier run of the study reports under, e.g. `classify finetuned 10%`. */
export const classifierStage = (mode: EncoderMode, fraction: number) =>
  `classify ${mode} ${(100 * fraction).toFixed(0)}%`;

const forward = (work: Partial<ForwardWork> = {}): ForwardWork => ({
  autoencoder: 0,
  encoder: 0,
  classifier: 0,
  codeMap: 0,
  ...work,
});

/** A stage without epochs, e.g. the denoising check: only forward work. */
export function stagePlan(step: string, done: boolean, work: Partial<ForwardWork> = {}): PlannedRun {
  return { stage: step, step, label: step, done, parallel: false, epochs: [], patience: null, forward: forward(work) };
}

/** An autoencoder's training: every epoch trains `train` images and scores `validation`; `stage` as it reports. */
export function pretrainPlan(
  config: AutoencoderConfig,
  counts: Pick<DataCounts, 'train' | 'validation'>,
  done: boolean,
  stage = 'pretrain',
): PlannedRun {
  const { maxEpochs, patience, batchSize } = config;
  const epochs: PlannedEpochs[] = [
    { kind: 'autoencoder', count: maxEpochs, images: counts.train, batchSize, validationImages: counts.validation },
  ];
  return { ...stagePlan('pretrain', done), stage, label: stage, epochs, patience };
}

/**
 * One classifier run on `labels` labelled images with the budget `budget`: the codes of the labelled and validation
 * images first when the encoder starts frozen, the head's epochs on them (frozen runs: all; fine-tuning: the
 * warm-up), the whole network's epochs on images, then its predictions on the test set.
 */
export function classifierRunPlan(options: {
  stage: string;
  step: string;
  label: string;
  group: string;
  mode: EncoderMode;
  labels: number;
  validation: number;
  test: number;
  budget: ClassifierConfig;
  done: boolean;
  parallel: boolean;
}): PlannedRun {
  const { mode, labels, validation, budget } = options;
  const variant = variants[mode];
  const maxEpochs = epochsFor(budget, mode, labels);
  const headEpochs = !variant.encoderTrains ? maxEpochs : variant.pretrained ? budget.warmupEpochs : 0;
  const batch = { images: labels, batchSize: budget.batchSize, validationImages: validation };
  const epochs: PlannedEpochs[] = [];
  if (headEpochs > 0) epochs.push({ kind: 'head', count: headEpochs, ...batch });
  // A semi-supervised epoch: its steps train on the labelled rows and the strong views, in one batch each, after
  // the weak views have passed forward (counted with the test set's predictions below).
  const semi = budget.semiSupervised;
  const stepRows = semi.labelledBatchSize * (1 + semi.unlabelledRatio);
  const wholeEpochs = maxEpochs - headEpochs;
  if (wholeEpochs > 0)
    epochs.push(
      variant.semiSupervised
        ? {
            kind: 'classifier',
            count: wholeEpochs,
            ...batch,
            images: semi.stepsPerEpoch * stepRows,
            batchSize: stepRows,
          }
        : { kind: 'classifier', count: wholeEpochs, ...batch },
    );
  const weakViews = variant.semiSupervised
    ? wholeEpochs * semi.stepsPerEpoch * semi.labelledBatchSize * semi.unlabelledRatio
    : 0;
  const codes =
    headEpochs === 0 ? 0 : labels * (1 + (mode === 'frozen' ? frozenCopiesFor(budget, labels) : 0)) + validation;
  return {
    stage: options.stage,
    step: options.step,
    label: options.label,
    group: options.group,
    done: options.done,
    parallel: options.parallel,
    epochs,
    patience: !variant.encoderTrains ? budget.frozenPatience : variant.semiSupervised ? null : budget.patience,
    forward: forward({ encoder: codes, classifier: options.test + weakViews }),
  };
}

/** What is already in the run folder of a resumed study. */
export interface StudyProgress {
  stagesDone: ReadonlySet<string>;
  /** Stage names of the classifier runs whose results are saved. */
  classifierRunsDone: ReadonlySet<string>;
}

/** The whole study, in the order it runs; classifier runs in the order the pool hands them out, `workers` at once. */
export function studyPlan(
  config: ExperimentConfig,
  counts: DataCounts,
  progress: StudyProgress,
  classifierRuns: { mode: EncoderMode; fraction: number; labels: number }[],
  workers: number,
): PlannedRun[] {
  const done = (step: string) => progress.stagesDone.has(step);
  const corruptions = 1 + config.autoencoder.evaluationNoise.length;
  const mapped = mappedImages(counts.test);
  return [
    pretrainPlan(config.autoencoder, counts, done('pretrain')),
    // The denoised and the clean test images at the training noise, the denoised ones at each other corruption.
    stagePlan('denoise', done('denoise'), { autoencoder: counts.test * (1 + corruptions) }),
    // The test images' codes, then their convolutions' responses: about two passes through the encoder.
    stagePlan('inspect', done('inspect'), { encoder: 2 * counts.test }),
    ...classifierRuns.map(({ mode, fraction, labels }) => {
      const stage = classifierStage(mode, fraction);
      return classifierRunPlan({
        stage,
        step: 'classify',
        label: `${mode} ${(100 * fraction).toFixed(0)}%`,
        group: stage,
        mode,
        labels,
        validation: counts.validation,
        test: counts.test,
        budget: config.classifier,
        done: progress.classifierRunsDone.has(stage),
        parallel: workers > 1,
      });
    }),
    // Every classifier on the test images and on each corruption, directly and denoised first (the corrupted images
    // are denoised again only when the denoising check ran in an earlier process), and the map of the codes.
    stagePlan('evaluate', done('evaluate'), {
      classifier: classifierRuns.length * counts.test * (1 + 2 * corruptions),
      autoencoder: done('denoise') ? corruptions * counts.test : 0,
      encoder: mapped,
      codeMap: mapped,
    }),
    stagePlan('report', false),
  ];
}
