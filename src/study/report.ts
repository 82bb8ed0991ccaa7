// The study's last stage: metrics.json, the record of what the run measured, and report.html, which is rendered
// from it and from the figures each stage listed. The sweep and the ablation add their parts here too.
// metrics.json is derived: the study's part from its stage files, the sweep's from sweep/sweep.json, the ablation's
// from ablation/ablation.json. So a metrics.json that is missing or cannot be read is rebuilt from them (by
// `dae report`, `--resume`, and before a grid trains anything); only the time spent, which no other file keeps, then
// counts from the rebuild on.
import type { PreparedData } from '../data/prepare.js';
import { metricsFormatVersion, readMetrics, readSavedMetrics } from '../io/metrics.js';
import type { AblationResult, ClassifierResult, Metrics, SweepResult } from '../io/metrics.js';
import type { RunFolder } from '../io/run-folder.js';
import type { ReportFigure } from '../report/types.js';
import { renderReport } from '../report/html.js';
import { classifierWorkersUsed, classify } from './classify.js';
import { stageFile } from './context.js';
import type { ExperimentContext } from './context.js';
import { trainingFigures } from './figures.js';
import { pretrain } from './pretrain.js';
import type { PretrainResult } from './pretrain.js';

/**
 * The grids whose results metrics.json carries besides the study's: each one's own file, and what to do when it is
 * corrupted (the sweep never reads its file, so running it again rewrites it; the ablation reads its own first).
 */
const grids = {
  sweep: {
    file: 'sweep/sweep.json',
    hint: (directory: string) =>
      `run \`dae sweep ${directory}\` again with the --labels and --repeats it had: it rewrites the file and retrains no finished cell`,
  },
  ablation: {
    file: 'ablation/ablation.json',
    hint: (directory: string) =>
      `delete it and run \`dae ablate ${directory}\` again with the flags it had: it writes the file anew from its cells, retraining none`,
  },
} as const;
type Grid = keyof typeof grids;
const gridNames = Object.keys(grids) as Grid[];

/** What to do about a grid's corrupted results file. */
export const gridFileHint = (run: RunFolder, grid: Grid): string => grids[grid].hint(run.directory);

/** A grid's results from its own file, when it ran on this folder; a corrupted file is refused, saying what to do. */
async function gridPart(run: RunFolder, grid: Grid): Promise<Partial<Pick<Metrics, Grid>>> {
  const { file } = grids[grid];
  if (!(await run.exists(file))) return {};
  return { [grid]: await run.readJson<SweepResult | AblationResult>(file, gridFileHint(run, grid)) };
}

/**
 * What metrics.json holds that the study's stages do not write: the grids' results and the time spent. From
 * metrics.json when it can be read; else from the grids' own files (but `replacing`, whose results are about to be
 * rewritten), said in a message when metrics.json was there but unreadable.
 */
async function partsBeyondTheStudy(
  context: ExperimentContext,
  replacing?: Grid,
): Promise<{ grids: Pick<Metrics, Grid>; totalSeconds: number }> {
  const { run, reporter } = context;
  const saved = await readSavedMetrics(run);
  if (saved.state === 'read') {
    const { sweep, ablation, totalSeconds } = saved.metrics;
    return {
      grids: { ...(sweep ? { sweep } : {}), ...(ablation ? { ablation } : {}) },
      totalSeconds: totalSeconds ?? 0,
    };
  }
  if (saved.state === 'unreadable') {
    const { file, problem } = saved.problem;
    reporter({ type: 'message', stage: 'report', text: `${file}: ${problem}; rebuilding it from the stage files` });
  }
  const grids: Pick<Metrics, Grid> = {};
  for (const grid of gridNames) if (grid !== replacing) Object.assign(grids, await gridPart(run, grid));
  return { grids, totalSeconds: 0 };
}

/**
 * Writes metrics.json from the study's stage files and `classifiers`, keeping what it held of the grids (or taking
 * it from their files, when metrics.json is missing or unreadable); `seconds` is this session's time. A stage file
 * that cannot be read is refused naming it, with what to run.
 */
