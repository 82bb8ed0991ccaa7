// A finished tiny run folder, damaged in the ways a disk or a hand can damage it, and what each command then does.
// metrics.json is derived from the stage files, so `dae report`, `--resume` and `dae sweep` rebuild it when it is
// missing or corrupted, and where a stage file it needs is bad they name that file and the command that mends it
// (and the hint is followed here, to show that it does). A saved model with a garbled model.json, truncated weights or
// a NaN is refused by `dae serve` at its start, in the same line as `dae export` gives, and by `dae sweep` before it
// trains a cell.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { cp, mkdir, mkdtemp, readdir, readFile, rm, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { presets } from '../src/config.js';
import { summariseSweep } from '../src/grid/sweep.js';
import type { Metrics, SweepCell } from '../src/io/metrics.js';

const cli = fileURLToPath(new URL('../../bin/dae.js', import.meta.url));

interface Result {
  status: number | null;
  stdout: string;
  stderr: string;
  /** The last line of stderr: a refusal's one line. */
  lastLine: string;
}

/** `dae <args>`, to its exit; a command that should have refused but serves instead is stopped after two minutes. */
function dae(...args: string[]): Result {
  const result = spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', timeout: 120_000 });
  const lines = result.stderr.split('\n').filter((line) => line.trim() !== '');
  return { status: result.status, stdout: result.stdout, stderr: result.stderr, lastLine: lines.at(-1) ?? '' };
}

function succeeded(result: Result, what: string): Result {
  assert.equal(result.status, 0, `${what} failed:\n${result.stderr.slice(-3000)}`);
  return result;
}

function refused(result: Result, pattern: RegExp): void {
  assert.equal(result.status, 1, `expected a refusal, got exit ${result.status}:\n${result.stderr.slice(-3000)}`);
  assert.match(result.lastLine, pattern);
  assert.doesNotMatch(result.stderr, /^\s+at /m, `no stack trace expected:\n${result.stderr}`);
}

const readJson = async <T>(path: string): Promise<T> => JSON.parse(await readFile(path, 'utf8')) as T;

const workDirectory = await mkdtemp(join(tmpdir(), 'dae-damaged-'));
test.after(() => rm(workDirectory, { recursive: true, force: true }));

const finishedRun = join(workDirectory, 'finished');
succeeded(dae('experiment', '--preset', 'tiny', '--backend', 'native', '--out', finishedRun, '--json'), 'the tiny run');
const finishedMetrics = await readJson<Metrics>(join(finishedRun, 'metrics.json'));

let copies = 0;
/** A fresh copy of the finished run folder, to damage. */
async function copyOfRun(): Promise<string> {
  copies += 1;
  const directory = join(workDirectory, `copy-${copies}`);
  await cp(finishedRun, directory, { recursive: true });
  return directory;
}

/** The study's part of metrics.json: everything but the time spent, which a rebuilt file counts afresh. */
function studyPart(metrics: Metrics): Partial<Metrics> {
  const part: Partial<Metrics> = { ...metrics };
  delete part.totalSeconds;
  delete part.sweep;
  delete part.ablation;
  return part;
}

const truncatedJson = '{"formatVersion": 3, "dataset": {"na';

test('dae report rebuilds a corrupted metrics.json from the stage files, the sweep from sweep/sweep.json', async () => {
  const directory = await copyOfRun();
  const cells: SweepCell[] = (['frozen', 'finetuned', 'scratch'] as const).map((encoder, index) => ({
    encoder,
    labels: 40,
    seed: 1,
    accuracy: 0.2 + index / 10,
    macroF1: 0.1 + index / 10,
    epochs: 3,
    seconds: 1,
  }));
  const sweep = summariseSweep([40], [1], cells, 'a held-out part of the labelled subset');
  await mkdir(join(directory, 'sweep'));
  await writeFile(join(directory, 'sweep', 'sweep.json'), JSON.stringify(sweep));
  await writeFile(join(directory, 'metrics.json'), truncatedJson);

  const reported = succeeded(dae('report', directory), 'dae report');
  assert.match(
    reported.stderr,
    /metrics\.json: is not valid JSON; the file is corrupted; rebuilding it from the stage files/,
  );
  assert.doesNotMatch(reported.stderr, / · epoch /, 'report trained something');
  const rebuilt = await readJson<Metrics>(join(directory, 'metrics.json'));
  assert.deepEqual(studyPart(rebuilt), studyPart(finishedMetrics));
  assert.deepEqual(rebuilt.sweep, sweep);
  assert.match(await readFile(join(directory, 'report.html'), 'utf8'), /<html/);
});

