// Interrupted runs continue, diverging runs stop cleanly, and the same seed gives the same metrics.
//
// The interruptions happen at points chosen from the run's own progress (its --json events), never after a delay:
// the test names an event in DAE_STOP_AFTER_EVENT, the CLI stops itself (SIGSTOP) right after printing it, and the
// test, having read that event, sends the signal. So every kill lands exactly where it is meant to, on a fast
// machine or a slow one (see src/cli/stop-after-event.ts).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

import { guarded } from '../src/cli/session.js';
import { matchesPattern, stopAfterEventVariable } from '../src/cli/stop-after-event.js';
import { resolveConfig } from '../src/config.js';
import { loadModel } from '../src/io/model-files.js';
import { RunFolder } from '../src/io/run-folder.js';
import { useBackend } from '../src/backend/index.js';
import { prepareStudyData } from '../src/study/data.js';
import { pretrain } from '../src/study/pretrain.js';
import { DivergenceError } from '../src/train/events.js';
import { comparableMetrics } from './support/comparable-metrics.js';

const cli = fileURLToPath(new URL('../../bin/dae.js', import.meta.url));
/** metrics.json without its wall-clock fields, which no two runs share, and the classifier worker count. */
async function metricsWithoutTimings(directory: string): Promise<unknown> {
  return comparableMetrics(JSON.parse(await readFile(join(directory, 'metrics.json'), 'utf8')));
}

/** Runs `dae <args>` and resolves when it exits, with its code and the end of its stderr; no wall-clock limit. */
function dae(...args: string[]): Promise<{ status: number | null; stderr: string }> {
  const child = spawn(process.execPath, [cli, ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
    stderr = (stderr + chunk).slice(-8000);
  });
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (status) => resolve({ status, stderr }));
  });
}

async function runToEnd(...args: string[]): Promise<void> {
  const result = await dae(...args);
  assert.equal(result.status, 0, result.stderr);
}

type EventPattern = Record<string, unknown>;

interface SignalledRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** Whether the process printed an event matching the pattern (and was then signalled). */
  reached: boolean;
  /** The last progress event the process printed. */
  lastEvent: unknown;
  stderr: string;
}

/** Looks at /proc before a process that printed its stop event counts as not stopping (each after ≥ 1 ms). */
const maximumStopPolls = 10_000;

/**
 * Resolves once the process is stopped (state T in /proc/<pid>/stat); a SIGCONT sent before that would be lost. It
 * stops itself right after printing the event, so this takes a few looks. It rejects instead of waiting on when the
 * process exits first, prints another event first (it went past the event without stopping), or has not stopped
 * after maximumStopPolls looks; between looks the event loop turns, so its output and exit are heard.
 */
async function stoppedProcess(child: ChildProcess, eventsSinceStop: () => number): Promise<void> {
  const pid = child.pid!;
  for (let poll = 0; poll < maximumStopPolls; poll += 1) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(
        `process ${pid} exited (${child.exitCode ?? child.signalCode}) instead of stopping after its event`,
      );
    }
    if (eventsSinceStop() > 0)
      throw new Error(`process ${pid} printed ${eventsSinceStop()} more event(s) instead of stopping after its event`);
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '');
    if (/^\d+ \(.*\) T/s.test(stat)) return;
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
  throw new Error(`process ${pid} had not stopped after ${maximumStopPolls} looks at /proc/${pid}/stat`);
}

/**
 * Starts `dae <args> --json`, which stops itself after printing the first event matching `pattern`. On reading that
 * event, `kill` sends SIGKILL; `interrupt` waits until the process has stopped, then sends SIGINT (Ctrl-C) and lets it
 * go on (SIGCONT), so that the interruption arrives exactly there.
 */
function signalAtEvent(args: string[], pattern: EventPattern, action: 'kill' | 'interrupt'): Promise<SignalledRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [cli, ...args, '--json'], {
      stdio: ['ignore', 'ignore', 'pipe'],
      env: { ...process.env, [stopAfterEventVariable]: JSON.stringify(pattern) },
    });
    let stderr = '';
    let reached = false;
    let eventsAfterMatch = 0;
    let lastEvent: unknown;
    const interrupt = async () => {
      await stoppedProcess(child, () => eventsAfterMatch);
      child.kill('SIGINT');
      child.kill('SIGCONT');
    };
    // A process that will not stop where asked is killed, so that its open pipe cannot keep this test waiting.
    const fail = (error: unknown) => {
      child.kill('SIGKILL');
      reject(error instanceof Error ? error : new Error(String(error)));
    };
    createInterface({ input: child.stderr }).on('line', (line) => {
      stderr = (stderr + line + '\n').slice(-8000);
      if (!line.startsWith('{')) return;
      lastEvent = JSON.parse(line);
      if (reached) eventsAfterMatch += 1;
      else if (matchesPattern(pattern, lastEvent)) {
        reached = true;
        if (action === 'kill') child.kill('SIGKILL');
        else interrupt().catch(fail);
      }
    });
    child.on('error', fail);
    child.on('close', (code, signal) => resolve({ code, signal, reached, lastEvent, stderr }));
  });
}

