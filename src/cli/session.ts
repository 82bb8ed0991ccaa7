// What every command of `dae` shares: the run options and their flags, the run folder opened and locked, the
// backend and the progress display (with the machine measured first for the time left), the record of memory, and
// what happens when a command fails or is stopped. Only cli/ touches process, the terminal and exit codes.
import { Option } from 'commander';
import type { Command } from 'commander';
import { memory } from '@tensorflow/tfjs-core';

import { backendNames, useBackend } from '../backend/index.js';
import type { BackendInfo, BackendName } from '../backend/index.js';
import { ConfigError, limits, presetNames, resolveConfig, savedConfig, validateConfig } from '../config.js';
import type { DeepPartial, ExperimentConfig, PresetName } from '../config.js';
import type { PreparedData } from '../data/prepare.js';
import { RunFolder } from '../io/run-folder.js';
import type { ExperimentContext } from '../study/context.js';
import { prepareStudyData } from '../study/data.js';
import { InterruptedError } from '../train/events.js';
import { measureMachine } from './calibration.js';
import type { EstimateRecord } from './estimate-log.js';
import { numberOption, pathIn } from './flags.js';
import { consoleReporter } from './reporter.js';
import type { ConsoleReporter } from './reporter.js';
import { estimateCheckLines } from './summary.js';
import { stopAfterEvent, stopAfterEventPattern, synchronousStream } from './stop-after-event.js';

/**
 * A flag value that commander's parsers accept and only the config's checks refuse (`--threads 100000`,
 * `--dataset-name ''`): a usage error like commander's own, so it exits 2 too. A ConfigError from a saved run.json
 * is not one: it stays a ConfigError, and exits 1.
 */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

/**
 * Refuses, as a usage error naming it, any flag given (on the command line or from the environment) that `beside`
 * would ignore, `because`: a flag ignored without a word is a dead end.
 */
export function refuseIgnoredFlags(
  command: Command,
  ignored: (flag: string) => boolean,
  beside: string,
  because: string,
): void {
  for (const option of command.options) {
    const source = command.getOptionValueSource(option.attributeName());
    if ((source === 'cli' || source === 'env') && option.long !== undefined && ignored(option.long))
      throw new UsageError(`${option.long} cannot be used with ${beside}: ${because}; drop ${option.long}`);
  }
}

/**
 * What the command line's flags make (a config, label counts), with the config's refusals (ConfigError) turned into
 * usage errors.
 */
export function configFromFlags<Made>(make: () => Made): Made {
  try {
    return make();
  } catch (error) {
    if (error instanceof ConfigError) throw new UsageError(error.message, { cause: error });
    throw error;
  }
}

export interface RunOptions {
  preset: PresetName;
  out?: string;
  seed?: number;
  backend?: BackendName;
  threads?: number;
  workers?: number;
  data?: string;
  datasetName?: string;
  classNames?: string[];
  epochs?: number;
  learningRate?: number;
  json: boolean;
  verbose: boolean;
  overwrite: boolean;
}

/** --threads and --workers, with their defaults. */
export function withBackendFlags(command: Command, options: { classifierWorkers?: boolean } = {}): Command {
  command.addOption(numberOption('--threads <n>', 'kernel threads, 0 = every core (default 0)', limits.threads));
  if (options.classifierWorkers !== false)
    command.addOption(
      numberOption(
        '--workers <n>',
        'classifier runs trained at once, one thread each (native backend); 0 = one per thread (default 0)',
        limits.workers,
      ),
    );
  return command;
}

/** The flags of a command that starts a run folder; `classifierWorkers: false` for one that trains no classifier. */
export function withRunOptions(command: Command, options: { classifierWorkers?: boolean } = {}): Command {
  withBackendFlags(command, options);
  return command
    .addOption(
      new Option('--preset <name>', 'quick: a couple of minutes on a subset; full: the real experiment')
        .choices(presetNames)
        .default('full'),
    )
    .option('--out <dir>', 'run folder to write (default runs/<preset>-<date>)', pathIn('--out'))
    .addOption(numberOption('--seed <n>', 'seed for every random choice (default 1)', limits.seed))
    .addOption(new Option('--backend <name>', 'tfjs backend (default auto: the fastest present)').choices(backendNames))
    .option(
      '--data <dir>',
      'folder with the four MNIST-layout IDX files, and optionally dataset.json naming the dataset and its classes (default: embedded MNIST)',
      pathIn('--data'),
    )
    .option(
      '--dataset-name <name>',
      "the dataset's name in the report and the page (default: dataset.json's name, else the --data folder's name)",
    )
    .option(
      '--class-names <list>',
      "comma-separated class names, label 0 first (default: dataset.json's classNames, else the label numbers)",
      (value: string) => value.split(',').map((name) => name.trim()),
    )
    .addOption(
      numberOption('--epochs <n>', "maximum autoencoder epochs (default: the preset's, 5 for full)", limits.epochs),
    )
    .addOption(
      numberOption(
        '--learning-rate <x>',
        "autoencoder learning rate, Adam (default: the preset's, 0.005 for full)",
        limits.learningRate,
      ),
    )
    .option('--overwrite', 'reuse an --out folder that holds a finished run', false)
    .option('--json', 'progress as JSON lines', false)
    .option('--verbose', 'in a terminal, also a line per finished epoch', false);
}

