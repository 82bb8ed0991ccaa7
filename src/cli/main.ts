// The `dae` command: one file per command under commands/, what they share in session.ts. Errors end here: a usage
// error exits 2, a known kind of failure 1 with its one line, anything else with its stack trace.
import { Command, CommanderError } from 'commander';

import { BackendError } from '../backend/index.js';
import { ConfigError } from '../config.js';
import { DatasetError } from '../data/dataset.js';
import { DatasetDescriptionError } from '../data/description.js';
import { IdxFormatError } from '../data/idx.js';
import { NoiseSpecError } from '../data/noise.js';
import { SplitError } from '../data/split.js';
import { ExportError } from '../export/model-tree.js';
import { FileWriteError } from '../io/atomic.js';
import { CheckpointError } from '../io/checkpoint-files.js';
import { ModelFileError } from '../io/model-files.js';
import { RunFolderError } from '../io/run-folder.js';
import { RunLockedError } from '../io/run-lock.js';
import { QueueError } from '../queue/address.js';
import { ThreadJobError } from '../study/threads.js';
import { DivergenceError } from '../train/events.js';
import { oneLine, quote } from '../quote.js';
import { addAblateCommand } from './commands/ablate.js';
import { addExperimentCommand } from './commands/experiment.js';
import { addExportCommand } from './commands/export.js';
import { addServeCommand } from './commands/serve.js';
import { addStageCommands } from './commands/stages.js';
import { addSweepCommand } from './commands/sweep.js';
import { addWorkerCommand } from './commands/worker.js';
import { requestStop, stopRequested, UsageError } from './session.js';

const knownErrors = [
  ConfigError,
  BackendError,
  DatasetError,
  DatasetDescriptionError,
  IdxFormatError,
  NoiseSpecError,
  SplitError,
  ModelFileError,
  RunFolderError,
  RunLockedError,
  CheckpointError,
  DivergenceError,
  FileWriteError,
  ExportError,
  QueueError,
];

/**
 * Commander's refusal of a flag's or argument's value (`option '--epochs <n>' argument '...' is invalid. ...`), or of
 * an unknown flag or command, echoes it whole. Our parsers' messages name the flag and quote the value themselves, so
 * they stand alone; any other (a choice not among the choices) keeps commander's words with the value quoted, escaped
 * and cut.
 */
function commanderMessage(text: string): string {
  const message = text.replace(/^error: /, '').trim();
  const unknown =
    /^(?<what>unknown (?:option|command) )'(?<name>[\s\S]*)'(?<rest>(?:\n\(Did you mean [^)]*\?\))?)$/.exec(message);
  if (unknown?.groups) return `${unknown.groups['what']}${quote(unknown.groups['name'])}${unknown.groups['rest']}`;
  const refused =
    /^(?<before>option '(?<flags>[^']*)' (?:argument|value) |command-argument value )'(?<value>[\s\S]*)'(?<after> from env '[^']*' is invalid\.| is invalid\.| is invalid for argument '(?<argument>[^']*)'\.) (?<reason>[\s\S]*)$/.exec(
      message,
    );
  if (!refused?.groups) return message;
  const { before, flags, value, after, argument, reason } = refused.groups;
  const name = argument ?? flags?.split(/[ ,]/)[0] ?? '';
  if (name !== '' && reason?.startsWith(name)) return reason;
  return `${before}${quote(value)}${after} ${reason}`;
}

export function buildProgram(): Command {
  const program = new Command('dae')
    .description(
      'Pretrain an image classifier (MNIST, or any dataset in its layout) with a deep denoising autoencoder, inspect it, and compare 10% vs 100% of the labels.',
    )
    .exitOverride()
    .configureOutput({
      outputError: (text, write) => write(`dae: ${oneLine(commanderMessage(text), 1000)} (see dae --help)\n`),
    });

  addExperimentCommand(program);
  addStageCommands(program);
  addServeCommand(program);
  addExportCommand(program);
  addSweepCommand(program);
  addAblateCommand(program);
  addWorkerCommand(program, stopRequested);
  return program;
}

let signalsHandled = false;
/** Ctrl-C or SIGTERM asks the command to stop at its next safe point; a second one stops it at once. */
function handleSignals(): void {
  if (signalsHandled) return;
  signalsHandled = true;
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.on(signal, () => {
      if (stopRequested()) process.exit(130);
      requestStop();
      process.stderr.write(
        `\ndae: ${signal} received, stopping at the next safe point (send it again to stop at once)\n`,
      );
    });
  }
}

/** Runs `dae` on `argv` (node's, the program's path first) and sets process.exitCode; bin/dae.js calls it. */
export async function main(argv: string[]): Promise<void> {
  handleSignals();
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
      process.stderr.write(`dae: ${oneLine(error.message)} (see dae --help)\n`);
      process.exitCode = 2;
      return;
    }
    // An error from a thread of the pool arrives as a ThreadJobError that keeps its class's name.
    const known = knownErrors.some(
      (kind) => error instanceof kind || (error instanceof ThreadJobError && error.originalName === kind.name),
    );
    if (known) {
      process.stderr.write(`dae: ${oneLine((error as Error).message)}\n`);
      process.exitCode = 1;
      return;
    }
    throw error;
  }
}
