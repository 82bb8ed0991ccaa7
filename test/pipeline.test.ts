// A small preset of the real pipeline, end to end through the library API: it must produce a complete run
// folder and classifiers above a stated accuracy, so the example cannot rot.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { useBackend } from '../src/backend/index.js';
import { resolveConfig } from '../src/config.js';
import { runExperiment } from '../src/study/experiment.js';
import { RunFolder } from '../src/io/run-folder.js';
import type { Metrics } from '../src/io/metrics.js';
import type { Reporter } from '../src/train/events.js';
import * as tf from '@tensorflow/tfjs-core';

/**
 * Floors this small run must clear. Measured on a 2-core machine: best test accuracy 94.2% (scratch, 2,500
 * labels), denoised PSNR 13.0 dB against 10.2 dB for the noisy input (six short epochs on 2,500 images).
 */
const minimumBestAccuracy = 0.9;
const minimumPsnrGain = 2;

test('a small preset of the pipeline writes a complete run folder and clears its accuracy floor', async () => {
  const directory = await mkdtemp(join(tmpdir(), 'dae-pipeline-'));
  try {
    const config = resolveConfig('tiny', {
      data: { trainLimit: 3000, validationCount: 500, testLimit: 500 },
      autoencoder: { maxEpochs: 6, batchSize: 64 },
      classifier: { maxEpochs: 12, batchSize: 32, maxImagesPerRun: 30_000, warmupEpochs: 2 },
      // One run at a time in this thread, so that the tensor counts below see every classifier run.
      backend: { workers: 1 },
    });
    const backend = await useBackend('native');
    const run = await RunFolder.create(directory, config);
    // Tensors alive after every epoch, per stage: a leak shows as growth from one epoch to the next.
    const tensorsPerEpoch = new Map<string, number[]>();
    const reporter: Reporter = (event) => {
      if (event.type === 'epoch-end')
        tensorsPerEpoch.set(event.stage, [...(tensorsPerEpoch.get(event.stage) ?? []), tf.memory().numTensors]);
    };
    const metrics = await runExperiment({ run, config, backend, reporter });
    // Every stage that trains must have reported its epochs, or the loop below would check nothing.
    const trainingStages = [
      'pretrain',
      ...['frozen', 'finetuned', 'scratch'].flatMap((mode) => [`classify ${mode} 10%`, `classify ${mode} 100%`]),
      // The semi-supervised variants need unlabelled images: at 10% of the labels only.
      ...['fixmatch-finetuned', 'fixmatch-scratch'].map((mode) => `classify ${mode} 10%`),
    ];
    assert.deepEqual(
      [...tensorsPerEpoch.keys()].sort(),
      trainingStages.sort(),
      'the stages whose epochs were recorded',
    );
    for (const [stage, counts] of tensorsPerEpoch) {
      assert.ok(counts.length >= 2, `${stage} ran ${counts.length} epoch(s)`);
      // Fine-tuning swaps its optimizer when the encoder unfreezes; from then on, as in every other stage from its
      // first epoch, nothing may grow.
      const steady = counts.slice(stage.includes('finetuned') ? config.classifier.warmupEpochs : 0);
      assert.ok(
        steady.every((count) => count === steady[0]),
        `${stage}: tensors per epoch ${counts.join(', ')} grow`,
      );
    }

    process.stdout.write(
      `denoised PSNR ${metrics.autoencoder.test.denoised.psnr.toFixed(2)} dB (noisy ${metrics.autoencoder.test.noisy.psnr.toFixed(2)}); ` +
        `test accuracy ${metrics.classifiers.map((c) => `${c.encoder}@${c.labels} ${(100 * c.test.accuracy).toFixed(1)}%`).join(', ')}\n`,
    );
    assert.equal(metrics.autoencoder.encoderParams, 119_200);
    assert.equal(metrics.autoencoder.decoderParams, 159_169);
    assert.deepEqual(metrics.dataset, {
      name: 'MNIST',
      classNames: ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'],
      train: 2500,
      validation: 500,
      test: 500,
      height: 28,
      width: 28,
    });
    assert.ok(
      metrics.autoencoder.test.denoised.psnr > metrics.autoencoder.test.noisy.psnr + minimumPsnrGain,
      `denoising should gain > ${minimumPsnrGain} dB: noisy ${metrics.autoencoder.test.noisy.psnr}, denoised ${metrics.autoencoder.test.denoised.psnr}`,
    );
    assert.equal(metrics.classifiers.length, 8);
    for (const result of metrics.classifiers) {
      assert.equal(result.test.perClass.length, 10);
      assert.equal(
        result.test.confusion.flat().reduce((a, b) => a + b, 0),
        500,
      );
    }
    const best = Math.max(...metrics.classifiers.map((c) => c.test.accuracy));
    assert.ok(best >= minimumBestAccuracy, `best test accuracy ${best} is below the floor ${minimumBestAccuracy}`);

    const onDisk = JSON.parse(await readFile(join(directory, 'metrics.json'), 'utf8')) as Metrics;
    assert.deepEqual(
      onDisk.classifiers.map((c) => c.test.accuracy),
      metrics.classifiers.map((c) => c.test.accuracy),
    );
    assert.equal((await RunFolder.open(directory)).status, 'complete');
    for (const file of [
      'report.html',
      'models/encoder/model.json',
      'models/decoder/weights.bin',
      'models/autoencoder/model.json',
      'subsets/labels-250.json',
      'figures/reconstructions.svg',
      'figures/coding-units.svg',
      'figures/filters-conv1.svg',
    ]) {
      assert.ok(existsSync(join(directory, file)), `${file} is missing`);
    }
    const subset = JSON.parse(await readFile(join(directory, 'subsets/labels-250.json'), 'utf8')) as {
      indices: number[];
    };
    assert.equal(new Set(subset.indices).size, 250);
  } finally {
    await rm(directory, { recursive: true, force: true });
  }
});
