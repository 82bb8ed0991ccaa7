// The whole study, top to bottom: load -> corrupt -> pretrain -> check the denoising -> inspect -> classify with
// 10% and 100% of the labels -> compare -> report. Each stage leaves its results in the run folder and is skipped
// when a resumed run finds them there; only the run folder's writers touch the filesystem.
import type { LayersModel } from '@tensorflow/tfjs-layers';

import type { BackendInfo } from '../backend/index.js';
import type { ExperimentConfig } from '../config.js';
import { subsetImageSet } from '../data/dataset.js';
import type { ImageSet } from '../data/dataset.js';
import { labelSubsets, prepareData } from '../data/prepare.js';
import { countForFraction } from '../data/split.js';
import type { PreparedData } from '../data/prepare.js';
import { Random } from '../data/random.js';
import { classificationMetrics, formatClassificationReport } from '../eval/classification.js';
import { imageScorer } from '../backend/native/image-kernels.js';
import { evaluateDenoising } from '../eval/denoising.js';
import { inspect } from '../eval/inspection.js';
import { fileCheckpointStore } from '../io/checkpoint-files.js';
import { loadModel, saveModel } from '../io/model-files.js';
import type { RunFolder } from '../io/run-folder.js';
import { readMetrics } from '../io/metrics-file.js';
import { metricsFormatVersion } from '../io/metrics.js';
import type { ClassifierResult, EncoderMode, Metrics } from '../io/metrics.js';
import { buildAutoencoder, joinAutoencoder, referenceShape } from '../model/autoencoder.js';
import type { Autoencoder } from '../model/autoencoder.js';
import type { ClassifierJob } from './jobs.js';
import { buildClassifier } from '../model/classifier.js';
import { modelSummary } from '../model/summary.js';
import type { ReportFigure } from '../report/types.js';
import { renderReport } from '../report/html.js';
import { trainAutoencoder } from '../train/autoencoder.js';
import { predictInBatches } from '../train/batches.js';
import { argmaxRows, trainClassifier } from '../train/classifier.js';
import type { Reporter } from '../train/events.js';
import { initializeWeights } from '../train/weights.js';
import { handoutOrder, runInWorkers } from './threads.js';
import { classifierStage, studyPlan } from './plan.js';
import { evaluateClassifiers } from './evaluate.js';
import { pretrainFigures, classifierFigures, inspectionFigures, denoisingFigures, trainingFigures } from './figures.js';

export interface ExperimentContext {
  run: RunFolder;
  config: ExperimentConfig;
  backend: BackendInfo;
  reporter: Reporter;
  shouldStop?: () => boolean;
}

/** What training a classifier needs of the context: no run folder, so a queue's worker can train without one. */
export type TrainingContext = Pick<ExperimentContext, 'config' | 'reporter' | 'shouldStop'>;

export interface PretrainResult {
  autoencoder: Autoencoder;
  summary: Pick<Metrics['autoencoder'], 'encoderParams' | 'decoderParams' | 'epochs' | 'trainSeconds' | 'history'>;
}

const shapeOf = (set: ImageSet) => ({ height: set.height, width: set.width, codingUnits: referenceShape.codingUnits });
const stageFile = (stage: string) => `stages/${stage}.json`;

/** Runs every stage that the run folder does not hold yet, then writes metrics.json and report.html. */
export async function runExperiment(context: ExperimentContext): Promise<Metrics> {
  const started = performance.now();
  const data = await prepareData(context.config);
  await announcePlan(context, data);
  const pretrained = await pretrain(context, data);
  const denoised = await checkDenoising(context, data, pretrained.autoencoder);
  await inspectRepresentation(context, data, pretrained.autoencoder);
  const classifiers = await classify(context, data, pretrained.autoencoder, denoised);
  context.reporter({ type: 'stage-start', stage: 'report', description: 'metrics.json and report.html' });
  const reportStarted = performance.now();
  const metrics = await assembleMetrics(context, data, classifiers, (performance.now() - started) / 1000);
  await writeReport(context);
  context.reporter({ type: 'stage-end', stage: 'report', seconds: (performance.now() - reportStarted) / 1000, summary: context.run.path('report.html') });
  return metrics;
}

