// The `dae` command: wires config, backend, run folder, reporter and the experiment's stages. The only module
// that touches process, the terminal and exit codes.
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { memory } from '@tensorflow/tfjs-core';

import { BackendError, backendNames, useBackend } from '../backend/index.js';
import type { BackendInfo, BackendName } from '../backend/index.js';
import { ConfigError, presetNames, resolveConfig, savedConfig, validateConfig } from '../config.js';
import type { DeepPartial, ExperimentConfig, PresetName } from '../config.js';
import { DatasetError } from '../data/dataset.js';
import { DatasetDescriptionError } from '../data/description.js';
import { IdxFormatError } from '../data/idx.js';
import { NoiseSpecError } from '../data/noise.js';
import { prepareData } from '../data/prepare.js';
import { SplitError } from '../data/split.js';
import { classify } from '../study/classify.js';
import type { ExperimentContext } from '../study/context.js';
import { checkDenoising } from '../study/denoise.js';
import { runExperiment } from '../study/experiment.js';
import { inspectRepresentation } from '../study/inspect.js';
import { pretrain } from '../study/pretrain.js';
import { assembleMetrics, writeReport } from '../study/report.js';
import { exportFormats, exportRun } from '../export/export-run.js';
import type { ExportFormat } from '../export/export-run.js';
import { ExportError } from '../export/model-tree.js';
import { FileWriteError } from '../io/atomic.js';
import { CheckpointError } from '../io/checkpoint-files.js';
import { ModelFileError } from '../io/model-files.js';
import { RunFolder, RunFolderError } from '../io/run-folder.js';
import { RunLockedError } from '../io/run-lock.js';
import { integer } from './flags.js';
import { measureMachine } from './calibration.js';
import { consoleReporter } from './reporter.js';
import type { ConsoleReporter } from './reporter.js';
import { estimateCheckLines, studySummary, sweepSummary } from './summary.js';
import type { EstimateRecord } from './estimate-log.js';
import { addWorkerCommand, queueOption } from './worker-command.js';
import { QueueError } from '../queue/address.js';
import { stopAfterEvent, stopAfterEventPattern, synchronousStream } from './stop-after-event.js';
import { defaultSweep, runSweep } from '../grid/sweep.js';
import { queueCellRunner } from '../queue/coordinator.js';
import type { CellRunner } from '../grid/cells.js';
import { openQueue } from '../queue/open.js';
import { defaultAblation, pretrainingSpecs, runAblation } from '../grid/ablation.js';
import { DivergenceError, InterruptedError } from '../train/events.js';
import { ThreadJobError } from '../study/threads.js';

const knownErrors = [ConfigError, BackendError, DatasetError, DatasetDescriptionError, IdxFormatError, NoiseSpecError, SplitError, ModelFileError,
  RunFolderError, RunLockedError, CheckpointError, DivergenceError, FileWriteError, ExportError, QueueError];

/**
 * A flag value that commander's parsers accept and only the config's checks refuse (`--threads 100000`,
 * `--dataset-name ''`): a usage error like commander's own, so it exits 2 too. A ConfigError from a saved run.json
 * is not one: it stays a ConfigError, and exits 1.
 */
class UsageError extends Error {
  override readonly name = 'UsageError';
}

/** The config that the command line's flags make, with the config's refusals turned into usage errors. */
function configFromFlags(make: () => ExperimentConfig): ExperimentConfig {
  try {
    return make();
  } catch (error) {
    if (error instanceof ConfigError) throw new UsageError(error.message, { cause: error });
    throw error;
  }
}