/** The run folder's record: the stages it has finished, and the epoch of its autoencoder checkpoint (0 for none). */
async function folderState(directory: string) {
  const record = JSON.parse(await readFile(join(directory, 'run.json'), 'utf8')) as {
    status: string;
    stages: Record<string, unknown>;
  };
  const statePath = join(directory, 'checkpoints', 'autoencoder', 'state.json');
  const checkpoint = existsSync(statePath)
    ? (JSON.parse(await readFile(statePath, 'utf8')) as { state: { epoch: number } }).state.epoch
    : 0;
  return { status: record.status, stages: Object.keys(record.stages).sort(), checkpointEpoch: checkpoint };
}

const tiny = ['--preset', 'tiny', '--backend', 'native'];

/** Where the run is killed, in the order the run gets there, and what its folder must hold at that moment. */
interface PlannedKill {
  point: string;
  event: EventPattern;
  stages: string[];
  checkpointEpoch: number;
  /** Classifier result files that must (true) or must not (false) exist yet. */
  classifierFiles?: Record<string, boolean>;
}

const allStages = ['classify', 'denoise', 'inspect', 'pretrain'];
const plannedKills: PlannedKill[] = [
  {
    point: 'mid-epoch in pretraining, before the first checkpoint',
    event: { type: 'batch-end', stage: 'pretrain', epoch: 1, batch: 4 },
    stages: [],
    checkpointEpoch: 0,
  },
  {
    point: 'between two epochs, the first checkpoint written',
    event: { type: 'epoch-end', stage: 'pretrain', record: { epoch: 1 } },
    stages: [],
    checkpointEpoch: 1,
  },
  {
    point: 'mid-epoch in pretraining, resumed from that checkpoint',
    event: { type: 'batch-end', stage: 'pretrain', epoch: 2, batch: 4 },
    stages: [],
    checkpointEpoch: 1,
  },
  {
    point: 'after pretraining, its models saved but the stage not marked done',
    event: { type: 'saved', stage: 'pretrain', file: 'models/autoencoder' },
    stages: [],
    checkpointEpoch: 2,
  },
  {
    point: 'during the denoising check, its scores saved and its figures not',
    event: { type: 'saved', stage: 'denoise', file: 'stages/denoise.json' },
    stages: ['pretrain'],
    checkpointEpoch: 2,
  },
  {
    point: 'during the inspection',
    event: { type: 'saved', stage: 'inspect', file: 'stages/inspect.json' },
    stages: ['denoise', 'pretrain'],
    checkpointEpoch: 2,
  },
  // With two kernel threads, classifier runs train two at a time in worker threads. A worker's event reaches the
  // main thread, which prints it and stops the whole process, every worker with it; the run that sent the event
  // then still has three epochs, its test scores and its files ahead of it.
  {
    point: 'in a classifier run, after its first epoch',
    event: { type: 'epoch-end', stage: 'classify finetuned 100%', record: { epoch: 1 } },
    stages: ['denoise', 'inspect', 'pretrain'],
    checkpointEpoch: 2,
    classifierFiles: { 'finetuned-1000': false },
  },
  {
    point: 'between classifier runs, one result saved',
    event: { type: 'saved', stage: 'classify finetuned 100%', file: 'classifiers/finetuned-1000.json' },
    stages: ['denoise', 'inspect', 'pretrain'],
    checkpointEpoch: 2,
    classifierFiles: { 'finetuned-1000': true },
  },
  {
    point: 'during the evaluation, the mistakes and robustness saved and the code map not',
    event: { type: 'saved', stage: 'evaluate', file: 'stages/evaluate.json' },
    stages: allStages,
    checkpointEpoch: 2,
  },
  {
    point: 'while the report is written, metrics.json saved and report.html not',
    event: { type: 'saved', stage: 'report', file: 'metrics.json' },
    stages: [...allStages, 'evaluate'].sort(),
    checkpointEpoch: 2,
  },
];

