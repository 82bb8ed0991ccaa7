// `dae sweep`: the label-efficiency sweep on a run folder's pretrained autoencoder.
import { InvalidArgumentError } from 'commander';
import type { Command } from 'commander';

import { limits } from '../../config.js';
import { defaultSweep, fittingLabelCounts, runSweep } from '../../grid/sweep.js';
import { encoderModes } from '../../model/classifier.js';
import { quote } from '../../quote.js';
import type { EncoderMode } from '../../model/classifier.js';
import { numberOption } from '../flags.js';
import { sweepSummary } from '../summary.js';
import { closeProgress, peakMemoryMiB, printLines, saveEstimates, totalsOf } from '../session.js';
import { onGridRun, repeatsOf, withGridHead, withGridTail } from './grid-options.js';
import type { GridOptions } from './grid-options.js';

/** `--variants finetuned,fixmatch-scratch`: classifier variants, each once. */
function variantList(value: string): EncoderMode[] {
  const names = value.split(',').map((name) => name.trim());
  const unknown = names.find((name) => !(encoderModes as string[]).includes(name));
  if (unknown !== undefined)
    throw new InvalidArgumentError(
      `--variants: unknown variant ${quote(unknown)}; use some of ${encoderModes.join(', ')}`,
    );
  return [...new Set(names)] as EncoderMode[];
}

export function addSweepCommand(program: Command): void {
  withGridTail(
    withGridHead(
      program
        .command('sweep')
        .description(
          "label-efficiency sweep: the classifier variants on nested label subsets, several seeds each, on a run folder's pretrained autoencoder",
        ),
      'a run folder to add the sweep to (pretrained first if it is not yet)',
    )
      .addOption(
        numberOption(
          '--min-steps <n>',
          `optimiser steps every cell takes at least, however few its labels (default ${defaultSweep.minimumSteps})`,
          limits.minimumSteps,
        ),
      )
      .option(
        '--variants <list>',
        `comma-separated classifier variants, of ${encoderModes.join(', ')} (default: all; the FixMatch ones at ${(defaultSweep.semiSupervisedLabelCounts ?? []).join(' and ')} labels, or at every --labels count)`,
        variantList,
      ),
  ).action(
    (
      directory: string | undefined,
      options: GridOptions & { minSteps?: number; variants?: EncoderMode[] },
      command: Command,
    ) =>
      onGridRun(command, directory, options, 'sweep', async (run, context, runner) => {
        const sweepOptions = {
          ...defaultSweep,
          ...(options.labels
            ? { labelCounts: options.labels, semiSupervisedLabelCounts: null }
            : { labelCounts: fittingLabelCounts(defaultSweep.labelCounts, context.data!.train.count) }),
          ...(options.variants ? { encoders: options.variants } : {}),
          ...((repeats) => (repeats ? { seeds: repeats } : {}))(repeatsOf(options)),
          ...(options.minSteps ? { minimumSteps: options.minSteps } : {}),
        };
        const result = await runSweep(context, sweepOptions, runner);
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
