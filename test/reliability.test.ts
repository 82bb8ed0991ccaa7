// Interrupted runs continue, diverging runs stop cleanly, and the same seed gives the same metrics.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { Random } from '../src/data/random.js';
import { loadModel } from '../src/io/model-files.js';
import { useBackend } from '../src/backend/index.js';
import { comparableMetrics } from './support/comparable-metrics.js';

const cli = fileURLToPath(new URL('../../bin/dae.js', import.meta.url));
/** metrics.json without its wall-clock fields, which no two runs share, and the classifier worker count. */
async function metricsWithoutTimings(directory: string): Promise<unknown> {
  return comparableMetrics(JSON.parse(await readFile(join(directory, 'metrics.json'), 'utf8')));
}

function runToEnd(...args: string[]) {
  const result = spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', timeout: 300_000 });
  assert.equal(result.status, 0, result.stderr);
  return result;
}

/** Starts the command, sends `signal` after `delay` ms; resolves with its exit code and stderr. */
function runAndSignal(args: string[], delay: number, signal: NodeJS.Signals): Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [cli, ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => { stderr += chunk.toString(); });
    const timer = setTimeout(() => child.kill(signal), delay);
    child.on('exit', (code, exitSignal) => {
      clearTimeout(timer);
      resolve({ code, signal: exitSignal, stderr });
    });
  });
}

const tiny = ['--preset', 'tiny', '--backend', 'native'];
/** The tiny preset with more autoencoder epochs, so that ten kills fit into one run. */
const longerTiny = [...tiny, '--epochs', '12'];

test('SIGKILL at 10 random moments, resumed each time, ends with the metrics of an uninterrupted run', async () => {
  const directory = await mkdtemp(join(tmpdir(), 'dae-kill-'));
  try {
    // The reference trains its classifiers one at a time; the other runs two at a time in worker threads.
    const reference = join(directory, 'reference');
    runToEnd('experiment', ...longerTiny, '--workers', '1', '--out', reference);
    const again = join(directory, 'again');
    runToEnd('experiment', ...longerTiny, '--out', again);
    assert.deepEqual(await metricsWithoutTimings(again), await metricsWithoutTimings(reference), 'two runs with one seed differ');

    const killed = join(directory, 'killed');
    const random = new Random(42);
    let kills = 0;
    let finished = false;
    // Delays of 1–4 s against a run of ~20 s of work (the process needs ~1.3 s to start): every kill lands
    // somewhere new, some during start-up, most inside a training epoch or a write.
    for (let attempt = 0; attempt < 30 && kills < 10; attempt += 1) {
      const args = attempt === 0 ? ['experiment', ...longerTiny, '--out', killed] : ['experiment', '--resume', killed];
      const result = await runAndSignal(args, 1000 + random.next() * 3000, 'SIGKILL');
      if (result.signal === 'SIGKILL') kills += 1;
      else {
        assert.equal(result.code, 0, result.stderr);
        finished = true;
        break;
      }
    }
    if (!finished) runToEnd('experiment', '--resume', killed);
    assert.equal(kills, 10, `only ${kills} kills landed before the run finished; the test needs a longer run or shorter delays`);
    assert.deepEqual(await metricsWithoutTimings(killed), await metricsWithoutTimings(reference));
    const record = JSON.parse(await readFile(join(killed, 'run.json'), 'utf8')) as { status: string };
    assert.equal(record.status, 'complete');
    await useBackend('cpu');
    for (const model of ['encoder', 'decoder', 'autoencoder', 'classifier-finetuned-100']) {
      (await loadModel(join(killed, 'models', model))).dispose();
    }
  } finally {
    await rm(directory, { recursive: true, force: true });
  }
});

test('Ctrl-C stops at a safe point, says how to continue, exits non-zero, and --resume finishes the run', async () => {
  const directory = await mkdtemp(join(tmpdir(), 'dae-sigint-'));
  try {
    const out = join(directory, 'run');
    const interrupted = await runAndSignal(['experiment', ...tiny, '--out', out], 3500, 'SIGINT');
    assert.equal(interrupted.code, 130, interrupted.stderr);
    assert.match(interrupted.stderr, /dae experiment --resume /);
    const record = JSON.parse(await readFile(join(out, 'run.json'), 'utf8')) as { status: string };
    assert.equal(record.status, 'incomplete');
    const report = spawnSync(process.execPath, [cli, 'report', out], { encoding: 'utf8' });
    assert.notEqual(report.status, 0, 'an unfinished run must not be reported as complete');
    runToEnd('experiment', '--resume', out);
  } finally {
    await rm(directory, { recursive: true, force: true });
  }
});

test('a diverging run stops naming the stage, epoch and batch, and leaves the run marked incomplete', async () => {
  const directory = await mkdtemp(join(tmpdir(), 'dae-nan-'));
  try {
    const out = join(directory, 'run');
    const result = spawnSync(process.execPath, [cli, 'pretrain', ...tiny, '--learning-rate', '1e12', '--out', out], { encoding: 'utf8' });
    assert.equal(result.status, 1);
    assert.match(result.stderr, /pretrain: the loss became (NaN|-?Infinity) at epoch \d+, batch \d+/);
    const record = JSON.parse(await readFile(join(out, 'run.json'), 'utf8')) as { status: string };
    assert.equal(record.status, 'incomplete');
  } finally {
    await rm(directory, { recursive: true, force: true });
  }
});