test('SIGKILL at chosen points of a run, resumed each time, ends with the metrics of an uninterrupted run', async () => {
  const directory = await mkdtemp(join(tmpdir(), 'dae-kill-'));
  try {
    // The reference trains its classifiers one at a time; the killed run two at a time in worker threads (the
    // results are the same bit for bit: test/workers.test.ts).
    const reference = join(directory, 'reference');
    await runToEnd('experiment', ...tiny, '--workers', '1', '--out', reference);

    const killed = join(directory, 'killed');
    for (const [index, kill] of plannedKills.entries()) {
      const args = index === 0 ? ['experiment', ...tiny, '--out', killed] : ['experiment', '--resume', killed];
      const result = await signalAtEvent(args, kill.event, 'kill');
      assert.ok(
        result.reached,
        `kill ${index + 1} (${kill.point}): the run ended (exit ${result.code}) without printing ${JSON.stringify(kill.event)}:\n${result.stderr}`,
      );
      assert.equal(result.signal, 'SIGKILL', `kill ${index + 1} (${kill.point}) did not land:\n${result.stderr}`);
      assert.ok(
        matchesPattern(kill.event, result.lastEvent),
        `kill ${index + 1} (${kill.point}): the run went on to ${JSON.stringify(result.lastEvent)}`,
      );
      const { status, stages, checkpointEpoch } = await folderState(killed);
      assert.deepEqual(
        { status, stages, checkpointEpoch },
        { status: 'incomplete', stages: kill.stages, checkpointEpoch: kill.checkpointEpoch },
        `kill ${index + 1} (${kill.point}): the run folder's record`,
      );
      for (const [name, present] of Object.entries(kill.classifierFiles ?? {})) {
        assert.equal(
          existsSync(join(killed, 'classifiers', `${name}.json`)),
          present,
          `kill ${index + 1} (${kill.point}): classifiers/${name}.json`,
        );
      }
    }
    process.stdout.write(
      `# all ${plannedKills.length} kills landed at their events: ${plannedKills.map((kill) => kill.point).join('; ')}\n`,
    );
    await runToEnd('experiment', '--resume', killed);
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
    // Ctrl-C while the process waits after the second batch of pretraining. Its handler runs when the event loop
    // next turns, at the latest while the first checkpoint is written, and the run stops at the batch after that.
    const interrupted = await signalAtEvent(
      ['experiment', ...tiny, '--out', out],
      { type: 'batch-end', stage: 'pretrain', epoch: 1, batch: 2 },
      'interrupt',
    );
    assert.ok(interrupted.reached, interrupted.stderr);
    assert.equal(interrupted.code, 130, interrupted.stderr);
    assert.match(interrupted.stderr, /pretrain: interrupted during epoch \d/);
    assert.match(interrupted.stderr, /dae experiment --resume /);
    const record = JSON.parse(await readFile(join(out, 'run.json'), 'utf8')) as { status: string };
    assert.equal(record.status, 'incomplete');
    const report = await dae('report', out);
    assert.equal(report.status, 1, `an unfinished run must not be reported as complete:\n${report.stderr}`);
    assert.match(
      report.stderr,
      /run\.json: the run has not finished \(missing: .*\) — continue it with `dae experiment --resume /,
    );
    await runToEnd('experiment', '--resume', out);
  } finally {
    await rm(directory, { recursive: true, force: true });
  }
});

test('a diverging run stops naming the stage, epoch and batch, and leaves the run marked incomplete', async () => {
  // A learning rate of 1e12 makes the loss overflow at once. The flags and the config refuse such a rate (at most 1,
  // config.ts limits), so the run is made here, past the config's checks, and run through the guard every command uses.
  const directory = await mkdtemp(join(tmpdir(), 'dae-nan-'));
  try {
    const config = resolveConfig('tiny');
    config.autoencoder.learningRate = 1e12;
    const run = await RunFolder.create(join(directory, 'run'), config);
    const context = { run, config, backend: await useBackend('native'), reporter: () => {} };
    try {
      await assert.rejects(
        guarded(run, async () => {
          await pretrain(context, await prepareStudyData(config));
        }),
        (error: unknown) =>
          error instanceof DivergenceError &&
          /^pretrain: the loss became (NaN|-?Infinity) at epoch \d+, batch \d+/.test(error.message),
      );
    } finally {
      await run.release();
    }
    const record = JSON.parse(await readFile(join(directory, 'run', 'run.json'), 'utf8')) as { status: string };
    assert.equal(record.status, 'incomplete');
  } finally {
    await rm(directory, { recursive: true, force: true });
  }
});