export async function assembleMetrics(
  context: ExperimentContext,
  data: PreparedData,
  classifiers: ClassifierResult[],
  seconds: number,
  options: { replacing?: Grid } = {},
): Promise<Metrics> {
  const { run, config, backend } = context;
  const pretrainSummary = await run.readJson<PretrainResult['summary']>(
    stageFile('pretrain'),
    `the pretraining's record cannot be made again without training again; start a new run folder with \`dae experiment --out NEW_DIR\``,
  );
  const denoise = await run.readJson<Pick<Metrics['autoencoder'], 'test' | 'noiseLevels'>>(
    stageFile('denoise'),
    `delete it and run \`dae inspect ${run.directory}\`, which scores the denoising again, then \`dae report ${run.directory}\``,
  );
  const beyond = await partsBeyondTheStudy(context, options.replacing);
  const metrics: Metrics = {
    formatVersion: metricsFormatVersion,
    dataset: {
      name: data.name,
      classNames: data.classNames,
      train: data.train.count,
      validation: data.validation.count,
      test: data.test.count,
      height: data.train.height,
      width: data.train.width,
    },
    backend: {
      name: backend.name,
      detail: backend.detail,
      threads: backend.threads,
      classifierWorkers: classifierWorkersUsed(run),
    },
    autoencoder: {
      ...pretrainSummary,
      noise: config.autoencoder.noise,
      test: denoise.test,
      noiseLevels: denoise.noiseLevels,
    },
    classifiers,
    ...beyond.grids,
    // A resumed run adds the time of this session to the time already spent.
    totalSeconds: seconds + beyond.totalSeconds,
  };
  await run.writeJson('metrics.json', metrics);
  context.reporter({ type: 'saved', stage: 'report', file: 'metrics.json' });
  await run.writeJson('figures/training.json', await trainingFigures(run, metrics));
  return metrics;
}

export async function writeReport(context: ExperimentContext): Promise<void> {
  const { run } = context;
  const metrics = await readMetrics(run);
  const figureLists = [
    'pretrain',
    'training',
    'denoise',
    'inspect',
    ...metrics.classifiers.map((c) => `classifier-${c.encoder}-${c.labels}`),
    'evaluate',
    'sweep',
    'ablation',
  ];
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
  if (await run.exists('models/classifier-summary.txt'))
    summaries.push({ name: 'Classifier', text: await run.readText('models/classifier-summary.txt') });
  const html = renderReport({
    metrics,
    config: run.config,
    modelSummaries: summaries,
    figures,
    classificationReports: reports,
    status: run.status === 'complete' || run.isStageDone('classify') ? 'complete' : 'incomplete',
  });
  await run.writeFile('report.html', html);
  context.reporter({ type: 'saved', stage: 'report', file: 'report.html' });
  await run.markComplete();
}

/**
 * Before a grid (`grid`) trains anything: makes sure that its results can be added to metrics.json when it ends. A
 * finished study's metrics.json that is missing or cannot be read is rebuilt now from the stage files; for a study not
 * finished, the other grid's file is read now. Either way a stage file that cannot be read is refused now, naming it.
 */
export async function prepareMetricsFor(context: ExperimentContext, data: PreparedData, grid: Grid): Promise<void> {
  const { run } = context;
  const saved = await readSavedMetrics(run);
  if (saved.state === 'read') return;
  if (!run.isStageDone('classify')) {
    await partsBeyondTheStudy(context, grid);
    return;
  }
  // Every classifier is trained: classify only reads their results, and pretrain only loads the saved autoencoder.
  const { autoencoder } = await pretrain(context, data);
  try {
    await assembleMetrics(context, data, await classify(context, data, autoencoder), 0, { replacing: grid });
  } finally {
    autoencoder.autoencoder.dispose();
  }
}

/**
 * Adds a study's extra results (the sweep, the ablation) to metrics.json, and rewrites the report of a finished run.
 * Run prepareMetricsFor before the grid, so that metrics.json can be read here.
 */
export async function mergeIntoMetrics(
  context: ExperimentContext,
  part: { sweep: SweepResult } | { ablation: AblationResult },
): Promise<void> {
  const { run } = context;
  const grid: Grid = 'sweep' in part ? 'sweep' : 'ablation';
  const saved = await readSavedMetrics(run);
  if (saved.state === 'read') {
    await run.writeJson('metrics.json', { ...saved.metrics, ...part });
    if (run.isStageDone('classify')) await writeReport(context);
  } else if (saved.state === 'unreadable' && run.isStageDone('classify')) {
    // prepareMetricsFor rebuilt it, so something damaged it while the grid ran.
    throw saved.problem;
  } else {
    // No study results yet: the grids' alone.
    const { grids } = await partsBeyondTheStudy(context, grid);
    await run.writeJson('metrics.json', { formatVersion: metricsFormatVersion, ...grids, ...part });
  }
}
