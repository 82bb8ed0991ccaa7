// FixMatch's pieces (train/semi-supervised.ts): the weighted targets that make one ordinary step FixMatch's loss,
// the curriculum thresholds, the strong views; and a tiny semi-supervised run that trains on the native step and
// gives the same weights bit for bit on 1 and 2 kernel threads.
import { test } from 'node:test';
import assert from 'node:assert/strict';

import { useBackend } from '../src/backend/index.js';
import { presets, resolveConfig } from '../src/config.js';
import { Random } from '../src/data/random.js';
import { buildClassifier } from '../src/model/classifier.js';
import { trainClassifier } from '../src/train/classifier.js';
import { CurriculumThresholds, fixMatchEpoch, fixMatchTargets, strongViews } from '../src/train/semi-supervised.js';
import { warpImages } from '../src/data/augment.js';
import { initializeWeights, snapshotWeights } from '../src/train/weights.js';
import type { ImageSet } from '../src/data/dataset.js';

test('targets: labelled rows weigh 1/labelled, confident pseudo-labels λ/unlabelled, the rest nothing', () => {
  const labels = Uint8Array.of(2, 0);
  // Three unlabelled rows over three classes: confident for class 1, unsure, confident for class 2.
  const weak = Float32Array.of(0.02, 0.97, 0.01, 0.5, 0.3, 0.2, 0.0, 0.04, 0.96);
  const { target, confident } = fixMatchTargets(labels, weak, 3, { threshold: 0.95, unlabelledWeight: 2 });
  const count = 5;
  // The step's loss is the mean over the 5 rows: a row of weight w counts w/5.
  assert.deepEqual(
    Array.from(target),
    [0, 0, count / 2, count / 2, 0, 0, 0, (2 * count) / 3, 0, 0, 0, 0, 0, 0, (2 * count) / 3].map(Math.fround),
  );
  assert.equal(confident, 2 / 3);
  // Per-class thresholds replace τ: class 1 now needs 0.99.
  const strict = fixMatchTargets(
    labels,
    weak,
    3,
    { threshold: 0.95, unlabelledWeight: 2 },
    Float64Array.of(0.6, 0.99, 0.6),
  );
  assert.equal(strict.confident, 1 / 3);
  assert.equal(strict.target[3 * 3 + 1], 0);
});

test('curriculum thresholds start at zero and rise to τ for the classes the model labels most', () => {
  const curriculum = new CurriculumThresholds(4, 2, 0.9);
  assert.deepEqual(Array.from(curriculum.thresholds), [0, 0]);
  // Three of four images confidently class 0, none class 1: class 0's share is 3 of max(3, 1 unlearnt).
  curriculum.record(Int32Array.of(0, 1, 2, 3), Float32Array.of(0.95, 0.05, 0.99, 0.01, 0.91, 0.09, 0.6, 0.4));
  assert.equal(curriculum.thresholds[0], 0.9);
  assert.equal(curriculum.thresholds[1], 0);
  // Image 3 becomes class 1: β = 1/3, threshold 0.9 · (1/3) / (5/3) = 0.18.
  curriculum.record(Int32Array.of(3), Float32Array.of(0.05, 0.95));
  assert.ok(Math.abs(curriculum.thresholds[1]! - 0.18) < 1e-12);
  // An image that changes class moves from one count to the other.
  curriculum.record(Int32Array.of(0), Float32Array.of(0.02, 0.98));
  assert.ok(Math.abs(curriculum.thresholds[1]! - (0.9 * (2 / 2)) / (2 - 1)) < 1e-12);
  // Images not drawn yet do not count as unlearnt: the same four of 100 images give the same thresholds.
  const larger = new CurriculumThresholds(100, 2, 0.9);
  larger.record(Int32Array.of(0, 1, 2, 3), Float32Array.of(0.95, 0.05, 0.99, 0.01, 0.91, 0.09, 0.6, 0.4));
  assert.deepEqual(Array.from(larger.thresholds), [0.9, 0]);
});

test('strong views are distorted and corrupted, in range, and the same for the same seed', () => {
  const config = resolveConfig('full').classifier.semiSupervised;
  const random = new Random(4);
  const images = Float32Array.from({ length: 3 * 784 }, () => random.next());
  const once = strongViews(images, 3, 28, 28, config, new Random(9), warpImages);
  const again = strongViews(images, 3, 28, 28, config, new Random(9), warpImages);
  assert.deepEqual(once, again);
  assert.notDeepEqual(once, images);
  assert.ok(once.every((value) => value >= 0 && value <= 1));
  assert.equal(images.length, 3 * 784, 'the input is left as it was');
});

