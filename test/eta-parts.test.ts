// The ETA's parts on made-up numbers: the stopping-epoch prior and what finished runs teach it (cli/stopping.ts), and
// the machine's pace and how it turns work into wall time (cli/pace.ts), and the log that checks a command's estimates
// once it has ended (cli/estimate-log.ts).
import { test } from 'node:test';
import assert from 'node:assert/strict';

import { EstimateLog } from '../src/cli/estimate-log.js';
import { machinePace, pace, wallSeconds } from '../src/cli/pace.js';
import { expectedBestEpoch, frozenBestEpoch, priorBestEpoch } from '../src/cli/stopping.js';
import { presets } from '../src/config.js';
import { classifierRunPlan } from '../src/study/plan.js';
import type { EncoderMode } from '../src/model/classifier.js';

const budget = { ...presets.full.classifier, batchSize: 16, maxEpochs: 215, frozenMaxEpochs: 215, maxImagesPerRun: 275_000, patience: 22, warmupEpochs: 14 };
const cell = (mode: EncoderMode, labels: number, batchSize = budget.batchSize) => classifierRunPlan({
  stage: `sweep ${mode} ${labels}`, step: 'sweep', label: `${mode} ${labels}`, mode, labels, validation: labels, test: 10_000, budget: { ...budget, batchSize }, done: false, parallel: true,
});

test('the stopping prior: whole-network runs reach their best sooner in epochs the more steps an epoch has, frozen ones at a constant epoch', () => {
  // 100 labels in batches of 16: 7 steps an epoch, best near epoch 47 of 215 (a share of the budget would say ~75).
  const small = priorBestEpoch(cell('scratch', 100))!;
  assert.ok(small > 43 && small < 51, `${small}`);
  // 6,000 labels in batches of 128: 47 steps an epoch, best near epoch 20.
  const large = priorBestEpoch(cell('finetuned', 6000, 128))!;
  assert.ok(large > 17 && large < 23 && large < small, `${large}`);
  assert.equal(priorBestEpoch(cell('frozen', 100)), frozenBestEpoch);
  const autoencoderLike: Partial<ReturnType<typeof cell>> = { ...cell('scratch', 100) };
  delete autoencoderLike.variant;
  assert.equal(priorBestEpoch(autoencoderLike as ReturnType<typeof cell>), null);
  // Nothing finished: the prior itself.
  assert.equal(expectedBestEpoch(cell('scratch', 100), []), small);
});

test('finished runs move the prior towards them across label counts; runs that used their budget only when their best was past the prior', () => {
  const pending = cell('scratch', 100);
  const prior = priorBestEpoch(pending)!;
  // A 1,000-label cell that stopped early at twice its prior's best epoch: the factor carries to 100 labels, drawn
  // towards 1 by the prior's weight of 3 runs.
  const thousand = cell('scratch', 1000, 100);
  const late = { plan: thousand, bestEpoch: 2 * priorBestEpoch(thousand)!, epochs: 2 * priorBestEpoch(thousand)! + 15 };
  const moved = expectedBestEpoch(pending, [late])!;
  assert.ok(Math.abs(moved / prior - 2 ** (1 / 4)) < 1e-9, `${moved / prior}`);
  // The other whole-network variant counts half; frozen runs do not count for whole-network ones.
  const other = expectedBestEpoch(pending, [{ ...late, plan: cell('finetuned', 1000, 100) }])!;
  assert.ok(Math.abs(other / prior - 2 ** (0.5 / 3.5)) < 1e-9, `${other / prior}`);
  assert.equal(expectedBestEpoch(pending, [{ ...late, plan: cell('frozen', 1000, 100) }]), prior);
  // A run that trained its whole budget only says its best came no sooner than the best it had: learned from when
  // that is past its prior's, as if it were its best; not otherwise.
  const budgetEpochs = thousand.epochs.reduce((total, phase) => total + phase.count, 0);
  assert.equal(expectedBestEpoch(pending, [{ ...late, epochs: budgetEpochs }]), moved);
  const early = { ...late, bestEpoch: Math.floor(priorBestEpoch(thousand)! / 2), epochs: budgetEpochs };
  assert.equal(expectedBestEpoch(pending, [early]), prior);
});

test('the machine pace follows the recent speed against the long run and fades back to it', () => {
  // The last minutes at twice the long-run speed: the pace is nearly 2 (the anchor holds it back a little); the same samples 20 minutes later, nearly 1.
  const samples = Array.from({ length: 30 }, (_, index) => ({ cost: 2000, seconds: 10, at: 10 * index, longRun: 100 }));
  const now = machinePace(samples, 300);
  assert.ok(now > 1.8 && now < 2, `${now}`);
  const later = machinePace(samples, 1500);
  assert.ok(later > 1 && later < 1.05, `${later}`);
  assert.equal(machinePace([], 0), 1);
  // Work into wall time: at the long-run pace one for one; twice as fast now, a short stretch takes half as long, and
  // a long one about persistence seconds less than at the long-run pace; half as fast, longer; always growing with the work.
  assert.equal(wallSeconds(500, 1), 500);
  assert.ok(Math.abs(wallSeconds(1, 2) - 0.5) < 0.01, `${wallSeconds(1, 2)}`);
  const long = 20 * pace.persistence;
  assert.ok(Math.abs(wallSeconds(long, 2) - (long - pace.persistence)) < 1e-6 * long, `${wallSeconds(long, 2)}`);
  assert.ok(wallSeconds(100, 0.5) > 100 && wallSeconds(100, 0.5) < 200, `${wallSeconds(100, 0.5)}`);
  for (const machine of [0.2, 0.5, 2, 5]) {
    const times = [1, 10, 100, 1000, 10_000].map((work) => wallSeconds(work, machine));
    assert.ok(times.every((time, index) => index === 0 || time > times[index - 1]!), `${machine}: ${times.join()}`);
    for (const [index, work] of [1, 10, 100, 1000, 10_000].entries()) {
      // The equation holds at the solution.
      const t = times[index]!;
      assert.ok(Math.abs(t + (machine - 1) * pace.persistence * (1 - Math.exp(-t / pace.persistence)) - work) < 1e-6 * work, `${machine} ${work}`);
    }
  }
});

test('the estimate log keeps an estimate every second early on, then every 1/400 of the time so far, and checks the last one before each fraction', () => {
  const log = new EstimateLog();
  assert.ok(log.due(0));
  log.record(0, 100);
  assert.ok(!log.due(0.5) && log.due(1));
  log.record(1, 90);
  // 800 s in, the next is due about 2 s later (1/400 of 802 s).
  log.record(800, 50);
  assert.ok(!log.due(802) && log.due(802.1));
  // A command that took 200 s, estimated as 10 s per second too long, except at 60 s.
  const fresh = new EstimateLog();
  for (let elapsed = 5; elapsed < 200; elapsed += 10) fresh.record(elapsed, elapsed === 45 ? 200 - elapsed : 1.1 * (200 - elapsed));
  const checks = fresh.check(200);
  assert.deepEqual(checks.map((check) => [check.fraction, check.atSeconds, check.actualSeconds]), [[0.1, 15, 185], [0.25, 45, 155], [0.5, 95, 105], [0.75, 145, 55]]);
  assert.deepEqual(checks.map((check) => Math.round(1000 * check.error) / 1000), [0.1, 0, 0.1, 0.1]);
  // Nothing estimated before a fraction: no row for it.
  const late = new EstimateLog();
  late.record(30, 70);
  assert.deepEqual(late.check(100).map((check) => check.fraction), [0.5, 0.75]);
});
