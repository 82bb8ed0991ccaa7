// The report's robustness table (classifier × corruption) and the conclusion's sentence about it, from metrics.json.
import { meanCorruptedAccuracy } from '../eval/robustness.js';
import type { ClassifierResult, Metrics } from '../io/metrics.js';
import { shortNoiseName } from '../data/noise.js';
import type { Robustness } from '../eval/robustness.js';
import {
  ENCODER_ORDER,
  ENCODER_SHORT_NAMES,
  formatFixed,
  formatFraction,
  formatInteger,
  formatPercent,
  formatPoints,
  htmlTable,
} from './format.js';
import type { Column } from './format.js';
import { sortedClassifiers } from './tables.js';

/** One row of the robustness table: a classifier's accuracies directly on the corrupted images, or denoised first. */
export type RobustnessRow<Item> = Item & { robustness: Robustness; pipeline: 'corrupted' | 'denoised' };

/**
 * The robustness table's rows and columns, for the report and the docs alike: each classifier on the corrupted
 * images, then denoised first where that was measured; columns clean, each corruption and their mean, the best of
 * each column strong.
 */
export function robustnessColumns<
  Item extends { robustness: Robustness; encoder: ClassifierResult['encoder']; labelFraction: number },
>(
  items: Item[],
  headers: { classifier: string; clean: string; mean: string },
): { rows: RobustnessRow<Item>[]; columns: Column<RobustnessRow<Item>>[] } | null {
  const first = items[0]?.robustness;
  if (first === undefined) return null;
  type Row = RobustnessRow<Item>;
  const rows: Row[] = (['corrupted', 'denoised'] as const).flatMap((pipeline) =>
    items
      .filter(
        (item) =>
          pipeline === 'corrupted' ||
          item.robustness.corruptions.every((entry) => entry.denoisedAccuracy !== undefined),
      )
      .map((item) => ({ ...item, pipeline })),
  );
  const valueAt = (row: Row, index: number) => {
    const entry = row.robustness.corruptions[index];
    return (row.pipeline === 'corrupted' ? entry?.accuracy : entry?.denoisedAccuracy) ?? Number.NaN;
  };
  const meanOf = (row: Row) => meanCorruptedAccuracy(row.robustness, row.pipeline);
  const best = (pick: (row: Row) => number) => (row: Row) => pick(row) === Math.max(...rows.map(pick));
  const columns: Column<Row>[] = [
    {
      header: headers.classifier,
      cell: (row) =>
        `${row.pipeline === 'denoised' ? 'denoise first → ' : ''}${ENCODER_SHORT_NAMES[row.encoder]}, ${formatFraction(row.labelFraction)}`,
    },
    {
      header: headers.clean,
      numeric: true,
      cell: (row) => (row.pipeline === 'corrupted' ? formatPercent(row.robustness.clean) : ''),
    },
    ...first.corruptions.map((entry, index): Column<Row> => ({
      header: shortNoiseName(entry.noise),
      numeric: true,
      cell: (row) => formatPercent(valueAt(row, index)),
      strong: best((row) => valueAt(row, index)),
    })),
    { header: headers.mean, numeric: true, cell: (row) => formatPercent(meanOf(row)), strong: best(meanOf) },
  ];
  return { rows, columns };
}

/**
 * Test accuracy of every classifier on each corruption, on the corrupted images and denoised first; best per column in
 * bold.
 */
export function robustnessTable(metrics: Metrics): string {
  const measured = sortedClassifiers(metrics.classifiers).flatMap((result) =>
    result.robustness ? [{ ...result, robustness: result.robustness }] : [],
  );
  const table = robustnessColumns(measured, {
    classifier: 'Classifier',
    clean: 'Clean',
    mean: 'Mean of the corruptions',
  });
  if (!table) return '';
  const { rows, columns } = table;
  const first = measured[0]!.robustness;
  return htmlTable(
    columns,
    rows,
    `Test accuracy on ${first.images.toLocaleString('en-US')} test images under each corruption (the same corrupted pixels for every classifier); "denoise first" runs the autoencoder on the corrupted image and classifies its output`,
  );
}

/**
 * One sentence per label fraction: each pipeline's mean accuracy over the corruptions, best first, and what
 * denoising first changes for the classifier that gains most from it.
 */
