import { test } from 'node:test';
import { confidentMistakes } from '../src/eval/mistakes.js';
import assert from 'node:assert/strict';
import { reconstructionScores } from '../src/eval/reconstruction.js';
import { classificationMetrics, formatClassificationReport } from '../src/eval/classification.js';

const close = (actual: number, expected: number, tolerance: number, what: string): void => {
  assert.ok(Math.abs(actual - expected) <= tolerance, `${what}: ${actual} is not within ${tolerance} of ${expected}`);
};

test('MSE and PSNR match hand-computed values', () => {
  // Two 7x7 images: the first reconstructed exactly, the second off by 0.125 (exact in float32) at
  // every pixel. Per-image MSE is 0 and 1/64, so overall MSE = 1/128. PSNR is the mean of the
  // per-image values: the floored 10·log10(1/1e-10) = 100 dB and 10·log10(64) = 18.0617997398 dB.
  const clean = new Float32Array(2 * 49).fill(0.5);
  const other = clean.slice();
  other.fill(0.625, 49);
  const scores = reconstructionScores(clean, other, 2, 7, 7);
  assert.equal(scores.mse, 1 / 128);
  close(scores.psnr, (100 + 10 * Math.log10(64)) / 2, 1e-12, 'psnr');

  // One pixel off by 0.5: MSE = 0.25 / 49, PSNR = 10·log10(196) = 22.9225607136 dB.
  const single = new Float32Array(49);
  const shifted = single.slice();
  shifted[24] = 0.5;
  const one = reconstructionScores(single, shifted, 1, 7, 7);
  assert.equal(one.mse, 0.25 / 49);
  close(one.psnr, 22.922560713564764, 1e-12, 'psnr');
});

test('SSIM is 1 for identical images and lower for a constant shift', () => {
  const textured = Float32Array.from({ length: 3 * 28 * 28 }, (_, index) => ((index * 31) % 97) / 96);
  const identical = reconstructionScores(textured, textured.slice(), 3, 28, 28);
  close(identical.ssim, 1, 1e-12, 'ssim of identical images');
  assert.equal(identical.mse, 0);
  close(identical.psnr, 100, 1e-9, 'psnr of identical images');

  const brighter = textured.map((value) => Math.min(1, value + 0.2));
  const shiftedScore = reconstructionScores(textured, brighter, 3, 28, 28).ssim;
  assert.ok(shiftedScore < 0.99 && shiftedScore > 0, `shifted ssim ${shiftedScore}`);

  // Flat images have zero variance, so only the luminance term is left:
  // (2·0.25·0.5 + C1) / (0.25² + 0.5² + C1) with C1 = 1e-4, = 0.2501 / 0.3126 = 0.80006397952...
  const flat = reconstructionScores(new Float32Array(81).fill(0.25), new Float32Array(81).fill(0.5), 1, 9, 9);
  close(flat.ssim, 0.2501 / 0.3126, 1e-9, 'flat ssim');
});

test('SSIM matches an independent Python reference', () => {
  // A 10x12 image pair with values k/16 (exact in float32):
  //   x[r][c] = ((7r + 3c) mod 17) / 16,   y[r][c] = ((7r + 3c + (r·c mod 3)) mod 17) / 16.
  // Reference computed with a plain-Python loop of the same formula (7x7 Gaussian, sigma 1.5,
  // normalised, population moments, C1 = 1e-4, C2 = 9e-4, mean over the 4x6 valid positions), and
  // cross-checked with scipy.ndimage.gaussian_filter(sigma=1.5, truncate=2.0, mode='reflect')
  // inserted into scikit-image's structural_similarity formula, cropped by 3: 0.8076238425452025.
  const height = 10;
  const width = 12;
  const x = new Float32Array(height * width);
  const y = new Float32Array(height * width);
  for (let r = 0; r < height; r += 1) {
    for (let c = 0; c < width; c += 1) {
      x[r * width + c] = ((7 * r + 3 * c) % 17) / 16;
      y[r * width + c] = ((7 * r + 3 * c + ((r * c) % 3)) % 17) / 16;
    }
  }
  const scores = reconstructionScores(x, y, 1, height, width);
  close(scores.ssim, 0.807623842545202, 1e-12, 'ssim');
  // Same script: MSE 0.01220703125 (= 25/2048), PSNR 19.133899436317556 dB.
  assert.equal(scores.mse, 0.01220703125);
  close(scores.psnr, 19.133899436317556, 1e-12, 'psnr');
});

test('reconstruction scores refuse mismatched shapes and images smaller than the SSIM window', () => {
  assert.throws(() => reconstructionScores(new Float32Array(49), new Float32Array(48), 1, 7, 7), /49 pixels/);
  assert.throws(() => reconstructionScores(new Float32Array(36), new Float32Array(36), 1, 6, 6), /at least 7x7/);
  assert.throws(() => reconstructionScores(new Float32Array(0), new Float32Array(0), 0, 7, 7), /count must be/);
});

// How fast the scores are is a benchmark's question, not a test's: here only that a full test set scores in one call.
test('scores for 10,000 MNIST-sized images come out finite in one call', () => {
  const count = 10_000;
  const clean = new Float32Array(count * 784);
  const other = new Float32Array(count * 784);
  for (let index = 0; index < clean.length; index += 1) {
    const value = ((index * 7919) % 256) / 255;
    clean[index] = value;
    other[index] = index % 5 === 0 ? 1 - value : value;
  }
  const scores = reconstructionScores(clean, other, count, 28, 28);
  assert.ok(Number.isFinite(scores.ssim) && scores.ssim < 1);
});

