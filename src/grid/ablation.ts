// The pretraining ablation: does the *denoising* matter? Several autoencoders of the reference architecture are
// pretrained on the same unlabelled images with the same budget, differing only in the corruption (none, salt and
// pepper, Gaussian, masking), from the same initial weights and batch order; then the frozen and fine-tuned
// classifiers built on each are trained on the same label subsets with the same seeds as scratch, the baseline.
// Every pretraining and every cell is written as it finishes (cells.ts), so a killed ablation resumes where it was;
// the cells train here, in worker threads, or through a job queue (`dae ablate --queue`), like the sweep's.
import { cellBudget, cellRunPlans, cellSubsets, resumeCells, runCells } from './cells.js';
import type { CellRunner, PlannedCell } from './cells.js';
import { summariseAblation } from './ablation-summary.js';
import type { ExperimentConfig } from '../config.js';
import { floatPixels, subsetImageSet } from '../data/dataset.js';
import { corrupt } from '../data/noise.js';
import type { PreparedData } from '../data/prepare.js';
import { Random } from '../data/random.js';
import { plannedWork } from '../study/classify.js';
import type { ExperimentContext } from '../study/context.js';
import { studyData } from '../study/data.js';
import { trainNewAutoencoder } from '../study/pretrain.js';
import { gridFileHint, mergeIntoMetrics, prepareMetricsFor } from '../study/report.js';
import { cellName } from '../study/jobs.js';
import { loadModel, saveModel } from '../io/model-files.js';
import type { AblationPretraining, AblationResult } from '../io/metrics.js';
import { encoderModes, variants } from '../model/classifier.js';
import type { EncoderMode } from '../model/classifier.js';
import type { NoiseSpec } from '../data/noise.js';
import { joinAutoencoder } from '../model/autoencoder.js';
import type { Autoencoder } from '../model/autoencoder.js';
import { meanSquaredError } from '../train/autoencoder.js';
import type { AutoencoderConfig } from '../train/autoencoder.js';
import { predictInBatches } from '../train/batches.js';
import type { PlannedRun } from '../train/events.js';
import { pretrainPlan, stagePlan } from '../study/plan.js';
import { ablationChart } from '../viz/charts.js';
import { resolveLabelCounts } from './sweep.js';

export interface PretrainingSpec {
  /** Folder name under ablation/, e.g. 'masking-30'. */
  name: string;
  /** How the report names it, e.g. 'masking 30%'. */
  title: string;
  /** Salt and pepper at amount 0 corrupts nothing: the plain autoencoder. */
  noise: NoiseSpec;
}

export const pretrainingSpecs: PretrainingSpec[] = [
  { name: 'plain', title: 'plain (no corruption)', noise: { kind: 'salt-and-pepper', amount: 0 } },
  { name: 'salt-and-pepper-10', title: 'salt & pepper 10%', noise: { kind: 'salt-and-pepper', amount: 0.1 } },
  {
    name: 'salt-and-pepper-20',
    title: "salt & pepper 20% (the study's)",
    noise: { kind: 'salt-and-pepper', amount: 0.2 },
  },
  { name: 'salt-and-pepper-40', title: 'salt & pepper 40%', noise: { kind: 'salt-and-pepper', amount: 0.4 } },
  { name: 'gaussian-0.4', title: 'Gaussian σ 0.4', noise: { kind: 'gaussian', amount: 0.4 } },
  { name: 'masking-30', title: 'masking 30%', noise: { kind: 'masking', amount: 0.3 } },
  { name: 'masking-50', title: 'masking 50%', noise: { kind: 'masking', amount: 0.5 } },
];

/** The pretraining whose autoencoder the scratch cells use for "denoise first": the study's recipe. */
export const referencePretraining = 'salt-and-pepper-20';