/** The classifier runs of the study in config order: variant, label fraction and label count. */
function studyClassifierRuns(config: ExperimentConfig, trainCount: number) {
  return config.classifier.labelFractions.flatMap((fraction) => config.classifier.encoders.map((mode) => ({
    mode, fraction, labels: countForFraction(trainCount, fraction),
  })));
}

/** Sends the study's plan: what each stage and run may do, and what the run folder already holds. */
async function announcePlan(context: ExperimentContext, data: PreparedData): Promise<void> {
  const { run, config } = context;
  const runs = studyClassifierRuns(config, data.train.count);
  const classifierRunsDone = new Set<string>();
  for (const { mode, fraction, labels } of runs) if (await run.exists(classifierFile(mode, labels))) classifierRunsDone.add(classifierStage(mode, fraction));
  const pending = runs.filter(({ mode, fraction }) => !classifierRunsDone.has(classifierStage(mode, fraction))).length;
  // By the time the classifier runs start, the folder holds the pretrained models that the workers load.
  const workers = classifierWorkerCount(context, pending, true);
  // The pool hands out the longest runs first; runs in turn go in config order.
  const ordered = workers > 1 ? handoutOrder(runs.map((entry) => ({ ...entry, work: plannedWork(entry.mode, entry.fraction) }))) : runs;
  context.reporter({
    type: 'plan', title: 'study', workers,
    runs: studyPlan(config, { train: data.train.count, validation: data.validation.count, test: data.test.count },
      { stagesDone: new Set(['pretrain', 'denoise', 'inspect', 'evaluate'].filter((stage) => run.isStageDone(stage))), classifierRunsDone }, ordered, workers),
  });
}

export async function pretrain(context: ExperimentContext, data: PreparedData): Promise<PretrainResult> {
  const { run, config, reporter } = context;
  if (run.isStageDone('pretrain')) {
    const autoencoder = joinAutoencoder(await loadModel(run.path('models', 'encoder')), await loadModel(run.path('models', 'decoder')));
    return { autoencoder, summary: await run.readJson(stageFile('pretrain')) };
  }
  reporter({ type: 'stage-start', stage: 'pretrain', description: `denoising autoencoder on ${data.train.count} unlabelled images` });
  const autoencoder = buildAutoencoder(shapeOf(data.train));
  initializeWeights(autoencoder.autoencoder, new Random(config.seed).fork('autoencoder-weights'));
  const result = await trainAutoencoder({
    autoencoder, train: data.train, validation: data.validation, config: config.autoencoder, seed: config.seed, reporter,
    checkpoint: fileCheckpointStore(run.checkpointPath('autoencoder')),
    ...(context.shouldStop ? { shouldStop: context.shouldStop } : {}),
  });
  const summary = {
    encoderParams: autoencoder.encoder.countParams(),
    decoderParams: autoencoder.decoder.countParams(),
    epochs: result.epochs,
    trainSeconds: result.seconds,
    history: result.history,
  };
  const metadata = { seed: config.seed, noise: config.autoencoder.noise, dataset: data.name };
  await saveModel(autoencoder.encoder, run.path('models', 'encoder'), { ...metadata, role: 'encoder' });
  await saveModel(autoencoder.decoder, run.path('models', 'decoder'), { ...metadata, role: 'decoder' });
  await saveModel(autoencoder.autoencoder, run.path('models', 'autoencoder'), { ...metadata, role: 'autoencoder' });
  reporter({ type: 'saved', stage: 'pretrain', file: 'models/autoencoder' });
  await run.writeJson('models/summaries.json', [
    { name: 'Encoder', text: modelSummary(autoencoder.encoder) },
    { name: 'Decoder', text: modelSummary(autoencoder.decoder) },
  ]);
  await run.writeJson(stageFile('pretrain'), summary);
  await run.writeJson('figures/pretrain.json', await pretrainFigures(run, summary.history));
  await run.markStageDone('pretrain', { epochs: result.epochs, bestEpoch: result.bestEpoch });
  return { autoencoder, summary };
}