function toyImages(count: number, seed: number): ImageSet {
  const random = new Random(seed);
  const labels = Uint8Array.from({ length: count }, () => random.integer(4));
  // Each class brightens its own quarter of the image, with noise: learnable in a few steps.
  const images = new Float32Array(count * 784);
  labels.forEach((label, n) => {
    for (let pixel = 0; pixel < 784; pixel += 1)
      images[n * 784 + pixel] = Math.floor(pixel / 196) === label ? 0.6 + 0.4 * random.next() : 0.3 * random.next();
  });
  return { images, labels, count, height: 28, width: 28, classes: 4 };
}

async function semiSupervisedRun(threads: number) {
  await useBackend('native', { threads });
  // Long enough for the toy's validation accuracy to stop improving: the schedule must still run to its end.
  const config = resolveConfig('tiny', { classifier: { semiSupervised: { epochs: 6 } } }).classifier;
  const classifier = buildClassifier(
    'fixmatch-scratch',
    { height: 28, width: 28, codingUnits: 32 },
    4,
    null,
    presets.full.classifier.headUnits,
  );
  initializeWeights(classifier.model, new Random(3));
  const engines: string[] = [];
  const result = await trainClassifier({
    classifier,
    mode: 'fixmatch-scratch',
    train: toyImages(24, 1),
    validation: toyImages(40, 2),
    unlabelled: toyImages(200, 3),
    config,
    seed: 5,
    stage: 'test',
    reporter: (event) => {
      if (event.type === 'message') engines.push(event.text);
    },
  });
  const weights = snapshotWeights(classifier.model);
  classifier.model.dispose();
  return { result, weights, messages: engines };
}

test('a semi-supervised run learns its whole schedule, keeps the end, and is the same on 1 and 2 threads', async () => {
  try {
    const one = await semiSupervisedRun(1);
    const two = await semiSupervisedRun(2);
    assert.ok(one.result.validationAccuracy > 0.5, `validation accuracy ${one.result.validationAccuracy}`);
    assert.ok(one.messages.some((text) => /unlabelled images had a confident pseudo-label/.test(text)));
    // The whole fixed schedule trains and its last epoch is kept, whatever an earlier epoch scored.
    assert.equal(one.result.epochs, 6);
    assert.equal(one.result.bestEpoch, 6);
    assert.equal(one.result.validationAccuracy, one.result.history.at(-1)!.validationAccuracy);
    assert.deepEqual(two.weights, one.weights);
    assert.deepEqual(
      two.result.history.map((record) => record.validationAccuracy),
      one.result.history.map((record) => record.validationAccuracy),
    );
  } finally {
    await useBackend('native');
  }
});

test("a FixMatch epoch makes each step's images while the step before runs, without touching that step's", async () => {
  const config = resolveConfig('tiny').classifier;
  const semi = { ...config.semiSupervised, stepsPerEpoch: 5 };
  const classifier = buildClassifier('fixmatch-scratch', { height: 28, width: 28, codingUnits: 32 }, 4, null, 16);
  initializeWeights(classifier.model, new Random(3));
  const epoch = async () => {
    const inputs: Float32Array[] = [];
    // A step that holds its input for a turn of the event loop, as the addon's does on its own thread, and checks
    // that the input is still what it was given once it is done.
    const fakeStep = Object.assign(
      async (x: Float32Array, _target: Float32Array, count: number) => {
        const given = x.slice();
        await new Promise((resolve) => setImmediate(resolve));
        assert.deepEqual(x, given, 'the running step kept its input');
        assert.equal(count * 784, x.length);
        inputs.push(given);
        return 0;
      },
      { engine: 'tfjs' as const, dispose: () => {} },
    );
    await fixMatchEpoch({
      model: classifier.model,
      step: fakeStep,
      labelled: toyImages(6, 1),
      unlabelled: toyImages(40, 3),
      config: semi,
      augmentation: config.augmentation,
      random: new Random(8),
      warp: warpImages,
      curriculum: null,
      average: null,
      teacher: false,
      done: () => {},
    });
    return inputs;
  };
  const first = await epoch();
  assert.equal(first.length, 5);
  for (let step = 1; step < first.length; step += 1) assert.notDeepEqual(first[step], first[step - 1]);
  assert.deepEqual(await epoch(), first, 'the same seed makes the same images');
  classifier.model.dispose();
});
