// The Results tables, built from metrics.json.

import type { ClassifierResult, Metrics } from '../io/metrics.js';
import type { ClassMetrics } from '../eval/classification.js';
import { shortNoiseName } from '../data/noise.js';
import type { ReconstructionScores } from '../eval/reconstruction.js';
import {
  ENCODER_NAMES,
  ENCODER_ORDER,
  ENCODER_SHORT_NAMES,
  escapeHtml,
  formatFixed,
  formatFraction,
  formatInteger,
  formatPercent,
  formatSeconds,
  htmlTable,
} from './format.js';
import type { Column } from './format.js';

const scoreColumns: Column<{ name: string; scores: ReconstructionScores }>[] = [
  { header: 'Images', cell: (row) => row.name },
  { header: 'MSE', numeric: true, cell: (row) => formatFixed(row.scores.mse, 4) },
  { header: 'PSNR (dB)', numeric: true, cell: (row) => formatFixed(row.scores.psnr, 2) },
  { header: 'SSIM', numeric: true, cell: (row) => formatFixed(row.scores.ssim, 3) },
];

/** Noisy input, denoised output and the autoencoder's output for clean input, each against the clean originals. */
export function reconstructionTable(metrics: Metrics): string {
  const { noisy, denoised, clean } = metrics.autoencoder.test;
  return htmlTable(scoreColumns, [
    { name: 'Noisy input', scores: noisy },
    { name: 'Denoised output', scores: denoised },
    { name: 'Output for clean input', scores: clean },
  ]);
}

/** The same scores at noise levels other than the training one. */
export function noiseLevelTable(metrics: Metrics): string {
  const trained = metrics.autoencoder.noise;
  type Row = Metrics['autoencoder']['noiseLevels'][number];
  const isTrainingNoise = (row: Row): boolean => row.noise.kind === trained.kind && row.noise.amount === trained.amount;
  const columns: Column<Row>[] = [
    {
      header: 'Noise',
      cell: (row) => `${shortNoiseName(row.noise)}${isTrainingNoise(row) ? ' (training)' : ''}`,
      strong: isTrainingNoise,
    },
    { header: 'PSNR noisy', numeric: true, cell: (row) => formatFixed(row.noisy.psnr, 2) },
    { header: 'PSNR denoised', numeric: true, cell: (row) => formatFixed(row.denoised.psnr, 2) },
    { header: 'SSIM noisy', numeric: true, cell: (row) => formatFixed(row.noisy.ssim, 3) },
    { header: 'SSIM denoised', numeric: true, cell: (row) => formatFixed(row.denoised.ssim, 3) },
    { header: 'MSE denoised', numeric: true, cell: (row) => formatFixed(row.denoised.mse, 4) },
  ];
  return htmlTable(columns, metrics.autoencoder.noiseLevels);
}

/** Classifier runs by label fraction (smallest first), then encoder, in the report's fixed encoder order. */
export function sortedClassifiers(classifiers: readonly ClassifierResult[]): ClassifierResult[] {
  return [...classifiers].sort(
    (a, b) => a.labelFraction - b.labelFraction || ENCODER_ORDER.indexOf(a.encoder) - ENCODER_ORDER.indexOf(b.encoder),
  );
}

export function classifierName(result: ClassifierResult): string {
  return `${ENCODER_NAMES[result.encoder]}, ${formatFraction(result.labelFraction)} of labels`;
}

/** Every classifier run; the best test accuracy and macro-F1 at each label fraction are bold. */
export function comparisonTable(metrics: Metrics): string {
  const rows = sortedClassifiers(metrics.classifiers);
  const bestAt =
    (pick: (row: ClassifierResult) => number) =>
    (row: ClassifierResult): boolean =>
      pick(row) === Math.max(...rows.filter((other) => other.labelFraction === row.labelFraction).map(pick));
  const columns: Column<ClassifierResult>[] = [
    { header: 'Encoder', cell: (row) => ENCODER_NAMES[row.encoder] },
    { header: 'Fraction', numeric: true, cell: (row) => formatFraction(row.labelFraction) },
    { header: 'Labels', numeric: true, cell: (row) => formatInteger(row.labels) },
    { header: 'Epochs', numeric: true, cell: (row) => String(row.epochs) },
    { header: 'Val. accuracy', numeric: true, cell: (row) => formatPercent(row.validation.accuracy) },
    {
      header: 'Test accuracy',
      numeric: true,
      cell: (row) => formatPercent(row.test.accuracy),
      strong: bestAt((row) => row.test.accuracy),
    },
    {
      header: 'Macro-F1',
      numeric: true,
      cell: (row) => formatFixed(row.test.macroF1, 4),
      strong: bestAt((row) => row.test.macroF1),
    },
    { header: 'Train time', numeric: true, cell: (row) => formatSeconds(row.trainSeconds) },
  ];
  return htmlTable(columns, rows);
}

