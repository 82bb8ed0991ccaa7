// The collectors: each reads what one kind of run left behind (a run folder, the bench's output) and returns the
// small JSON files for results/, with their provenance. Nothing here trains or measures; run them on the machine and
// checkout that made the run, right after it.
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';

import type { ExperimentConfig } from '../../src/config.js';
import type { EstimateRecord } from '../../src/cli/estimate-log.js';
import type { CodeMap } from '../../src/eval/code-map.js';
import type { AblationResult, Metrics, SweepResult } from '../../src/io/metrics.js';
import { metricsFormatVersion } from '../../src/io/metrics.js';
import { resultsFormatVersion, ResultsError } from './data.js';
import type { AnyResultsFile, BenchOutput, CodeMapFile, StudyFile } from './data.js';
import { kernelsOf, provenanceOf } from './provenance.js';

export interface Collected {
  files: AnyResultsFile[];
  warnings: string[];
}

interface RunJson {
  status: string;
  startedAt: string;
  config: ExperimentConfig;
  stages: Record<string, { finishedAt: string }>;
}

async function readJson<T>(path: string, what: string): Promise<T> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch {
    throw new ResultsError(`${path}: not found; ${what}`);
  }
  return JSON.parse(text) as T;
}

/** The run folder's run.json and metrics.json, refused unless the study finished and wrote the current format. */
async function readRun(folder: string) {
  const run = await readJson<RunJson>(join(folder, 'run.json'), 'is this a dae run folder?');
  const metrics = await readJson<Metrics>(join(folder, 'metrics.json'), 'run `dae report` on the folder first');
  if (run.status !== 'complete' || run.stages.evaluate === undefined) {
    throw new ResultsError(
      `${folder}: the study has not finished (run.json); finish it with \`dae experiment --resume\``,
    );
  }
  if (metrics.formatVersion !== metricsFormatVersion) {
    throw new ResultsError(
      `${folder}/metrics.json: format version ${metrics.formatVersion}; write it again with \`dae report ${folder}\``,
    );
  }
  return { run, metrics };
}

const modifiedAt = async (path: string) => (await stat(path)).mtime.toISOString();

/** A study (`dae experiment`): results/study-seed<N>.json and results/code-map-seed<N>.json. */
export async function collectStudy(root: string, folder: string): Promise<Collected> {
  const { run, metrics } = await readRun(folder);
  const memory = await readJson<{ peakRssMiB: number }>(join(folder, 'memory.json'), 'the CLI writes it');
  const estimates = await readJson<EstimateRecord>(join(folder, 'time-estimates.json'), 'the CLI writes it');
  const codeMap = await readJson<CodeMap>(join(folder, 'codemap.json'), 'the evaluate stage writes it');
  const stageEnds = Object.entries(run.stages).sort(
    ([, a], [, b]) => Date.parse(a.finishedAt) - Date.parse(b.finishedAt),
  );
  const { config } = run;
  const { provenance, warnings } = await provenanceOf(root, {
    kernels: kernelsOf(metrics.backend),
    measuredAt: stageEnds.at(-1)?.[1].finishedAt ?? run.startedAt,
    command: `dae experiment --preset ${config.preset} --seed ${config.seed}`,
  });
  const study: StudyFile = {
    formatVersion: resultsFormatVersion,
    kind: 'study',
    provenance,
    seed: config.seed,
    config,
    dataset: metrics.dataset,
    backend: metrics.backend,
    autoencoder: {
      encoderParams: metrics.autoencoder.encoderParams,
      decoderParams: metrics.autoencoder.decoderParams,
      epochs: metrics.autoencoder.epochs,
      trainSeconds: metrics.autoencoder.trainSeconds,
      noise: metrics.autoencoder.noise,
      test: metrics.autoencoder.test,
      noiseLevels: metrics.autoencoder.noiseLevels,
    },
    classifiers: metrics.classifiers.map((result) => ({
      encoder: result.encoder,
      labelFraction: result.labelFraction,
      labels: result.labels,
      epochs: result.epochs,
      trainSeconds: result.trainSeconds,
      validationAccuracy: result.validation.accuracy,
      test: { accuracy: result.test.accuracy, macroF1: result.test.macroF1 },
      ...(result.robustness ? { robustness: result.robustness } : {}),
    })),
    runSeconds: metrics.totalSeconds,
    peakRssMiB: memory.peakRssMiB,
    stages: stageEnds.map(([stage, end], index) => ({
      stage,
      seconds: (Date.parse(end.finishedAt) - Date.parse(stageEnds[index - 1]?.[1].finishedAt ?? run.startedAt)) / 1000,
    })),
    timeEstimates: estimates.checks,
  };
  const map: CodeMapFile = {
    formatVersion: resultsFormatVersion,
    kind: 'code-map',
    provenance,
    seed: config.seed,
    method: codeMap.method,
    nNeighbors: codeMap.nNeighbors,
    minDist: codeMap.minDist,
    nEpochs: codeMap.nEpochs,
    classNames: metrics.dataset.classNames,
    // Three decimals of UMAP's units: finer than a pixel of the figure.
    x: codeMap.positions.map(([x]) => Math.round(x * 1000) / 1000),
    y: codeMap.positions.map(([, y]) => Math.round(y * 1000) / 1000),
    labels: codeMap.labels,
  };
  return { files: [study, map], warnings };
}

