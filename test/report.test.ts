import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ClassifierResult, Metrics } from '../src/io/metrics.js';
import type { ClassMetrics } from '../src/eval/classification.js';
import type { EncoderMode } from '../src/model/classifier.js';
import { autoencoderRecipe, buildConclusion, classifierRecipe, renderReport } from '../src/report/html.js';
import { presets } from '../src/config.js';
import type { ReportInput } from '../src/report/types.js';

// Fabricated numbers, chosen so every difference the report prints is easy to check by hand.

const classMetrics = (f1: number): ClassMetrics => ({ precision: f1, recall: f1, f1, support: 100 });

function classifier(encoder: EncoderMode, labelFraction: number, accuracy: number): ClassifierResult {
  return {
    encoder,
    labelFraction,
    labels: 1000 * labelFraction,
    epochs: 3,
    trainSeconds: 12.5,
    history: [{ epoch: 1, loss: 0.5, validationLoss: 0.6, seconds: 4 }],
    validation: { accuracy },
    test: {
      accuracy,
      macroF1: accuracy - 0.001,
      weightedF1: accuracy,
      perClass: Array.from({ length: 10 }, (_, index) => classMetrics(0.9 + index / 100)),
      macro: classMetrics(accuracy - 0.001),
      weighted: classMetrics(accuracy),
      confusion: Array.from({ length: 10 }, () => Array.from({ length: 10 }, () => 1)),
    },
  };
}

function fabricatedMetrics(): Metrics {
  const scores = (mse: number, psnr: number, ssim: number) => ({ mse, psnr, ssim });
  return {
    formatVersion: 3,
    dataset: {
      name: 'MNIST',
      classNames: ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'],
      train: 900,
      validation: 100,
      test: 500,
      height: 28,
      width: 28,
    },
    backend: { name: 'cpu', threads: 1, classifierWorkers: 1 },
    autoencoder: {
      encoderParams: 18816,
      decoderParams: 37153,
      epochs: 2,
      trainSeconds: 30,
      history: [
        { epoch: 1, loss: 0.2, validationLoss: 0.21, seconds: 15 },
        { epoch: 2, loss: 0.1, validationLoss: 0.11, seconds: 15 },
      ],
      noise: { kind: 'salt-and-pepper', amount: 0.2 },
      test: {
        noisy: scores(0.0912, 10.43, 0.281),
        denoised: scores(0.0061, 22.57, 0.901),
        clean: scores(0.0032, 25.11, 0.942),
      },
      noiseLevels: [
        {
          noise: { kind: 'salt-and-pepper', amount: 0.1 },
          noisy: scores(0.05, 13.21, 0.45),
          denoised: scores(0.004, 24.68, 0.93),
        },
        {
          noise: { kind: 'salt-and-pepper', amount: 0.2 },
          noisy: scores(0.0912, 10.43, 0.281),
          denoised: scores(0.0061, 22.57, 0.901),
        },
      ],
    },
    classifiers: [
      classifier('finetuned', 0.1, 0.97),
      classifier('frozen', 0.1, 0.96),
      classifier('scratch', 0.1, 0.95),
      classifier('finetuned', 1, 0.99),
      classifier('frozen', 1, 0.975),
      classifier('scratch', 1, 0.985),
    ],
    totalSeconds: 95,
  };
}

function fabricatedInput(overrides: Partial<ReportInput> = {}): ReportInput {
  return {
    metrics: fabricatedMetrics(),
    config: { seed: 7, preset: 'tiny', note: '</pre><script>alert(1)</script>' },
    modelSummaries: [{ name: 'Encoder', text: 'conv1 (Conv2D)   [null,14,14,32]   320\nTotal params: <18816>' }],
    figures: [
      {
        id: 'reconstructions',
        title: 'Denoised test digits',
        caption: 'Ten test digits before and after the noise, and as the autoencoder restores them.',
        mime: 'image/svg+xml',
        data: '<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><rect width="10" height="10"/></svg>',
        section: 'reconstruction',
      },
      {
        id: 'filters',
        title: 'First-layer filters',
        caption: 'The 32 first-layer filters on one shared scale, red for positive weights & blue for negative.',
        mime: 'image/png',
        data: Buffer.from([0x89, 0x50, 0x4e, 0x47]),
        section: 'representation',
      },
      {
        id: 'curves',
        title: 'Training curves',
        caption: 'The loss falls every epoch and the validation loss follows it.',
        mime: 'image/svg+xml',
        data: '<svg xmlns="http://www.w3.org/2000/svg"/>',
        section: 'training',
      },
      {
        id: 'extra',
        title: 'Unplaced figure',
        caption: 'A figure without a section lands at the end of Results.',
        mime: 'image/svg+xml',
        data: '<svg xmlns="http://www.w3.org/2000/svg"/>',
      },
    ],
    classificationReports: [
      { name: 'Fine-tuned, 10% of labels', text: '              precision    recall  f1-score   support' },
    ],
    status: 'complete',
    ...overrides,
  };
}

