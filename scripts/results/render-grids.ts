// Regions from the grids: the label sweep (results/sweep.json) and the pretraining ablation (results/ablation.json),
// and the slot for the semi-supervised variant's results.
import type { AblationSummaryEntry, EncoderMode, MeanAndSpread } from '../../src/io/metrics.js';
import { ablationConclusion, ablationIntroduction } from '../../src/report/ablation.js';
import { sweepSentence } from '../../src/report/conclusion.js';
import {
  ENCODER_NAMES,
  ENCODER_ORDER,
  ENCODER_SHORT_NAMES,
  formatFixed,
  formatInteger,
} from '../../src/report/format.js';
import { publishedResults, unlabelledSentence } from '../../src/report/unlabelled.js';
import type { Column } from '../../src/report/format.js';
import { duration, markdownTable, notMeasured, percentSpread, signedPoints } from './markdown.js';
import type { Renderer } from './render-common.js';

const orNothing = (value: MeanAndSpread | undefined, format: (value: MeanAndSpread) => string) =>
  value ? format(value) : '–';

/** Test accuracy per label count and variant, mean ± sd over seeds, and the paired gain; best per row bold. */
const sweepTable: Renderer = ({ sweep: file }) => {
  if (!file) return notMeasured('sweep.json');
  const { sweep } = file;
  const encoders = ENCODER_ORDER.filter((encoder) => sweep.summary.some((entry) => entry.encoder === encoder));
  const entry = (labels: number, encoder: EncoderMode) =>
    sweep.summary.find((candidate) => candidate.labels === labels && candidate.encoder === encoder);
  const best = (labels: number) => Math.max(...encoders.map((encoder) => entry(labels, encoder)?.accuracy.mean ?? -1));
  const columns: Column<number>[] = [
    { header: 'labels', numeric: true, cell: (labels) => formatInteger(labels) },
    ...encoders.map((encoder): Column<number> => ({
      header: ENCODER_SHORT_NAMES[encoder],
      numeric: true,
      cell: (labels) => orNothing(entry(labels, encoder)?.accuracy, percentSpread),
      strong: (labels) => entry(labels, encoder)?.accuracy.mean === best(labels),
    })),
    {
      header: 'gain, fine-tuned − scratch (points)',
      numeric: true,
      cell: (labels) =>
        orNothing(
          sweep.gain.find((gain) => gain.labels === labels),
          signedPoints,
        ),
    },
  ];
  return (
    `${markdownTable(columns, sweep.labelCounts)}\n\nTest accuracy %, mean ± standard deviation over ${sweep.seeds.length} seeds; ` +
    'the gain is paired by seed; the best variant of each row in bold.'
  );
};

const sweepWords: Renderer = ({ sweep }) => (sweep ? sweepSentence({ sweep: sweep.sweep }) : notMeasured('sweep.json'));

/** How the sweep was run: on which study, its grid, and its validation. */
const sweepSetup: Renderer = ({ sweep: file }) => {
  if (!file) return notMeasured('sweep.json');
  const { sweep } = file;
  return (
    `The sweep ran on the seed-${file.study.seed} study's pretrained autoencoder: ${sweep.labelCounts.map(formatInteger).join(', ')} ` +
    `labels, ${sweep.seeds.length} seeds each (seeds ${sweep.seeds.join(', ')}: each draws its own label subset and initialisation), ` +
    `${sweep.cells.length} cells in ${duration(file.runSeconds)}. The subsets are nested and stratified, and every variant sees the same ` +
    `labels; ${sweep.validationPolicy}.`
  );
};

/** The sweep under corruption: mean accuracy over the corruptions, directly and denoised first. */
const sweepRobustness: Renderer = ({ sweep: file }) => {
  if (!file) return notMeasured('sweep.json');
  const { sweep } = file;
  if (!sweep.summary.some((entry) => entry.corrupted !== undefined)) return '*The sweep measured no robustness.*';
  const encoders = ENCODER_ORDER.filter((encoder) => sweep.summary.some((entry) => entry.encoder === encoder));
  const entry = (labels: number, encoder: EncoderMode) =>
    sweep.summary.find((candidate) => candidate.labels === labels && candidate.encoder === encoder);
  return markdownTable(
    [
      { header: 'labels', numeric: true, cell: (labels: number) => formatInteger(labels) },
      ...encoders.flatMap((encoder): Column<number>[] => [
        {
          header: `${ENCODER_SHORT_NAMES[encoder]}, corrupted`,
          numeric: true,
          cell: (labels) => orNothing(entry(labels, encoder)?.corrupted, percentSpread),
        },
        {
          header: 'denoised first',
          numeric: true,
          cell: (labels) => orNothing(entry(labels, encoder)?.denoised, percentSpread),
        },
      ]),
    ],
    sweep.labelCounts,
  );
};

const ablationSetup: Renderer = ({ ablation: file }) => {
  if (!file) return notMeasured('ablation.json');
  return (
    `${ablationIntroduction(file.ablation)} The ablation ran on the seed-${file.study.seed} study's folder: ` +
    `${file.ablation.pretrainings.length} pretrainings and ${file.ablation.cells.length} cells in ${duration(file.runSeconds)}.`
  );
};

