// Classifier runs trained side by side in worker threads give the same results bit for bit as one at a time,
// stop when asked, and continue on resume to the same metrics.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { useBackend } from '../src/backend/index.js';
import { resolveConfig } from '../src/config.js';
import { runExperiment } from '../src/study/experiment.js';
import { RunFolder } from '../src/io/run-folder.js';
import { InterruptedError } from '../src/train/events.js';
import type { Reporter, TrainingEvent } from '../src/train/events.js';
import { comparableMetrics } from './support/comparable-metrics.js';

test('two classifier workers give the metrics of one run at a time, stop when asked, and resume to the same end', async () => {
  const directory = await mkdtemp(join(tmpdir(), 'dae-workers-'));
  try {
    const config = (workers: number) => resolveConfig('tiny', { backend: { name: 'native', threads: 2, workers } });
    const backend = await useBackend('native', { threads: 2 });

    const sequentialRun = await RunFolder.create(join(directory, 'one-at-a-time'), config(1));
    const sequential = await runExperiment({ run: sequentialRun, config: config(1), backend, reporter: () => {} });
    assert.equal(sequential.backend.classifierWorkers, 1);

    // Ask to stop once two classifier runs are under way; the pool must pass that on to both workers.
    const parallelDirectory = join(directory, 'side-by-side');
    let stop = false;
    const started = new Set<string>();
    const stopping: Reporter = (event) => {
      if (event.type === 'batch-end' && event.stage.startsWith('classify')) started.add(event.stage);
      if (started.size >= 2) stop = true;
    };
    await assert.rejects(
      runExperiment({
        run: await RunFolder.create(parallelDirectory, config(2)),
        config: config(2),
        backend,
        reporter: stopping,
        shouldStop: () => stop,
      }),
      InterruptedError,
    );
    assert.ok(started.size >= 2, 'two classifier runs were in progress at once');
    assert.equal((await RunFolder.open(parallelDirectory)).status, 'incomplete');

    const resumed = await runExperiment({
      run: await RunFolder.open(parallelDirectory),
      config: config(2),
      backend,
      reporter: () => {},
    });
    assert.equal(resumed.backend.classifierWorkers, 2);
    assert.deepEqual(comparableMetrics(resumed), comparableMetrics(sequential));
    assert.equal((await RunFolder.open(parallelDirectory)).status, 'complete');
    // Going over the finished folder again (as `dae report` does) trains nothing and keeps the record.
    const rerun: TrainingEvent[] = [];
    const again = await runExperiment({
      run: await RunFolder.open(parallelDirectory),
      config: config(1),
      backend,
      reporter: (event) => rerun.push(event),
    });
    assert.equal(again.backend.classifierWorkers, 2);
    const plan = rerun.find((event) => event.type === 'plan');
    assert.ok(plan, 'the rerun reported no plan');
    // Only the report is written again; every training run and stage is found done.
    assert.deepEqual(
      plan.runs.filter((entry) => !entry.done).map((entry) => entry.stage),
      ['report'],
      'what the rerun planned to do',
    );
    const training = rerun.filter(
      (event) => event.type === 'epoch-start' || event.type === 'batch-end' || event.type === 'epoch-end',
    );
    assert.deepEqual(
      training.map((event) => `${event.type} ${event.stage}`),
      [],
      'training events in the rerun',
    );
    // The main thread's kernels are back on both threads.
    assert.equal((await useBackend('native', { threads: 2 })).threads, 2);
  } finally {
    await rm(directory, { recursive: true, force: true });
  }
});
