// The files of results/: what each holds, and one reader that checks their format and kind. The collectors
// (collect.ts) write them from run folders and the bench's output; the generator (generate.ts) reads them.
//   results/study-seed<N>.json    one study (`dae experiment`), its metrics without per-class details
//   results/code-map-seed<N>.json that study's map of the codes: 2-D positions and classes only
//   results/sweep.json            the label sweep (`dae sweep`) on one study's autoencoder
//   results/ablation.json         the pretraining ablation (`dae ablate`)
//   results/bench.json            the speed bench (`npm run bench -- --json`)
//   results/install.json          how long `npm ci` took on a clean clone
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';

import type { ExperimentConfig } from '../../src/config.js';
import type { EstimateCheck } from '../../src/cli/estimate-log.js';
import type {
  AblationResult,
  ClassifierResult,
  DenoisingScores,
  Metrics,
  NoiseLevelScores,
  NoiseSpec,
  SweepResult,
} from '../../src/io/metrics.js';

/** The format of every file in results/; a reader refuses other versions. */
export const resultsFormatVersion = 1;

/** Where, on what and when a result was measured, added by the collector. */
export interface Provenance {
  machine: {
    /** The CPU's model name, as the operating system reports it. */
    cpu: string;
    /** Logical CPUs the process could use. */
    cores: number;
    memoryGiB: number;
    /** e.g. 'linux x64'. */
    platform: string;
  };
  build: {
    /** package.json's name and version. */
    package: string;
    /** The checkout's commit when the result was collected, and whether its code differed from that commit. */
    commit: string;
    modified: boolean;
    /** What ran the kernels, e.g. 'native backend (avx512 kernels, x86-64-v4 build, from source), 2 threads'. */
    kernels: string;
    node: string;
  };
  /** When the run finished (ISO 8601). */
  measuredAt: string;
  /** The command that made it. */
  command: string;
}

interface ResultsFile<Kind extends string> {
  formatVersion: typeof resultsFormatVersion;
  kind: Kind;
  provenance: Provenance;
}

/** A classifier run of a study, without its per-class scores, confusion matrix, history and mistakes. */
export interface StudyClassifier extends Pick<ClassifierResult, 'encoder' | 'labelFraction' | 'labels' | 'epochs'> {
  trainSeconds: number;
  validationAccuracy: number;
  test: { accuracy: number; macroF1: number };
  robustness?: ClassifierResult['robustness'];
}

export interface StudyFile extends ResultsFile<'study'> {
  seed: number;
  config: ExperimentConfig;
  dataset: Metrics['dataset'];
  backend: Metrics['backend'];
  autoencoder: {
    encoderParams: number;
    decoderParams: number;
    epochs: number;
    trainSeconds: number;
    noise: NoiseSpec;
    test: DenoisingScores;
    noiseLevels: NoiseLevelScores[];
  };
  classifiers: StudyClassifier[];
  /** The study's time in all, as its report gives it. */
  runSeconds: number;
  /** The process's peak resident memory (memory.json). */
  peakRssMiB: number;
  /** How long each stage took: from the run's start or the previous stage's end to its own end. */
  stages: { stage: string; seconds: number }[];
  /** Its time-left estimates checked against the time that was left (time-estimates.json). */
  timeEstimates: EstimateCheck[];
}

export interface CodeMapFile extends ResultsFile<'code-map'> {
  seed: number;
  method: string;
  nNeighbors: number;
  minDist: number;
  nEpochs: number;
  classNames: string[];
  /** One entry per mapped test image, in test-set order. */
  x: number[];
  y: number[];
  labels: number[];
}

export interface SweepFile extends ResultsFile<'sweep'> {
  /** The study whose pretrained autoencoder the sweep used. */
  study: { seed: number; preset: string };
  /** The cells without their robustness details (their means are in the summary). */
  sweep: SweepResult;
  runSeconds: number;
  timeEstimates: EstimateCheck[];
}

export interface AblationFile extends ResultsFile<'ablation'> {
  study: { seed: number; preset: string };
  ablation: AblationResult;
  runSeconds: number;
  timeEstimates: EstimateCheck[];
}

/**
 * The last line of `npm run bench -- --json` (bench/train.ts). Fields marked "newer" are absent from bench runs made
 * before the bench measured the peak and the Keras peer; the docs say "not measured" for them.
 */
export interface BenchOutput {
  backend: string;
  detail: string | null;
  threads: number;
  batch: number;
  seconds: number;
  rounds: number;
  /** Newer: the peak multiply-add rate of the kernel build, on all threads and on one. */
  peak?: BenchPeak | { unavailable: string };
  autoencoder: BenchModel;
  classifier: BenchModel & { sideBySideImagesPerSecond: number; runs: number };
  /** The PyTorch peer (the only peer before there were two). */
  peer: BenchPeerInfo;
  /** Newer: every peer by key (torch, keras). */
  peers?: Record<string, BenchPeerInfo>;
  kernels?: {
    name: string;
    megaflops: number;
    nativeGflops: number;
    /** Newer: nativeGflops as a share of the peak on all threads. */
    nativeShareOfPeak?: number | null;
    wasmGflops: number;
  }[];
  wasmImagesPerSecond: number;
  cpuImagesPerSecond: number | null;
}

