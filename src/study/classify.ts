// The study's fourth stage: classifiers that reuse the encoder (frozen, or fine-tuned) and one trained from scratch,
// each on 10% and on all of the labels. Runs train in turn here or side by side in threads (./threads.ts); each is
// saved as it finishes, so a resumed study trains only what is missing.
import type { LayersModel } from '@tensorflow/tfjs-layers';

import { releaseFreeMemory } from '../backend/index.js';
import type { ExperimentConfig } from '../config.js';
import { subsetImageSet } from '../data/dataset.js';
import type { ImageSet } from '../data/dataset.js';
import { labelSubsets } from '../data/prepare.js';
import type { PreparedData } from '../data/prepare.js';
import { Random } from '../data/random.js';
import { countForFraction } from '../data/split.js';
import { classificationMetrics, formatClassificationReport } from '../eval/classification.js';
import { saveModel } from '../io/model-files.js';
import type { ClassifierResult } from '../io/metrics.js';
import type { RunFolder } from '../io/run-folder.js';
import { shapeOf } from '../model/autoencoder.js';
import type { Autoencoder } from '../model/autoencoder.js';
import { buildClassifier, variants } from '../model/classifier.js';
import type { EncoderMode } from '../model/classifier.js';
import { modelSummary } from '../model/summary.js';
import { predictInBatches } from '../train/batches.js';
import { argmaxRows, epochsFor, trainClassifier } from '../train/classifier.js';
import type { ClassifierConfig } from '../train/classifier.js';
import { initializeWeights } from '../train/weights.js';
import type { ExperimentContext, TrainingContext } from './context.js';
import { evaluateClassifiers } from './evaluate.js';
import { classifierFigures } from './figures.js';
import type { ClassifierJob } from './jobs.js';
import { classifierStage } from './plan.js';
import { longestFirst, runInThreads } from './threads.js';

/** The variants that train at a label fraction: the semi-supervised ones only when some images are unlabelled. */
export const variantsAt = (config: ExperimentConfig, fraction: number): EncoderMode[] =>
  config.classifier.encoders.filter((mode) => fraction < 1 || !variants[mode].semiSupervised);

/** The classifier runs of the study in config order: variant, label fraction and label count. */
export function studyClassifierRuns(config: ExperimentConfig, trainCount: number) {
  return config.classifier.labelFractions.flatMap((fraction) =>
    variantsAt(config, fraction).map((mode) => ({
      mode,
      fraction,
      labels: countForFraction(trainCount, fraction),
    })),
  );
}

/** Trains the classifier runs the folder lacks, then evaluates them all. */
export async function classify(
  context: ExperimentContext,
  data: PreparedData,
  autoencoder: Autoencoder,
): Promise<ClassifierResult[]> {
  const { run, config } = context;
  const subsets = labelSubsets(data.train, config.classifier.labelFractions, config.seed);
  // One slot per run in config order: filled from the run folder, or by training (pending holds the slot).
  const results: (ClassifierResult | undefined)[] = [];
  const pending: { job: ClassifierJob; slot: number }[] = [];
  for (const fraction of config.classifier.labelFractions) {
    // The same rounding labelSubsets keyed its subsets by.
    const count = countForFraction(data.train.count, fraction);
    const indices = subsets.get(count)!;
    await run.writeJson(`subsets/labels-${count}.json`, {
      labelFraction: fraction,
      count,
      seed: config.seed,
      note: 'indices into the training split; sourceIndices into the dataset training file',
      indices: Array.from(indices),
      sourceIndices: Array.from(indices, (index) => data.trainSourceIndices[index] as number),
    });
    for (const mode of variantsAt(config, fraction)) {
      const file = classifierFile(mode, count);
      if (await run.exists(file)) {
        results.push((await run.readJson<{ result: ClassifierResult }>(file)).result);
      } else {
        pending.push({ job: { labelFraction: fraction, mode }, slot: results.length });
        results.push(undefined);
      }
    }
  }
  const workers = classifierWorkerCount(context, pending.length);
  if (workers > 1) {
    // Longest first: whole-network runs before frozen ones, most labels first.
    const ordered = longestFirst(
      pending.map((entry) => ({
        ...entry,
        work: plannedWork(
          config.classifier,
          entry.job.mode,
          countForFraction(data.train.count, entry.job.labelFraction),
        ),
      })),
    );
    await runInThreads<ClassifierResult>(
      context,
      data,
      ordered.map(({ job }) => ({ kind: 'classifier', job })),
      workers,
      (result, index) => {
        results[ordered[index]!.slot] = result;
      },
    );
  } else {
    for (const { job, slot } of pending) {
      // What the stages and runs before freed, given back before this one, as the worker threads do (thread.ts).
      releaseFreeMemory();
      results[slot] = await classifierRun(context, data, autoencoder, subsets, job);
    }
  }
  // The most runs this folder has trained at once (a report or a resume that trains nothing keeps the record).
  if (pending.length > 0 || !run.isStageDone('classify')) {
    await run.markStageDone('classify', {
      workers: Math.max(workers, run.isStageDone('classify') ? classifierWorkersUsed(run) : 1),
    });
  }
  return evaluateClassifiers(context, data, autoencoder, results as ClassifierResult[]);
}

export const classifierFile = (mode: EncoderMode, labels: number) => `classifiers/${mode}-${labels}.json`;

/**
 * A run's work in images it may train on, for handing out the longest runs first: a frozen run's images cost
 * about a third (the encoder runs once per image and version; only the head trains); a semi-supervised step's
 * weak views, passed forward only, a third each.
 */
