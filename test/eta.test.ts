// The ETA model against recorded runs: the events of a full study, label sweeps and an ablation on this project's
// 2-core machine (test/fixtures/, batch events left out), each with the time it arrived. Replayed through the model, the
// estimate at 25%, 50% and 75% of the run's wall time must be within the stated bound of the time that was left.
import { test } from 'node:test';
import type { TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';

import { EtaModel, epochCost } from '../src/cli/eta.js';
import { presets } from '../src/config.js';
import { referencePretraining } from '../src/grid/ablation.js';
import { robustnessSetImages } from '../src/grid/cells.js';
import { classifierRunPlan, pretrainPlan, studyPlan } from '../src/study/plan.js';
import type { TrainingEvent } from '../src/train/events.js';

interface Recorded { t: number; event: TrainingEvent }

function recording(name: string): Recorded[] {
  const text = gunzipSync(readFileSync(fileURLToPath(new URL(`../../test/fixtures/${name}.gz`, import.meta.url)))).toString('utf8');
  return text.trimEnd().split('\n').map((line) => JSON.parse(line) as Recorded);
}

/**
 * Recordings of sweeps and ablations made before the plan counted the corrupted copies that the first cell of an
 * autoencoder on each worker makes and denoises (cells.ts's cellRunPlans): their plan with those images added as
 * cellRunPlans adds them now, to the first `workers` cells of each autoencoder in plan order. The times are as recorded.
 */
function planAsNow(events: Recorded[]): Recorded[] {
  const [first, ...rest] = events;
  if (first?.event.type !== 'plan') return events;
  const plan = first.event;
  const setImages = robustnessSetImages(presets.full, 10_000, 10);
  const pretrainings = plan.runs.filter((run) => run.step === 'pretrain' && run.stage.startsWith('ablate pretrain ')).map((run) => run.stage.slice('ablate pretrain '.length));
  // The ablation's scratch cells denoise with the reference pretraining's autoencoder, or the first one (ablation.ts).
  const scratchModels = pretrainings.includes(referencePretraining) ? referencePretraining : pretrainings[0];
  const cellsBefore = new Map<string, number>();
  const runs = plan.runs.map((run) => {
    if (!run.parallel || run.variant === undefined || run.step === 'classify') return run;
    const pretraining = run.label.split(' ')[0]!;
    const models = plan.title === 'ablation' ? (pretraining === 'scratch' ? scratchModels! : pretraining) : 'models';
    const before = cellsBefore.get(models) ?? 0;
    cellsBefore.set(models, before + 1);
    return before < plan.workers ? { ...run, encoderImages: { ...run.encoderImages, after: run.encoderImages.after + setImages } } : run;
  });
  return [{ ...first, event: { ...plan, runs } }, ...rest];
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

/**
 * A recorded run replayed through the model: the estimate at 25%, 50% and 75% of its time within `bounds` of the
 * truth. Grids recorded before their plan counted the robustness sets get them added (planAsNow).
 */
function checkRecording(t: TestContext, fixture: string, bounds: [number, number, number], plan: 'as recorded' | 'as now' = 'as recorded'): void {
  const recorded = recording(fixture);
  assert.equal(recorded[0]?.event.type, 'plan');
  const events = plan === 'as now' ? planAsNow(recorded) : recorded;
  // The tenth is shown, not bounded: before the first epochs of a kind end, it rests on the prior speeds alone.
  const [tenth, ...rows] = replay(events, [0.1, 0.25, 0.5, 0.75]);
  t.diagnostic(describe([tenth!, ...rows]));
  assert.ok(rows.every((row, index) => Math.abs(row.error) <= bounds[index]!), describe(rows));
}

// Bounds: what the current model measured, rounded up. The cells' robustness sets (planAsNow) and the layer arithmetic
// (src/model/arithmetic.ts) came after the first six recordings; the second ablation was recorded after both. The
// classifier's arithmetic efficiency (0.85 of the autoencoder's, cli/eta.ts) was chosen after those eight were seen.
// This round's recordings follow (see below). "Earlier prior": the same model with the stopping prior fitted on the
// earlier recipe's runs (cli/stopping.ts).

test('recorded study: within 15% at a quarter of its time, 20% at half, 10% at three quarters', (t) => {
  // Measured: -10.3%, -15.6%, +5.9% (earlier prior: -9.2%, -14.1%, +9.8%; with an efficiency of 1: -16.6%, -25.1%,
  // +10.1%). Until the classifiers' first epochs end (past half its time), their speed is 0.85 of the
  // autoencoder's in multiply-adds a second; on this loaded machine they went at 0.70 of it.
  checkRecording(t, 'eta-study.jsonl', [0.15, 0.2, 0.1]);
});

test('recorded study of this round\'s recipe on a quiet machine: within 15% at a quarter of its time, 10% at half, 5% at three quarters', (t) => {
  // Seed 2, 280 s, recorded before the plan counted the evaluate stage by arithmetic: its plan's denoise, inspect and
  // evaluate entries are rewritten as studyPlan makes them now (evaluate 176,307 autoencoder passes' worth, was
  // 450,000); the times are as recorded. Measured: -14.1%, -6.5%, -3.2% (earlier prior: the same to 0.1; an
  // efficiency of 1: -20.7%, -6.4%, -2.6%; the plan as recorded: -3.8%, +23.2%, +56.9%). At a quarter of its time
  // (70 s, the autoencoder's fourth epoch) the classifier stage is guessed from the autoencoder's multiply-adds a
  // second, and here the classifiers went at about 0.78 of it.
  checkRecording(t, 'eta-study-quiet.jsonl', [0.15, 0.1, 0.05]);
});

test('recorded sweep: the time left within 5% at a quarter and at half of its time, 20% at three quarters', (t) => {
  // Measured: +1.2%, -4.4%, +17.9% (earlier prior: +4.4%, -4.1%, +14.2%; before the arithmetic and the robustness
  // sets: -0.0%, -1.2%, +20.2%). Recorded with the earlier recipe, whose small cells stopped sooner.
  checkRecording(t, 'eta-sweep.jsonl', [0.05, 0.05, 0.2], 'as now');
});

test('recorded second sweep (a slow machine that sped up): within 5% at a quarter of its time, 55% at half, 15% at three quarters', (t) => {
  // Measured: +3.6%, +52.6%, +12.5% (earlier prior: +8.0%, +55.9%, +11.6%). At half its time the machine had gone 2.8
  // to 5 times slower for the last 250 s and was about to speed up again, which nothing measured so far could tell.
  checkRecording(t, 'eta-sweep-seed2.jsonl', [0.05, 0.55, 0.15], 'as now');
});

test('recorded sweep on another study: the time left within 20% at a quarter of its time, 10% from half on', (t) => {
  // Measured: -18.2%, -6.9%, -5.3% (earlier prior: -15.6%, -7.0%, -9.4%).
  checkRecording(t, 'eta-sweep-study2.jsonl', [0.2, 0.1, 0.1], 'as now');
});

test('recorded sweep, its seed-3 cells on the same study: 10% at a quarter of its time, 5% at half, 15% at three quarters', (t) => {
  // Measured: +6.9%, +3.1%, -13.8% (earlier prior: +10.0%, +3.9%, -17.2%). A quarter of its 195 s is 49 s in: one
  // cell's single whole-network epoch is drawn towards its kind's speed, and the first cells' robustness sets are
  // planned work instead of a slower encoder.
  checkRecording(t, 'eta-sweep-study2-seed3.jsonl', [0.1, 0.05, 0.15], 'as now');
});

test('recorded sweep of this round\'s recipe, the three default seeds on a quiet machine: within 5% at a quarter, half and three quarters of its time', (t) => {
  // dae sweep on a copy of this round's quiet seed-1 study, 54 cells in 428 s, recorded after the efficiency was
  // chosen, and one of the grids the stopping prior was refitted on. Measured: -3.5%, +4.0%, -2.8% (earlier prior,
  // held out: -1.5%, +0.4%, -8.5%).
  checkRecording(t, 'eta-sweep-quiet.jsonl', [0.05, 0.05, 0.05]);
});

test('recorded ablation: 30% at a quarter of its time, 50% at half, 10% at three quarters', (t) => {
  // Measured: +26.2%, +46.7%, +5.9% (earlier prior: +24.8%, +44.6%, +3.1%; an efficiency of 1: +17.1%, +32.8%,
  // +3.1%). Until the first cells end (about half its time), their speed is 0.85 of the autoencoders' in
  // multiply-adds a second; here they went at 1.36 times that: the goal is not met at a quarter and half its time.
  checkRecording(t, 'eta-ablation.jsonl', [0.3, 0.5, 0.1], 'as now');
});

test('recorded second ablation: 10% at a quarter of its time, 10% at half, 10% at three quarters', (t) => {
  // dae ablate --pretrainings gaussian-0.4,masking-30 --labels 300,3000 --seeds 2 on a copy of the seed-2 study,
  // at nice 10 beside other jobs (load 4 to 6): 2 pretrainings and 20 cells in 396 s. Measured: -6.8%, -5.6%, +5.4%
  // (earlier prior: -7.1%, -6.1%, +4.7%; its cells went at 0.89 times the autoencoders' multiply-adds a second).
  checkRecording(t, 'eta-ablation2.jsonl', [0.1, 0.1, 0.1]);
});

// This round's recordings, made on a quiet machine, in the order they were made: epoch records cut to what the model
// reads, 'saved' and 'message' events left out. The first three were made with the earlier prior, the next two with
// the refitted one; then runs that used their budget began to count (cli/stopping.ts), and the last two were made
// after that.

test('recorded study, seed 4 (held out): within 10% at a quarter of its time, 5% at half and three quarters', (t) => {
  // 5 min 23 s. Measured: -6.8%, -1.0%, +4.9% (earlier prior, the same). The run's own check
  // (time-estimates.json): -7.0% at a tenth of its time, -6.8%, +2.1%, +4.9%.
  checkRecording(t, 'eta-study-seed4.jsonl', [0.1, 0.05, 0.05]);
});

test('recorded sweep on the seed-4 study: within 10% at a quarter of its time, 15% at half, 20% at three quarters', (t) => {
  // dae sweep, 54 cells in 7 min 50 s. Held out from the earlier prior, which missed the goal at three quarters of its
  // time (its run's own check: -6.1%, -10.6%, -21.6%; replayed: -6.1%, -10.6%, -21.8%); one of the grids the prior
  // was refitted on. Measured: -8.0%, -6.2%, -14.9% (the refitted prior before runs that used their budget
  // counted: -8.0%, -11.8%, -18.4%).
  checkRecording(t, 'eta-sweep-seed4.jsonl', [0.1, 0.15, 0.2]);
});

test('recorded default ablation on the seed-4 study: within 10% at a quarter of its time, 15% at half and three quarters', (t) => {
  // dae ablate with its defaults: 7 pretrainings and 135 cells in 17 min 48 s. Held out from the earlier prior (its
  // run's own check: -13.3%, -13.3%, -16.8%); one of the grids the prior was refitted on. Measured: -8.5%, -11.5%, -14.3%.
  checkRecording(t, 'eta-ablation-default.jsonl', [0.1, 0.15, 0.15]);
});

test('recorded sweep on the seed-2 study, after the prior was refitted (held out): within 15% at a quarter of its time, 20% at half, 15% at three quarters', (t) => {
  // dae sweep on a copy of this round's seed-2 study, 54 cells in 8 min 0 s, recorded after the prior was refitted.
  // Measured: -10.0%, -15.7%, -11.5% (the run's own check, before runs that used their budget counted: -2.2% at a
  // tenth of its time, -10.0%, -16.4%, -12.5%; the earlier prior: -8.2%, -17.5%, -16.8%).
  checkRecording(t, 'eta-sweep-held-out.jsonl', [0.15, 0.2, 0.15]);
});

test('recorded sweep on the seed-3 study (held out from the refitted prior): within 15% at a quarter of its time, 20% at half, 10% at three quarters', (t) => {
  // dae sweep on a copy of this round's seed-3 study, 54 cells in 8 min 0 s, recorded with the refitted prior before
  // runs that used their budget counted (cli/stopping.ts). Measured: -11.6%, -14.2%, -6.3% (the run's own check:
  // -6.7% at a tenth of its time, -11.6%, -16.9%, -7.5%).
  checkRecording(t, 'eta-sweep-held-out2.jsonl', [0.15, 0.2, 0.1]);
});

test('recorded sweep on a seed-5 study (held out): within 15% at a quarter and half of its time, 10% at three quarters', (t) => {
  // dae sweep on a new study of seed 5, 54 cells in 8 min 0 s, recorded with the stopping prior as it is now.
  // Measured: -11.4%, -11.0%, -4.7% (the run's own check: -0.3% at a tenth of its time, -11.4%, -11.0%, -4.7%).
  checkRecording(t, 'eta-sweep-seed5.jsonl', [0.15, 0.15, 0.1]);
});

test('recorded sweep on the seed-7 study after the model was final (held out): within 10% at a quarter of its time, 15% at half, 10% at three quarters', (t) => {
  // dae sweep on the held-out seed-7 study, 54 cells in 8 min 32 s. Measured: -4.8%, -10.3%, -6.1% (its run's own
  // check: -1.6% at a tenth of its time, -5.2%, -10.4%, -6.2%).
  checkRecording(t, 'eta-sweep-final.jsonl', [0.1, 0.15, 0.1]);
});

/** The worst error of the estimate at every 1/400 of a recording's time from 25% to 75%, and where it was. */
function worstFromQuarterToThreeQuarters(events: Recorded[]): { error: number; fraction: number } {
  const end = events.at(-1)!.t;
  const model = new EtaModel(0);
  let next = 0, worst = { error: 0, fraction: 0 };
  for (let step = 100; step <= 300; step += 1) {
    const at = (step / 400) * end;
    for (; next < events.length && events[next]!.t <= at; next += 1) model.observe(events[next]!.event, events[next]!.t);
    const error = (model.estimate(at).remainingSeconds! - (end - at)) / (end - at);
    if (Math.abs(error) > Math.abs(worst.error)) worst = { error, fraction: step / 400 };
  }
  return worst;
}

function checkEveryQuarterPercent(t: TestContext, fixture: string, bound: number): void {
  const worst = worstFromQuarterToThreeQuarters(recording(fixture));
  const text = `worst: ${(100 * worst.error).toFixed(1)}% at ${(100 * worst.fraction).toFixed(2)}% of its time`;
  t.diagnostic(text);
  assert.ok(Math.abs(worst.error) <= bound, text);
}

test('a study recorded with its batch events: the estimate stays within 12% of the time left at every quarter-percent from 25% to 75% of its time', (t) => {
  // Seed 5 again, 5 min 17 s, every event kept (batch losses rounded), so that an epoch in progress is measured from
  // its batches as the live display measures it. The same seed's first study had said +20.5% at half its time, a
  // few seconds into the classifiers: the speed of the first classifier epoch then came from its first batches,
  // which pay for the run's start. Scanned here, the worst error from 25% to 75% was +16.8% (at 51.5%) with the
  // first batch counted and +11.0% (at 53.25%) now that it is left out; its run's own check: -0.9%, +2.2%, +3.6%.
  checkRecording(t, 'eta-study-batches.jsonl', [0.05, 0.05, 0.05]);
  checkEveryQuarterPercent(t, 'eta-study-batches.jsonl', 0.12);
});

test('a study recorded with its batch events after the model was final (held out): within 20% at every quarter-percent from 25% to 75% of its time', (t) => {
  // Seed 7, 5 min 4 s. Its run's own check: +5.6% at a tenth of its time, +3.8%, +15.6%, +1.7%. Scanned, the worst
  // error was +18.7% at 49.5%, in the classifiers' first epochs, which went slower than their later ones: the
  // estimate says too long until those end, then comes within 12%.
  checkRecording(t, 'eta-study-batches-held-out.jsonl', [0.05, 0.2, 0.05]);
  checkEveryQuarterPercent(t, 'eta-study-batches-held-out.jsonl', 0.2);
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
