// `dae experiment`: the whole study in a new run folder, or the rest of an interrupted one (`--resume`).
import type { Command } from 'commander';

import { RunFolder } from '../../io/run-folder.js';
import { runExperiment } from '../../study/experiment.js';
import { pathIn } from '../flags.js';
import { studySummary } from '../summary.js';
import {
  backendOverrides,
  closeProgress,
  contextFor,
  guarded,
  holding,
  openRun,
  printLines,
  refuseIgnoredFlags,
  saveEstimates,
  startRun,
  totalsOf,
  withRunOptions,
  writeMemoryRecord,
} from '../session.js';
import type { OpenedRun, RunOptions } from '../session.js';

/** Flags a resumed run honours: where and how it trains and shows progress, which change no result. */
const honouredOnResume = ['--resume', '--backend', '--threads', '--workers', '--json', '--verbose'];

export function addExperimentCommand(program: Command): void {
  withRunOptions(
    program
      .command('experiment')
      .description('run the whole study and write a run folder with models, figures, metrics.json and report.html'),
  )
    .option(
      '--resume <dir>',
      'continue an interrupted run folder from its last checkpoint, with the settings it was started with',
      pathIn('--resume'),
    )
    .action(async (options: RunOptions & { resume?: string }, command: Command) => {
      const study = (opened: OpenedRun) =>
        guarded(opened.run, async () => {
          const { run } = opened;
          const metrics = await runExperiment(await contextFor(opened, options, 'study'));
          const peak = await writeMemoryRecord(run);
          const estimateLines = await saveEstimates(run, 'time-estimates.json', closeProgress());
          if (!options.json) printLines(studySummary(metrics, { ...totalsOf(run, peak), estimateLines }));
          process.stdout.write(`${run.path('report.html')}\n`);
        });
      if (options.resume === undefined) return holding(startRun(options), study);
      refuseIgnoredFlags(
        command,
        (flag) => !honouredOnResume.includes(flag),
        '--resume',
        `a resumed run keeps the settings and the folder it was started with (${options.resume}/run.json)`,
      );
      // A finished run has nothing to resume, and is left as it is: its results, report and time check stand.
      const existing = await RunFolder.open(options.resume, { readOnly: true });
      if (existing.status === 'complete') {
        process.stderr.write(
          `dae: ${options.resume}: the run has finished, so there is nothing to resume and nothing was written; to write its report again, run \`dae report ${options.resume}\`\n`,
        );
        process.stdout.write(`${existing.path('report.html')}\n`);
        return;
      }
      return holding(openRun(options.resume, backendOverrides(options)), study);
    });
}
