// What `dae sweep` and `dae ablate` share: their run folder and grid flags, and where their cells train.
import { InvalidArgumentError, Option } from 'commander';
import type { Command } from 'commander';

import { backendNames } from '../../backend/index.js';
import { presetNames, validateConfig } from '../../config.js';
import type { CellRunner } from '../../grid/cells.js';
import type { RunFolder } from '../../io/run-folder.js';
import { queueCellRunner } from '../../queue/coordinator.js';
import { openQueue } from '../../queue/open.js';
import type { ExperimentContext } from '../../study/context.js';
import { integer } from '../flags.js';
import { backendOverrides, configFromFlags, contextFor, guarded, holding, openRun, startRun } from '../session.js';
import type { RunOptions } from '../session.js';
import { queueOption } from './worker.js';

/** `--labels 100,1000,all`: label counts, "all" for the whole training split. */
export function labelList(value: string): (number | 'all')[] {
  return value.split(',').map((item) => {
    if (item.trim() === 'all') return 'all' as const;
    const count = Number(item);
    if (!Number.isInteger(count) || count <= 0)
      throw new InvalidArgumentError(`--labels takes whole numbers > 0 or "all", got '${item}'`);
    return count;
  });
}

/**
 * Runs a grid of cells (`dae sweep`, `dae ablate`): in this process, or with `--queue` through the job queue, whose
 * `dae worker` processes train the cells here or on other machines.
 */
export async function withCellRunner<Result>(
  queueAddress: string | undefined,
  grid: string,
  body: (runner: CellRunner | undefined) => Promise<Result>,
): Promise<Result> {
  if (queueAddress === undefined) return body(undefined);
  const queue = await openQueue(queueAddress, 'coordinator', (error) =>
    process.stderr.write(`dae: ${error.message}\n`),
  );
  try {
    process.stderr.write(
      `dae: cells go to the job queue at ${queue.store.address}; train them with \`dae worker --queue ${queue.workerAddress === 'embedded' ? 'embedded' : 'URL'}\`\n`,
    );
    return await body(queueCellRunner(queue.store, { grid }));
  } finally {
    await queue.close();
  }
}

/**
 * Runs a grid command's `body` on its run folder, `directory` or a new one, locked and guarded as every command's,
 * with the backend flags laid over its config and the machine measured for the time left.
 */
export function onGridRun(
  directory: string | undefined,
  options: RunOptions,
  body: (run: RunFolder, context: ExperimentContext) => Promise<void>,
): Promise<void> {
  return holding(directory ? openRun(directory) : startRun({ ...options, overwrite: false }), ({ run, config }) =>
    guarded(run, async () => {
      const backend = { ...config.backend, ...backendOverrides(options) };
      await body(
        run,
        await contextFor(
          run,
          configFromFlags(() => validateConfig({ ...config, backend })),
          options,
          'grid',
        ),
      );
    }),
  );
}

/** The run folder and grid options `dae sweep` and `dae ablate` share, before their own. */
export function withGridHead(command: Command, runDirectoryHelp: string): Command {
  return command
    .argument('[run-dir]', runDirectoryHelp)
    .addOption(new Option('--preset <name>', 'preset for a new run folder').choices(presetNames).default('full'))
    .option('--out <dir>', 'new run folder when no run-dir is given')
    .option('--labels <list>', 'comma-separated label counts, "all" for the whole split', labelList)
    .option('--seeds <n>', 'seeds per cell', integer('--seeds', 1));
}

/**
 * Where and how the cells of `dae sweep` and `dae ablate` train, and how progress is shown: after their own options.
 */
export function withGridTail(command: Command): Command {
  return command
    .addOption(queueOption())
    .addOption(new Option('--backend <name>', 'tfjs backend').choices(backendNames))
    .option('--threads <n>', 'kernel threads, 0 = every core', integer('--threads', 0))
    .option(
      '--workers <n>',
      'cells trained at once, one thread each (native backend); 0 = one per thread',
      integer('--workers', 0),
    )
    .option('--json', 'progress as JSON lines', false)
    .option('--verbose', 'in a terminal, also a line per finished epoch', false);
}
