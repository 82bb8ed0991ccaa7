// The time estimate on made-up plans and clocks: it prices work in the calibration's seconds and follows how fast
// the real work goes, learns how many epochs a group's runs take from the first to finish, plays the pool out on its
// threads, and the grids hand out one cell of each group first. The calibration itself runs on this machine.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import * as tf from '@tensorflow/tfjs-core';

import { setNativeThreads, useBackend } from '../src/backend/index.js';
import { loadNativeAddon } from '../src/backend/native/addon.js';
import { measureMachine } from '../src/cli/calibration.js';
import { presets } from '../src/config.js';
import type { MachineSpeeds } from '../src/cli/calibration.js';
import { EtaModel } from '../src/cli/eta.js';
import { Random } from '../src/data/random.js';
import { handoutOrder } from '../src/grid/cells.js';
import { buildAutoencoder } from '../src/model/autoencoder.js';
import { adam } from '../src/train/adam.js';
import type { PlannedRun, TrainingEvent } from '../src/train/events.js';
import { initializeWeights } from '../src/train/weights.js';
import type { CellJob } from '../src/study/jobs.js';

/** Made-up speeds: an autoencoder epoch of the plans below is priced 10 s, a classifier epoch 1 s, forward work 0. */
const speeds: MachineSpeeds = {
  epochs: {
    autoencoder: { perStep: 0, perImage: 0.01 },
    classifier: { perStep: 0, perImage: 0.001 },
    head: { perStep: 0, perImage: 0 },
  },
  forward: { autoencoder: 0, encoder: 0, classifier: 0, codeMap: 0 },
};
const noForward = { autoencoder: 0, encoder: 0, classifier: 0, codeMap: 0 };

function run(
  stage: string,
  kind: 'autoencoder' | 'classifier',
  epochs: number,
  parallel: boolean,
  group?: string,
): PlannedRun {
  return {
    stage,
    step: parallel ? 'cells' : stage,
    label: stage,
    done: false,
    parallel,
    ...(group === undefined ? {} : { group }),
    epochs: [{ kind, count: epochs, images: 1000, batchSize: 100, validationImages: 0 }],
    patience: 2,
    forward: noForward,
  };
}

/** A clock and an ETA fed events at it; `epochs` plays whole epochs of a run, `seconds` each, each its best or none. */
function feed(plan: PlannedRun[], workers: number) {
  const eta = new EtaModel(0, speeds);
  let now = 0;
  const send = (event: TrainingEvent) => eta.observe(event, now);
  send({ type: 'plan', title: 'test', workers, runs: plan });
  const epochs = (stage: string, from: number, to: number, seconds: number, improved = false) => {
    for (let epoch = from; epoch <= to; epoch += 1) {
      send({ type: 'epoch-start', stage, epoch, maxEpochs: to, batches: 10 });
      now += seconds;
      send({ type: 'epoch-end', stage, record: { epoch, loss: 1, validationLoss: 1, seconds }, improved });
    }
  };
  return { eta, send, epochs, now: () => now };
}

test('work is priced by the calibration, then goes at the measured pace of its kind', () => {
  const { eta, send, epochs, now } = feed(
    [run('pretrain', 'autoencoder', 4, false), run('classify', 'classifier', 10, false)],
    1,
  );
  // Priced: 4 x 10 s + 10 x 1 s.
  assert.equal(eta.estimate(now()).remainingSeconds, 50);
  send({ type: 'stage-start', stage: 'pretrain', description: '' });
  // The autoencoder's epochs take twice their price: the rest of its work, and the classifier's (not measured yet,
  // so at the mean pace of the work measured), is expected to go at that pace too.
  epochs('pretrain', 1, 2, 20);
  assert.equal(eta.estimate(now()).remainingSeconds, 2 * 20 + 10 * 2);
  send({ type: 'stage-end', stage: 'pretrain', seconds: 40, summary: '' });
  send({ type: 'stage-start', stage: 'classify', description: '' });
  epochs('classify', 1, 5, 0.5);
  // The classifier's own pace now: 5 epochs left at 0.5 s.
  assert.equal(eta.estimate(now()).remainingSeconds, 2.5);
  assert.equal(eta.estimate(now()).step?.name, 'classify');
});

