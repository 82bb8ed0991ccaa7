// Regions from the studies (results/study-seed<N>.json): the answer, the accuracy table over seeds, the denoising,
// the robustness, the code map's caption, and how long a study takes.
import { meanAndSpread } from '../../src/io/metrics.js';
import { describeNoise, shortNoiseName } from '../../src/data/noise.js';
import type { EncoderMode, ReconstructionScores, Robustness } from '../../src/io/metrics.js';
import { sweepSentence } from '../../src/report/conclusion.js';
import { robustnessColumns, robustnessSentence } from '../../src/report/robustness.js';
import {
  ENCODER_NAMES,
  ENCODER_ORDER,
  ENCODER_SHORT_NAMES,
  formatFixed,
  formatFraction,
  formatInteger,
  formatPercent,
} from '../../src/report/format.js';
import type { Column } from '../../src/report/format.js';
import type { ResultsData, StudyClassifier, StudyFile } from './data.js';
import { duration, gibibytes, markdownTable, notMeasured, percentSpread, roughDuration } from './markdown.js';
import type { Renderer } from './render-common.js';

/** One classifier (encoder and label fraction) over the studies' seeds. */
interface Group {
  encoder: EncoderMode;
  labelFraction: number;
  labels: number;
  runs: StudyClassifier[];
}

/** The studies' classifiers grouped over seeds: smallest label fraction first, then the report's encoder order. */
function groups(studies: readonly StudyFile[]): Group[] {
  const found: Group[] = [];
  for (const run of studies.flatMap((study) => study.classifiers)) {
    const group = found.find((entry) => entry.encoder === run.encoder && entry.labelFraction === run.labelFraction);
    if (group) group.runs.push(run);
    else found.push({ encoder: run.encoder, labelFraction: run.labelFraction, labels: run.labels, runs: [run] });
  }
  return found.sort(
    (a, b) => a.labelFraction - b.labelFraction || ENCODER_ORDER.indexOf(a.encoder) - ENCODER_ORDER.indexOf(b.encoder),
  );
}

const accuracyOf = (group: Group) => meanAndSpread(group.runs.map((run) => run.test.accuracy));
const fractionsOf = (all: Group[]) => [...new Set(all.map((group) => group.labelFraction))];
const seedsOf = (studies: readonly StudyFile[]) => studies.map((study) => study.seed).join(', ');
const overSeeds = (studies: readonly StudyFile[]) =>
  `mean ± standard deviation over seed${studies.length === 1 ? '' : 's'} ${seedsOf(studies)}`;

/** The README's answer: the study's comparison at the small label fraction, then the sweep's verdict. */
const answer: Renderer = (data) => {
  const all = groups(data.studies);
  const [low, high] = [Math.min(...fractionsOf(all)), Math.max(...fractionsOf(all))];
  const find = (encoder: EncoderMode, fraction: number) =>
    all.find((group) => group.encoder === encoder && group.labelFraction === fraction);
  const fineTuned = find('finetuned', low);
  const scratch = find('scratch', low);
  const best = all
    .filter((group) => group.labelFraction === high)
    .sort((a, b) => accuracyOf(b).mean - accuracyOf(a).mean)[0];
  if (!fineTuned || !scratch || !best || low === high) return notMeasured('study-seed1.json');
  const study =
    `With ${formatFraction(low)} of the labels (${formatInteger(fineTuned.labels)} images), fine-tuning the pretrained encoder gives ` +
    `${percentSpread(accuracyOf(fineTuned))}% test accuracy, against ${percentSpread(accuracyOf(scratch))}% for the same network ` +
    `trained from scratch on those labels and ${percentSpread(accuracyOf(best))}% for the best classifier on all ` +
    `${formatInteger(best.labels)} (${ENCODER_NAMES[best.encoder]}); ${overSeeds(data.studies)}.`;
  const semi = (['fixmatch-scratch', 'fixmatch-finetuned'] as const).flatMap((encoder) => {
    const group = find(encoder, low);
    return group
      ? [
          `${percentSpread(accuracyOf(group))}% ${encoder === 'fixmatch-scratch' ? 'from scratch' : 'from the pretrained encoder'}`,
        ]
      : [];
  });
  const semiSentence =
    semi.length > 0
      ? `Using the unlabelled images while the classifier trains as well (FixMatch), the same labels give ${semi.join(' and ')}.`
      : '';
  const sweep = data.sweep ? sweepSentence({ sweep: data.sweep.sweep }) : '';
  return [study, semiSentence, sweep].filter((text) => text !== '').join(' ');
};

