// Every flag and argument of every command that src/cli/main.ts registers, fed bad values: for numbers, out of the
// range their --help states, negative, zero, huge, not numbers at all, empty; for paths, empty, missing, under /proc,
// a file where a folder is expected, a device, too long; for lists, names, choices and queue addresses, values each
// refuses. Every answer must be one line on stderr, exit code 1 or 2 (2 for a number, which the flag's parser
// refuses), nothing left in the working folder, and come within seconds (dae-cases.ts kills a command that takes
// longer, and fails it). The values are drawn from a seeded generator: DAE_FUZZ_SEED=n reruns a given draw. The
// commands run in one child process (dae-cases.ts), and a few of them again as real processes, which must answer
// the same.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import type { Command, Option } from 'commander';

import { buildProgram } from '../src/cli/main.js';
import { presets } from '../src/config.js';
import { freeLoopbackPort } from '../src/queue/embedded.js';
import { assertRefused, runDaeCases, shown } from './support/dae-cases.js';
import type { DaeAnswer } from './support/dae-cases.js';
import { finished } from './support/finished.js';
import { writeToyDataset } from './support/toy-dataset.js';

const seed = Number(process.env['DAE_FUZZ_SEED'] ?? 25);

/** mulberry32: a small seeded generator, so that a failing draw can be run again. */
function generator(state: number) {
  return () => {
    state = (state + 0x6d2b79f5) | 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const random = generator(seed);
const between = (low: number, high: number) => low + Math.floor(random() * (high - low + 1));

/** The fixtures every command line may name. */
interface Fixtures {
  /** A good dataset, three classes of 28x28 images. */
  toy: string;
  /** A regular file, where a folder is expected. */
  file: string;
  /** Run folders inside the working folder: one stopped before its first stage, one finished. */
  stopped: string;
  finished: string;
  /** A postgres:// URL on which nothing listens. */
  closedQueue: string;
}

/** Bad values for a number in [min, max] (`whole`: whole numbers only). */
function badNumbers(min: number, max: number, whole: boolean): string[] {
  const values = ['', ' ', 'abc', 'NaN', 'Infinity', '-Infinity', '0x10', '1,5', '--', '9'.repeat(400), '-1'];
  values.push(whole ? `${min - 1}` : `${min / 2}`, whole ? `${max + 1}` : `${max * 2}`);
  if (min > 0) values.push('0');
  if (whole) values.push(`${min}.5`, `${Math.min(max, min + 1)}.0`);
  else values.push('1e400', '-0.1');
  // And two drawn at random: far above the range, and below it.
  values.push(`${max + between(1, 1e12)}`, `${min - between(1, 1e12)}`);
  return [...new Set(values)];
}

/** Bad values for a path of something that must exist (a dataset, a run folder). */
const badInputPaths = (fixtures: Fixtures) => [
  '',
  ' ',
  'no-such-folder',
  '/proc/self',
  `/proc/${between(100_000, 4_000_000)}/run`,
  '/dev/null',
  fixtures.file,
  join(fixtures.file, 'below'),
  'x'.repeat(5000),
  'line\nbreak\u001b[31m',
];

/** Bad values for a folder to be made. */
const badOutPaths = (fixtures: Fixtures) => [
  '',
  ' ',
  '/proc/self',
  `/proc/${between(100_000, 4_000_000)}/run`,
  '/dev/null',
  fixtures.file,
  join(fixtures.file, 'run'),
  'x'.repeat(300),
];

/** Bad values of each flag that takes a list, a name or an address, by flag. */
const badWords = (fixtures: Fixtures): Record<string, string[]> => ({
  '--labels': ['', ',', '0', '-5', 'abc', '1,,2', 'all,x', '1.5', '99999999999', '5000'],
  '--class-names': ['', 'a', 'a,a', 'a,,b', `a,${'x'.repeat(101)}`, 'a\u001b,b', 'a,b'],
  '--pretrainings': ['', ',', 'bogus', 'plain,plain', 'plain,'],
  '--variants': ['', ',', 'bogus', 'frozen,bogus', 'FROZEN', `frozen,${'x'.repeat(200)}`],
  '--dataset-name': ['', ' ', 'x'.repeat(101), 'two\nlines', '\u001b[2J'],
  '--model': ['', 'bogus', '../..', '/etc', 'encoder/../../x'],
  '--queue': ['', ' ', 'http://x', 'postgres://', 'not a url', 'postgres://[::1', fixtures.closedQueue],
});

/** Bad values of a flag with choices. */
const badChoices = (choices: readonly string[]) => ['', 'bogus', choices[0]!.toUpperCase(), `${choices[0]} `];

/**
 * Each command's good command line, into which one bad value at a time goes: `options` (flag, value), and `runDir`,
 * its run-dir argument. The flags in `alone` are tried without the others, which they would refuse as ignored.
 */
function bases(fixtures: Fixtures): Record<string, { options: string[][]; runDir?: string; alone?: string[] }> {
  const study = [
    ['--preset', 'tiny'],
    ['--data', fixtures.toy],
    ['--out', 'out'],
  ];
  const grid = [
    ['--labels', '40'],
    ['--repeats', '1'],
  ];
  return {
    experiment: { options: study, alone: ['--resume'] },
    pretrain: { options: study },
    inspect: { options: [], runDir: fixtures.stopped },
    classify: { options: [], runDir: fixtures.stopped },
    report: { options: [], runDir: fixtures.stopped },
    sweep: { options: [['--preset', 'tiny'], ['--out', 'out'], ...grid], alone: ['run-dir'] },
    ablate: {
      options: [['--preset', 'tiny'], ['--out', 'out'], ...grid, ['--pretrainings', 'plain']],
      alone: ['run-dir'],
    },
    export: {
      options: [
        ['--format', 'onnx'],
        ['--out', 'exported'],
      ],
      runDir: fixtures.finished,
    },
    serve: { options: [['--port', '0']], runDir: fixtures.finished },
    worker: { options: [['--queue', fixtures.closedQueue]] },
  };
}

/** The bad values of one flag, from what it takes: its placeholder (`<n>`, `<dir>`, ...) and its choices. */
function badValuesOf(command: string, option: Option, fixtures: Fixtures): string[] {
  const flag = option.long!;
  if (option.argChoices) return badChoices(option.argChoices);
  const placeholder = /<([^>]+)>/.exec(option.flags)?.[1];
  if (placeholder === 'n' || placeholder === 'x' || placeholder === 'seconds') {
    // Numbers state their range in --help: the range the fuzz stays out of.
    const range = /\((-?[\d.]+) to (-?[\d.]+)\)$/.exec(option.description);
    assert.ok(range, `dae ${command} ${flag}: a number without its range in --help ('${option.description}')`);
    return badNumbers(Number(range[1]), Number(range[2]), placeholder !== 'x');
  }
  if (placeholder === 'dir') return flag === '--out' ? badOutPaths(fixtures) : badInputPaths(fixtures);
  const words = badWords(fixtures)[flag];
  assert.ok(words, `dae ${command} ${flag} <${placeholder}>: the fuzz has no bad values for it yet; add some`);
  return words;
}

interface FuzzCase {
  command: string;
  flag: string;
  value: string;
  args: string[];
  /** The exit code it must have: 2 for a number, which the flag's parser refuses; else 1 or 2. */
  status?: 2;
}

function fuzzCases(program: Command, fixtures: Fixtures): FuzzCase[] {
  const commandBases = bases(fixtures);
  const cases: FuzzCase[] = [];
  for (const command of program.commands) {
    const name = command.name();
    const base = commandBases[name];
    assert.ok(base, `dae ${name}: the fuzz has no good command line for it yet; add one`);
    const without = (flag: string) => base.options.filter(([other]) => other !== flag).flat();
    for (const argument of command.registeredArguments) {
      assert.equal(argument.name(), 'run-dir', `dae ${name}: the fuzz knows no argument <${argument.name()}>`);
      const options = base.alone?.includes('run-dir') ? [] : without('');
      for (const value of badInputPaths(fixtures))
        cases.push({ command: name, flag: 'run-dir', value, args: [name, value, ...options] });
    }
    for (const option of command.options) {
      // Flags without a value (--json, --overwrite, --help) cannot be given a bad one.
      if (!option.required) continue;
      const flag = option.long!;
      const rest = base.alone?.includes(flag) ? [] : without(flag);
      const runDir = base.runDir === undefined ? [] : [base.runDir];
      const numeric = /<(n|x|seconds)>/.test(option.flags);
      for (const value of badValuesOf(name, option, fixtures))
        cases.push({
          command: name,
          flag,
          value,
          args: [name, ...runDir, ...rest, flag, value],
          ...(numeric ? { status: 2 as const } : {}),
        });
    }
  }
  return cases;
}

async function makeFixtures(directory: string, cwd: string): Promise<Fixtures> {
  const toy = join(directory, 'toy');
  await writeToyDataset(toy, 600, 90);
  const file = join(directory, 'a-file');
  await writeFile(file, 'not a folder\n');
  const runFolder = async (folder: string, status: string) => {
    await mkdir(folder);
    const config = { ...presets.tiny, data: { ...presets.tiny.data, directory: toy } };
    const record = { formatVersion: 1, status, startedAt: new Date(0).toISOString(), config, stages: {} };
    await writeFile(join(folder, 'run.json'), JSON.stringify(record));
  };
  const stopped = join(cwd, 'stopped');
  const finishedRun = join(cwd, 'finished');
  await runFolder(stopped, 'incomplete');
  await runFolder(finishedRun, 'complete');
  const closedQueue = `postgres://dae:secret@127.0.0.1:${await freeLoopbackPort()}/dae`;
  return { toy, file, stopped, finished: finishedRun, closedQueue };
}

/** Every path under `folder`, to see what a real process left. */
async function listing(folder: string): Promise<string[]> {
  return (await readdir(folder, { recursive: true })).sort();
}

test(`every flag of every command refuses bad values in one line, makes nothing and answers in time (seed ${seed})`, async () => {
  const directory = await mkdtemp(join(tmpdir(), 'dae-fuzz-'));
  try {
    const cwd = join(directory, 'work');
    await mkdir(cwd);
    const fixtures = await makeFixtures(directory, cwd);
    const program = buildProgram();
    const cases = fuzzCases(program, fixtures);
    // Every command and every flag that takes a value is in the draw.
    for (const command of program.commands)
      for (const option of command.options.filter((candidate) => candidate.required))
        assert.ok(
          cases.some((entry) => entry.command === command.name() && entry.flag === option.long),
          `dae ${command.name()} ${option.long}`,
        );

    const answers = await runDaeCases(
      cases.map((entry) => entry.args),
      { cwd, seconds: 20 },
    );
    const failures: string[] = [];
    for (const [index, answer] of answers.entries()) {
      const { flag, value, status } = cases[index]!;
      try {
        assertRefused(answer, status);
        // The line must not echo a long value whole, nor a password.
        assert.ok(answer.stderr.length < 1000, `a ${answer.stderr.length}-character line`);
        assert.doesNotMatch(answer.stderr, /secret/, 'the queue password was shown');
      } catch (error) {
        failures.push(`${flag} ${JSON.stringify(value.slice(0, 60))}: ${(error as Error).message}`);
      }
    }
    assert.deepEqual(failures, [], `${failures.length} of ${cases.length} bad values were not refused properly`);

    // A few of them again as real processes: the same answer, the process ends, and nothing is left.
    const cli = fileURLToPath(new URL('../../bin/dae.js', import.meta.url));
    for (let sample = 0; sample < 3; sample += 1) {
      const index = between(0, cases.length - 1);
      const before = await listing(cwd);
      const env: NodeJS.ProcessEnv = { ...process.env, DAE_QUEUE_HOME: join(directory, 'queue-home') };
      delete env['DAE_QUEUE'];
      const real = await finished(process.execPath, [cli, ...cases[index]!.args], { cwd, env, timeout: 20_000 });
      const inProcess: DaeAnswer = answers[index]!;
      assert.equal(real.status, inProcess.status, shown(inProcess));
      assert.equal(real.stderr, inProcess.stderr, shown(inProcess));
      assert.deepEqual(await listing(cwd), before, shown(inProcess));
    }
  } finally {
    await rm(directory, { recursive: true, force: true });
  }
});