/** Each autoencoder of the ablation: its validation MSE under three inputs, and its pretraining time. */
const ablationAutoencoders: Renderer = ({ ablation: file }) => {
  if (!file) return notMeasured('ablation.json');
  return markdownTable(
    [
      { header: 'pretraining', cell: (entry) => entry.title },
      { header: 'val. MSE, own corruption', numeric: true, cell: (entry) => formatFixed(entry.validationLoss, 5) },
      { header: 'clean input', numeric: true, cell: (entry) => formatFixed(entry.cleanValidationMse, 5) },
      {
        header: '20% salt & pepper input',
        numeric: true,
        cell: (entry) => formatFixed(entry.referenceValidationMse, 5),
      },
      { header: 'pretraining time', numeric: true, cell: (entry) => duration(entry.trainSeconds) },
    ],
    file.ablation.pretrainings,
  );
};

/** One variant's table: a row per pretraining and one for scratch; accuracy, against plain and against scratch. */
const ablationVariant =
  (encoder: 'finetuned' | 'frozen'): Renderer =>
  ({ ablation: file }) => {
    if (!file) return notMeasured('ablation.json');
    const { ablation } = file;
    type Row = { pretraining: string; title: string };
    const rows: Row[] = [
      ...ablation.pretrainings.map((entry) => ({ pretraining: entry.name, title: entry.title })),
      { pretraining: 'scratch', title: 'none: from scratch' },
    ];
    const entry = (row: Row, labels: number): AblationSummaryEntry | undefined =>
      ablation.summary.find(
        (candidate) =>
          candidate.pretraining === row.pretraining &&
          candidate.encoder === (row.pretraining === 'scratch' ? 'scratch' : encoder) &&
          candidate.labels === labels,
      );
    const best = (labels: number) => Math.max(...rows.map((row) => entry(row, labels)?.accuracy.mean ?? -1));
    const largest = ablation.labelCounts.at(-1) ?? 0;
    const columns: Column<Row>[] = [
      { header: 'pretraining', cell: (row) => row.title },
      ...ablation.labelCounts.flatMap((labels): Column<Row>[] => [
        {
          header: `${formatInteger(labels)} labels`,
          numeric: true,
          cell: (row) => orNothing(entry(row, labels)?.accuracy, percentSpread),
          strong: (row) => entry(row, labels)?.accuracy.mean === best(labels),
        },
        { header: 'vs plain', numeric: true, cell: (row) => orNothing(entry(row, labels)?.versusPlain, signedPoints) },
        {
          header: 'vs scratch',
          numeric: true,
          cell: (row) => orNothing(entry(row, labels)?.versusScratch, signedPoints),
        },
      ]),
      {
        header: `corrupted, ${formatInteger(largest)} labels`,
        numeric: true,
        cell: (row) => orNothing(entry(row, largest)?.corrupted, percentSpread),
      },
    ];
    return markdownTable(columns, rows);
  };

const ablationWords: Renderer = ({ ablation }) =>
  ablation ? ablationConclusion({ ablation: ablation.ablation }) : notMeasured('ablation.json');

/**
 * The semi-supervised variants, from the sweep's cells: how much of the gap to all labels each use of the unlabelled
 * images closes, and the sweep at 100 labels beside the published results.
 */
const fixmatch: Renderer = ({ sweep: file }) => {
  if (!file) return notMeasured('sweep.json');
  const sentence = unlabelledSentence({ sweep: file.sweep });
  if (sentence === '') return '*The sweep trained no FixMatch cells.*';
  const ours = file.sweep.summary
    .filter((entry) => entry.labels === 100)
    .map((entry) => ({
      method: `this study: ${ENCODER_NAMES[entry.encoder]}`,
      accuracy: `${percentSpread(entry.accuracy)} (${entry.seeds} seeds)`,
      source: 'measured here',
    }));
  const published = publishedResults.map((row) => ({
    method: row.method,
    accuracy: row.accuracy,
    source: `[${row.reference}](${row.url})`,
  }));
  const table = markdownTable(
    [
      { header: 'method, 100 labels', cell: (row: (typeof ours)[number]) => row.method },
      { header: 'test accuracy', numeric: true, cell: (row) => row.accuracy },
      { header: 'source', cell: (row) => row.source },
    ],
    [...ours, ...published],
  );
  return `${sentence}\n\n${table}`;
};

export const gridRegions: Record<string, Renderer> = {
  'sweep-table': sweepTable,
  'sweep-sentence': sweepWords,
  'sweep-setup': sweepSetup,
  'sweep-robustness': sweepRobustness,
  'ablation-setup': ablationSetup,
  'ablation-autoencoders': ablationAutoencoders,
  'ablation-finetuned': ablationVariant('finetuned'),
  'ablation-frozen': ablationVariant('frozen'),
  'ablation-conclusion': ablationWords,
  fixmatch,
};