/** The backend flags the user gave, to lay over a preset's or a saved run's backend settings. */
export function backendOverrides(
  options: Pick<RunOptions, 'backend' | 'threads' | 'workers'>,
): Partial<ExperimentConfig['backend']> {
  return {
    ...(options.backend ? { name: options.backend } : {}),
    ...(options.threads !== undefined ? { threads: options.threads } : {}),
    ...(options.workers !== undefined ? { workers: options.workers } : {}),
  };
}

function overridesFrom(options: RunOptions): DeepPartial<ExperimentConfig> {
  return {
    ...(options.seed !== undefined ? { seed: options.seed } : {}),
    data: {
      ...(options.data !== undefined ? { directory: options.data } : {}),
      ...(options.datasetName !== undefined ? { name: options.datasetName } : {}),
      ...(options.classNames !== undefined ? { classNames: options.classNames } : {}),
    },
    backend: backendOverrides(options),
    autoencoder: {
      ...(options.epochs !== undefined ? { maxEpochs: options.epochs } : {}),
      ...(options.learningRate !== undefined ? { learningRate: options.learningRate } : {}),
    },
  };
}

let stopping = false;
/** Ctrl-C or SIGTERM asked the command to stop at its next safe point. */
export const stopRequested = () => stopping;
export const requestStop = () => {
  stopping = true;
};

/** Memory after every epoch, and the peak resident size sampled every second: written to memory.json. */
interface MemorySample {
  stage: string;
  epoch: number;
  rssMiB: number;
  heapMiB: number;
  externalMiB: number;
  tensors: number;
  tensorMiB: number;
}
const memorySamples: MemorySample[] = [];
let peakRssBytes = 0;
const mebibytes = (bytes: number) => Math.round((bytes / 2 ** 20) * 10) / 10;

/** The progress display in use, closed (its last redraw, the cursor given back) before anything else is printed. */
let progressDisplay: ConsoleReporter | null = null;
/** Closes the display; returns how its time-left estimates held (null before a plan). */
export function closeProgress(): EstimateRecord | null {
  const record = progressDisplay?.estimateRecord() ?? null;
  progressDisplay?.close();
  progressDisplay = null;
  return record;
}

/** Saves how the time-left estimates held beside the command's results, and returns the summary's lines on them. */
export async function saveEstimates(
  run: RunFolder,
  relativePath: string,
  record: EstimateRecord | null,
): Promise<string[]> {
  if (record === null) return [];
  await run.writeJson(relativePath, record);
  return estimateCheckLines(record);
}
const commandStarted = performance.now();

export interface ProgressOptions {
  json: boolean;
  verbose: boolean;
}

/**
 * The context a command's stages run in: the backend, and the reporter. `timeLeft`: the command plans its work (a
 * study or a grid), so this machine is measured first for its time estimate (the study's also draws a code map).
 */
export async function contextFor(
  { run, config, data, backend }: OpenedRun,
  progress: ProgressOptions,
  timeLeft?: 'study' | 'grid',
): Promise<ExperimentContext> {
  const say = (line: string) => process.stderr.write(`${line}\n`);
  say(
    `dae: backend ${backend.name} (${backend.detail}, ${backend.threads} thread${backend.threads === 1 ? '' : 's'}); run folder ${run.directory}`,
  );
  for (const reason of backend.fallbackReasons) say(`dae: slower path in use because ${reason}`);
  setInterval(() => {
    peakRssBytes = Math.max(peakRssBytes, process.memoryUsage.rss());
  }, 1000).unref();
  // Crash tests set DAE_STOP_AFTER_EVENT: progress is then written synchronously, and the process stops itself after
  // the event they name (see cli/stop-after-event.ts).
  const stopPattern = stopAfterEventPattern(process.env);
  const measureStarted = performance.now();
  const speeds =
    timeLeft === undefined
      ? undefined
      : await measureMachine(backend.name, timeLeft === 'study', config.classifier.headUnits);
  if (speeds)
    say(
      `dae: measured this machine's speed for the time estimate in ${((performance.now() - measureStarted) / 1000).toFixed(1)} s`,
    );
  const terminal = consoleReporter({
    ...progress,
    ...(speeds ? { speeds } : {}),
    stream: stopPattern ? synchronousStream(process.stderr.fd) : process.stderr,
  });
  progressDisplay = terminal;
  const stopHere = stopPattern ? stopAfterEvent(stopPattern) : () => {};
  const reporter: ExperimentContext['reporter'] = (event) => {
    terminal(event);
    if (event.type === 'epoch-end') {
      const usage = process.memoryUsage();
      peakRssBytes = Math.max(peakRssBytes, usage.rss);
      const tensors = memory();
      memorySamples.push({
        stage: event.stage,
        epoch: event.record.epoch,
        rssMiB: mebibytes(usage.rss),
        heapMiB: mebibytes(usage.heapUsed),
        externalMiB: mebibytes(usage.external + usage.arrayBuffers),
        tensors: tensors.numTensors,
        tensorMiB: mebibytes(tensors.numBytes),
      });
    }
    stopHere(event);
  };
  return { run, config, backend, reporter, shouldStop: stopRequested, data };
}