/**
 * Scores the denoising and draws its figure, unless the folder has them. Returns the autoencoder's outputs on the
 * corrupted test sets, which the evaluation stage reuses (none when the stage was already done).
 */
export async function checkDenoising(context: ExperimentContext, data: PreparedData, autoencoder: Autoencoder): Promise<Float32Array[] | undefined> {
  const { run, config, reporter } = context;
  if (run.isStageDone('denoise')) return undefined;
  reporter({ type: 'stage-start', stage: 'denoise', description: `reconstruction scores on ${data.test.count} test images` });
  const started = performance.now();
  const result = evaluateDenoising(autoencoder.autoencoder, data.test, config.autoencoder.noise, config.autoencoder.evaluationNoise,
    config.seed, config.inspection.reconstructionDigits, imageScorer());
  await run.writeJson(stageFile('denoise'), { test: result.test, noiseLevels: result.noiseLevels });
  reporter({ type: 'saved', stage: 'denoise', file: stageFile('denoise') });
  await run.writeJson('figures/denoise.json', await denoisingFigures(run, result, data, config));
  await run.markStageDone('denoise');
  reporter({ type: 'stage-end', stage: 'denoise', seconds: (performance.now() - started) / 1000,
    summary: `PSNR noisy ${result.test.noisy.psnr.toFixed(2)} dB -> denoised ${result.test.denoised.psnr.toFixed(2)} dB` });
  return result.denoised;
}

export async function inspectRepresentation(context: ExperimentContext, data: PreparedData, autoencoder: Autoencoder): Promise<void> {
  const { run, config, reporter } = context;
  if (run.isStageDone('inspect')) return;
  reporter({ type: 'stage-start', stage: 'inspect', description: 'filters, feature maps and top-activating test images' });
  const started = performance.now();
  const inspection = inspect(autoencoder.encoder, autoencoder.decoder, data.test, config.inspection);
  await run.writeJson(stageFile('inspect'), {
    codingUnits: inspection.codingUnits.map(({ unit, indices, values }) => ({ unit, indices, values })),
    convChannels: inspection.convChannels,
  });
  reporter({ type: 'saved', stage: 'inspect', file: stageFile('inspect') });
  await run.writeJson('figures/inspect.json', await inspectionFigures(run, inspection, data));
  await run.markStageDone('inspect');
  reporter({ type: 'stage-end', stage: 'inspect', seconds: (performance.now() - started) / 1000, summary: `${inspection.codingUnits.length} coding units inspected` });
}

export type { ClassifierJob } from './jobs.js';

/** Trains the classifier runs the folder lacks, then evaluates them all; `denoised` as evaluateClassifiers takes it. */
export async function classify(context: ExperimentContext, data: PreparedData, autoencoder: Autoencoder,
  denoised?: readonly Float32Array[]): Promise<ClassifierResult[]> {
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
      labelFraction: fraction, count, seed: config.seed,
      note: 'indices into the training split; sourceIndices into the dataset training file',
      indices: Array.from(indices), sourceIndices: Array.from(indices, (index) => data.trainSourceIndices[index] as number),
    });
    for (const mode of config.classifier.encoders) {
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
    const planned = pending.map(({ job }) => ({ job: { kind: 'classifier' as const, job }, work: plannedWork(job.mode, job.labelFraction) }));
    await runInWorkers<ClassifierResult>(context, data, planned, workers, (result, index) => { results[pending[index]!.slot] = result; });
  } else {
    for (const { job, slot } of pending) results[slot] = await classifierRun(context, data, autoencoder, subsets, job);
  }
  // The most runs this folder has trained at once (a report or a resume that trains nothing keeps the record).
  if (pending.length > 0 || !run.isStageDone('classify')) {
    await run.markStageDone('classify', { workers: Math.max(workers, run.isStageDone('classify') ? classifierWorkersUsed(run) : 1) });
  }
  return evaluateClassifiers(context, data, autoencoder, results as ClassifierResult[], denoised);
}

const classifierFile = (mode: EncoderMode, labels: number) => `classifiers/${mode}-${labels}.json`;