export interface AblationOptions {
  pretrainings: PretrainingSpec[];
  labelCounts: (number | 'all')[];
  seeds: number;
  /** The pretrained variants; scratch runs beside them as the baseline. */
  encoders: Exclude<EncoderMode, 'scratch'>[];
  minimumSteps: number;
  /** Whole-network cells see at most this many images. */
  imagesPerCell: number;
  /** The pretraining budget, the same for every autoencoder: this many epochs over this many unlabelled images. */
  pretrainEpochs: number;
  /** null = the whole training split. */
  pretrainImages: number | null;
}

/**
 * The default grid, sized for about an hour on a 2-core machine: the study's pretraining (8 epochs of 55,000
 * images, ~280 s per autoencoder there) for 7 autoencoders and 3 x 7 x 2 + 9 cells would not fit, so each
 * autoencoder gets 2 epochs of all 55,000 images (a quarter of the study's budget), and cells the sweep's recipe
 * with at least 1,000 steps and at most 110,000 images (2 epochs of all labels).
 */
export const defaultAblation: AblationOptions = {
  pretrainings: pretrainingSpecs,
  labelCounts: [100, 1000, 'all'],
  seeds: 3,
  encoders: ['frozen', 'finetuned'],
  minimumSteps: 1000,
  imagesPerCell: 110_000,
  pretrainEpochs: 2,
  pretrainImages: null,
};

const pretrainingFolder = (name: string) => `ablation/${name}`;
const pretrainingStage = (name: string) => `ablate pretrain ${name}`;
const scratchTitle = 'none (scratch)';
const panelTitle = (labels: number) => `${labels.toLocaleString('en-US')} labels`;
const variantNames = Object.fromEntries(encoderModes.map((mode) => [mode, variants[mode].shortName])) as Record<
  EncoderMode,
  string
>;

/** The ablation's chart, as the report shows it and the docs generate it from results/ablation.json. */
export async function ablationFigure(
  result: Pick<AblationResult, 'pretrainings' | 'labelCounts' | 'summary'>,
): Promise<string> {
  return ablationChart(ablationPoints(result), {
    pretrainings: [...result.pretrainings.map((entry) => entry.title), scratchTitle],
    panels: result.labelCounts.map(panelTitle),
  });
}

function ablationPoints(result: Pick<AblationResult, 'pretrainings' | 'summary'>) {
  const title = (name: string) =>
    name === 'scratch' ? scratchTitle : (result.pretrainings.find((entry) => entry.name === name)?.title ?? name);
  return result.summary.map((entry) => ({
    pretraining: title(entry.pretraining),
    variant: variantNames[entry.encoder],
    panel: panelTitle(entry.labels),
    mean: entry.accuracy.mean,
    std: entry.accuracy.std,
  }));
}

