// A tiny label-efficiency sweep: the structure of its results, and that a resumed sweep (one cell lost, as if
// killed while training it) gives the same table; cells trained two at a time in worker threads or one at a time alike.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { useBackend } from '../src/backend/index.js';
import { resolveConfig } from '../src/config.js';
import { RunFolder } from '../src/io/run-folder.js';
import type { Metrics } from '../src/io/metrics.js';
import { runSweep, summariseSweep } from '../src/grid/sweep.js';
import { sweepSentence } from '../src/report/conclusion.js';
import { silentReporter } from '../src/train/events.js';
import { Random } from '../src/data/random.js';
import type { PreparedData } from '../src/data/prepare.js';
import { robustnessSets } from '../src/eval/robustness.js';
import { buildAutoencoder } from '../src/model/autoencoder.js';
import { sharedCellRobustnessSets } from '../src/study/cell.js';
import { robustnessCorruptions } from '../src/study/evaluate.js';
import { initializeWeights } from '../src/train/weights.js';

test('a tiny sweep has every cell, nested subsets, and resumes to the same table', async () => {
  const directory = await mkdtemp(join(tmpdir(), 'dae-sweep-'));
  try {
    // Cells trained two at a time in worker threads; the lost cell below is trained again in this thread.
    const config = resolveConfig('tiny', {
      autoencoder: { maxEpochs: 1 },
      classifier: { maxEpochs: 3, warmupEpochs: 1 },
      backend: { threads: 2, workers: 2 },
    });
    const backend = await useBackend('native', { threads: 2 });
    const run = await RunFolder.create(directory, config);
    const context = { run, config, backend, reporter: silentReporter };
    const options = {
      labelCounts: [40, 200] as number[],
      seeds: 2,
      encoders: ['frozen', 'finetuned', 'scratch'] as const,
      semiSupervisedLabelCounts: null,
      minimumSteps: 20,
    };
    const first = await runSweep(context, { ...options, encoders: [...options.encoders] });

    assert.deepEqual(first.labelCounts, [40, 200]);
    assert.deepEqual(first.seeds, [config.seed, config.seed + 1]);
    assert.equal(first.cells.length, 12);
    assert.equal(first.summary.length, 6);
    assert.equal(first.gain.length, 2);
    for (const entry of first.summary) {
      assert.equal(entry.seeds, 2);
      assert.ok(entry.accuracy.mean > 0 && entry.accuracy.mean <= 1 && entry.accuracy.std >= 0);
    }
    // Cells this short leave the pretrained encoders near chance (0.10 over ten classes; measured 0.10-0.15 frozen and
    // fine-tuned), but the scratch cells learn: 0.243 at 40 labels and 0.218 at 200 on the 300 test images, where a
    // classifier at chance stays within about ±0.02. A sweep that trains or scores nothing falls below the floor.
    const minimumScratchAccuracy = 0.18;
    for (const entry of first.summary.filter((candidate) => candidate.encoder === 'scratch')) {
      assert.ok(
        entry.accuracy.mean >= minimumScratchAccuracy,
        `scratch at ${entry.labels} labels: mean test accuracy ${entry.accuracy.mean} is below the floor ${minimumScratchAccuracy}`,
      );
    }
    const small = await run.readJson<{ indices: number[] }>(`sweep/subsets/labels-40-seed${config.seed}.json`);
    const large = await run.readJson<{ indices: number[] }>(`sweep/subsets/labels-200-seed${config.seed}.json`);
    const largeSet = new Set(large.indices);
    assert.ok(
      small.indices.every((index) => largeSet.has(index)),
      'the 40-label subset must be inside the 200-label one',
    );

    // Lose one cell, as a sweep killed while training it would, and run again.
    const cells = await readdir(join(directory, 'sweep', 'cells'));
    assert.equal(cells.length, 12);
    await rm(join(directory, 'sweep', 'cells', `finetuned-200-seed${config.seed + 1}.json`));
    const oneAtATime = { ...context, config: { ...config, backend: { ...config.backend, workers: 1 } } };
    const resumed = await runSweep(oneAtATime, { ...options, encoders: [...options.encoders] });
    assert.deepEqual(
      resumed.cells.map(({ seconds: _, ...cell }) => cell),
      first.cells.map(({ seconds: _, ...cell }) => cell),
    );
    assert.deepEqual(resumed.summary, first.summary);
    assert.deepEqual(resumed.gain, first.gain);
    const metrics = await run.readJson<Pick<Metrics, 'sweep'>>('metrics.json');
    assert.deepEqual(metrics.sweep?.summary, first.summary);
  } finally {
    await rm(directory, { recursive: true, force: true });
  }
});