/**
 * A run's work in images it may train on, for handing out the longest runs first: a frozen run's images cost
 * about a third (the encoder runs once per image and version; only the head trains).
 */
export function plannedWork(mode: EncoderMode, images: number): number {
  return images * (mode === 'frozen' ? 0.3 : 1);
}

/**
 * How many classifier runs to train at once: the configured number, or one per kernel thread, never more than
 * there are runs. Parallel runs need the native backend (each worker runs its kernels on one thread) and the
 * pretrained models saved in the run folder, which the workers load (the study's, unless `modelsSaved` says others are).
 */
export function classifierWorkerCount(context: ExperimentContext, runs: number, modelsSaved = context.run.isStageDone('pretrain')): number {
  if (context.backend.name !== 'native' || !modelsSaved) return 1;
  const wanted = context.config.backend.workers === 0 ? context.backend.threads : context.config.backend.workers;
  return Math.max(1, Math.min(wanted, runs));
}

/** Trains, scores and saves one classifier run: its model, figures and `classifiers/<name>.json`. */
export async function classifierRun(context: ExperimentContext, data: PreparedData, autoencoder: Autoencoder,
  subsets: Map<number, Int32Array>, job: ClassifierJob): Promise<ClassifierResult> {
  const { run, config, reporter } = context;
  const { labelFraction: fraction, mode } = job;
  const count = countForFraction(data.train.count, fraction);
  const labelled = subsetImageSet(data.train, subsets.get(count)!);
  const name = `${mode}-${count}`;
  const stage = classifierStage(mode, fraction);
  const { classifier, result, bestEpoch } = await trainAndEvaluate(context, data, autoencoder.encoder, mode, labelled, data.validation, {
    stage, name, seed: config.seed, labelFraction: fraction,
  });
  const test = result.test;
  await saveModel(classifier.model, run.path('models', `classifier-${name}`),
    { seed: config.seed, encoder: mode, labels: count, labelFraction: fraction, dataset: data.name, classNames: data.classNames });
  if (!(await run.exists('models/classifier-summary.txt'))) await run.writeFile('models/classifier-summary.txt', modelSummary(classifier.model));
  await run.writeJson(`figures/classifier-${name}.json`, await classifierFigures(run, result, name, data.classNames));
  await run.writeJson(classifierFile(mode, count), { result, report: formatClassificationReport(test, data.classNames) });
  reporter({ type: 'saved', stage, file: classifierFile(mode, count) });
  reporter({ type: 'run-end', stage, bestEpoch, epochs: result.epochs, testAccuracy: test.accuracy, macroF1: test.macroF1, seconds: result.trainSeconds });
  classifier.model.dispose();
  return result;
}

/** Trains one classifier variant on `labelled` and scores it on the test set. */
export async function trainAndEvaluate(context: TrainingContext, data: PreparedData, encoder: LayersModel | null, mode: EncoderMode,
  labelled: ImageSet, validation: ImageSet, options: { stage: string; name: string; seed: number; labelFraction: number }) {
  const { config, reporter } = context;
  reporter({ type: 'stage-start', stage: options.stage, description: `${mode} encoder, ${labelled.count} labels` });
  const classifier = buildClassifier(mode, shapeOf(data.train), data.train.classes, encoder);
  const weightsRandom = new Random(options.seed).fork(`classifier-weights-${options.name}`);
  initializeWeights(mode === 'scratch' ? classifier.model : headOnly(classifier), weightsRandom);
  const training = await trainClassifier({
    classifier, mode, train: labelled, validation, config: config.classifier,
    seed: options.seed, stage: options.stage, reporter, ...(context.shouldStop ? { shouldStop: context.shouldStop } : {}),
  });
  const probabilities = predictInBatches(classifier.model, data.test.images, data.test.count, data.test.height, data.test.width);
  const test = classificationMetrics(data.test.labels, argmaxRows(probabilities, data.test.classes), data.test.classes);
  const result: ClassifierResult = {
    encoder: mode, labelFraction: options.labelFraction, labels: labelled.count, epochs: training.epochs, trainSeconds: training.seconds,
    history: training.history, validation: { accuracy: training.validationAccuracy }, test,
  };
  return { classifier, result, bestEpoch: training.bestEpoch };
}

