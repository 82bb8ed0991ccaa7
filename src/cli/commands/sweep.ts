// `dae sweep`: the label-efficiency sweep on a run folder's pretrained autoencoder.
import type { Command } from 'commander';

import { defaultSweep, runSweep } from '../../grid/sweep.js';
import { integer } from '../flags.js';
import { sweepSummary } from '../summary.js';
import { closeProgress, peakMemoryMiB, printLines, saveEstimates, totalsOf } from '../session.js';
import type { RunOptions } from '../session.js';
import { onGridRun, withCellRunner, withGridHead, withGridTail } from './grid-options.js';

export function addSweepCommand(program: Command): void {
  withGridTail(
    withGridHead(
      program
        .command('sweep')
        .description(
          "label-efficiency sweep: the three variants on nested label subsets, several seeds each, on a run folder's pretrained autoencoder",
        ),
      'a run folder to add the sweep to (pretrained first if it is not yet)',
    ).option(
      '--min-steps <n>',
      `optimiser steps every cell takes at least, however few its labels (default ${defaultSweep.minimumSteps})`,
      integer('--min-steps', 1),
    ),
  ).action(
    (
      directory: string | undefined,
      options: RunOptions & { labels?: (number | 'all')[]; seeds?: number; minSteps?: number; queue?: string },
    ) =>
      onGridRun(directory, options, async (run, context) => {
        const sweepOptions = {
          ...defaultSweep,
          ...(options.labels ? { labelCounts: options.labels } : {}),
          ...(options.seeds ? { seeds: options.seeds } : {}),
          ...(options.minSteps ? { minimumSteps: options.minSteps } : {}),
        };
        const result = await withCellRunner(options.queue, 'sweep', (runner) =>
          runSweep(context, sweepOptions, runner),
        );
        const estimateLines = await saveEstimates(run, 'sweep/time-estimates.json', closeProgress());
        if (!options.json)
          printLines(
            sweepSummary(result, {
              ...totalsOf(run, peakMemoryMiB()),
              estimateLines,
              sweepPath: run.path('sweep', 'sweep.json'),
              reportWritten: run.isStageDone('classify'),
            }),
          );
        process.stdout.write(`${run.path('sweep', 'sweep.json')}\n`);
      }),
  );
}