test('the sweep summary pairs the fine-tuned and scratch runs by seed', () => {
  const cell = (encoder: 'finetuned' | 'scratch', seed: number, accuracy: number) => ({
    encoder,
    labels: 100,
    seed,
    accuracy,
    macroF1: accuracy,
    epochs: 1,
    seconds: 1,
  });
  const result = summariseSweep(
    [100],
    [1, 2],
    [cell('finetuned', 1, 0.9), cell('scratch', 1, 0.8), cell('finetuned', 2, 0.7), cell('scratch', 2, 0.7)],
    'test',
  );
  assert.equal(result.gain.length, 1);
  assert.ok(Math.abs(result.gain[0]!.mean - 0.05) < 1e-12);
  assert.ok(Math.abs(result.gain[0]!.std - Math.sqrt(0.005)) < 1e-12);
});

test('the conclusion says where the pretraining gain is clear, within the spread, or a loss', () => {
  const gain = (labels: number, mean: number, std: number) => ({ labels, mean, std });
  const sweep = {
    labelCounts: [100, 1000, 10000],
    seeds: [1, 2, 3],
    validationPolicy: '',
    cells: [],
    summary: [],
    gain: [gain(100, 0.05, 0.01), gain(1000, 0.001, 0.01), gain(10000, -0.02, 0.005)],
  };
  const sentence = sweepSentence({ sweep } as unknown as Metrics);
  assert.match(sentence, /clear of the spread between seeds at 100 labels/);
  assert.match(sentence, /within the spread at 1,000/);
  assert.match(sentence, /a loss at 10,000/);
  assert.match(sentence, /stops helping above about 100 labels/);
});

test("the cells' robustness images are made once for all threads, the corrupted ones shared by every autoencoder", async () => {
  await useBackend('native', { threads: 2 });
  const config = resolveConfig('tiny');
  const random = new Random(4);
  const count = 12;
  const test = {
    images: Uint8Array.from({ length: count * 784 }, () => random.integer(256)),
    labels: Uint8Array.from({ length: count }, (_, index) => index % 10),
    count,
    height: 28,
    width: 28,
    classes: 10,
  };
  const data = { test } as unknown as PreparedData;
  const autoencoders = { a: buildAutoencoder(), b: buildAutoencoder() };
  initializeWeights(autoencoders.a.autoencoder, new Random(1));
  initializeWeights(autoencoders.b.autoencoder, new Random(2));
  const sets = await sharedCellRobustnessSets(config, data, ['a', 'b'], async (folder) =>
    folder === 'a' ? autoencoders.a : autoencoders.b,
  );
  const corruptions = robustnessCorruptions(config);
  for (const folder of ['a', 'b'] as const) {
    const own = robustnessSets(test, corruptions, config.seed, 2000, autoencoders[folder].autoencoder);
    const made = sets[folder]!;
    assert.equal(made.count, count);
    assert.deepEqual(made.clean, own.clean);
    made.corruptions.forEach((corruption, index) => {
      assert.deepEqual(corruption.corrupted, own.corruptions[index]!.corrupted, `${folder}: ${corruption.noise.kind}`);
      assert.deepEqual(corruption.denoised, own.corruptions[index]!.denoised, `${folder}: ${corruption.noise.kind}`);
      for (const images of [corruption.corrupted, corruption.denoised!])
        assert.ok(images.buffer instanceof SharedArrayBuffer, 'the threads read these without a copy');
      // One copy of the corrupted images for every autoencoder; each has its own denoised ones.
      assert.equal(corruption.corrupted, sets.a!.corruptions[index]!.corrupted);
    });
  }
  assert.notDeepEqual(sets.a!.corruptions[0]!.denoised, sets.b!.corruptions[0]!.denoised);
});