/** Writes memory.json and returns the peak resident memory in MiB. */
export async function writeMemoryRecord(run: RunFolder): Promise<number> {
  peakRssBytes = Math.max(peakRssBytes, process.memoryUsage.rss());
  await run.writeJson('memory.json', { peakRssMiB: mebibytes(peakRssBytes), perEpoch: memorySamples });
  return mebibytes(peakRssBytes);
}

/** This command's time, peak memory and paths, for the closing summary. */
export function totalsOf(run: RunFolder, peakMemoryMiB: number) {
  return {
    seconds: (performance.now() - commandStarted) / 1000,
    peakMemoryMiB,
    directory: run.directory,
    reportPath: run.path('report.html'),
  };
}

export const printLines = (lines: string[]) => process.stderr.write(`${lines.join('\n')}\n`);

/** The peak resident memory so far, in MiB. */
export const peakMemoryMiB = () => mebibytes(Math.max(peakRssBytes, process.memoryUsage.rss()));

/** A run folder this process holds, with what its command runs on: the config, the data and the backend. */
export interface OpenedRun {
  run: RunFolder;
  config: ExperimentConfig;
  data: PreparedData;
  backend: BackendInfo;
}

/**
 * A command's own checks of its input that need the config and the data (`--labels` against the training split),
 * and anything it opens before the run folder is made (a job queue): run after the data are loaded, before the
 * folder is made or locked. A refusal is thrown.
 */
export type BeforeRun = (config: ExperimentConfig, data: PreparedData) => Promise<void> | void;

/**
 * The input that a run is made from, checked before anything is made: the config, the data (a dataset that is
 * missing, malformed or unusable is refused here), the command's own checks, and the backend.
 */
async function checkedInput(config: ExperimentConfig, before?: BeforeRun) {
  const data = await prepareStudyData(config);
  await before?.(config, data);
  const backend = await useBackend(config.backend.name, { threads: config.backend.threads });
  return { config, data, backend };
}

/**
 * A new run folder, locked by this process (RunFolder.create refuses one that another process holds), made only
 * once the flags, the data and the command's `before` checks have passed: bad input leaves no folder behind.
 */
export async function startRun(options: RunOptions, before?: BeforeRun): Promise<OpenedRun> {
  const config = configFromFlags(() => resolveConfig(options.preset, overridesFrom(options)));
  const directory =
    options.out ?? `runs/${options.preset}-${new Date().toISOString().replace(/[:.]/g, '-').slice(0, 19)}`;
  const input = await checkedInput(config, before);
  return { ...input, run: await RunFolder.create(directory, config, { overwrite: options.overwrite }) };
}

/**
 * An existing run folder, locked by this process, with its saved config (the backend flags given, `backend`, laid
 * over it: they change no result), checked as startRun checks a new one before anything is written to it.
 */
export async function openRun(
  directory: string,
  backend: Partial<ExperimentConfig['backend']> = {},
  before?: BeforeRun,
): Promise<OpenedRun> {
  const run = await RunFolder.open(directory);
  try {
    const saved = savedConfig(run.config, `${directory}/run.json`);
    const config = configFromFlags(() => validateConfig({ ...saved, backend: { ...saved.backend, ...backend } }));
    return { ...(await checkedInput(config, before)), run };
  } catch (error) {
    await run.release();
    throw error;
  }
}

/**
 * Runs `body` on a run folder this process has locked, and gives the lock back however the body ends: done, failed,
 * or stopped by Ctrl-C at a safe point. (A second Ctrl-C exits at once; the lock's exit hook removes it then.)
 */
export async function holding(opening: Promise<OpenedRun>, body: (opened: OpenedRun) => Promise<void>): Promise<void> {
  const opened = await opening;
  try {
    await body(opened);
  } finally {
    await opened.run.release();
  }
}

export async function guarded(run: RunFolder, action: () => Promise<void>): Promise<void> {
  try {
    await action();
  } catch (error) {
    closeProgress();
    if (run.status !== 'complete')
      await run.markIncomplete(error instanceof Error ? error.message : String(error)).catch(() => {});
    if (error instanceof InterruptedError) {
      process.stderr.write(`dae: ${error.message}\ndae: continue with: dae experiment --resume ${run.directory}\n`);
      process.exitCode = 130;
      return;
    }
    throw error;
  }
}
