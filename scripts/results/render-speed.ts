// Regions about time: the bench (results/bench.json) against the machine's peak and the peers, and per kernel; where
// a study's time goes, how long the grids took, and how well the time-left estimates held.
import type { EstimateCheck } from '../../src/cli/estimate-log.js';
import { formatFixed, formatInteger } from '../../src/report/format.js';
import type { Column } from '../../src/report/format.js';
import type { BenchFile } from './data.js';
import { duration, gibibytes, markdownTable, notMeasured } from './markdown.js';
import type { Renderer } from './render-common.js';

const rate = (value: number) => formatInteger(value);
const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
};

type BenchModel = BenchFile['bench']['autoencoder'];
/** A peer's rounds on one model; GFLOP/s and share of the peak only from runs that measured the peak. */
interface PeerEntry {
  key: string;
  name: string;
  imagesPerSecond: number[];
  fasterWay: string[];
  medianImagesPerSecond: number;
  gflops?: number;
  shareOfPeak?: number | null;
  medianRatio: number | null;
}

/**
 * The peers measured on one model. A bench run from before there were two peers has only the PyTorch peer, in the
 * model's own peer fields.
 */
function peersOf(file: BenchFile, model: BenchModel): PeerEntry[] {
  if (model.peers) return Object.entries(model.peers).map(([key, entry]) => ({ key, ...entry }));
  const { peer } = file.bench;
  if (!('name' in peer) || model.peerImagesPerSecond.length === 0) return [];
  return [
    {
      key: 'torch',
      name: peer.name,
      imagesPerSecond: model.peerImagesPerSecond,
      fasterWay: model.peerMemoryFormat,
      medianImagesPerSecond: median(model.peerImagesPerSecond),
      medianRatio: model.medianRatio,
    },
  ];
}

/** The peer with the higher median images/s: as the bench named it, or for older runs, the only one. */
function strongerOf(file: BenchFile, model: BenchModel): string | undefined {
  if (model.stronger !== undefined) return model.stronger?.peer;
  return peersOf(file, model)
    .map((entry) => ({ key: entry.key, rate: median(entry.imagesPerSecond) }))
    .sort((a, b) => b.rate - a.rate)[0]?.key;
}

const percent = (share: number | null | undefined) =>
  share === null || share === undefined ? '–' : `${formatFixed(100 * share, 0)}%`;

/** Ours and each peer, round by round, with GFLOP/s and share of the peak, and the median of the rounds' ratios. */
const benchTable: Renderer = ({ bench: file }) => {
  if (!file) return notMeasured('bench.json');
  const { bench } = file;
  type Row = {
    step: string;
    who: string;
    rounds: string;
    median: number;
    gflops?: number | undefined;
    share?: number | null | undefined;
    ratio?: number | null;
    stronger: boolean;
  };
  const rows: Row[] = [];
  for (const [step, model] of [
    ['autoencoder', bench.autoencoder],
    ['classifier, whole network', bench.classifier],
  ] as const) {
    rows.push({
      step,
      who: 'ours',
      rounds: model.imagesPerSecond.map(rate).join(' / '),
      median: median(model.imagesPerSecond),
      gflops: model.gflops,
      share: model.shareOfPeak,
      stronger: false,
    });
    const stronger = strongerOf(file, model);
    const peers = peersOf(file, model);
    for (const entry of peers) {
      const isStronger = entry.key === stronger;
      rows.push({
        step,
        who: isStronger && peers.length > 1 ? `${entry.name}, the stronger peer` : entry.name,
        rounds: entry.imagesPerSecond
          .map((value, index) => `${rate(value)} (${entry.fasterWay[index] ?? ''})`)
          .join(' / '),
        median: entry.medianImagesPerSecond,
        gflops: entry.gflops,
        share: entry.shareOfPeak,
        ratio: entry.medianRatio,
        stronger: isStronger,
      });
    }
  }
  const columns: Column<Row>[] = [
    { header: 'training step', cell: (row) => row.step },
    { header: 'who', cell: (row) => row.who },
    { header: 'images/s, round by round', numeric: true, cell: (row) => row.rounds },
    { header: 'images/s, median', numeric: true, cell: (row) => rate(row.median) },
  ];
  // Runs from before the peak was measured have no FLOP count: their table has no such columns.
  if (rows.some((row) => row.gflops !== undefined)) {
    columns.push(
      {
        header: 'GFLOP/s',
        numeric: true,
        cell: (row) => (row.gflops === undefined ? '–' : formatFixed(row.gflops, 1)),
      },
      { header: '% of peak', numeric: true, cell: (row) => percent(row.share) },
    );
  }
  if (rows.some((row) => row.ratio !== undefined)) {
    columns.push({
      header: 'ours / this, median of the rounds',
      numeric: true,
      cell: (row) => (row.ratio === undefined ? '' : row.ratio === null ? '–' : formatFixed(row.ratio, 2)),
      strong: (row) => row.stronger,
    });
  }
  const unmeasured = Object.entries(bench.peers ?? { torch: bench.peer }).flatMap(([key, peer]) =>
    'unavailable' in peer ? [`the ${key} peer was not measured (${peer.unavailable ?? 'no reason given'})`] : [],
  );
  if (!bench.peers) unmeasured.push('the keras peer was not measured (this bench run predates it)');
  const setup =
    `${bench.rounds} round${bench.rounds === 1 ? '' : 's'} of ${bench.seconds} s a side, batches of ${bench.batch}, ${bench.threads} threads; ` +
    'each peer at the faster of its two ways to run, round by round (in brackets: the memory format for PyTorch, XLA ' +
    'compilation on or off for Keras); in bold, the ratio against the stronger peer (the higher median images/s)' +
    (unmeasured.length > 0 ? `; ${unmeasured.join('; ')}.` : '.');
  return `${markdownTable(columns, rows)}\n\n${setup}`;
};