export function plannedWork(budget: ClassifierConfig, mode: EncoderMode, labels: number): number {
  if (variants[mode].semiSupervised) {
    const { epochs, stepsPerEpoch, labelledBatchSize, unlabelledRatio } = budget.semiSupervised;
    return epochs * stepsPerEpoch * labelledBatchSize * (1 + (unlabelledRatio * 4) / 3);
  }
  return epochsFor(budget, mode, labels) * labels * (mode === 'frozen' ? 0.3 : 1);
}

/**
 * How many classifier runs to train at once: the configured number, or one per kernel thread, never more than
 * there are runs. Parallel runs need the native backend (each worker runs its kernels on one thread) and the
 * pretrained models saved in the run folder, which the workers load (the study's, unless `modelsSaved` says others
 * are).
 */
export function classifierWorkerCount(
  context: ExperimentContext,
  runs: number,
  modelsSaved = context.run.isStageDone('pretrain'),
): number {
  if (context.backend.name !== 'native' || !modelsSaved) return 1;
  const wanted = context.config.backend.workers === 0 ? context.backend.threads : context.config.backend.workers;
  return Math.max(1, Math.min(wanted, runs));
}

/** Trains, scores and saves one classifier run: its model, figures and `classifiers/<name>.json`. */
export async function classifierRun(
  context: ExperimentContext,
  data: PreparedData,
  autoencoder: Autoencoder,
  subsets: Map<number, Int32Array>,
  job: ClassifierJob,
): Promise<ClassifierResult> {
  const { run, config, reporter } = context;
  const { labelFraction: fraction, mode } = job;
  const count = countForFraction(data.train.count, fraction);
  const labelled = subsetImageSet(data.train, subsets.get(count)!);
  const name = `${mode}-${count}`;
  const stage = classifierStage(mode, fraction);
  const { classifier, result, bestEpoch } = await trainAndEvaluate(
    context,
    data,
    autoencoder.encoder,
    mode,
    labelled,
    data.validation,
    {
      stage,
      name,
      seed: config.seed,
      labelFraction: fraction,
    },
  );
  const test = result.test;
  await saveModel(classifier.model, run.path('models', `classifier-${name}`), {
    seed: config.seed,
    encoder: mode,
    labels: count,
    labelFraction: fraction,
    dataset: data.name,
    classNames: data.classNames,
  });
  if (!(await run.exists('models/classifier-summary.txt')))
    await run.writeFile('models/classifier-summary.txt', modelSummary(classifier.model));
  await run.writeJson(`figures/classifier-${name}.json`, await classifierFigures(run, result, name, data.classNames));
  await run.writeJson(classifierFile(mode, count), {
    result,
    report: formatClassificationReport(test, data.classNames),
  });
  reporter({ type: 'saved', stage, file: classifierFile(mode, count) });
  reporter({
    type: 'run-end',
    stage,
    bestEpoch,
    epochs: result.epochs,
    testAccuracy: test.accuracy,
    macroF1: test.macroF1,
    seconds: result.trainSeconds,
  });
  classifier.model.dispose();
  return result;
}

/** Trains one classifier variant on `labelled` and scores it on the test set. */
export async function trainAndEvaluate(
  context: TrainingContext,
  data: PreparedData,
  encoder: LayersModel | null,
  mode: EncoderMode,
  labelled: ImageSet,
  validation: ImageSet,
  options: { stage: string; name: string; seed: number; labelFraction: number },
) {
  const { config, reporter } = context;
  reporter({ type: 'stage-start', stage: options.stage, description: `${mode} encoder, ${labelled.count} labels` });
  const classifier = buildClassifier(
    mode,
    shapeOf(data.train),
    data.train.classes,
    encoder,
    config.classifier.headUnits,
  );
  const weightsRandom = new Random(options.seed).fork(`classifier-weights-${options.name}`);
  initializeWeights(variants[mode].pretrained ? headOnly(classifier) : classifier.model, weightsRandom);
  const training = await trainClassifier({
    classifier,
    mode,
    train: labelled,
    validation,
    unlabelled: data.train,
    config: config.classifier,
    seed: options.seed,
    stage: options.stage,
    reporter,
    ...(context.shouldStop ? { shouldStop: context.shouldStop } : {}),
  });
  const probabilities = predictInBatches(
    classifier.model,
    data.test.images,
    data.test.count,
    data.test.height,
    data.test.width,
  );
  const test = classificationMetrics(data.test.labels, argmaxRows(probabilities, data.test.classes), data.test.classes);
  const result: ClassifierResult = {
    encoder: mode,
    labelFraction: options.labelFraction,
    labels: labelled.count,
    epochs: training.epochs,
    trainSeconds: training.seconds,
    history: training.history,
    validation: { accuracy: training.validationAccuracy },
    test,
  };
  return { classifier, result, bestEpoch: training.bestEpoch };
}

/** A stand-in model holding just the head's layers, so seeded initialisation leaves the pretrained encoder alone. */
function headOnly(classifier: ReturnType<typeof buildClassifier>) {
  const headWeights = classifier.model.weights.filter((weight) => weight.originalName.startsWith('head_'));
  return {
    weights: headWeights,
    setWeights: (values: Parameters<typeof classifier.model.setWeights>[0]) => {
      headWeights.forEach((weight, index) => weight.write(values[index]!));
    },
  } as unknown as Parameters<typeof initializeWeights>[0];
}

/** How many classifier runs the classify stage trained at once (1 for run folders from before workers). */
export function classifierWorkersUsed(run: RunFolder): number {
  const summary = run.stageSummary('classify') as { workers?: unknown } | undefined;
  return typeof summary?.workers === 'number' ? summary.workers : 1;
}