/** F1 of every class (rows) for every run (columns), so the runs compare class by class. */
export function perClassF1Table(metrics: Metrics): string {
  const runs = sortedClassifiers(metrics.classifiers);
  const classCount = Math.max(0, ...runs.map((run) => run.test.perClass.length));
  const classes = Array.from({ length: classCount }, (_, index) => index);
  const columns: Column<number>[] = [
    { header: 'Class', cell: (index) => metrics.dataset.classNames[index] ?? String(index) },
    ...runs.map((run): Column<number> => ({
      header: `${ENCODER_SHORT_NAMES[run.encoder]} ${formatFraction(run.labelFraction)}`,
      numeric: true,
      cell: (index) => {
        const scores = run.test.perClass[index];
        return scores === undefined ? '–' : formatFixed(scores.f1, 3);
      },
    })),
  ];
  return htmlTable(columns, classes);
}

/** One run's classification report: precision, recall, F1 and support per class (by name), then the averages. */
export function classDetailTable(result: ClassifierResult, classNames: readonly string[] = []): string {
  type Row = { name: string; scores: ClassMetrics };
  const rows: Row[] = [
    ...result.test.perClass.map((scores, index) => ({ name: classNames[index] ?? String(index), scores })),
    { name: 'macro avg', scores: result.test.macro },
    { name: 'weighted avg', scores: result.test.weighted },
  ];
  const columns: Column<Row>[] = [
    { header: 'Class', cell: (row) => row.name },
    { header: 'Precision', numeric: true, cell: (row) => formatFixed(row.scores.precision, 4) },
    { header: 'Recall', numeric: true, cell: (row) => formatFixed(row.scores.recall, 4) },
    { header: 'F1', numeric: true, cell: (row) => formatFixed(row.scores.f1, 4) },
    { header: 'Support', numeric: true, cell: (row) => formatInteger(row.scores.support) },
  ];
  return htmlTable(columns, rows, `Test accuracy ${formatPercent(result.test.accuracy)}`);
}

/** Per-run details, folded away: the full classification report of every run. */
export function classDetails(metrics: Metrics): string {
  return sortedClassifiers(metrics.classifiers)
    .map(
      (result) =>
        `<details><summary>${escapeHtml(classifierName(result))}</summary>\n${classDetailTable(result, metrics.dataset.classNames)}\n</details>`,
    )
    .join('\n');
}

/** The label-efficiency sweep: one row per label count, mean ± std test accuracy per variant, and the gain. */
export function sweepTable(metrics: Metrics): string {
  const sweep = metrics.sweep;
  if (!sweep) return '';
  const encoders = ENCODER_ORDER.filter((encoder) => sweep.summary.some((entry) => entry.encoder === encoder));
  const cell = (labels: number, encoder: (typeof encoders)[number]) => {
    const entry = sweep.summary.find((e) => e.labels === labels && e.encoder === encoder);
    return entry ? `${formatPercent(entry.accuracy.mean)} ± ${formatFixed(100 * entry.accuracy.std, 2)}` : '–';
  };
  const columns: Column<number>[] = [
    { header: 'Labels', numeric: true, cell: (labels) => formatInteger(labels) },
    ...encoders.map((encoder): Column<number> => ({
      header: ENCODER_SHORT_NAMES[encoder],
      numeric: true,
      cell: (labels) => cell(labels, encoder),
    })),
    {
      header: 'Gain (fine-tuned − scratch)',
      numeric: true,
      cell: (labels) => {
        const gain = sweep.gain.find((g) => g.labels === labels);
        return gain
          ? `${gain.mean >= 0 ? '+' : '−'}${formatFixed(Math.abs(100 * gain.mean), 2)} ± ${formatFixed(100 * gain.std, 2)} pts`
          : '–';
      },
    },
  ];
  return htmlTable(
    columns,
    sweep.labelCounts,
    `Test accuracy, mean ± standard deviation over ${sweep.seeds.length} seeds`,
  );
}