test("a group's runs are expected to stop when its first finished run did, at most at their budget", () => {
  const plan = [
    run('a seed 1', 'classifier', 40, false, 'a'),
    run('a seed 2', 'classifier', 40, false, 'a'),
    run('b seed 1', 'classifier', 40, false, 'b'),
  ];
  const { eta, send, epochs, now } = feed(plan, 1);
  send({ type: 'stage-start', stage: 'a seed 1', description: '' });
  epochs('a seed 1', 1, 10, 1);
  send({ type: 'run-end', stage: 'a seed 1', bestEpoch: 8, epochs: 10, testAccuracy: 0.9, macroF1: 0.9, seconds: 10 });
  const estimate = eta.estimate(now());
  // 'a seed 2' at its group's 10 epochs; 'b seed 1' has no finished run in its group: its budget of 40.
  assert.equal(estimate.remainingSeconds, 10 + 40);
  assert.equal(estimate.atMostSeconds, 40 + 40);
  // A run whose best epoch is recent keeps going at least until its patience runs out.
  send({ type: 'stage-start', stage: 'a seed 2', description: '' });
  epochs('a seed 2', 1, 12, 1, true);
  assert.equal(eta.estimate(now()).runs.find((entry) => entry.stage === 'a seed 2')?.remainingSeconds, 2);
});

test("the pool's runs are played out on its threads in the order they are handed out", () => {
  const plan = [
    run('long', 'classifier', 30, true, 'long'),
    run('short 1', 'classifier', 10, true, 's1'),
    run('short 2', 'classifier', 10, true, 's2'),
    run('short 3', 'classifier', 10, true, 's3'),
  ];
  const { eta } = feed(plan, 2);
  // Thread 1: long (30 s); thread 2: three shorts (30 s).
  assert.equal(eta.estimate(0).remainingSeconds, 30);
  assert.equal(feed(plan, 1).eta.estimate(0).remainingSeconds, 60);
});

test('without measured speeds the estimate says nothing rather than guess, and still counts what is done', () => {
  const eta = new EtaModel(0);
  eta.observe({ type: 'plan', title: 'test', workers: 1, runs: [run('pretrain', 'autoencoder', 4, false)] }, 0);
  eta.observe({ type: 'stage-start', stage: 'pretrain', description: '' }, 0);
  assert.equal(eta.estimate(1).remainingSeconds, null);
  assert.deepEqual(eta.estimate(1).runs, [{ stage: 'pretrain', state: 'running', remainingSeconds: null }]);
});

test('grids hand out one cell of each group first, shortest first, then the rest longest first', () => {
  const cell = (encoder: CellJob['encoder'], labels: number, seed: number) => ({
    job: { encoder, labels, seed, stage: `sweep ${encoder} ${labels} labels seed ${seed}` } as CellJob,
    work: labels,
  });
  const cells = [1, 2].flatMap((seed) => [
    cell('scratch', 100, seed),
    cell('scratch', 1000, seed),
    cell('frozen', 1000, seed),
  ]);
  assert.deepEqual(
    handoutOrder(cells).map(({ job }) => job.stage),
    [
      'sweep scratch 100 labels seed 1',
      'sweep scratch 1000 labels seed 1',
      'sweep frozen 1000 labels seed 1',
      'sweep scratch 1000 labels seed 2',
      'sweep frozen 1000 labels seed 2',
      'sweep scratch 100 labels seed 2',
    ],
  );
});

test("the calibration measures every kind of work and leaves the command's training and threads untouched", async () => {
  const digest = async () => {
    await useBackend('native', { threads: 1 });
    const { autoencoder } = buildAutoencoder();
    initializeWeights(autoencoder, new Random(5));
    autoencoder.compile({ optimizer: adam(1e-3), loss: 'meanSquaredError' });
    const random = new Random(6);
    const images = tf.tensor4d(
      Float32Array.from({ length: 32 * 784 }, () => random.next()),
      [32, 28, 28, 1],
    );
    for (let step = 0; step < 3; step += 1) await autoencoder.trainOnBatch(images, images);
    const hash = createHash('sha256');
    for (const weight of autoencoder.getWeights())
      hash.update(new Uint8Array((weight.dataSync() as Float32Array).slice().buffer));
    tf.dispose(images);
    autoencoder.dispose();
    return hash.digest('hex');
  };
  const before = await digest();
  // The calibration's thread runs its kernels on one thread of the process's pool; the command's count comes back.
  const threads = setNativeThreads(2);
  const measured = await measureMachine('native', true, presets.full.classifier.headUnits);
  assert.equal(loadNativeAddon().addon!.threads(), threads, "the calibration changed the command's kernel threads");
  for (const [kind, { perStep, perImage }] of Object.entries(measured.epochs)) {
    assert.ok(
      Number.isFinite(perStep) && perStep >= 0 && Number.isFinite(perImage) && perImage >= 0,
      `${kind}: ${perStep}, ${perImage}`,
    );
  }
  assert.ok(measured.epochs.autoencoder.perImage > 0, 'an autoencoder image took no time');
  assert.ok(
    Object.values(measured.forward).every((seconds) => Number.isFinite(seconds) && seconds > 0),
    JSON.stringify(measured.forward),
  );
  assert.equal(await digest(), before);
});