/** The README's table: test accuracy per encoder and label fraction, mean ± sd over the seeds; best per column bold. */
const studyTable: Renderer = (data) => {
  const all = groups(data.studies);
  if (all.length === 0) return notMeasured('study-seed1.json');
  const encoders = ENCODER_ORDER.filter((encoder) => all.some((group) => group.encoder === encoder));
  const cell = (encoder: EncoderMode, fraction: number) =>
    all.find((group) => group.encoder === encoder && group.labelFraction === fraction);
  const columns: Column<EncoderMode>[] = [
    { header: 'encoder', cell: (encoder) => ENCODER_NAMES[encoder] },
    ...fractionsOf(all).map((fraction): Column<EncoderMode> => {
      // The semi-supervised variants have no runs on all the labels: nothing is left unlabelled.
      const best = Math.max(
        ...encoders.flatMap((encoder) => {
          const group = cell(encoder, fraction);
          return group ? [accuracyOf(group).mean] : [];
        }),
      );
      const labels = all.find((group) => group.labelFraction === fraction)!.labels;
      return {
        header: `${formatFraction(fraction)} of the labels (${formatInteger(labels)})`,
        numeric: true,
        cell: (encoder) => {
          const group = cell(encoder, fraction);
          return group ? `${percentSpread(accuracyOf(group))}%` : '–';
        },
        strong: (encoder) => {
          const group = cell(encoder, fraction);
          return group !== undefined && accuracyOf(group).mean === best;
        },
      };
    }),
  ];
  return `${markdownTable(columns, encoders)}\n\nTest accuracy on the ${formatInteger(data.studies[0]!.dataset.test)} test images, ${overSeeds(data.studies)}.`;
};

/** Inline: how long a study took and its peak memory. */
const studyRun: Renderer = (data) => {
  if (data.studies.length === 0) return 'a few minutes (not measured yet)';
  const seconds = data.studies.map((study) => study.runSeconds);
  const mean = seconds.reduce((sum, value) => sum + value, 0) / seconds.length;
  const { machine } = data.studies[0]!.provenance;
  const spread =
    seconds.length === 1
      ? `${duration(seconds[0]!)}, seed ${seedsOf(data.studies)}`
      : `${duration(Math.min(...seconds))} to ${duration(Math.max(...seconds))} over seeds ${seedsOf(data.studies)}`;
  return (
    `${roughDuration(mean)} on a ${machine.cores}-core ${machine.cpu} (${spread}; peak memory ` +
    `${gibibytes(Math.max(...data.studies.map((study) => study.peakRssMiB)))})`
  );
};

/** Inline: how long `npm ci` took on a clean clone. */
const installTime: Renderer = (data) =>
  data.install
    ? `${roughDuration(data.install.seconds)} (${duration(data.install.seconds)})`
    : 'a while (it is not measured yet)';

/** Inline: the denoised PSNR at the training corruption. */
const denoisedPsnr: Renderer = (data) => {
  if (data.studies.length === 0) return '(not measured yet)';
  const psnr = (pick: (study: StudyFile) => number) => meanAndSpread(data.studies.map(pick));
  const noisy = psnr((study) => study.autoencoder.test.noisy.psnr);
  const denoised = psnr((study) => study.autoencoder.test.denoised.psnr);
  return (
    `from ${formatFixed(noisy.mean, 2)} dB to ${formatFixed(denoised.mean, 2)} ± ${formatFixed(denoised.std, 2)} dB ` +
    `(${describeNoise(data.studies[0]!.autoencoder.noise)}; ${overSeeds(data.studies)})`
  );
};