/** The grid commands' time-left checks and wall time (the session that finished the grid). */
async function gridEstimates(folder: string, grid: 'sweep' | 'ablation') {
  return readJson<EstimateRecord>(join(folder, grid, 'time-estimates.json'), `\`dae ${grid}\` writes it`);
}

/** The label sweep (`dae sweep`) on a study's folder: results/sweep.json. */
export async function collectSweep(root: string, folder: string): Promise<Collected> {
  const { run, metrics } = await readRun(folder);
  const path = join(folder, 'sweep', 'sweep.json');
  const sweep = await readJson<SweepResult>(path, 'run `dae sweep` on the folder first');
  const estimates = await gridEstimates(folder, 'sweep');
  const { provenance, warnings } = await provenanceOf(root, {
    kernels: kernelsOf(metrics.backend),
    measuredAt: await modifiedAt(path),
    command: `dae sweep <study, seed ${run.config.seed}> --labels ${sweep.labelCounts.join(',')} --repeats ${sweep.seeds.length}`,
  });
  return {
    files: [
      {
        formatVersion: resultsFormatVersion,
        kind: 'sweep',
        provenance,
        study: { seed: run.config.seed, preset: run.config.preset },
        sweep: { ...sweep, cells: sweep.cells.map(({ robustness: _, ...cell }) => cell) },
        runSeconds: estimates.totalSeconds,
        timeEstimates: estimates.checks,
      },
    ],
    warnings,
  };
}

/** The pretraining ablation (`dae ablate`) on a study's folder: results/ablation.json. */
export async function collectAblation(root: string, folder: string): Promise<Collected> {
  const { run, metrics } = await readRun(folder);
  const path = join(folder, 'ablation', 'ablation.json');
  const ablation = await readJson<AblationResult>(path, 'run `dae ablate` on the folder first');
  const estimates = await gridEstimates(folder, 'ablation');
  const { provenance, warnings } = await provenanceOf(root, {
    kernels: kernelsOf(metrics.backend),
    measuredAt: await modifiedAt(path),
    command:
      `dae ablate <study, seed ${run.config.seed}> --pretrainings ${ablation.pretrainings.map((entry) => entry.name).join(',')} ` +
      `--pretrain-epochs ${ablation.budget.pretrainEpochs} --labels ${ablation.labelCounts.join(',')} --repeats ${ablation.seeds.length}`,
  });
  return {
    files: [
      {
        formatVersion: resultsFormatVersion,
        kind: 'ablation',
        provenance,
        study: { seed: run.config.seed, preset: run.config.preset },
        ablation: { ...ablation, cells: ablation.cells.map(({ robustness: _, ...cell }) => cell) },
        // The ablation's own clock covers every session that worked on it; the estimates, the last one's.
        runSeconds: ablation.totalSeconds,
        timeEstimates: estimates.checks,
      },
    ],
    warnings,
  };
}

/** The bench: the JSON line that ends `npm run bench -- --json`'s output, saved to `file`. */
export async function collectBench(root: string, file: string): Promise<Collected> {
  const text = await readFile(file, 'utf8').catch(() => {
    throw new ResultsError(`${file}: not found; save the bench's output there (npm run bench -- --json > ${file})`);
  });
  const line = text
    .trim()
    .split('\n')
    .reverse()
    .find((candidate) => candidate.startsWith('{') && candidate.includes('"autoencoder"'));
  if (line === undefined) {
    throw new ResultsError(`${file}: no JSON line of the bench in it; run the bench with --json`);
  }
  const bench = JSON.parse(line) as BenchOutput;
  const { provenance, warnings } = await provenanceOf(root, {
    kernels: kernelsOf({ name: bench.backend, detail: bench.detail, threads: bench.threads }),
    measuredAt: await modifiedAt(file),
    command: `npm run bench -- --json --seconds ${bench.seconds} --rounds ${bench.rounds}`,
  });
  return { files: [{ formatVersion: resultsFormatVersion, kind: 'bench', provenance, bench }], warnings };
}

/** How long `npm ci` took on a clean clone, as `time npm ci` printed it. */
export async function collectInstall(root: string, seconds: number): Promise<Collected> {
  if (!(seconds > 0)) throw new ResultsError(`install: expected the seconds \`time npm ci\` took, got ${seconds}`);
  const { provenance, warnings } = await provenanceOf(root, {
    kernels: 'none run: npm ci compiles them',
    measuredAt: new Date().toISOString(),
    command: 'npm ci',
  });
  return { files: [{ formatVersion: resultsFormatVersion, kind: 'install', provenance, seconds }], warnings };
}