test('--resume rebuilds a missing metrics.json without training anything', async () => {
  const directory = await copyOfRun();
  await rm(join(directory, 'metrics.json'));
  // As a run killed between its last stage and its report leaves it.
  const record = await readJson<Record<string, unknown>>(join(directory, 'run.json'));
  await writeFile(join(directory, 'run.json'), JSON.stringify({ ...record, status: 'incomplete' }));

  const resumed = succeeded(dae('experiment', '--resume', directory, '--backend', 'native'), '--resume');
  assert.doesNotMatch(resumed.stderr, / · epoch /, '--resume trained something');
  assert.deepEqual(studyPart(await readJson<Metrics>(join(directory, 'metrics.json'))), studyPart(finishedMetrics));
});

test('a stage file that metrics.json cannot be rebuilt without is named, with the command that mends it', async () => {
  const directory = await copyOfRun();
  await writeFile(join(directory, 'metrics.json'), truncatedJson);

  await mkdir(join(directory, 'sweep'));
  await writeFile(join(directory, 'sweep', 'sweep.json'), '{"labelCounts": [');
  refused(
    dae('report', directory),
    new RegExp(
      `^dae: ${directory}/sweep/sweep\\.json: is not valid JSON; the file is corrupted — run \`dae sweep ${directory}\` again with the --labels and --repeats it had`,
    ),
  );
  await rm(join(directory, 'sweep'), { recursive: true });

  await writeFile(join(directory, 'stages', 'denoise.json'), '{"test": ');
  refused(
    dae('report', directory),
    new RegExp(
      `^dae: ${directory}/stages/denoise\\.json: is not valid JSON; the file is corrupted — delete it and run \`dae inspect ${directory}\`, which scores the denoising again, then \`dae report ${directory}\`$`,
    ),
  );
  // The hint, followed, mends the folder.
  await rm(join(directory, 'stages', 'denoise.json'));
  succeeded(dae('inspect', directory), 'dae inspect');
  succeeded(dae('report', directory), 'dae report');
  assert.deepEqual(studyPart(await readJson<Metrics>(join(directory, 'metrics.json'))), studyPart(finishedMetrics));
});

const tinySweep = ['--labels', '40', '--repeats', '1', '--min-steps', '10', '--backend', 'native', '--workers', '1'];

test('dae sweep checks metrics.json and the stage files it is rebuilt from before it trains any cell', async () => {
  const directory = await copyOfRun();
  await writeFile(join(directory, 'metrics.json'), truncatedJson);
  await writeFile(join(directory, 'stages', 'denoise.json'), '{"test": ');
  refused(dae('sweep', directory, ...tinySweep), /stages\/denoise\.json: is not valid JSON; the file is corrupted — /);
  assert.equal(existsSync(join(directory, 'sweep')), false, 'no cell trained');

  // With the stage files whole, the sweep rebuilds metrics.json first, then adds its part.
  await cp(join(finishedRun, 'stages', 'denoise.json'), join(directory, 'stages', 'denoise.json'));
  const swept = succeeded(dae('sweep', directory, ...tinySweep), 'dae sweep');
  assert.match(
    swept.stderr,
    /metrics\.json: is not valid JSON; the file is corrupted; rebuilding it from the stage files/,
  );
  const metrics = await readJson<Metrics>(join(directory, 'metrics.json'));
  assert.deepEqual(studyPart(metrics), studyPart(finishedMetrics));
  // One cell per variant at the one label count: the three supervised and the two FixMatch ones.
  assert.equal(metrics.sweep?.cells.length, 5);
});