/** Every seed's study in one row each. */
const studySeeds: Renderer = (data) => {
  const all = groups(data.studies);
  if (all.length === 0) return notMeasured('study-seed1.json');
  const columns: Column<StudyFile>[] = [
    { header: 'seed', numeric: true, cell: (study) => String(study.seed) },
    {
      header: 'denoised PSNR (dB)',
      numeric: true,
      cell: (study) => formatFixed(study.autoencoder.test.denoised.psnr, 2),
    },
    ...all.map((group): Column<StudyFile> => ({
      header: `${ENCODER_SHORT_NAMES[group.encoder]} ${formatFraction(group.labelFraction)}`,
      numeric: true,
      cell: (study) => {
        const run = study.classifiers.find(
          (entry) => entry.encoder === group.encoder && entry.labelFraction === group.labelFraction,
        );
        return run ? formatPercent(run.test.accuracy) : '–';
      },
    })),
    { header: 'run time', numeric: true, cell: (study) => duration(study.runSeconds) },
    { header: 'peak memory', numeric: true, cell: (study) => gibibytes(study.peakRssMiB) },
  ];
  return markdownTable(columns, data.studies);
};

const spreadOf = (values: number[], digits: number) => {
  const value = meanAndSpread(values);
  return `${formatFixed(value.mean, digits)} ± ${formatFixed(value.std, digits)}`;
};

/** Noisy input, denoised output and the output for clean input against the clean test images, over the seeds. */
const denoising: Renderer = (data) => {
  if (data.studies.length === 0) return notMeasured('study-seed1.json');
  type Row = { name: string; pick: (study: StudyFile) => ReconstructionScores };
  const rows: Row[] = [
    { name: 'noisy input', pick: (study) => study.autoencoder.test.noisy },
    { name: 'denoised output', pick: (study) => study.autoencoder.test.denoised },
    { name: 'output for clean input', pick: (study) => study.autoencoder.test.clean },
  ];
  const score = (key: keyof ReconstructionScores, digits: number) => (row: Row) =>
    spreadOf(
      data.studies.map((study) => row.pick(study)[key]),
      digits,
    );
  return markdownTable(
    [
      { header: 'images against the clean originals', cell: (row) => row.name },
      { header: 'MSE', numeric: true, cell: score('mse', 4) },
      { header: 'PSNR (dB)', numeric: true, cell: score('psnr', 2) },
      { header: 'SSIM', numeric: true, cell: score('ssim', 3) },
    ],
    rows,
  );
};

/** PSNR and SSIM before and after denoising under every corruption of the check, mean over the seeds. */
const noiseLevels: Renderer = (data) => {
  const first = data.studies[0];
  if (!first) return notMeasured('study-seed1.json');
  const rows = [
    { noise: first.autoencoder.noise, training: true },
    ...first.autoencoder.noiseLevels.map((level) => ({ noise: level.noise, training: false })),
  ];
  const scores = (study: StudyFile, index: number) =>
    index === 0 ? study.autoencoder.test : study.autoencoder.noiseLevels[index - 1]!;
  const mean = (
    index: number,
    pick: (scores: { noisy: ReconstructionScores; denoised: ReconstructionScores }) => number,
  ) => meanAndSpread(data.studies.map((study) => pick(scores(study, index)))).mean;
  return markdownTable(
    [
      { header: 'corruption', cell: ({ row }) => `${shortNoiseName(row.noise)}${row.training ? ' (training)' : ''}` },
      ...(
        [
          ['PSNR noisy (dB)', (s) => s.noisy.psnr, 2],
          ['PSNR denoised (dB)', (s) => s.denoised.psnr, 2],
          ['SSIM noisy', (s) => s.noisy.ssim, 3],
          ['SSIM denoised', (s) => s.denoised.ssim, 3],
        ] as const satisfies readonly (readonly [string, Parameters<typeof mean>[1], number])[]
      ).map(([header, pick, digits]) => ({
        header,
        numeric: true,
        cell: ({ index }: { index: number }) => formatFixed(mean(index, pick), digits),
      })),
    ],
    rows.map((row, index) => ({ row, index })),
  );
};

