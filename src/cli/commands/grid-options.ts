// What `dae sweep` and `dae ablate` share: their run folder and grid flags, and where their cells train.
import { InvalidArgumentError, Option } from 'commander';
import type { Command } from 'commander';

import { backendNames } from '../../backend/index.js';
import { limits, presetNames } from '../../config.js';
import type { CellRunner } from '../../grid/cells.js';
import { resolveLabelCounts } from '../../grid/sweep.js';
import type { RunFolder } from '../../io/run-folder.js';
import { queueCellRunner } from '../../queue/coordinator.js';
import { openQueue } from '../../queue/open.js';
import type { OpenQueue } from '../../queue/open.js';
import { quote } from '../../quote.js';
import type { ExperimentContext } from '../../study/context.js';
import { numberIn, numberOption, pathIn } from '../flags.js';
import {
  backendOverrides,
  configFromFlags,
  contextFor,
  guarded,
  holding,
  openRun,
  refuseIgnoredFlags,
  startRun,
} from '../session.js';
import type { BeforeRun, RunOptions } from '../session.js';
import { queueOption } from './worker.js';

const labelCount = numberIn('--labels', limits.labels);

/** `--labels 100,1000,all`: label counts, "all" for the whole training split. */
export function labelList(value: string): (number | 'all')[] {
  return value.split(',').map((item) => {
    if (item.trim() === 'all') return 'all' as const;
    try {
      return labelCount(item);
    } catch {
      throw new InvalidArgumentError(
        `--labels takes comma-separated whole numbers from ${limits.labels.min} to ${limits.labels.max} or "all", got ${quote(item)}`,
      );
    }
  });
}

export interface GridOptions extends RunOptions {
  labels?: (number | 'all')[];
  seeds?: number;
  repeats?: number;
  queue?: string;
}

/**
 * Runs a grid command's `body` (`dae sweep`, `dae ablate`) on its run folder, `directory` or a new one, locked and
 * guarded as every command's, with the backend flags laid over its config and the machine measured for the time
 * left. Its cells train in this process, or with `--queue` through the job queue, whose `dae worker` processes train
 * them here or on other machines (`runner`). Everything the flags name, the queue included, is checked or opened
 * before the run folder is made.
 */
export async function onGridRun(
  command: Command,
  directory: string | undefined,
  options: GridOptions,
  grid: 'sweep' | 'ablation',
  body: (run: RunFolder, context: ExperimentContext, runner: CellRunner | undefined) => Promise<void>,
): Promise<void> {
  if (directory !== undefined)
    refuseIgnoredFlags(
      command,
      (flag) => flag === '--preset' || flag === '--out',
      'a run folder',
      `the ${grid} goes into ${directory}, with the settings it was made with`,
    );
  let queue: OpenQueue | undefined;
  const before: BeforeRun = async (_config, data) => {
    if (options.labels) configFromFlags(() => resolveLabelCounts(options.labels!, data.train.count));
    if (options.queue === undefined) return;
    queue = await openQueue(options.queue, 'coordinator', (error) => process.stderr.write(`dae: ${error.message}\n`));
    process.stderr.write(
      `dae: cells go to the job queue at ${queue.store.address}; train them with \`dae worker --queue ${queue.workerAddress === 'embedded' ? 'embedded' : 'URL'}\`\n`,
    );
  };
  try {
    await holding(
      directory !== undefined
        ? openRun(directory, backendOverrides(options), before)
        : startRun({ ...options, overwrite: false }, before),
      (opened) =>
        guarded(opened.run, async () => {
          const context = await contextFor(opened, options, 'grid');
          await body(opened.run, context, queue ? queueCellRunner(queue.store, { grid }) : undefined);
        }),
    );
  } finally {
    await queue?.close();
  }
}

/** The run folder and grid options `dae sweep` and `dae ablate` share, before their own. */
export function withGridHead(command: Command, runDirectoryHelp: string): Command {
  return command
    .argument('[run-dir]', runDirectoryHelp, pathIn('run-dir'))
    .addOption(new Option('--preset <name>', 'preset for a new run folder').choices(presetNames).default('full'))
    .option('--out <dir>', 'new run folder when no run-dir is given', pathIn('--out'))
    .option(
      '--labels <list>',
      `comma-separated label counts, "all" for the whole split (each at most the training split's images; default 100,300,1000,3000,6000,all for sweep, 100,1000,all for ablate)`,
      labelList,
    )
    .addOption(
      numberOption('--repeats <n>', "seeds per cell: the run's seed and the ones after it (default 3)", limits.seeds),
    )
    .addOption(numberOption('--seeds <n>', 'the old spelling of --repeats', limits.seeds).hideHelp());
}

/** The number of seeds per cell, from --repeats or its old spelling --seeds (which says so in one line). */
export function repeatsOf(options: { repeats?: number; seeds?: number }): number | undefined {
  if (options.seeds !== undefined && options.repeats === undefined)
    process.stderr.write(
      'dae: --seeds N is now --repeats N (a count, not a list of seeds); --seeds still works for now\n',
    );
  return options.repeats ?? options.seeds;
}

/**
 * Where and how the cells of `dae sweep` and `dae ablate` train, and how progress is shown: after their own options.
 */
export function withGridTail(command: Command): Command {
  return command
    .addOption(queueOption())
    .addOption(new Option('--backend <name>', "tfjs backend (default: the run's)").choices(backendNames))
    .addOption(numberOption('--threads <n>', 'kernel threads, 0 = every core (default 0)', limits.threads))
    .addOption(
      numberOption(
        '--workers <n>',
        'cells trained at once, one thread each (native backend); 0 = one per thread (default 0)',
        limits.workers,
      ),
    )
    .option('--json', 'progress as JSON lines', false)
    .option('--verbose', 'in a terminal, also a line per finished epoch', false);
}
