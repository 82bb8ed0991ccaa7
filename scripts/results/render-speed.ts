// Regions about time: the bench (results/bench.json) against the PyTorch peer and per kernel, where a study's time
// goes, how long the grids took, and how well the time-left estimates held.
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

const peerName = (file: BenchFile) => ('name' in file.bench.peer ? file.bench.peer.name : undefined);

/** Ours and the peer, round by round, and the median of the rounds' ratios. */
const benchTable: Renderer = ({ bench: file }) => {
  if (!file) return notMeasured('bench.json');
  const { bench } = file;
  const peer = peerName(file);
  type Row = { step: string; model: BenchFile['bench']['autoencoder'] };
  const rows: Row[] = [
    { step: 'autoencoder', model: bench.autoencoder },
    { step: 'classifier, whole network', model: bench.classifier },
  ];
  const columns: Column<Row>[] = [
    { header: 'training step (images/s)', cell: (row) => row.step },
    { header: 'ours, round by round', numeric: true, cell: (row) => row.model.imagesPerSecond.map(rate).join(' / ') },
    { header: 'ours, median', numeric: true, cell: (row) => rate(median(row.model.imagesPerSecond)) },
  ];
  if (peer !== undefined) {
    columns.push(
      {
        header: `${peer}, round by round`,
        numeric: true,
        cell: (row) =>
          row.model.peerImagesPerSecond
            .map((value, index) => `${rate(value)} (${row.model.peerMemoryFormat[index] ?? ''})`)
            .join(' / '),
      },
      {
        header: 'ratio ours / peer, median of the rounds',
        numeric: true,
        cell: (row) => (row.model.medianRatio === null ? '–' : formatFixed(row.model.medianRatio, 2)),
        strong: () => true,
      },
    );
  }
  const setup =
    `${bench.rounds} rounds of ${bench.seconds} s a side, batches of ${bench.batch}, ${bench.threads} threads` +
    (peer === undefined
      ? `; the peer was not measured (${'unavailable' in bench.peer ? (bench.peer.unavailable ?? '') : ''}).`
      : `; the peer is ${peer} with ${'blas' in bench.peer ? (bench.peer.blas ?? 'its default') : 'its default'} BLAS, at the faster of its memory formats each round (in brackets).`);
  return `${markdownTable(columns, rows)}\n\n${setup}`;
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

/** Per-kernel GFLOP/s at the model's shapes, native and wasm. */
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
  'bench-table': benchTable,
  'bench-others': benchOthers,
  'bench-kernels': benchKernels,
  'study-stages': studyStages,
  'grid-times': gridTimes,
  'estimate-checks': estimateChecks,
};
