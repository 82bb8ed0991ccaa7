// `dae ablate`: which pretraining pretrains best (plain, salt and pepper, Gaussian, masking), scratch as the baseline.
import { InvalidArgumentError } from 'commander';
import type { Command } from 'commander';

import { limits } from '../../config.js';
import { defaultAblation, pretrainingSpecs, runAblation } from '../../grid/ablation.js';
import type { PretrainingSpec } from '../../grid/ablation.js';
import { fittingLabelCounts } from '../../grid/sweep.js';
import { quote } from '../../quote.js';
import { numberOption } from '../flags.js';
import { closeProgress, printLines, saveEstimates } from '../session.js';
import { onGridRun, repeatsOf, withGridHead, withGridTail } from './grid-options.js';
import type { GridOptions } from './grid-options.js';

/** `--pretrainings plain,masking-30`: names from the table of pretrainings, each once. */
function pretrainingList(value: string): PretrainingSpec[] {
  const names = value.split(',').map((name) => name.trim());
  return names.map((name, index) => {
    const spec = pretrainingSpecs.find((candidate) => candidate.name === name);
    if (!spec)
      throw new InvalidArgumentError(
        `--pretrainings: unknown pretraining ${quote(name)}; use ${pretrainingSpecs.map((candidate) => candidate.name).join(', ')}`,
      );
    if (names.indexOf(name) !== index)
      throw new InvalidArgumentError(`--pretrainings: ${quote(name)} is named twice; name each pretraining once`);
    return spec;
  });
}

export function addAblateCommand(program: Command): void {
  // `dae ablate`: which pretraining pretrains best (plain, salt and pepper, Gaussian, masking), scratch as the
  // baseline.
  withGridTail(
    withGridHead(
      program
        .command('ablate')
        .description(
          'pretraining ablation: autoencoders pretrained with each corruption (and none) on the same budget, their frozen and fine-tuned classifiers against scratch',
        ),
      'a run folder to add the ablation to (its metrics.json and report gain it)',
    )
      .option(
        '--pretrainings <list>',
        `comma-separated pretrainings (default all: ${pretrainingSpecs.map((spec) => spec.name).join(', ')})`,
        pretrainingList,
      )
      .addOption(
        numberOption(
          '--pretrain-epochs <n>',
          `epochs of every pretraining (default ${defaultAblation.pretrainEpochs})`,
          limits.epochs,
        ),
      ),
  ).action(
    (
      directory: string | undefined,
      options: GridOptions & { pretrainings?: typeof pretrainingSpecs; pretrainEpochs?: number },
      command: Command,
    ) =>
      onGridRun(command, directory, options, 'ablation', async (run, context, runner) => {
        const ablationOptions = {
          ...defaultAblation,
          labelCounts: options.labels ?? fittingLabelCounts(defaultAblation.labelCounts, context.data!.train.count),
          ...((repeats) => (repeats ? { seeds: repeats } : {}))(repeatsOf(options)),
          ...(options.pretrainings ? { pretrainings: options.pretrainings } : {}),
          ...(options.pretrainEpochs ? { pretrainEpochs: options.pretrainEpochs } : {}),
        };
        const result = await runAblation(context, ablationOptions, runner);
        const estimateLines = await saveEstimates(run, 'ablation/time-estimates.json', closeProgress());
        for (const entry of result.summary) {
          process.stderr.write(
            `  ${entry.pretraining.padEnd(20)} ${entry.encoder.padEnd(9)} ${String(entry.labels).padStart(6)} labels  ${(100 * entry.accuracy.mean).toFixed(2)}% ± ${(100 * entry.accuracy.std).toFixed(2)}\n`,
          );
        }
        if (!options.json && estimateLines.length > 0) printLines(estimateLines);
        process.stdout.write(`${run.path('ablation', 'ablation.json')}\n`);
      }),
  );
}
