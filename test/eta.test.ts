// The ETA model against recorded runs: the events of a full study, label sweeps and an ablation on this project's
// 2-core machine (test/fixtures/, batch events left out), each with the time it arrived. Replayed through the model, the
// estimate at 25%, 50% and 75% of the run's wall time must be within the stated bound of the time that was left.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';

import { EtaModel, epochCost } from '../src/cli/eta.js';
import { presets } from '../src/config.js';
import { classifierRunPlan, pretrainPlan, studyPlan } from '../src/plan.js';
import type { TrainingEvent } from '../src/train/events.js';

interface Recorded { t: number; event: TrainingEvent }

function recording(name: string): Recorded[] {
  const text = gunzipSync(readFileSync(fileURLToPath(new URL(`../../test/fixtures/${name}.gz`, import.meta.url)))).toString('utf8');
  return text.trimEnd().split('\n').map((line) => JSON.parse(line) as Recorded);
}

/** The estimate at each fraction of the recorded wall time, against the time that was actually left. */
function replay(events: Recorded[], fractions: number[]) {
  const end = events.at(-1)!.t;
  return fractions.map((fraction) => {
    const at = fraction * end;
    const model = new EtaModel(0);
    for (const { t, event } of events) {
      if (t > at) break;
      model.observe(event, t);
    }
    const estimate = model.estimate(at).remainingSeconds!;
    return { fraction, estimate, actual: end - at, error: (estimate - (end - at)) / (end - at) };
  });
}

const describe = (rows: ReturnType<typeof replay>) =>
  rows.map((row) => `${100 * row.fraction}%: ${row.estimate.toFixed(0)} s estimated, ${row.actual.toFixed(0)} s left (${(100 * row.error).toFixed(1)}%)`).join('; ');

/** A recorded run replayed through the model: the estimate at 25%, 50% and 75% of its time within `bounds` of the truth. */
function checkRecording(fixture: string, bounds: [number, number, number]): void {
  const events = recording(fixture);
  assert.equal(events[0]?.event.type, 'plan');
  const rows = replay(events, [0.25, 0.5, 0.75]);
  assert.ok(rows.every((row, index) => Math.abs(row.error) <= bounds[index]!), describe(rows));
}

test('recorded study: from 25% of its time on, the time left is estimated within 20%', () => {
  // Measured: -5.1%, -3.7%, +10.9% (with the model it was recorded with: -2.8%, -4.4%, +7.8%).
  checkRecording('eta-study.jsonl', [0.2, 0.2, 0.2]);
});

test('recorded sweep: the time left within 10% at a quarter and at half of its time, 25% at three quarters', () => {
  // Measured: -0.0%, -1.2%, +20.2% (before the stopping prior and the machine's pace: +12.8%, +20.0%, +50.6%).
  // The last cells (100 to 1,000 labels) go faster per image than the larger ones before them, so the last
  // quarter (110 s) is still overestimated by about 20 s.
  checkRecording('eta-sweep.jsonl', [0.1, 0.1, 0.25]);
});

test('recorded second sweep (a slow machine that sped up): within 20% at a quarter and three quarters of its time, 60% at half', () => {
  // Measured: +13.7%, +55.5%, +16.0% (before: +27.6%, +79.6%, +88.6%). At half its time the machine had gone 2.8 to 5
  // times slower for the last 250 s and was about to speed up again, which nothing measured so far could tell.
  checkRecording('eta-sweep-seed2.jsonl', [0.2, 0.6, 0.2]);
});

test('recorded sweep on another study, not seen while tuning: the time left within 10% from a quarter of its time on', () => {
  // Measured: -6.2%, +0.6%, +3.9% (the model before the stopping prior and the machine's pace: +1.4%, +20.9%, +42.5%).
  checkRecording('eta-sweep-study2.jsonl', [0.1, 0.1, 0.1]);
});

