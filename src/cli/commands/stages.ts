// `dae pretrain`, then `dae inspect`, `dae classify` and `dae report` on its run folder: the study's stages one at a
// time, each doing what the folder lacks.
import type { Command } from 'commander';

import { RunFolderError } from '../../io/run-folder.js';
import { classify } from '../../study/classify.js';
import { checkDenoising } from '../../study/denoise.js';
import { inspectRepresentation } from '../../study/inspect.js';
import { pretrain } from '../../study/pretrain.js';
import { assembleMetrics, writeReport } from '../../study/report.js';
import { pathIn } from '../flags.js';
import {
  backendOverrides,
  closeProgress,
  contextFor,
  guarded,
  holding,
  openRun,
  startRun,
  withBackendFlags,
  withRunOptions,
} from '../session.js';
import type { ProgressOptions, RunOptions } from '../session.js';

export function addStageCommands(program: Command): void {
  withRunOptions(
    program.command('pretrain').description('train the denoising autoencoder only (the first stage of a run folder)'),
    { classifierWorkers: false },
  ).action((options: RunOptions) =>
    holding(startRun(options), (opened) =>
      guarded(opened.run, async () => {
        await pretrain(await contextFor(opened, options), opened.data);
        closeProgress();
        await opened.run.markIncomplete(
          'only the pretrain stage was run; continue with `dae inspect`, `dae classify`, `dae report`',
        );
      }),
    ),
  );

  for (const [name, description] of [
    ['inspect', 'score the denoising and draw what the autoencoder learned, for a pretrained run folder'],
    ['classify', 'train and evaluate the classifiers of a pretrained run folder'],
    ['report', 'write metrics.json and report.html from a run folder'],
  ] as const) {
    const command = program
      .command(name)
      .description(description)
      .argument('<run-dir>', 'run folder', pathIn('run-dir'))
      .option('--json', 'progress as JSON lines', false)
      .option('--verbose', 'in a terminal, also a line per finished epoch', false);
    // Only classify trains several runs: it alone takes the kernel threads and the runs trained at once.
    if (name === 'classify') withBackendFlags(command);
    command.action((directory: string, options: ProgressOptions & Pick<RunOptions, 'threads' | 'workers'>) =>
      holding(openRun(directory, backendOverrides(options)), async (opened) => {
        const { run, data } = opened;
        if (name === 'report') {
          // A report never trains: it is written only for a run whose every stage has finished.
          const missing = ['pretrain', 'denoise', 'inspect', 'classify'].filter((stage) => !run.isStageDone(stage));
          if (missing.length > 0) {
            throw new RunFolderError(
              run.path('run.json'),
              `the run has not finished (missing: ${missing.join(', ')})`,
              `continue it with \`dae experiment --resume ${run.directory}\``,
            );
          }
        }
        await guarded(run, async () => {
          const context = await contextFor(opened, options);
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
      }),
    );
  }
}