/** A stand-in model holding just the head's layers, so seeded initialisation leaves the pretrained encoder alone. */
function headOnly(classifier: ReturnType<typeof buildClassifier>) {
  const headWeights = classifier.model.weights.filter((weight) => weight.originalName.startsWith('head_'));
  return { weights: headWeights, setWeights: (values: Parameters<typeof classifier.model.setWeights>[0]) => {
    headWeights.forEach((weight, index) => weight.write(values[index]!));
  } } as unknown as Parameters<typeof initializeWeights>[0];
}


export async function assembleMetrics(context: ExperimentContext, data: PreparedData, classifiers: ClassifierResult[], seconds: number): Promise<Metrics> {
  const { run, config, backend } = context;
  const pretrainSummary = await run.readJson<PretrainResult['summary']>(stageFile('pretrain'));
  const denoise = await run.readJson<Pick<Metrics['autoencoder'], 'test' | 'noiseLevels'>>(stageFile('denoise'));
  const previous = (await run.exists('metrics.json')) ? await readMetrics(run) : null;
  const metrics: Metrics = {
    formatVersion: metricsFormatVersion,
    dataset: { name: data.name, classNames: data.classNames, train: data.train.count, validation: data.validation.count, test: data.test.count, height: data.train.height, width: data.train.width },
    backend: { name: backend.name, detail: backend.detail, threads: backend.threads, classifierWorkers: classifierWorkersUsed(run) },
    autoencoder: { ...pretrainSummary, noise: config.autoencoder.noise, test: denoise.test, noiseLevels: denoise.noiseLevels },
    classifiers,
    ...(previous?.sweep ? { sweep: previous.sweep } : {}),
    ...(previous?.ablation ? { ablation: previous.ablation } : {}),
    // A resumed run adds the time of this session to the time already spent.
    totalSeconds: seconds + (previous?.totalSeconds ?? 0),
  };
  await run.writeJson('metrics.json', metrics);
  context.reporter({ type: 'saved', stage: 'report', file: 'metrics.json' });
  await run.writeJson('figures/training.json', await trainingFigures(run, metrics));
  return metrics;
}

/** How many classifier runs the classify stage trained at once (1 for run folders from before workers). */
function classifierWorkersUsed(run: RunFolder): number {
  const summary = run.stageSummary('classify') as { workers?: unknown } | undefined;
  return typeof summary?.workers === 'number' ? summary.workers : 1;
}

export async function writeReport(context: ExperimentContext): Promise<void> {
  const { run } = context;
  const metrics = await readMetrics(run);
  const figureLists = ['pretrain', 'training', 'denoise', 'inspect', ...metrics.classifiers.map((c) => `classifier-${c.encoder}-${c.labels}`), 'evaluate', 'sweep', 'ablation'];
  const figures: ReportFigure[] = [];
  for (const list of figureLists) {
    if (!(await run.exists(`figures/${list}.json`))) continue;
    for (const entry of await run.readJson<(Omit<ReportFigure, 'data'> & { file: string })[]>(`figures/${list}.json`)) {
      const { file, ...figure } = entry;
      figures.push({ ...figure, data: await run.readText(file) });
    }
  }
  const reports = [];
  for (const result of metrics.classifiers) {
    const saved = await run.readJson<{ report: string }>(`classifiers/${result.encoder}-${result.labels}.json`);
    reports.push({ name: `${result.encoder}, ${result.labels} labels`, text: saved.report });
  }
  const summaries = await run.readJson<{ name: string; text: string }[]>('models/summaries.json');
  if (await run.exists('models/classifier-summary.txt')) summaries.push({ name: 'Classifier', text: await run.readText('models/classifier-summary.txt') });
  const html = renderReport({
    metrics, config: run.config, modelSummaries: summaries, figures, classificationReports: reports,
    status: run.status === 'complete' || run.isStageDone('classify') ? 'complete' : 'incomplete',
  });
  await run.writeFile('report.html', html);
  context.reporter({ type: 'saved', stage: 'report', file: 'report.html' });
  await run.markComplete();
}