/** The measured peak the shares are of, and the FLOP count behind the steps' GFLOP/s. */
const benchPeak: Renderer = ({ bench: file }) => {
  if (!file) return notMeasured('bench.json');
  const { peak, autoencoder, classifier } = file.bench;
  if (!peak) return '*Not measured: this bench run predates the peak measurement; `npm run bench` measures it.*';
  if ('unavailable' in peak) return `*Not measured: ${peak.unavailable}.*`;
  const build = { avx512: 'AVX-512', avx2: 'AVX2', avx: 'AVX' }[peak.target] ?? peak.target;
  const work =
    autoencoder.megaflopsPerImage === undefined || classifier.megaflopsPerImage === undefined
      ? ''
      : ` A training step is ${formatFixed(autoencoder.megaflopsPerImage, 1)} MFLOP per autoencoder image and ` +
        `${formatFixed(classifier.megaflopsPerImage, 1)} MFLOP per classifier image.`;
  return (
    `**Peak: ${formatFixed(peak.gflops, 1)} GFLOP/s** on ${peak.threads} threads (${formatFixed(peak.oneThreadGflops, 1)} ` +
    `GFLOP/s on one), ${build} build, ${peak.lanes} lanes per vector.${work}`
  );
};

/** The other ways to run: the classifier side by side in worker threads, the wasm and cpu backends. */
const benchOthers: Renderer = ({ bench: file }) => {
  if (!file) return notMeasured('bench.json');
  const { bench } = file;
  const one = median(bench.classifier.imagesPerSecond);
  type Row = { what: string; value: string };
  const rows: Row[] = [
    { what: `classifier, one run on ${bench.threads} threads (the median above)`, value: rate(one) },
    {
      what: `classifier, ${bench.classifier.runs} runs side by side on one thread each, together`,
      value: `${rate(bench.classifier.sideBySideImagesPerSecond)} (${formatFixed(bench.classifier.sideBySideImagesPerSecond / one, 2)}×)`,
    },
    {
      what: 'autoencoder on `wasm` (tfjs WebAssembly SIMD, with our backward kernels)',
      value: formatFixed(bench.wasmImagesPerSecond, 1),
    },
  ];
  if (bench.cpuImagesPerSecond !== null) {
    rows.push({
      what: 'autoencoder on `cpu` (tfjs plain JavaScript)',
      value: formatFixed(bench.cpuImagesPerSecond, 2),
    });
  }
  return markdownTable(
    [
      { header: 'measured', cell: (row) => row.what },
      { header: 'images/s', numeric: true, cell: (row) => row.value },
    ],
    rows,
  );
};

type Kernel = NonNullable<BenchFile['bench']['kernels']>[number];

/** Per-kernel GFLOP/s at the model's shapes, native (and its share of the peak) and wasm. */
const benchKernels: Renderer = ({ bench: file }) => {
  if (!file) return notMeasured('bench.json');
  const kernels = file.bench.kernels;
  if (!kernels || kernels.length === 0) return '*This bench run did not record its kernel table.*';
  const split = (name: string) => {
    const [kernel = '', ...rest] = name.split(' ');
    return { kernel, where: rest.join(' ') };
  };
  return markdownTable(
    [
      { header: 'tfjs kernel', cell: (entry) => `\`${split(entry.name).kernel}\`` },
      { header: 'where in the model', cell: (entry) => split(entry.name).where },
      { header: 'MFLOP', numeric: true, cell: (entry) => formatFixed(entry.megaflops, 1) },
      { header: 'native GFLOP/s', numeric: true, cell: (entry) => formatFixed(entry.nativeGflops, 1) },
      // Runs from before the peak was measured have no share: their table has no such column.
      ...(kernels.some((entry) => entry.nativeShareOfPeak != null)
        ? [{ header: 'native, % of peak', numeric: true, cell: (entry: Kernel) => percent(entry.nativeShareOfPeak) }]
        : []),
      { header: 'wasm GFLOP/s', numeric: true, cell: (entry) => formatFixed(entry.wasmGflops, 1) },
    ],
    kernels,
  );
};

