// Robustness: the corrupted test images repeat for a seed and every classifier sees the same ones; the report's
// table and sentence read the numbers right; sweep cells summarise them.
import { test } from 'node:test';
import assert from 'node:assert/strict';

import { robustnessSets } from '../src/eval/robustness.js';
import type { ClassifierResult, Metrics } from '../src/io/metrics.js';
import type { Robustness } from '../src/eval/robustness.js';
import { shortNoiseName } from '../src/data/noise.js';
import { robustnessSentence, robustnessTable } from '../src/report/robustness.js';
import { robustnessSummary } from '../src/grid/cells.js';

const test4 = {
  images: Float32Array.from({ length: 4 * 4 }, (_, index) => (index % 3) / 2),
  labels: Uint8Array.from([0, 1, 2, 1]),
  count: 4,
  height: 2,
  width: 2,
  classes: 3,
};

test('robustnessSets: the same seed corrupts the same pixels; each corruption has its own stream; a limit keeps the first images', () => {
  const noise = [
    { kind: 'salt-and-pepper', amount: 0.5 },
    { kind: 'salt-and-pepper', amount: 0.5 },
  ] as const;
  const a = robustnessSets(test4, [...noise], 7, 3);
  const b = robustnessSets(test4, [...noise], 7, 3);
  assert.equal(a.count, 3);
  assert.equal(a.clean.length, 12);
  assert.deepEqual(a.corruptions[0]!.corrupted, b.corruptions[0]!.corrupted);
  assert.notDeepEqual(a.corruptions[0]!.corrupted, a.corruptions[1]!.corrupted);
  assert.equal(a.corruptions[0]!.denoised, undefined, 'no autoencoder, no denoised copies');
});

const robustness = (clean: number, direct: number[], denoised: number[]): Robustness => ({
  images: 100,
  clean,
  corruptions: direct.map((accuracy, index) => ({
    noise: { kind: 'masking', amount: 0.1 * (index + 1) },
    accuracy,
    denoisedAccuracy: denoised[index]!,
  })),
});
const result = (encoder: ClassifierResult['encoder'], robust: Robustness) =>
  ({
    encoder,
    labelFraction: 0.1,
    labels: 10,
    epochs: 1,
    trainSeconds: 1,
    history: [],
    validation: { accuracy: 0.9 },
    test: { accuracy: robust.clean },
    robustness: robust,
  }) as unknown as ClassifierResult;

test('the robustness table has a row per classifier and per denoise-first pipeline; the sentence gives the means', () => {
  const metrics = {
    classifiers: [
      result('finetuned', robustness(0.98, [0.9, 0.8], [0.95, 0.94])),
      result('scratch', robustness(0.97, [0.7, 0.6], [0.96, 0.9])),
    ],
  } as unknown as Metrics;
  const table = robustnessTable(metrics);
  assert.match(table, /masking 10%/);
  assert.match(table, /denoise first → scratch, 10%/);
  assert.match(table, /<strong>96\.00%<\/strong>/, 'the best in the first corruption column is bold');
  assert.match(table, /85\.00%/, 'fine-tuned mean of 90 and 80');
  const sentence = robustnessSentence(metrics);
  assert.match(sentence, /fine-tuned 85\.00%, scratch 65\.00%/);
  assert.match(sentence, /raises the scratch classifier's average most, by 28\.00 points to 93\.00%/);
  assert.equal(shortNoiseName({ kind: 'gaussian', amount: 0.4 }), 'Gaussian σ 0.4');
  assert.equal(robustnessTable({ classifiers: [] } as unknown as Metrics), '');
});

test('robustnessSummary averages each cell over the corruptions, then over cells', () => {
  const summary = robustnessSummary([
    { robustness: robustness(1, [0.9, 0.7], [1, 1]) },
    { robustness: robustness(1, [0.6, 0.6], [0.8, 0.8]) },
  ]);
  assert.ok(Math.abs(summary.corrupted!.mean - 0.7) < 1e-12);
  assert.ok(Math.abs(summary.denoised!.mean - 0.9) < 1e-12);
  assert.deepEqual(robustnessSummary([{ robustness: robustness(1, [0.9], [1]) }, {}]), {});
});
