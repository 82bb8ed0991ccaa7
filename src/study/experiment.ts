// The whole study, top to bottom: load -> corrupt -> pretrain -> check the denoising -> inspect -> classify with
// 10% and 100% of the labels -> compare -> report. Each stage leaves its results in the run folder and is skipped
// when a resumed run finds them there; only the run folder's writers touch the filesystem.
import type { PreparedData } from '../data/prepare.js';
import type { Metrics } from '../io/metrics.js';
import { classifierFile, classifierWorkerCount, classify, plannedWork, studyClassifierRuns } from './classify.js';
import type { ExperimentContext } from './context.js';
import { studyData } from './data.js';
import { checkDenoising } from './denoise.js';
import { inspectRepresentation } from './inspect.js';
import { classifierStage, studyPlan } from './plan.js';
import { pretrain } from './pretrain.js';
import { assembleMetrics, writeReport } from './report.js';
import { longestFirst } from './threads.js';

/** Runs every stage that the run folder does not hold yet, then writes metrics.json and report.html. */
export async function runExperiment(context: ExperimentContext): Promise<Metrics> {
  const started = performance.now();
  const data = await studyData(context);
  await announcePlan(context, data);
  const pretrained = await pretrain(context, data);
  await checkDenoising(context, data, pretrained.autoencoder);
  await inspectRepresentation(context, data, pretrained.autoencoder);
  const classifiers = await classify(context, data, pretrained.autoencoder);
  context.reporter({ type: 'stage-start', stage: 'report', description: 'metrics.json and report.html' });
  const reportStarted = performance.now();
  const metrics = await assembleMetrics(context, data, classifiers, (performance.now() - started) / 1000);
  await writeReport(context);
  context.reporter({
    type: 'stage-end',
    stage: 'report',
    seconds: (performance.now() - reportStarted) / 1000,
    summary: context.run.path('report.html'),
  });
  return metrics;
}

/** Sends the study's plan: what each stage and run may do, and what the run folder already holds. */
async function announcePlan(context: ExperimentContext, data: PreparedData): Promise<void> {
  const { run, config } = context;
  const runs = studyClassifierRuns(config, data.train.count);
  const classifierRunsDone = new Set<string>();
  for (const { mode, fraction, labels } of runs)
    if (await run.exists(classifierFile(mode, labels))) classifierRunsDone.add(classifierStage(mode, fraction));
  const pending = runs.filter(({ mode, fraction }) => !classifierRunsDone.has(classifierStage(mode, fraction))).length;
  // By the time the classifier runs start, the folder holds the pretrained models that the workers load.
  const workers = classifierWorkerCount(context, pending, true);
  // The pool hands out the longest runs first; runs in turn go in config order.
  const ordered =
    workers > 1
      ? longestFirst(
          runs.map((entry) => ({ ...entry, work: plannedWork(config.classifier, entry.mode, entry.labels) })),
        )
      : runs;
  context.reporter({
    type: 'plan',
    title: 'study',
    workers,
    runs: studyPlan(
      config,
      { train: data.train.count, validation: data.validation.count, test: data.test.count },
      {
        stagesDone: new Set(['pretrain', 'denoise', 'inspect', 'evaluate'].filter((stage) => run.isStageDone(stage))),
        classifierRunsDone,
      },
      ordered,
      workers,
    ),
  });
}
