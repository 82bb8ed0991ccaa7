// The commands a user types, each run once for real from the command line on the tiny preset, with what they leave
// behind checked: `dae pretrain`, then `dae inspect`, `dae classify` and `dae report` on its folder; a whole run on
// the wasm backend; `dae serve` with no folder named, which serves the newest complete run under runs/; and
// `--verbose` in a terminal. (The cpu backend is left out: its tiny run takes over ten minutes on a 2-core machine.)
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { cp, mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

import type { Metrics } from '../src/io/metrics.js';
import type { RunSummary } from '../src/serve/api.js';
import { finished } from './support/finished.js';
import type { Finished } from './support/finished.js';

const cli = fileURLToPath(new URL('../../bin/dae.js', import.meta.url));

const run = (command: string, args: string[], cwd?: string) =>
  finished(command, args, cwd === undefined ? {} : { cwd });

async function dae(...args: string[]): Promise<Finished> {
  const result = await run(process.execPath, [cli, ...args]);
  assert.equal(result.status, 0, `dae ${args.join(' ')} failed:\n${result.stderr.slice(-3000)}`);
  return result;
}

const quoted = (word: string) => `'${word.replaceAll("'", "'\\''")}'`;

/**
 * Runs `dae <args>` in a pseudo-terminal, as at a terminal, through the `script` command (util-linux on Linux, BSD's
 * on macOS); resolves with everything the terminal was sent, escape codes included.
 */
async function daeInTerminal(...args: string[]): Promise<string> {
  const words = [process.execPath, cli, ...args];
  const result = await run(
    'script',
    process.platform === 'darwin' ? ['-q', '/dev/null', ...words] : ['-qfec', words.map(quoted).join(' '), '/dev/null'],
  ).catch((error: unknown) =>
    assert.fail(`this test needs the \`script\` command (util-linux) to give dae a terminal: ${String(error)}`),
  );
  assert.equal(result.status, 0, `dae ${args.join(' ')} in a terminal failed:\n${result.stdout.slice(-3000)}`);
  return result.stdout;
}

const readJson = async <T>(path: string): Promise<T> => JSON.parse(await readFile(path, 'utf8')) as T;

interface RunRecord {
  status: string;
  startedAt: string;
  finishedAt?: string;
  stages: Record<string, unknown>;
}
const doneStages = async (directory: string) =>
  Object.keys((await readJson<RunRecord>(join(directory, 'run.json'))).stages).sort();

/** Tiny runs score well above chance (0.10) with their best classifier: 0.55 measured, scratch on 1,000 labels. */
const minimumBestAccuracy = 0.3;

/** The folder `dae pretrain`, `inspect`, `classify` and `report` finish, which the `dae serve` test then serves. */
let completedRun: string | undefined;

const workDirectory = await mkdtemp(join(tmpdir(), 'dae-commands-'));
test.after(() => rm(workDirectory, { recursive: true, force: true }));

test('dae pretrain, then dae inspect, dae classify and dae report on its folder, each do their stage', async () => {
  const directory = join(workDirectory, 'stages');

  const pretrained = await dae('pretrain', '--preset', 'tiny', '--backend', 'native', '--out', directory);
  assert.match(pretrained.stderr, /^ {2}pretrain · epoch 2\/2 · loss /m);
  assert.deepEqual(await doneStages(directory), ['pretrain']);
  assert.equal((await readJson<RunRecord>(join(directory, 'run.json'))).status, 'incomplete');
  for (const model of ['autoencoder', 'encoder', 'decoder'])
    assert.ok(existsSync(join(directory, 'models', model, 'weights.bin')), `models/${model}`);

  // inspect and classify reuse the saved autoencoder: no pretraining epoch runs again.
  const inspected = await dae('inspect', directory);
  assert.doesNotMatch(inspected.stderr, /pretrain · epoch/);
  assert.deepEqual(await doneStages(directory), ['denoise', 'inspect', 'pretrain']);
  const denoise = await readJson<{ test: { noisy: { psnr: number }; denoised: { psnr: number } } }>(
    join(directory, 'stages', 'denoise.json'),
  );
  assert.ok(
    denoise.test.denoised.psnr > denoise.test.noisy.psnr + 1,
    `denoising gained too little: ${JSON.stringify(denoise.test)}`,
  );
  const inspection = await readJson<{ codingUnits: unknown[] }>(join(directory, 'stages', 'inspect.json'));
  assert.equal(inspection.codingUnits.length, 32);
  for (const figure of ['reconstructions.svg', 'coding-units.svg', 'filters-conv1.svg', 'feature-maps.svg']) {
    assert.ok(existsSync(join(directory, 'figures', figure)), `figures/${figure}`);
  }

  const classified = await dae('classify', directory);
  assert.doesNotMatch(classified.stderr, /pretrain · epoch/);
  assert.deepEqual(await doneStages(directory), ['classify', 'denoise', 'evaluate', 'inspect', 'pretrain']);
  const files = (await readdir(join(directory, 'classifiers'))).sort();
  assert.deepEqual(
    files,
    [
      ...['finetuned', 'frozen', 'scratch'].flatMap((mode) => [`${mode}-100.json`, `${mode}-1000.json`]),
      // The FixMatch variants need unlabelled images: at 10% of the labels only.
      ...['fixmatch-finetuned', 'fixmatch-scratch'].map((mode) => `${mode}-100.json`),
    ].sort(),
  );
  const accuracies = await Promise.all(
    files.map(
      async (file) =>
        (await readJson<{ result: { test: { accuracy: number } } }>(join(directory, 'classifiers', file))).result.test
          .accuracy,
    ),
  );
  assert.ok(
    Math.max(...accuracies) >= minimumBestAccuracy,
    `best test accuracy of ${accuracies.join(', ')} is below ${minimumBestAccuracy}`,
  );
  assert.equal(existsSync(join(directory, 'report.html')), false, 'classify wrote a report');

  const reported = await dae('report', directory);
  assert.equal(reported.stdout, `${join(directory, 'report.html')}\n`);
  assert.doesNotMatch(reported.stderr, / · epoch /, 'report trained something');
  assert.equal((await readJson<RunRecord>(join(directory, 'run.json'))).status, 'complete');
  const metrics = await readJson<Metrics>(join(directory, 'metrics.json'));
  assert.deepEqual(metrics.classifiers.map((result) => result.test.accuracy).sort(), [...accuracies].sort());
  completedRun = directory;
});

test('a whole tiny run on the wasm backend writes a complete run folder', async () => {
  const directory = join(workDirectory, 'wasm');
  const result = await dae('experiment', '--preset', 'tiny', '--backend', 'wasm', '--out', directory);
  assert.match(result.stderr, /^dae: backend wasm \(tfjs-backend-wasm/m);
  assert.equal(result.stdout, `${join(directory, 'report.html')}\n`);
  assert.equal((await readJson<RunRecord>(join(directory, 'run.json'))).status, 'complete');
  const metrics = await readJson<Metrics>(join(directory, 'metrics.json'));
  assert.equal(metrics.backend.name, 'wasm');
  // Three variants on each of two label fractions, and the two FixMatch ones at 10%.
  assert.equal(metrics.classifiers.length, 8);
  const best = Math.max(...metrics.classifiers.map((result) => result.test.accuracy));
  assert.ok(best >= minimumBestAccuracy, `best test accuracy ${best} is below ${minimumBestAccuracy}`);
  assert.ok(
    metrics.autoencoder.test.denoised.psnr > metrics.autoencoder.test.noisy.psnr + 1,
    'denoising gained too little',
  );
  assert.ok(existsSync(join(directory, 'report.html')));
});

test('dae serve with no folder named serves the newest complete run under runs/', async () => {
  assert.ok(
    completedRun,
    'needs the run folder that the pretrain-to-report test above completes, and that test failed',
  );
  // Three run folders under runs/: the newest complete one, an older complete one, and a newer one left incomplete.
  const cwd = join(workDirectory, 'serve');
  const runs = join(cwd, 'runs');
  await mkdir(runs, { recursive: true });
  const copy = async (name: string, change: (record: RunRecord) => RunRecord) => {
    await cp(completedRun!, join(runs, name), { recursive: true });
    const path = join(runs, name, 'run.json');
    await writeFile(path, JSON.stringify(change(await readJson<RunRecord>(path))));
  };
  await copy('older', (record) => ({ ...record, finishedAt: '2001-01-01T00:00:00.000Z' }));
  await copy('newest', (record) => ({ ...record, finishedAt: '2002-01-01T00:00:00.000Z' }));
  await copy('unfinished', (record) => ({
    ...record,
    status: 'incomplete',
    startedAt: '2003-01-01T00:00:00.000Z',
    finishedAt: '2003-01-01T00:00:00.000Z',
  }));
  await writeFile(join(runs, 'notes.txt'), 'not a run folder');

  const child = spawn(process.execPath, [cli, 'serve', '--port', '0'], { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
    stderr += chunk;
  });
  const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
  try {
    // The address comes as the first line on stdout; an exit before it fails the test with what the server said.
    const url = await Promise.race([
      new Promise<string>((resolve) => createInterface({ input: child.stdout }).once('line', resolve)),
      exited.then((code) => assert.fail(`dae serve exited (${code}) before serving:\n${stderr}`)),
    ]);
    assert.match(url, /^http:\/\/127\.0\.0\.1:\d+\/$/);
    assert.match(stderr, /^dae: serving runs\/newest on this machine only/m);
    const response = await fetch(new URL('api/run.json', url));
    assert.equal(response.status, 200);
    const summary = (await response.json()) as RunSummary;
    assert.equal(summary.name, 'newest');
    assert.equal(summary.preset, 'tiny');
    assert.ok(summary.classifiers.length > 0);
    const digits = await fetch(new URL('api/digits.bin', url));
    assert.equal((await digits.arrayBuffer()).byteLength, summary.digits.count * summary.height * summary.width);
    const page = await fetch(url);
    assert.equal(page.status, 200);
    assert.match(await page.text(), /<html/i);
  } finally {
    child.kill('SIGTERM');
  }
  assert.equal(await exited, 0, `dae serve did not stop cleanly on SIGTERM:\n${stderr}`);
});

test('--verbose in a terminal renders a line per finished epoch, which the live view alone does not', async () => {
  const epochLine = / {2}pretrain · epoch 1\/1 · loss \d+\.\d+ · val loss \d+\.\d+ · /;
  const verbose = await daeInTerminal(
    'pretrain',
    '--preset',
    'tiny',
    '--backend',
    'native',
    '--epochs',
    '1',
    '--verbose',
    '--out',
    join(workDirectory, 'verbose'),
  );
  assert.ok(verbose.includes('\u001b['), 'no cursor movement: dae did not see a terminal');
  assert.match(verbose, epochLine);
  assert.match(verbose, /✓ pretrain · best validation MSE \d+\.\d+ at epoch 1 of 1/);
  const quiet = await daeInTerminal(
    'pretrain',
    '--preset',
    'tiny',
    '--backend',
    'native',
    '--epochs',
    '1',
    '--out',
    join(workDirectory, 'quiet'),
  );
  assert.ok(quiet.includes('\u001b['), 'no cursor movement: dae did not see a terminal');
  assert.doesNotMatch(quiet, epochLine);
  assert.match(quiet, /✓ pretrain · best validation MSE \d+\.\d+ at epoch 1 of 1/);
});