test("dae ablate reads its own earlier results and metrics.json's sources before it pretrains anything", async () => {
  const directory = await copyOfRun();
  await mkdir(join(directory, 'ablation'));
  await writeFile(join(directory, 'ablation', 'ablation.json'), '{"budget": ');
  refused(
    dae('ablate', directory, '--labels', '40', '--repeats', '1', '--backend', 'native'),
    new RegExp(
      `^dae: ${directory}/ablation/ablation\\.json: is not valid JSON; the file is corrupted — delete it and run \`dae ablate ${directory}\` again`,
    ),
  );
  assert.deepEqual(await readdir(join(directory, 'ablation')), ['ablation.json'], 'nothing pretrained or trained');
  // With metrics.json corrupted too, `dae report` gives the same hint: the two agree on what mends the file.
  await writeFile(join(directory, 'metrics.json'), truncatedJson);
  refused(
    dae('report', directory),
    /ablation\/ablation\.json: is not valid JSON; the file is corrupted — delete it and run `dae ablate /,
  );
});

test('dae serve refuses a run whose saved models are damaged, in the line dae export gives', async () => {
  const damages: { model: string; damage: (folder: string) => Promise<void>; line: RegExp }[] = [
    {
      model: 'encoder',
      damage: (folder) => writeFile(join(folder, 'model.json'), 'garbage'),
      line: /models\/encoder\/model\.json: is not valid JSON .*the file is corrupted — /,
    },
    {
      model: 'decoder',
      damage: (folder) => truncate(join(folder, 'weights.bin'), 1000),
      line: /models\/decoder\/weights\.bin: 1,000 bytes but model\.json declares [\d,]+ — the file is truncated/,
    },
    {
      model: 'classifier-frozen-100',
      damage: async (folder) => {
        const weights = await readFile(join(folder, 'weights.bin'));
        weights.writeFloatLE(Number.NaN, 4 * 10);
        weights.writeFloatLE(Number.POSITIVE_INFINITY, 4 * 11);
        await writeFile(join(folder, 'weights.bin'), weights);
      },
      // The first hidden layer's kernel: 32 code units times the head's units.
      line: new RegExp(
        `models/classifier-frozen-100/weights\\.bin: layer 'head_dense1' holds 1 NaN and 1 infinite among the ${(32 * presets.tiny.classifier.headUnits).toLocaleString('en-US')} values of its weight 'head_dense1/kernel' — the training that saved it diverged, or the file is damaged; `,
      ),
    },
  ];
  for (const { model, damage, line } of damages) {
    const directory = await copyOfRun();
    await damage(join(directory, 'models', model));
    const served = dae('serve', directory, '--port', '0');
    refused(served, line);
    assert.equal(served.stdout, '', `${model}: served anyway`);
    const exported = dae('export', directory, '--format', 'onnx', '--model', model, '--out', join(directory, 'out'));
    refused(exported, line);
    assert.equal(served.lastLine, exported.lastLine, `${model}: serve and export refuse alike`);
  }
});

test('dae sweep refuses a pretrained encoder holding a NaN before it trains any cell, naming the layer', async () => {
  const directory = await copyOfRun();
  const file = join(directory, 'models', 'encoder', 'weights.bin');
  const weights = await readFile(file);
  weights.writeFloatLE(Number.NaN, weights.byteLength - 4);
  await writeFile(file, weights);
  refused(
    dae('sweep', directory, ...tinySweep),
    /models\/encoder\/weights\.bin: layer 'coding' holds 1 NaN among the 32 values of its weight 'coding\/bias'/,
  );
  assert.equal(existsSync(join(directory, 'sweep', 'cells')), false, 'no cell trained');
});