interface RunOptions {
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

function withRunOptions(command: Command): Command {
  return command
    .addOption(new Option('--preset <name>', 'quick: a couple of minutes on a subset; full: the real experiment').choices(presetNames).default('full'))
    .option('--out <dir>', 'run folder to write (default runs/<preset>-<date>)')
    .option('--seed <n>', 'seed for every random choice', integer('--seed', 0))
    .addOption(new Option('--backend <name>', 'tfjs backend').choices(backendNames))
    .option('--threads <n>', 'kernel threads, 0 = every core', integer('--threads', 0))
    .option('--workers <n>', 'classifier runs trained at once, one thread each (native backend); 0 = one per thread', integer('--workers', 0))
    .option('--data <dir>', 'folder with the four MNIST-layout IDX files, and optionally dataset.json naming the dataset and its classes (default: embedded MNIST)')
    .option('--dataset-name <name>', 'the dataset\'s name in the report and the page (default: dataset.json\'s name, else the --data folder\'s name)')
    .option('--class-names <list>', 'comma-separated class names, label 0 first (default: dataset.json\'s classNames, else the label numbers)',
      (value: string) => value.split(',').map((name) => name.trim()))
    .option('--epochs <n>', 'maximum autoencoder epochs', integer('--epochs', 1))
    .option('--learning-rate <x>', 'autoencoder learning rate (Adam)', (value: string) => {
      const parsed = Number(value);
      if (!Number.isFinite(parsed) || parsed <= 0) throw new InvalidArgumentError(`--learning-rate takes a number > 0, got '${value}'`);
      return parsed;
    })
    .option('--overwrite', 'reuse an --out folder that holds a finished run', false)
    .option('--json', 'progress as JSON lines', false)
    .option('--verbose', 'in a terminal, also a line per finished epoch', false);
}

/** The backend flags the user gave, to lay over a preset's or a saved run's backend settings. */
function backendOverrides(options: Pick<RunOptions, 'backend' | 'threads' | 'workers'>): Partial<ExperimentConfig['backend']> {
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

let stopRequested = false;

/** Memory after every epoch, and the peak resident size sampled every second: written to memory.json. */
interface MemorySample { stage: string; epoch: number; rssMiB: number; heapMiB: number; externalMiB: number; tensors: number; tensorMiB: number }
const memorySamples: MemorySample[] = [];
let peakRssBytes = 0;
const mebibytes = (bytes: number) => Math.round((bytes / 2 ** 20) * 10) / 10;

/** The progress display in use, closed (its last redraw, the cursor given back) before anything else is printed. */
let progressDisplay: ConsoleReporter | null = null;
/** Closes the display; returns how its time-left estimates held (null before a plan). */
function closeProgress(): EstimateRecord | null {
  const record = progressDisplay?.estimateRecord() ?? null;
  progressDisplay?.close();
  progressDisplay = null;
  return record;
}

/** Saves how the time-left estimates held beside the command's results, and returns the summary's lines on them. */
async function saveEstimates(run: RunFolder, relativePath: string, record: EstimateRecord | null): Promise<string[]> {
  if (record === null) return [];
  await run.writeJson(relativePath, record);
  return estimateCheckLines(record);
}
const commandStarted = performance.now();

interface ProgressOptions { json: boolean; verbose: boolean }

/**
 * The context a command's stages run in: the backend, and the reporter. `timeLeft`: the command plans its work (a
 * study or a grid), so this machine is measured first for its time estimate (the study's also draws a code map).
 */
async function contextFor(run: RunFolder, config: ExperimentConfig, progress: ProgressOptions, timeLeft?: 'study' | 'grid'): Promise<ExperimentContext> {
  const backend: BackendInfo = await useBackend(config.backend.name, { threads: config.backend.threads });
  const say = (line: string) => process.stderr.write(`${line}\n`);
  say(`dae: backend ${backend.name} (${backend.detail}, ${backend.threads} thread${backend.threads === 1 ? '' : 's'}); run folder ${run.directory}`);
  for (const reason of backend.fallbackReasons) say(`dae: slower path in use because ${reason}`);
  setInterval(() => { peakRssBytes = Math.max(peakRssBytes, process.memoryUsage.rss()); }, 1000).unref();
  // Crash tests set DAE_STOP_AFTER_EVENT: progress is then written synchronously, and the process stops itself after
  // the event they name (see cli/stop-after-event.ts).
  const stopPattern = stopAfterEventPattern(process.env);
  const measureStarted = performance.now();
  const speeds = timeLeft === undefined ? undefined : await measureMachine(backend.name, timeLeft === 'study');
  if (speeds) say(`dae: measured this machine's speed for the time estimate in ${((performance.now() - measureStarted) / 1000).toFixed(1)} s`);
  const terminal = consoleReporter({ ...progress, ...(speeds ? { speeds } : {}), stream: stopPattern ? synchronousStream(process.stderr.fd) : process.stderr });
  progressDisplay = terminal;
  const stopHere = stopPattern ? stopAfterEvent(stopPattern) : () => {};
  const reporter: ExperimentContext['reporter'] = (event) => {
    terminal(event);
    if (event.type === 'epoch-end') {
      const usage = process.memoryUsage();
      peakRssBytes = Math.max(peakRssBytes, usage.rss);
      const tensors = memory();
      memorySamples.push({ stage: event.stage, epoch: event.record.epoch, rssMiB: mebibytes(usage.rss), heapMiB: mebibytes(usage.heapUsed),
        externalMiB: mebibytes(usage.external + usage.arrayBuffers), tensors: tensors.numTensors, tensorMiB: mebibytes(tensors.numBytes) });
    }
    stopHere(event);
  };
  return { run, config, backend, reporter, shouldStop: () => stopRequested };
}

/** Writes memory.json and returns the peak resident memory in MiB. */
async function writeMemoryRecord(run: RunFolder): Promise<number> {
  peakRssBytes = Math.max(peakRssBytes, process.memoryUsage.rss());
  await run.writeJson('memory.json', { peakRssMiB: mebibytes(peakRssBytes), perEpoch: memorySamples });
  return mebibytes(peakRssBytes);
}

/** This command's time, peak memory and paths, for the closing summary. */
function totalsOf(run: RunFolder, peakMemoryMiB: number) {
  return { seconds: (performance.now() - commandStarted) / 1000, peakMemoryMiB, directory: run.directory, reportPath: run.path('report.html') };
}

const printLines = (lines: string[]) => process.stderr.write(`${lines.join('\n')}\n`);

interface OpenedRun { run: RunFolder; config: ExperimentConfig }

/** A new run folder, locked by this process (RunFolder.create refuses one that another process holds). */
async function startRun(options: RunOptions): Promise<OpenedRun> {
  const config = configFromFlags(() => resolveConfig(options.preset, overridesFrom(options)));
  const directory = options.out ?? `runs/${options.preset}-${new Date().toISOString().replace(/[:.]/g, '-').slice(0, 19)}`;
  return { run: await RunFolder.create(directory, config, { overwrite: options.overwrite }), config };
}

/** An existing run folder, locked by this process, with its saved config. */
async function openRun(directory: string): Promise<OpenedRun> {
  const run = await RunFolder.open(directory);
  try {
    return { run, config: savedConfig(run.config, `${directory}/run.json`) };
  } catch (error) {
    await run.release();
    throw error;
  }
}

/**
 * Runs `body` on a run folder this process has locked, and gives the lock back however the body ends: done, failed,
 * or stopped by Ctrl-C at a safe point. (A second Ctrl-C exits at once; the lock's exit hook removes it then.)
 */
async function holding(opening: Promise<OpenedRun>, body: (opened: OpenedRun) => Promise<void>): Promise<void> {
  const opened = await opening;
  try {
    await body(opened);
  } finally {
    await opened.run.release();
  }
}

async function guarded(run: RunFolder, action: () => Promise<void>): Promise<void> {
  try {
    await action();
  } catch (error) {
    closeProgress();
    if (run.status !== 'complete') await run.markIncomplete(error instanceof Error ? error.message : String(error)).catch(() => {});
    if (error instanceof InterruptedError) {
      process.stderr.write(`dae: ${error.message}\ndae: continue with: dae experiment --resume ${run.directory}\n`);
      process.exitCode = 130;
      return;
    }
    throw error;
  }
}

/** `--labels 100,1000,all`: label counts, "all" for the whole training split. */
function labelList(value: string): (number | 'all')[] {
  return value.split(',').map((item) => {
    if (item.trim() === 'all') return 'all' as const;
    const count = Number(item);
    if (!Number.isInteger(count) || count <= 0) throw new InvalidArgumentError(`--labels takes whole numbers > 0 or "all", got '${item}'`);
    return count;
  });
}

/**
 * Runs a grid of cells (`dae sweep`, `dae ablate`): in this process, or with `--queue` through the job queue, whose
 * `dae worker` processes train the cells here or on other machines.
 */
async function withCellRunner<Result>(queueAddress: string | undefined, grid: string, body: (runner: CellRunner | undefined) => Promise<Result>): Promise<Result> {
  if (queueAddress === undefined) return body(undefined);
  const queue = await openQueue(queueAddress, 'coordinator', (error) => process.stderr.write(`dae: ${error.message}\n`));
  try {
    process.stderr.write(`dae: cells go to the job queue at ${queue.store.address}; train them with \`dae worker --queue ${queue.workerAddress === 'embedded' ? 'embedded' : 'URL'}\`\n`);
    return await body(queueCellRunner(queue.store, { grid }));
  } finally {
    await queue.close();
  }
}

/** The run folder and grid options `dae sweep` and `dae ablate` share, before their own. */
function withGridHead(command: Command, runDirectoryHelp: string): Command {
  return command.argument('[run-dir]', runDirectoryHelp)
    .addOption(new Option('--preset <name>', 'preset for a new run folder').choices(presetNames).default('full'))
    .option('--out <dir>', 'new run folder when no run-dir is given')
    .option('--labels <list>', 'comma-separated label counts, "all" for the whole split', labelList)
    .option('--seeds <n>', 'seeds per cell', integer('--seeds', 1));
}

/** Where and how the cells of `dae sweep` and `dae ablate` train, and how progress is shown: after their own options. */
function withGridTail(command: Command): Command {
  return command.addOption(queueOption())
    .addOption(new Option('--backend <name>', 'tfjs backend').choices(backendNames))
    .option('--threads <n>', 'kernel threads, 0 = every core', integer('--threads', 0))
    .option('--workers <n>', 'cells trained at once, one thread each (native backend); 0 = one per thread', integer('--workers', 0))
    .option('--json', 'progress as JSON lines', false)
    .option('--verbose', 'in a terminal, also a line per finished epoch', false);
}

export function buildProgram(): Command {
  const program = new Command('dae')
    .description('Pretrain an image classifier (MNIST, or any dataset in its layout) with a deep denoising autoencoder, inspect it, and compare 10% vs 100% of the labels.')
    .exitOverride()
    .configureOutput({ outputError: (text, write) => write(`dae: ${text.replace(/^error: /, '').trim()} (see dae --help)\n`) });

  withRunOptions(program.command('experiment').description('run the whole study and write a run folder with models, figures, metrics.json and report.html'))
    .option('--resume <dir>', 'continue an interrupted run folder from its last checkpoint')
    .action((options: RunOptions & { resume?: string }) => holding(options.resume ? openRun(options.resume) : startRun(options),
      ({ run, config }) => guarded(run, async () => {
        const metrics = await runExperiment(await contextFor(run, config, options, 'study'));
        const peak = await writeMemoryRecord(run);
        const estimateLines = await saveEstimates(run, 'time-estimates.json', closeProgress());
        if (!options.json) printLines(studySummary(metrics, { ...totalsOf(run, peak), estimateLines }));
        process.stdout.write(`${run.path('report.html')}\n`);
      })));

  withRunOptions(program.command('pretrain').description('train the denoising autoencoder only (the first stage of a run folder)'))
    .action((options: RunOptions) => holding(startRun(options), ({ run, config }) => guarded(run, async () => {
      const context = await contextFor(run, config, options);
      await pretrain(context, await prepareData(config));
      closeProgress();
      await run.markIncomplete('only the pretrain stage was run; continue with `dae inspect`, `dae classify`, `dae report`');
    })));

  for (const [name, description] of [
    ['inspect', 'score the denoising and draw what the autoencoder learned, for a pretrained run folder'],
    ['classify', 'train and evaluate the classifiers of a pretrained run folder'],
    ['report', 'write metrics.json and report.html from a run folder'],
  ] as const) {
    program.command(name).description(description).argument('<run-dir>', 'run folder').option('--json', 'progress as JSON lines', false)
      .option('--verbose', 'in a terminal, also a line per finished epoch', false)
      .action((directory: string, options: ProgressOptions) => holding(openRun(directory), async ({ run, config }) => {
        if (name === 'report') {
          // A report never trains: it is written only for a run whose every stage has finished.
          const missing = ['pretrain', 'denoise', 'inspect', 'classify'].filter((stage) => !run.isStageDone(stage));
          if (missing.length > 0) {
            throw new RunFolderError(run.path('run.json'), `the run has not finished (missing: ${missing.join(', ')})`,
              `continue it with \`dae experiment --resume ${run.directory}\``);
          }
        }
        await guarded(run, async () => {
          const context = await contextFor(run, config, options);
          const data = await prepareData(config);
          const { autoencoder } = await pretrain(context, data);
          if (name === 'inspect') {
            await checkDenoising(context, data, autoencoder);
            await inspectRepresentation(context, data, autoencoder);
          } else if (name === 'classify') {
            await classify(context, data, autoencoder);
          } else {
            await assembleMetrics(context, data, await classify(context, data, autoencoder), 0);
            await writeReport(context);
            closeProgress();
            process.stdout.write(`${run.path('report.html')}\n`);
          }
          closeProgress();
        });
      }));
  }

  // `dae serve`: the interactive page, on 127.0.0.1 only. Imported on demand, so the other commands never load node:http.
  program.command('serve').description('serve a page for a run folder: draw a digit, watch it denoised, encoded and classified')
    .argument('[run-dir]', 'complete run folder (default: the newest complete one under runs/)')
    .option('--port <n>', 'port on 127.0.0.1 (0 = any free port)', integer('--port', 0, 65535), 8765)
    .action(async (directory: string | undefined, options: { port: number }) => {
      const { newestCompleteRun, serveRun, ServeError } = await import('../serve/server.js');
      const chosen = directory ?? await newestCompleteRun('runs');
      if (chosen === undefined) throw new RunFolderError('runs', 'holds no complete run folder', 'run `dae experiment` first, or name a run folder');
      try {
        const server = await serveRun(chosen, { port: options.port });
        process.stderr.write(`dae: serving ${chosen} on this machine only; Ctrl-C stops\n`);
        process.stdout.write(`${server.url}\n`);
        for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => void server.close());
      } catch (error) {
        if (!(error instanceof ServeError)) throw error;
        process.stderr.write(`dae: ${error.message}\n`);
        process.exitCode = 1;
      }
    });
  program.command('export').description('write a finished run\'s models as ONNX or Keras 3 files, for runtimes other than tfjs')
    .argument('<run-dir>', 'complete run folder')
    .addOption(new Option('--format <name>', 'onnx: one .onnx file per model (opset 17, NHWC input, dynamic batch); keras: one .keras file per model (Keras 3)')
      .choices(exportFormats).makeOptionMandatory())
    .option('--model <name>', 'a folder name under the run\'s models/ (autoencoder, encoder, decoder, classifier-frozen-5500, ...), or all', 'all')
    .option('--out <dir>', 'folder for the files (default <run-dir>/export/<format>)')
    .action(async (directory: string, options: { format: ExportFormat; model: string; out?: string }) => {
      // Only weights are read; any engine will do, and the default one prints nothing.
      await useBackend('auto', { threads: 1 });
      const exported = await exportRun(directory, { format: options.format, model: options.model, ...(options.out !== undefined ? { out: options.out } : {}) });
      for (const item of exported) {
        process.stderr.write(`  ${item.model.padEnd(24)} ${item.inputName} [batch, ${item.inputShape.join(', ')}] -> ${item.outputName} [batch, ${item.outputShape.join(', ')}]  ${(item.bytes / 1024).toFixed(0)} KiB\n`);
        process.stdout.write(`${item.file}\n`);
      }
    });
  withGridTail(withGridHead(program.command('sweep').description('label-efficiency sweep: the three variants on nested label subsets, several seeds each, on a run folder\'s pretrained autoencoder'),
    'a run folder to add the sweep to (pretrained first if it is not yet)')
    .option('--min-steps <n>', `optimiser steps every cell takes at least, however few its labels (default ${defaultSweep.minimumSteps})`, integer('--min-steps', 1)))
    .action((directory: string | undefined, options: RunOptions & { labels?: (number | 'all')[]; seeds?: number; minSteps?: number; queue?: string }) => holding(
      directory ? openRun(directory) : startRun({ ...options, overwrite: false }), ({ run, config }) => guarded(run, async () => {
        const context = await contextFor(run, configFromFlags(() => validateConfig({ ...config, backend: { ...config.backend, ...backendOverrides(options) } })), options, 'grid');
        const sweepOptions = { ...defaultSweep, ...(options.labels ? { labelCounts: options.labels } : {}), ...(options.seeds ? { seeds: options.seeds } : {}),
          ...(options.minSteps ? { minimumSteps: options.minSteps } : {}) };
        const result = await withCellRunner(options.queue, 'sweep', (runner) => runSweep(context, sweepOptions, runner));
        const estimateLines = await saveEstimates(run, 'sweep/time-estimates.json', closeProgress());
        if (!options.json) printLines(sweepSummary(result, { ...totalsOf(run, mebibytes(Math.max(peakRssBytes, process.memoryUsage.rss()))), estimateLines,
          sweepPath: run.path('sweep', 'sweep.json'), reportWritten: run.isStageDone('classify') }));
        process.stdout.write(`${run.path('sweep', 'sweep.json')}\n`);
      })));

  // `dae ablate`: which pretraining pretrains best (plain, salt and pepper, Gaussian, masking), scratch as the baseline.
  withGridTail(withGridHead(program.command('ablate').description('pretraining ablation: autoencoders pretrained with each corruption (and none) on the same budget, their frozen and fine-tuned classifiers against scratch'),
    'a run folder to add the ablation to (its metrics.json and report gain it)')
    .option('--pretrainings <list>', `comma-separated pretrainings (default all: ${pretrainingSpecs.map((spec) => spec.name).join(', ')})`, (value: string) => value.split(',').map((name) => {
      const spec = pretrainingSpecs.find((candidate) => candidate.name === name.trim());
      if (!spec) throw new InvalidArgumentError(`--pretrainings: unknown pretraining '${name}'; use ${pretrainingSpecs.map((candidate) => candidate.name).join(', ')}`);
      return spec;
    }))
    .option('--pretrain-epochs <n>', `epochs of every pretraining (default ${defaultAblation.pretrainEpochs})`, integer('--pretrain-epochs', 1)))
    .action((directory: string | undefined, options: RunOptions & { labels?: (number | 'all')[]; seeds?: number; pretrainings?: typeof pretrainingSpecs; pretrainEpochs?: number; queue?: string }) => holding(
      directory ? openRun(directory) : startRun({ ...options, overwrite: false }), ({ run, config }) => guarded(run, async () => {
        const context = await contextFor(run, configFromFlags(() => validateConfig({ ...config, backend: { ...config.backend, ...backendOverrides(options) } })), options, 'grid');
        const ablationOptions = {
          ...defaultAblation,
          ...(options.labels ? { labelCounts: options.labels } : {}),
          ...(options.seeds ? { seeds: options.seeds } : {}),
          ...(options.pretrainings ? { pretrainings: options.pretrainings } : {}),
          ...(options.pretrainEpochs ? { pretrainEpochs: options.pretrainEpochs } : {}),
        };
        const result = await withCellRunner(options.queue, 'ablation', (runner) => runAblation(context, ablationOptions, runner));
        const estimateLines = await saveEstimates(run, 'ablation/time-estimates.json', closeProgress());
        for (const entry of result.summary) {
          process.stderr.write(`  ${entry.pretraining.padEnd(20)} ${entry.encoder.padEnd(9)} ${String(entry.labels).padStart(6)} labels  ${(100 * entry.accuracy.mean).toFixed(2)}% ± ${(100 * entry.accuracy.std).toFixed(2)}\n`);
        }
        if (!options.json && estimateLines.length > 0) printLines(estimateLines);
        process.stdout.write(`${run.path('ablation', 'ablation.json')}\n`);
      })));
  addWorkerCommand(program, () => stopRequested);
  return program;
}

export async function main(argv: string[]): Promise<void> {
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.on(signal, () => {
      if (stopRequested) process.exit(130);
      stopRequested = true;
      process.stderr.write(`\ndae: ${signal} received, stopping at the next safe point (send it again to stop at once)\n`);
    });
  }
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
  } catch (error) {
    if (error instanceof CommanderError) {
      // Help and version exit 0; every usage error exits 2, as is customary for bad command lines.
      process.exitCode = error.exitCode === 0 ? 0 : 2;
      return;
    }
    if (error instanceof UsageError) {
      process.stderr.write(`dae: ${error.message} (see dae --help)\n`);
      process.exitCode = 2;
      return;
    }
    // An error from a thread of the pool arrives as a ThreadJobError that keeps its class's name.
    const known = knownErrors.some((kind) => error instanceof kind
      || (error instanceof ThreadJobError && error.originalName === kind.name));
    if (known) {
      process.stderr.write(`dae: ${(error as Error).message}\n`);
      process.exitCode = 1;
      return;
    }
    throw error;
  }
}

await main(process.argv);