export function robustnessSentence(metrics: {
  classifiers: readonly Pick<ClassifierResult, 'encoder' | 'labelFraction' | 'robustness'>[];
}): string {
  const measured = metrics.classifiers.filter((result) => result.robustness !== undefined);
  if (measured.length === 0) return '';
  const count = measured[0]!.robustness!.corruptions.length;
  const fractions = [...new Set(measured.map((result) => result.labelFraction))].sort((a, b) => a - b);
  const parts = fractions.map((fraction) => {
    const here = measured.filter((result) => result.labelFraction === fraction);
    const direct = here
      .map((result) => ({
        name: ENCODER_SHORT_NAMES[result.encoder],
        value: meanCorruptedAccuracy(result.robustness!, 'corrupted'),
        result,
      }))
      .sort((a, b) => b.value - a.value);
    const listed = direct.map((entry) => `${entry.name} ${formatPercent(entry.value)}`).join(', ');
    const denoised = here
      .filter((result) => result.robustness!.corruptions.every((entry) => entry.denoisedAccuracy !== undefined))
      .map((result) => ({
        name: ENCODER_SHORT_NAMES[result.encoder],
        gain:
          meanCorruptedAccuracy(result.robustness!, 'denoised') -
          meanCorruptedAccuracy(result.robustness!, 'corrupted'),
        result,
      }))
      .sort((a, b) => b.gain - a.gain)[0];
    const denoiseText =
      denoised === undefined
        ? ''
        : denoised.gain > 0
          ? `; denoising first raises the ${denoised.name} classifier's average most, by ${formatPoints(denoised.gain)} points to ${formatPercent(meanCorruptedAccuracy(denoised.result.robustness!, 'denoised'))}`
          : `; denoising first helps none of them (the ${denoised.name} classifier loses least: ${formatPoints(denoised.gain)} points)`;
    const pipelines = [
      ...direct.map((entry) => ({ name: entry.name, value: entry.value })),
      ...here
        .filter((result) => result.robustness!.corruptions.every((entry) => entry.denoisedAccuracy !== undefined))
        .map((result) => ({
          name: `denoise first → ${ENCODER_SHORT_NAMES[result.encoder]}`,
          value: meanCorruptedAccuracy(result.robustness!, 'denoised'),
        })),
    ].sort((a, b) => b.value - a.value);
    const bestText =
      pipelines[0] && pipelines[0].name.startsWith('denoise')
        ? `; the best pipeline is ${pipelines[0].name} (${formatPercent(pipelines[0].value)})`
        : '';
    return `with ${formatFraction(fraction)} of the labels, ${listed}${denoiseText}${bestText}`;
  });
  return `Averaged over the ${count} corruptions of the test images, the classifiers score: ${parts.join('; ')}.`;
}

/**
 * The sweep under corruption: per label count and variant, the mean over the corruptions, on the corrupted images /
 * denoised first.
 */
export function sweepRobustnessTable(metrics: Metrics): string {
  const sweep = metrics.sweep;
  if (!sweep || !sweep.summary.some((entry) => entry.corrupted !== undefined)) return '';
  const encoders = ENCODER_ORDER.filter((encoder) => sweep.summary.some((entry) => entry.encoder === encoder));
  const spread = (value: { mean: number; std: number } | undefined) =>
    value ? `${formatPercent(value.mean)} ± ${formatFixed(100 * value.std, 2)}` : '–';
  const columns: Column<number>[] = [
    { header: 'Labels', numeric: true, cell: (labels) => formatInteger(labels) },
    ...encoders.flatMap((encoder): Column<number>[] => {
      const entry = (labels: number) => sweep.summary.find((e) => e.labels === labels && e.encoder === encoder);
      return [
        {
          header: `${ENCODER_SHORT_NAMES[encoder]}, corrupted`,
          numeric: true,
          cell: (labels) => spread(entry(labels)?.corrupted),
        },
        {
          header: `${ENCODER_SHORT_NAMES[encoder]}, denoised first`,
          numeric: true,
          cell: (labels) => spread(entry(labels)?.denoised),
        },
      ];
    }),
  ];
  const images = sweep.cells.find((cell) => cell.robustness)?.robustness?.images ?? 0;
  return htmlTable(
    columns,
    sweep.labelCounts,
    `Mean test accuracy over the corruptions on the first ${formatInteger(images)} test images, mean ± standard deviation over ${sweep.seeds.length} seeds`,
  );
}
