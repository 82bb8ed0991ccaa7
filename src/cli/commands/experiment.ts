// `dae experiment`: the whole study in a new run folder, or the rest of an interrupted one (`--resume`).
import type { Command } from 'commander';

import { runExperiment } from '../../study/experiment.js';
import { studySummary } from '../summary.js';
import {
  closeProgress,
  contextFor,
  guarded,
  holding,
  openRun,
  printLines,
  saveEstimates,
  startRun,
  totalsOf,
  withRunOptions,
  writeMemoryRecord,
} from '../session.js';
import type { RunOptions } from '../session.js';

export function addExperimentCommand(program: Command): void {
  withRunOptions(
    program
      .command('experiment')
      .description('run the whole study and write a run folder with models, figures, metrics.json and report.html'),
  )
    .option('--resume <dir>', 'continue an interrupted run folder from its last checkpoint')
    .action((options: RunOptions & { resume?: string }) =>
      holding(options.resume ? openRun(options.resume) : startRun(options), (opened) =>
        guarded(opened.run, async () => {
          const { run } = opened;
          const metrics = await runExperiment(await contextFor(opened, options, 'study'));
          const peak = await writeMemoryRecord(run);
          const estimateLines = await saveEstimates(run, 'time-estimates.json', closeProgress());
          if (!options.json) printLines(studySummary(metrics, { ...totalsOf(run, peak), estimateLines }));
          process.stdout.write(`${run.path('report.html')}\n`);
        }),
      ),
    );
}