test('recorded sweep, its seed-3 cells on the same study, not seen while tuning: 35% at a quarter of its time, 20% at half, 10% at three quarters', () => {
  // Measured: +28.6%, +16.5%, -6.0% (before: +35.9%, +34.6%, +29.4%). A quarter of its 195 s is 49 s in, when three
  // whole-network epochs had ended: the goal is not met there.
  checkRecording('eta-sweep-study2-seed3.jsonl', [0.35, 0.2, 0.1]);
});

test('recorded ablation, not seen while tuning: 40% at a quarter of its time, 65% at half, 15% at three quarters', () => {
  // Measured: +34.2%, +59.6%, +10.2% (before: +41.4%, +69.6%, +22.4%). Until the first cell ends (about half its
  // time), the cells' speeds are the autoencoder's times fixed ratios from the loaded study (4.5 there between a
  // whole-network cell and the autoencoder; 8.6 in this recording, on a quieter machine): the goal is not met there.
  checkRecording('eta-ablation.jsonl', [0.4, 0.65, 0.15]);
});

test('a run in progress is estimated from its own epochs, a finished one leaves nothing, and runs in a pool of two overlap', () => {
  const config = presets.full;
  const counts = { train: 55_000, validation: 5000, test: 10_000 };
  // The budget of this test's numbers (the preset's has changed since): 15 epochs of 55,000 images at most.
  const budget = { ...config.classifier, maxEpochs: 40, maxImagesPerRun: 825_000 };
  const run = (mode: 'scratch' | 'finetuned', labels: number) => classifierRunPlan({
    stage: `run ${mode} ${labels}`, step: 'classify', label: `${mode} ${labels}`, mode, labels, validation: counts.validation, test: counts.test, budget, done: false, parallel: true,
  });
  const runs = [run('scratch', 55_000), run('finetuned', 55_000)];
  const model = new EtaModel(0);
  model.observe({ type: 'plan', title: 'study', workers: 2, runs: [{ ...pretrainPlan(config, counts, true) }, ...runs] }, 0);
  for (const plan of runs) model.observe({ type: 'stage-start', stage: plan.stage, description: '' }, 0);
  // Each finished epoch 10 s: 15 epochs at most (the image budget), patience 10, so at least 11 epochs.
  let time = 0;
  for (let epoch = 1; epoch <= 2; epoch += 1) {
    for (const plan of runs) {
      model.observe({ type: 'epoch-start', stage: plan.stage, epoch, maxEpochs: 15, batches: 430 }, time);
      model.observe({ type: 'epoch-end', stage: plan.stage, record: { epoch, loss: 1, validationLoss: 1, validationAccuracy: 0.9, seconds: 10 }, improved: true }, time + 10);
    }
    time += 10;
  }
  const estimate = model.estimate(time);
  const scratch = estimate.runs.find((entry) => entry.stage === 'run scratch 55000')!;
  // 13 epochs of 10 s left, and its test predictions.
  assert.ok(scratch.remainingSeconds >= 130 && scratch.remainingSeconds < 160, `scratch: ${scratch.remainingSeconds}`);
  // Two runs side by side: the time left is the longer of the two, not their sum.
  const longest = Math.max(...estimate.runs.map((entry) => entry.remainingSeconds));
  assert.ok(Math.abs(estimate.remainingSeconds! - longest) < 1e-9, `${estimate.remainingSeconds} against ${longest}`);
  assert.equal(estimate.runs.find((entry) => entry.stage === 'pretrain')?.remainingSeconds, 0);
  assert.ok(epochCost({ kind: 'classifier', images: 100, batches: 10, validationImages: 30 }) > epochCost({ kind: 'classifier', images: 100, batches: 1, validationImages: 30 }));
  assert.equal(studyPlan(config, counts, { stagesDone: new Set(), classifierRunsDone: new Set() }, [], 2).map((entry) => entry.step).join(),
    'pretrain,denoise,inspect,evaluate,report');
});
