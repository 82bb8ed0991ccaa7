// `dae experiment --resume` continues a run with the settings and the folder it was started with: a finished run is
// left exactly as it is (its results, report and time check stand) with a line saying so; a flag that the resumed run
// would ignore is refused, naming it, and so is --out or --preset beside a run folder for `dae sweep` and `dae ablate`;
// the backend flags, which change no result, are laid over the saved settings.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { buildProgram } from '../src/cli/main.js';
import { openRun } from '../src/cli/session.js';
import { presets } from '../src/config.js';
import { assertRefused, runDaeCases, shown } from './support/dae-cases.js';

/** A run folder as a finished (or stopped) tiny study leaves it, as far as --resume looks. */
async function runFolder(directory: string, status: 'complete' | 'incomplete'): Promise<void> {
  await mkdir(directory, { recursive: true });
  const record = { formatVersion: 1, status, startedAt: new Date(0).toISOString(), config: presets.tiny, stages: {} };
  await writeFile(join(directory, 'run.json'), JSON.stringify(record));
  await writeFile(join(directory, 'metrics.json'), '{"formatVersion": 3}\n');
  await writeFile(join(directory, 'report.html'), '<html>the report</html>\n');
  await writeFile(join(directory, 'time-estimates.json'), '{"checks": ["the original time check"]}\n');
}

/** Every file of `folder` with its contents and modification time. */
async function snapshot(folder: string): Promise<Record<string, string>> {
  const files: Record<string, string> = {};
  for (const name of (await readdir(folder)).sort()) {
    const path = join(folder, name);
    files[name] = `${(await stat(path)).mtimeMs} ${await readFile(path, 'utf8')}`;
  }
  return files;
}

/** A value each flag of `dae experiment` accepts: --resume refuses the flag for being ignored, not for its value. */
const validValues: Record<string, string[]> = {
  '--preset': ['tiny'],
  '--out': ['elsewhere'],
  '--seed': ['7'],
  '--data': ['.'],
  '--dataset-name': ['Digits'],
  '--class-names': ['a,b,c,d,e,f,g,h,i,j'],
  '--epochs': ['2'],
  '--learning-rate': ['0.01'],
  '--overwrite': [],
};
const honoured = ['--resume', '--backend', '--threads', '--workers', '--json', '--verbose', '--help'];

test('--resume on a finished run writes nothing and says how to write its report again', async () => {
  const cwd = await mkdtemp(join(tmpdir(), 'dae-resume-'));
  try {
    await runFolder(join(cwd, 'finished'), 'complete');
    const before = await snapshot(join(cwd, 'finished'));
    const answers = await runDaeCases(
      [
        ['experiment', '--resume', 'finished'],
        ['experiment', '--resume', 'finished', '--json', '--workers', '1'],
      ],
      { cwd },
    );
    for (const answer of answers) {
      assert.equal(answer.status, 0, shown(answer));
      assert.equal(
        answer.stderr,
        'dae: finished: the run has finished, so there is nothing to resume and nothing was written; to write its report again, run `dae report finished`\n',
      );
      assert.equal(answer.stdout, `${join('finished', 'report.html')}\n`);
      assert.deepEqual(answer.created, []);
    }
    assert.deepEqual(await snapshot(join(cwd, 'finished')), before, 'the finished run folder changed');
  } finally {
    await rm(cwd, { recursive: true, force: true });
  }
});

test('a flag that --resume, or a grid on a run folder, would ignore is refused by name', async () => {
  const cwd = await mkdtemp(join(tmpdir(), 'dae-resume-'));
  try {
    await runFolder(join(cwd, 'stopped'), 'incomplete');
    const before = await snapshot(join(cwd, 'stopped'));
    const experiment = buildProgram().commands.find((command) => command.name() === 'experiment')!;
    const ignored = experiment.options.map((option) => option.long!).filter((flag) => !honoured.includes(flag));
    // A new flag of `dae experiment` needs a value here, and a decision: honoured on resume, or refused.
    assert.deepEqual(ignored.sort(), Object.keys(validValues).sort());
    const cases: [flag: string, args: string[]][] = [
      ...ignored.map((flag): [string, string[]] => [
        flag,
        ['experiment', '--resume', 'stopped', flag, ...validValues[flag]!],
      ]),
      ['--out', ['sweep', 'stopped', '--out', 'elsewhere']],
      ['--preset', ['ablate', 'stopped', '--preset', 'quick']],
    ];
    const answers = await runDaeCases(
      cases.map(([, args]) => args),
      { cwd },
    );
    for (const [index, answer] of answers.entries()) {
      assertRefused(answer, 2);
      const flag = cases[index]![0];
      assert.match(
        answer.stderr,
        new RegExp(`^dae: ${flag} cannot be used with (--resume|a run folder): .*; drop ${flag}`),
      );
    }
    assert.deepEqual(await snapshot(join(cwd, 'stopped')), before, 'a refused command wrote into the run folder');
  } finally {
    await rm(cwd, { recursive: true, force: true });
  }
});

test('the backend flags given with --resume are laid over the saved settings', async () => {
  const directory = await mkdtemp(join(tmpdir(), 'dae-resume-'));
  try {
    await runFolder(directory, 'incomplete');
    const opened = await openRun(directory, { threads: 1, workers: 1 });
    try {
      assert.deepEqual(opened.config.backend, { ...presets.tiny.backend, threads: 1, workers: 1 });
      assert.equal(opened.data.train.count, 1000);
    } finally {
      await opened.run.release();
    }
  } finally {
    await rm(directory, { recursive: true, force: true });
  }
});