/** The autoencoder of one pretraining: trained (checkpointed per epoch) and saved, or loaded when the folder has it. */
async function pretrainOne(
  context: ExperimentContext,
  data: PreparedData,
  spec: PretrainingSpec,
  options: AblationOptions,
): Promise<AblationPretraining> {
  const { run, config, reporter } = context;
  const folder = pretrainingFolder(spec.name);
  if (await run.exists(`${folder}/pretrain.json`)) return run.readJson<AblationPretraining>(`${folder}/pretrain.json`);
  const images = Math.min(options.pretrainImages ?? data.train.count, data.train.count);
  const train =
    images === data.train.count
      ? data.train
      : subsetImageSet(
          data.train,
          Int32Array.from({ length: images }, (_, index) => index),
        );
  const stage = pretrainingStage(spec.name);
  reporter({
    type: 'stage-start',
    stage,
    description: `${spec.title}: ${options.pretrainEpochs} epoch${options.pretrainEpochs === 1 ? '' : 's'} of ${images} unlabelled images`,
  });
  // Only the corruption differs: trainNewAutoencoder starts every pretraining from the same weights, batch order and
  // noise stream.
  const autoencoderConfig: AutoencoderConfig = {
    ...config.autoencoder,
    noise: spec.noise,
    maxEpochs: options.pretrainEpochs,
    patience: options.pretrainEpochs + 1,
  };
  const { autoencoder, training: result } = await trainNewAutoencoder(
    context,
    train,
    data.validation,
    autoencoderConfig,
    { checkpoint: `ablation-${spec.name}`, stage },
  );
  const { validation } = data;
  const validationImages = floatPixels(validation.images);
  const validationMse = (images: Float32Array) =>
    meanSquaredError(
      predictInBatches(autoencoder.autoencoder, images, validation.count, validation.height, validation.width),
      validationImages,
    );
  const reference = corrupt(
    validationImages,
    { kind: 'salt-and-pepper', amount: 0.2 },
    new Random(config.seed).fork('ablation-reference-noise'),
  );
  const summary: AblationPretraining = {
    name: spec.name,
    title: spec.title,
    noise: spec.noise,
    epochs: result.epochs,
    images,
    trainSeconds: result.seconds,
    validationLoss: Math.min(...result.history.map((record) => record.validationLoss)),
    cleanValidationMse: validationMse(validationImages),
    referenceValidationMse: validationMse(reference),
  };
  const metadata = { seed: config.seed, noise: spec.noise, dataset: data.name, ablation: spec.name };
  await saveModel(autoencoder.encoder, run.path(folder, 'encoder'), { ...metadata, role: 'encoder' });
  await saveModel(autoencoder.decoder, run.path(folder, 'decoder'), { ...metadata, role: 'decoder' });
  await run.writeJson(`${folder}/pretrain.json`, summary);
  reporter({ type: 'saved', stage, file: `${folder}/pretrain.json` });
  // trainAutoencoder ended the stage; the clean-input score comes after it.
  reporter({
    type: 'message',
    stage,
    text: `validation MSE ${summary.validationLoss.toFixed(5)} (own corruption), ${summary.cleanValidationMse.toFixed(5)} (clean input)`,
  });
  autoencoder.autoencoder.dispose();
  return summary;
}

/** The plan of one pretraining: its epochs, then two passes over the validation images for its scores. */
function pretrainingPlan(
  config: ExperimentConfig,
  data: PreparedData,
  spec: PretrainingSpec,
  options: AblationOptions,
  done: boolean,
): PlannedRun {
  const images = Math.min(options.pretrainImages ?? data.train.count, data.train.count);
  const budget = { ...config.autoencoder, maxEpochs: options.pretrainEpochs, patience: options.pretrainEpochs + 1 };
  const plan = pretrainPlan(
    budget,
    { train: images, validation: data.validation.count },
    done,
    pretrainingStage(spec.name),
  );
  return {
    ...plan,
    label: `pretrain ${spec.name}`,
    forward: { ...plan.forward, autoencoder: 2 * data.validation.count },
  };
}

/**
 * Runs the ablation's pretrainings and cells that are not done yet; the cells here, in worker threads, or through
 * `runner` (a job queue).
 */