test('buildConclusion answers the question with the numbers', () => {
  const conclusion = buildConclusion(fabricatedMetrics());
  // Fine-tuned at 10% (97.00%) against the best at 100% (fine-tuned, 99.00%): 2.00 points below.
  assert.match(conclusion, /10% of the labels \(100 images\)/);
  assert.match(
    conclusion,
    /97\.00% test accuracy, 2\.00 points below the best classifier trained on all 1,000 labels \(99\.00%, pretrained, fine-tuned\)/,
  );
  // At 10%: 2.00 points above scratch (95.00%), 1.00 point above frozen (96.00%).
  assert.match(conclusion, /2\.00 points above the from scratch one \(95\.00%\)/);
  assert.match(conclusion, /1\.00 points above the pretrained, frozen one \(96\.00%\)/);
  // Scratch loses 3.50 points going from 100% to 10%; fine-tuning wins back 2.00 of them, 57%.
  assert.match(conclusion, /loses 3\.50 points/);
  assert.match(conclusion, /wins back 57% of that loss/);
  assert.match(conclusion, /PSNR from 10\.43 dB to 22\.57 dB/);
});

test('buildConclusion says what is missing when the runs are incomplete', () => {
  const metrics = fabricatedMetrics();
  metrics.classifiers = metrics.classifiers.filter((result) => result.labelFraction < 1);
  assert.match(buildConclusion(metrics), /No classifier trained with all labels finished/);
  metrics.classifiers = [];
  assert.match(buildConclusion(metrics), /No classifier trained with a reduced label fraction finished/);
});

test('buildConclusion averages repeated runs', () => {
  const metrics = fabricatedMetrics();
  metrics.classifiers.push(classifier('finetuned', 0.1, 0.98));
  assert.match(buildConclusion(metrics), /97\.50%, mean of 2 runs/);
});

test('renderReport has every section, figure caption and table number', () => {
  const html = renderReport(fabricatedInput());
  assert.match(html, /^<!doctype html>/);
  for (const section of ['Introduction', 'Setup', 'Data', 'Model', 'Training', 'Results', 'Conclusion']) {
    assert.match(html, new RegExp(`<section id="${section.toLowerCase()}">\\n<h2>${section}</h2>`), section);
  }
  assert.ok(html.includes('Figure 1. Denoised test digits.'));
  assert.ok(html.includes('Ten test digits before and after the noise, and as the autoencoder restores them.'));
  assert.ok(html.includes('red for positive weights &amp; blue for negative.'));
  assert.ok(html.includes('The loss falls every epoch and the validation loss follows it.'));
  assert.ok(html.includes('A figure without a section lands at the end of Results.'));
  assert.ok(html.includes('src="data:image/png;base64,iVBORw=="'));
  assert.ok(html.includes('src="data:image/svg+xml;base64,'));
  // Figures land in their sections: the training curves before Results, the unplaced one after the classifier table.
  assert.ok(html.indexOf('Training curves') < html.indexOf('<h2>Results</h2>'));
  assert.ok(html.indexOf('Unplaced figure') > html.indexOf('<h3>Classification</h3>'));

  // Reconstruction and noise-level tables.
  for (const number of [
    '0.0912',
    '10.43',
    '0.281',
    '0.0061',
    '22.57',
    '0.901',
    '0.0032',
    '25.11',
    '0.942',
    '13.21',
    '24.68',
  ]) {
    assert.ok(html.includes(`>${number}</td>`), `reconstruction number ${number}`);
  }
  assert.ok(html.includes('salt &amp; pepper 20% (training)'));
  // Comparison table: the best test accuracy per label fraction is bold, numbers are right-aligned.
  assert.ok(html.includes('<td class="num"><strong>97.00%</strong></td>'));
  assert.ok(html.includes('<td class="num"><strong>99.00%</strong></td>'));
  assert.ok(html.includes('<td class="num">95.00%</td>'));
  assert.ok(html.includes('<td class="num">0.9690</td>'), 'macro-F1');
  assert.ok(html.includes('<td class="num">12.5 s</td>'), 'train time');
  assert.ok(html.includes('<td class="num">1,000</td>'), 'labels');
  // Per-class tables.
  assert.ok(html.includes('fine-tuned 10%'));
  assert.ok(html.includes('<td class="num">0.990</td>'), 'per-class F1 of class 9');
  assert.ok(html.includes('macro avg'));
  // Model summaries and classification reports verbatim, escaped.
  assert.ok(html.includes('Total params: &lt;18816&gt;'));
  assert.ok(html.includes('precision    recall  f1-score'));
  assert.ok(html.includes('18,816'));
  // The conclusion's numbers.
  assert.ok(html.includes('2.00 points below the best classifier trained on all 1,000 labels'));
  assert.ok(!html.includes('did not finish'));
});