/** Where each study's time went, stage by stage, with its total and peak memory. */
const studyStages: Renderer = ({ studies }) => {
  const first = studies[0];
  if (!first) return notMeasured('study-seed1.json');
  const seconds = (stage: string) => (study: (typeof studies)[number]) => {
    const found = study.stages.find((entry) => entry.stage === stage);
    return found ? duration(found.seconds) : '–';
  };
  type Row = { name: string; cell: (study: (typeof studies)[number]) => string };
  const rows: Row[] = [
    ...first.stages.map((entry) => ({ name: entry.stage, cell: seconds(entry.stage) })),
    { name: 'the whole study', cell: (study) => `**${duration(study.runSeconds)}**` },
    { name: 'peak resident memory', cell: (study) => gibibytes(study.peakRssMiB) },
  ];
  return markdownTable(
    [
      { header: 'stage', cell: (row: Row) => row.name },
      ...studies.map((study) => ({ header: `seed ${study.seed}`, numeric: true, cell: (row: Row) => row.cell(study) })),
    ],
    rows,
  );
};

/** The grids' wall times. */
const gridTimes: Renderer = ({ sweep, ablation }) => {
  type Row = { command: string; work: string; seconds: number };
  const rows: Row[] = [
    ...(sweep
      ? [
          {
            command: `\`${sweep.provenance.command}\``,
            work: `${sweep.sweep.cells.length} cells`,
            seconds: sweep.runSeconds,
          },
        ]
      : []),
    ...(ablation
      ? [
          {
            command: `\`${ablation.provenance.command}\``,
            work: `${ablation.ablation.pretrainings.length} pretrainings, ${ablation.ablation.cells.length} cells`,
            seconds: ablation.runSeconds,
          },
        ]
      : []),
  ];
  if (rows.length === 0) return notMeasured('sweep.json');
  return markdownTable(
    [
      { header: 'command', cell: (row: Row) => row.command },
      { header: 'work', cell: (row: Row) => row.work },
      { header: 'wall time', numeric: true, cell: (row: Row) => duration(row.seconds) },
    ],
    rows,
  );
};

/** Each command's time-left estimates at 10, 25, 50 and 75% of its time, against the time that was left. */
const estimateChecks: Renderer = (data) => {
  type Row = { command: string; seconds: number; checks: EstimateCheck[] };
  const rows: Row[] = [
    ...data.studies.map((study) => ({
      command: `study, seed ${study.seed}`,
      seconds: study.runSeconds,
      checks: study.timeEstimates,
    })),
    ...(data.sweep ? [{ command: 'sweep', seconds: data.sweep.runSeconds, checks: data.sweep.timeEstimates }] : []),
    ...(data.ablation
      ? [{ command: 'ablation', seconds: data.ablation.runSeconds, checks: data.ablation.timeEstimates }]
      : []),
  ];
  if (rows.length === 0) return notMeasured('study-seed1.json');
  const fractions = [0.1, 0.25, 0.5, 0.75];
  const error = (row: Row, fraction: number) => {
    const check = row.checks.find((entry) => entry.fraction === fraction);
    return check ? `${check.error >= 0 ? '+' : '−'}${formatFixed(Math.abs(100 * check.error), 1)}%` : '–';
  };
  return markdownTable(
    [
      { header: 'command', cell: (row: Row) => row.command },
      { header: 'wall time', numeric: true, cell: (row: Row) => duration(row.seconds) },
      ...fractions.map((fraction) => ({
        header: `at ${100 * fraction}%`,
        numeric: true,
        cell: (row: Row) => error(row, fraction),
      })),
    ],
    rows,
  );
};

/** Inline, for the README's table of commands: how long each measured command took. */
const studyTime: Renderer = ({ studies }) =>
  studies.length === 0
    ? '–'
    : `${duration(studies.reduce((sum, study) => sum + study.runSeconds, 0) / studies.length)} (mean of ${studies.length} seeds)`;
const sweepTime: Renderer = ({ sweep }) =>
  sweep ? `${duration(sweep.runSeconds)} (${sweep.sweep.cells.length} cells)` : '–';
const ablationTime: Renderer = ({ ablation }) =>
  ablation ? `${duration(ablation.runSeconds)} (${ablation.ablation.cells.length} cells)` : '–';

export const speedRegions: Record<string, Renderer> = {
  'study-time': studyTime,
  'sweep-time': sweepTime,
  'ablation-time': ablationTime,
  'bench-peak': benchPeak,
  'bench-table': benchTable,
  'bench-others': benchOthers,
  'bench-kernels': benchKernels,
  'study-stages': studyStages,
  'grid-times': gridTimes,
  'estimate-checks': estimateChecks,
};