// A 3-class example worked by hand.
//   true:      0 1 2 2 2 0 1
//   predicted: 0 2 2 2 1 0 0
// Confusion (rows true, columns predicted): [[2,0,0],[1,0,1],[0,1,2]].
//   class 0: TP 2, predicted 3, support 2 -> P 2/3, R 1,   F1 2·(2/3)·1/(5/3) = 0.8
//   class 1: TP 0, predicted 1, support 2 -> P 0,   R 0,   F1 0
//   class 2: TP 2, predicted 3, support 3 -> P 2/3, R 2/3, F1 2/3
// accuracy 4/7; macro P 4/9, R 5/9, F1 (0.8 + 2/3)/3 = 22/45;
// weighted (supports 2, 2, 3): P (4/3 + 2)/7 = 10/21, R (2 + 2)/7 = 4/7, F1 (1.6 + 2)/7 = 18/35.
const trueLabels = [0, 1, 2, 2, 2, 0, 1];
const predicted = [0, 2, 2, 2, 1, 0, 0];

test('classification metrics match the hand-worked example', () => {
  const metrics = classificationMetrics(trueLabels, predicted, 3);
  assert.deepEqual(metrics.confusion, [
    [2, 0, 0],
    [1, 0, 1],
    [0, 1, 2],
  ]);
  const expectedPerClass = [
    [2 / 3, 1, 0.8, 2],
    [0, 0, 0, 2],
    [2 / 3, 2 / 3, 2 / 3, 3],
  ];
  metrics.perClass.forEach((row, c) => {
    const [precision, recall, f1, support] = expectedPerClass[c] ?? [];
    close(row.precision, precision ?? NaN, 1e-12, `precision ${c}`);
    close(row.recall, recall ?? NaN, 1e-12, `recall ${c}`);
    close(row.f1, f1 ?? NaN, 1e-12, `f1 ${c}`);
    assert.equal(row.support, support);
  });
  close(metrics.accuracy, 4 / 7, 1e-12, 'accuracy');
  close(metrics.macro.precision, 4 / 9, 1e-12, 'macro precision');
  close(metrics.macro.recall, 5 / 9, 1e-12, 'macro recall');
  close(metrics.macroF1, 22 / 45, 1e-12, 'macro f1');
  close(metrics.weighted.precision, 10 / 21, 1e-12, 'weighted precision');
  close(metrics.weighted.recall, 4 / 7, 1e-12, 'weighted recall');
  close(metrics.weightedF1, 18 / 35, 1e-12, 'weighted f1');
  assert.equal(metrics.macro.support, 7);
  assert.equal(metrics.weighted.support, 7);
});

test('a class absent from both labels and predictions scores 0 and still counts in the macro average', () => {
  // As sklearn with labels=range(4), zero_division=0: class 3 adds a row of zeros, the macro
  // average divides by 4 (P (4/3)/4 = 1/3, F1 (0.8 + 2/3)/4 = 11/30), the weighted one is unchanged.
  const metrics = classificationMetrics(trueLabels, predicted, 4);
  assert.deepEqual(metrics.perClass[3], { precision: 0, recall: 0, f1: 0, support: 0 });
  close(metrics.macro.precision, 1 / 3, 1e-12, 'macro precision');
  close(metrics.macroF1, 11 / 30, 1e-12, 'macro f1');
  close(metrics.weightedF1, 18 / 35, 1e-12, 'weighted f1');
});

test('the text report is laid out like sklearn classification_report', () => {
  // Produced by sklearn's own format strings (copied from classification_report) in Python for the
  // hand-worked numbers above.
  const expected =
    '              precision    recall  f1-score   support\n' +
    '\n' +
    '           0       0.67      1.00      0.80         2\n' +
    '           1       0.00      0.00      0.00         2\n' +
    '           2       0.67      0.67      0.67         3\n' +
    '\n' +
    '    accuracy                           0.57         7\n' +
    '   macro avg       0.44      0.56      0.49         7\n' +
    'weighted avg       0.48      0.57      0.51         7\n';
  const metrics = classificationMetrics(trueLabels, predicted, 3);
  assert.equal(formatClassificationReport(metrics), expected);
  const named = formatClassificationReport(metrics, ['zero', 'one', 'two'], 3);
  assert.match(named, /^ {9}two {6}0\.667 {5}0\.667 {5}0\.667 {9}3$/m);
  assert.throws(() => formatClassificationReport(metrics, ['only one']), RangeError);
});

test('classification metrics refuse mismatched or out-of-range labels', () => {
  assert.throws(() => classificationMetrics([0, 1], [0], 2), /2 true labels but 1 predictions/);
  assert.throws(() => classificationMetrics([0, 2], [0, 1], 2), /trueLabels\[1\] is 2/);
  assert.throws(() => classificationMetrics([], [], 2), /no examples/);
});

test('confidentMistakes keeps the wrong answers only, most confident first', () => {
  // Four images, three classes: image 0 right, 1 wrong at 0.9, 2 wrong at 0.6, 3 wrong at 0.9 (tie: lower index first).
  const probabilities = Float32Array.from([0.8, 0.1, 0.1, 0.05, 0.9, 0.05, 0.2, 0.2, 0.6, 0.9, 0.05, 0.05]);
  const mistakes = confidentMistakes(probabilities, Uint8Array.from([0, 0, 1, 2]), 3, 10);
  assert.deepEqual(
    mistakes.map((m) => [m.testIndex, m.label, m.predicted]),
    [
      [1, 0, 1],
      [3, 2, 0],
      [2, 1, 2],
    ],
  );
  assert.ok(Math.abs(mistakes[0]!.probability - 0.9) < 1e-6);
  assert.equal(confidentMistakes(probabilities, Uint8Array.from([0, 0, 1, 2]), 3, 2).length, 2);
});