test('renderReport escapes text from the config and every other input', () => {
  const html = renderReport(
    fabricatedInput({
      modelSummaries: [{ name: '<img src=x onerror=alert(1)>', text: '<b>bold</b>' }],
      conclusion: 'Custom <script>alert("conclusion")</script> conclusion.\n\nSecond paragraph.',
    }),
  );
  assert.ok(!html.includes('<script>'), 'no script element');
  assert.ok(!html.includes('<img src=x'));
  assert.ok(html.includes('&quot;note&quot;: &quot;&lt;/pre&gt;&lt;script&gt;alert(1)&lt;/script&gt;&quot;'));
  assert.ok(
    html.includes(
      '<p>Custom &lt;script&gt;alert(&quot;conclusion&quot;)&lt;/script&gt; conclusion.</p>\n<p>Second paragraph.</p>',
    ),
  );
  // The SVG figure is a base64 data URI in an <img>, so its markup cannot run in the page.
  assert.ok(!html.includes('<svg'));
});

test('renderReport makes no remote requests', () => {
  const html = renderReport(fabricatedInput());
  assert.doesNotMatch(html, /(?:src|href)\s*=\s*["']?\s*(?:https?:)?\/\//i);
  assert.doesNotMatch(html, /@import|url\(\s*["']?(?:https?:)?\/\//i);
  assert.doesNotMatch(html, /<link\b|<script\b/i);
});

test('renderReport shows a banner when the run did not finish', () => {
  const metrics = fabricatedMetrics();
  metrics.classifiers = [];
  metrics.autoencoder.noiseLevels = [];
  const html = renderReport(fabricatedInput({ metrics, status: 'incomplete', figures: [] }));
  assert.match(html, /<div class="banner" role="alert"><strong>This run did not finish\.<\/strong>/);
  assert.ok(
    html.indexOf('class="banner"') < html.indexOf('<h2>Introduction</h2>'),
    'the banner comes before the first section',
  );
  assert.ok(html.includes('No classifier run finished.'));
  assert.ok(html.includes('Provisional: the run did not finish.'));
  assert.ok(html.includes('No classifier trained with a reduced label fraction finished'));
});

test('the report states the classifier recipe from the run config, distortions included', () => {
  const recipe = classifierRecipe(presets.full);
  assert.match(recipe, /rotated by up to ±12°, scaled by up to ±10% and shifted by up to ±2 pixels/);
  assert.match(recipe, /codes are computed once/);
  assert.match(
    recipe,
    /16 copies of them, each distorted once \(rotated by up to ±8°, scaled by up to ±5% and shifted by up to ±1 pixel; fewer copies when they would pass 110,000 images\)/,
  );
  assert.match(recipe, /Fine-tuned<\/strong>: 1 epoch of the head alone/);
  assert.match(recipe, /up to 100 epochs \(or 1,100,000 images\) at 2×10⁻³ with a cosine decay/);
  assert.match(recipe, /the whole network at 3×10⁻³/);
  const plain = classifierRecipe({
    ...presets.full,
    classifier: { ...presets.full.classifier, augmentation: { maxShift: 0, maxRotationDegrees: 0, maxScale: 0 } },
  });
  assert.match(plain, /used as they are/);
  assert.doesNotMatch(plain, /Targets are smoothed/);
  const noCopies = classifierRecipe({
    ...presets.full,
    classifier: { ...presets.full.classifier, frozenCopies: 0, labelSmoothing: 0.1 },
  });
  assert.match(noCopies, /trains, on the codes of the labelled images, up to/);
  assert.match(noCopies, /Targets are smoothed by 0.1\./);
  assert.equal(classifierRecipe({ something: 'else' }), '');
});

test('the report states the autoencoder recipe from the run config, its schedule included', () => {
  assert.match(
    autoencoderRecipe(presets.full),
    /Adam at 5×10⁻³, falling batch by batch along a cosine to 5% of that over 5 epochs; batches of 128, .* up to 5 epochs, stopping after 2 epochs without a lower validation loss/,
  );
  const constant = autoencoderRecipe({
    ...presets.full,
    autoencoder: { ...presets.full.autoencoder, learningRateSchedule: 'constant', patience: 1 },
  });
  assert.match(constant, /Adam at 5×10⁻³, throughout; .* stopping after 1 epoch without/);
  assert.equal(autoencoderRecipe({ something: 'else' }), '');
});