export async function runAblation(
  context: ExperimentContext,
  options: AblationOptions,
  runner?: CellRunner,
): Promise<AblationResult> {
  const { run, config, reporter } = context;
  const started = performance.now();
  const data = await studyData(context);
  // What the ablation's end reads (metrics.json, or the stage files to rebuild it from), checked before it trains.
  await prepareMetricsFor(context, data, 'ablation');
  // A resumed ablation's earlier results, for the time already spent: read now, so that a bad file stops it here.
  const previous = (await run.exists('ablation/ablation.json'))
    ? await run.readJson<Partial<AblationResult>>('ablation/ablation.json', gridFileHint(run, 'ablation'))
    : undefined;

  const labelCounts = resolveLabelCounts(options.labelCounts, data.train.count);
  const seeds = Array.from({ length: options.seeds }, (_, index) => config.seed + index);
  const scratchModels = options.pretrainings.some((spec) => spec.name === referencePretraining)
    ? referencePretraining
    : options.pretrainings[0]!.name;
  const planned: PlannedCell[] = [];
  for (const seed of seeds) {
    for (const { labels, indices, validationIndices } of cellSubsets(data, labelCounts, seed)) {
      const budget = cellBudget(config.classifier, labels, options.minimumSteps, options.imagesPerCell);
      const cell = (encoder: EncoderMode, pretraining: string, models: string): PlannedCell => ({
        job: {
          encoder,
          labels,
          seed,
          budget,
          indices,
          validationIndices,
          extra: { pretraining },
          // The stage also seeds each epoch's batch order and distortions (train/classifier.ts): it must not change.
          stage: `ablate ${pretraining} ${encoder} ${labels} labels seed ${seed}`,
        },
        file: `ablation/cells/${pretraining}-${cellName({ encoder, labels, seed })}.json`,
        models,
        work: plannedWork(budget, encoder, labels),
      });
      for (const spec of options.pretrainings) {
        for (const encoder of options.encoders) planned.push(cell(encoder, spec.name, pretrainingFolder(spec.name)));
      }
      planned.push(cell('scratch', 'scratch', pretrainingFolder(scratchModels)));
    }
  }
  const grid = await resumeCells(context, 'ablate', planned, runner);
  const pretrainingsDone = await Promise.all(
    options.pretrainings.map((spec) => run.exists(`${pretrainingFolder(spec.name)}/pretrain.json`)),
  );
  reporter({
    type: 'plan',
    title: 'ablation',
    workers: grid.workers,
    runs: [
      ...options.pretrainings.map((spec, index) =>
        pretrainingPlan(config, data, spec, options, pretrainingsDone[index]!),
      ),
      ...cellRunPlans(grid, data, config),
      // ablation.json, the chart, metrics.json and, for a finished study, report.html again.
      stagePlan('report', false),
    ],
  });
  const pretrainings: AblationPretraining[] = [];
  for (const spec of options.pretrainings) pretrainings.push(await pretrainOne(context, data, spec, options));

  const loaded = new Map<string, Autoencoder>();
  const autoencoderFor = async (folder: string) => {
    let autoencoder = loaded.get(folder);
    if (!autoencoder) {
      autoencoder = joinAutoencoder(
        await loadModel(run.path(folder, 'encoder')),
        await loadModel(run.path(folder, 'decoder')),
      );
      loaded.set(folder, autoencoder);
    }
    return autoencoder;
  };
  const cells = await runCells(context, data, grid, autoencoderFor);
  reporter({
    type: 'stage-start',
    stage: 'report',
    description: 'ablation.json, the chart, metrics.json and report.html',
  });
  const reportStarted = performance.now();
  const seconds = (performance.now() - started) / 1000;
  const result = summariseAblation({
    budget: {
      pretrainEpochs: options.pretrainEpochs,
      pretrainImages: pretrainings[0]?.images ?? 0,
      minimumSteps: options.minimumSteps,
      imagesPerCell: options.imagesPerCell,
    },
    labelCounts,
    seeds,
    pretrainings,
    cells: cells.map((cell) => ({ ...cell, pretraining: (cell as { pretraining?: string }).pretraining ?? 'scratch' })),
    // A resumed ablation adds this session's time to the time already spent.
    totalSeconds: seconds + (previous?.totalSeconds ?? 0),
  });
  await run.writeJson('ablation/ablation.json', result);
  await run.writeFile('figures/ablation.svg', await ablationFigure(result));
  await run.writeJson('figures/ablation.json', [
    {
      id: 'ablation',
      section: 'classification',
      title: 'Which pretraining',
      mime: 'image/svg+xml',
      file: 'figures/ablation.svg',
      caption: `Test accuracy of the classifiers built on each pretrained autoencoder (frozen and fine-tuned) and of scratch, the baseline, per number of labels: mean over ${seeds.length} seeds with ±1 standard deviation bars. Every autoencoder was pretrained for ${options.pretrainEpochs} epochs of ${(pretrainings[0]?.images ?? 0).toLocaleString('en-US')} unlabelled images from the same initial weights; only the corruption differs.`,
    },
  ]);
  await mergeIntoMetrics(context, { ablation: result });
  reporter({
    type: 'stage-end',
    stage: 'report',
    seconds: (performance.now() - reportStarted) / 1000,
    summary: run.path('ablation', 'ablation.json'),
  });
  return result;
}