export interface BenchPeak {
  gflops: number;
  threads: number;
  oneThreadGflops: number;
  /** The instruction set of the build: avx512, avx2, ... */
  target: string;
  lanes: number;
}

type BenchPeerInfo = { name: string; blas: string | null } | { unavailable: string | null };

interface BenchModel {
  imagesPerSecond: number[];
  /** The PyTorch peer's rounds, its faster memory format in each, and the median ratio ours / it. */
  peerImagesPerSecond: number[];
  peerMemoryFormat: string[];
  medianRatio: number | null;
  /** Newer: FLOP of one training step per image (forward and backward multiply-adds, bench/flops.ts), in millions. */
  megaflopsPerImage?: number;
  /** Newer: ours at the median images/s, and as a share of the peak on all threads. */
  gflops?: number;
  shareOfPeak?: number | null;
  /** Newer: each peer measured, by key. */
  peers?: Record<string, BenchPeerModel>;
  /** Newer: the peer with the higher median images/s, and the median ratio ours / it. */
  stronger?: { peer: string; medianRatio: number } | null;
}

export interface BenchPeerModel {
  name: string;
  imagesPerSecond: number[];
  /** The faster of its two ways to run, each round: a memory format (PyTorch), XLA on or off (Keras). */
  fasterWay: string[];
  medianImagesPerSecond: number;
  gflops: number;
  shareOfPeak: number | null;
  medianRatio: number;
}

export interface BenchFile extends ResultsFile<'bench'> {
  bench: BenchOutput;
}

export interface InstallFile extends ResultsFile<'install'> {
  /** Wall time of `npm ci` on a clean clone, the native kernels' compilation included. */
  seconds: number;
}

export type AnyResultsFile = StudyFile | CodeMapFile | SweepFile | AblationFile | BenchFile | InstallFile;

/** Everything in results/, by kind; studies and code maps by seed, lowest first. */
export interface ResultsData {
  studies: StudyFile[];
  codeMaps: CodeMapFile[];
  sweep?: SweepFile;
  ablation?: AblationFile;
  bench?: BenchFile;
  install?: InstallFile;
  /** Every file, by its name in results/, for the provenance line and the list of files. */
  files: Map<string, AnyResultsFile>;
}

export const resultsFolder = 'results';

/** A results file that cannot be used; the message names the file and what to do. */
export class ResultsError extends Error {
  override readonly name = 'ResultsError';
}

/** The file name in results/ of each kind of result. */
export function resultsFileName(file: AnyResultsFile): string {
  switch (file.kind) {
    case 'study':
      return `study-seed${file.seed}.json`;
    case 'code-map':
      return `code-map-seed${file.seed}.json`;
    default:
      return `${file.kind}.json`;
  }
}

const kinds: readonly AnyResultsFile['kind'][] = ['study', 'code-map', 'sweep', 'ablation', 'bench', 'install'];

/** Reads and checks every JSON file of `root`/results. A file of another format version or kind is refused. */
export async function readResults(root: string): Promise<ResultsData> {
  const folder = join(root, resultsFolder);
  const names = (await readdir(folder).catch(() => [] as string[])).filter((name) => name.endsWith('.json')).sort();
  const data: ResultsData = { studies: [], codeMaps: [], files: new Map() };
  for (const name of names) {
    const file = JSON.parse(await readFile(join(folder, name), 'utf8')) as AnyResultsFile;
    if (file.formatVersion !== resultsFormatVersion || !kinds.includes(file.kind)) {
      throw new ResultsError(
        `${resultsFolder}/${name}: format version ${String(file.formatVersion)}, kind ${String(file.kind)}: ` +
          `this generator reads version ${resultsFormatVersion} of ${kinds.join(', ')}; collect it again`,
      );
    }
    if (resultsFileName(file) !== name) {
      throw new ResultsError(
        `${resultsFolder}/${name}: holds a ${file.kind}, which belongs in ${resultsFileName(file)}`,
      );
    }
    data.files.set(name, file);
    if (file.kind === 'study') data.studies.push(file);
    else if (file.kind === 'code-map') data.codeMaps.push(file);
    else if (file.kind === 'sweep') data.sweep = file;
    else if (file.kind === 'ablation') data.ablation = file;
    else if (file.kind === 'bench') data.bench = file;
    else data.install = file;
  }
  data.studies.sort((a, b) => a.seed - b.seed);
  data.codeMaps.sort((a, b) => a.seed - b.seed);
  return data;
}
