// The study's last stage: metrics.json, the record of what the run measured, and report.html, which is rendered
// from it and from the figures each stage listed. The sweep and the ablation add their parts here too.
import type { PreparedData } from '../data/prepare.js';
import { metricsFormatVersion, readMetrics } from '../io/metrics.js';
import type { AblationResult, ClassifierResult, Metrics, SweepResult } from '../io/metrics.js';
import type { ReportFigure } from '../report/types.js';
import { renderReport } from '../report/html.js';
import { classifierWorkersUsed } from './classify.js';
import { stageFile } from './context.js';
import type { ExperimentContext } from './context.js';
import { trainingFigures } from './figures.js';
import type { PretrainResult } from './pretrain.js';

export async function assembleMetrics(
  context: ExperimentContext,
  data: PreparedData,
  classifiers: ClassifierResult[],
  seconds: number,
): Promise<Metrics> {
  const { run, config, backend } = context;
  const pretrainSummary = await run.readJson<PretrainResult['summary']>(stageFile('pretrain'));
  const denoise = await run.readJson<Pick<Metrics['autoencoder'], 'test' | 'noiseLevels'>>(stageFile('denoise'));
  const previous = (await run.exists('metrics.json')) ? await readMetrics(run) : null;
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
 * Adds a study's extra results (the sweep, the ablation) to metrics.json, and rewrites the report of a finished run.
 */
export async function mergeIntoMetrics(
  context: ExperimentContext,
  part: { sweep: SweepResult } | { ablation: AblationResult },
): Promise<void> {
  const { run } = context;
  if (await run.exists('metrics.json')) {
    const metrics = await readMetrics(run);
    await run.writeJson('metrics.json', { ...metrics, ...part });
    if (run.isStageDone('classify')) await writeReport(context);
  } else {
    await run.writeJson('metrics.json', { formatVersion: metricsFormatVersion, ...part });
  }
}