/** Each classifier's robustness averaged over the seeds, as one run's would read. */
function averagedRobustness(
  data: ResultsData,
): { encoder: EncoderMode; labelFraction: number; robustness: Robustness }[] {
  return groups(data.studies).flatMap((group) => {
    const measured = group.runs.flatMap((run) => (run.robustness ? [run.robustness] : []));
    const first = measured[0];
    if (!first || measured.length !== group.runs.length) return [];
    const mean = (pick: (robustness: Robustness) => number | undefined) => {
      const values = measured.map(pick);
      return values.every((value) => value !== undefined)
        ? values.reduce<number>((sum, value) => sum + value, 0) / values.length
        : undefined;
    };
    return [
      {
        encoder: group.encoder,
        labelFraction: group.labelFraction,
        robustness: {
          images: first.images,
          clean: mean((robustness) => robustness.clean)!,
          corruptions: first.corruptions.map((entry, index) => {
            const denoisedAccuracy = mean((robustness) => robustness.corruptions[index]?.denoisedAccuracy);
            return {
              noise: entry.noise,
              accuracy: mean((robustness) => robustness.corruptions[index]?.accuracy)!,
              ...(denoisedAccuracy === undefined ? {} : { denoisedAccuracy }),
            };
          }),
        },
      },
    ];
  });
}

/** Accuracy under each corruption, directly and denoised first, mean over the seeds; best per column bold. */
const robustness: Renderer = (data) => {
  const runs = averagedRobustness(data);
  const first = runs[0]?.robustness;
  const table = robustnessColumns(runs, {
    classifier: 'classifier',
    clean: 'clean',
    mean: `mean of ${first?.corruptions.length ?? 0}`,
  });
  if (!first || !table) return notMeasured('study-seed1.json');
  const { rows, columns } = table;
  return (
    `${markdownTable(columns, rows)}\n\nTest accuracy on the first ${formatInteger(first.images)} test images under each ` +
    `corruption, mean over seeds ${seedsOf(data.studies)}; the best of each column in bold.`
  );
};

const robustnessWords: Renderer = (data) => {
  const runs = averagedRobustness(data);
  return runs.length === 0 ? notMeasured('study-seed1.json') : robustnessSentence({ classifiers: runs });
};

/** The code map's caption: which images, which study, UMAP's settings. */
const codeMapCaption: Renderer = (data) => {
  const map = data.codeMaps[0];
  if (!map) return notMeasured('code-map-seed1.json');
  return (
    `The 32-number codes of the first ${formatInteger(map.labels.length)} test images in the seed-${map.seed} study, projected to two ` +
    `dimensions with ${map.method}: ${map.nNeighbors} neighbours, minimum distance ${map.minDist}, ${map.nEpochs} epochs, seed ` +
    `${map.seed}. Coloured by true class. The autoencoder never saw a label: classes that form islands of their own are ones its ` +
    'codes already separate. The axes have no units.'
  );
};

export const studyRegions: Record<string, Renderer> = {
  answer,
  'study-table': studyTable,
  'study-run': studyRun,
  'install-time': installTime,
  'denoised-psnr': denoisedPsnr,
  'study-seeds': studySeeds,
  denoising,
  'noise-levels': noiseLevels,
  robustness,
  'robustness-sentence': robustnessWords,
  'code-map-caption': codeMapCaption,
};
