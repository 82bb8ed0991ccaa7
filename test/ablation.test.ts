// A tiny pretraining ablation: every pretraining and cell is there, the paired differences are computed, and a
// resumed ablation (one cell lost, as if killed while training it) gives the same summary.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { defaultAblation, pretrainingSpecs, runAblation } from '../src/grid/ablation.js';
import { useBackend } from '../src/backend/index.js';
import { resolveConfig } from '../src/config.js';
import { readMetrics } from '../src/io/metrics.js';
import { RunFolder } from '../src/io/run-folder.js';
import type { Metrics } from '../src/io/metrics.js';
import { ablationConclusion, ablationTables } from '../src/report/ablation.js';
import { EtaModel } from '../src/cli/eta.js';
import { madeUpSpeeds } from './support/speeds.js';
import type { TrainingEvent } from '../src/train/events.js';

test('a tiny ablation pretrains each corruption, trains every cell, pairs the differences and resumes to the same summary', async () => {
  const directory = await mkdtemp(join(tmpdir(), 'dae-ablation-'));
  try {
    const config = resolveConfig('tiny', {
      classifier: { maxEpochs: 3, warmupEpochs: 1 },
      backend: { threads: 2, workers: 2 },
    });
    const backend = await useBackend('native', { threads: 2 });
    const run = await RunFolder.create(directory, config);
    const events: TrainingEvent[] = [];
    const context = {
      run,
      config,
      backend,
      reporter: (event: TrainingEvent) => {
        events.push(event);
      },
    };
    const pretrainings = pretrainingSpecs.filter((spec) => spec.name === 'plain' || spec.name === 'masking-50');
    const options = {
      ...defaultAblation,
      pretrainings,
      labelCounts: [40, 100],
      seeds: 2,
      minimumSteps: 20,
      imagesPerCell: 2000,
      pretrainEpochs: 1,
    };
    const first = await runAblation(context, options);

    // The plan comes first and names every pretraining and every cell, so that the display gives each a line and the
    // ETA counts its work; every event (from the worker threads too) belongs to a planned run. The ETA, fed the
    // events one per second of a made-up clock, has time left in the middle and none at the end.
    assert.equal(events[0]?.type, 'plan');
    assert.equal(events.filter((event) => event.type === 'plan').length, 1);
    const plan = events[0] as Extract<TrainingEvent, { type: 'plan' }>;
    assert.equal(plan.title, 'ablation');
    assert.deepEqual(
      plan.runs.filter((entry) => entry.step === 'pretrain').map((entry) => entry.stage),
      ['ablate pretrain plain', 'ablate pretrain masking-50'],
    );
    assert.equal(plan.runs.filter((entry) => entry.step === 'ablate').length, 20);
    assert.equal(plan.runs.at(-1)?.stage, 'report');
    const planned = new Set(plan.runs.map((entry) => entry.stage));
    const unplanned = events
      .filter((event) => 'stage' in event && !planned.has(event.stage))
      .map((event) => `${event.type} ${(event as { stage: string }).stage}`);
    assert.deepEqual([...new Set(unplanned)], []);
    assert.equal(events.filter((event) => event.type === 'run-end').length, 20);
    const eta = new EtaModel(0, madeUpSpeeds);
    let middle: number | null = null;
    events.forEach((event, index) => {
      eta.observe(event, index);
      if (event.type === 'run-end' && middle === null) middle = eta.estimate(index).remainingSeconds;
    });
    assert.ok(middle !== null && Number.isFinite(middle) && middle > 0, `time left after the first cell: ${middle}`);
    const end = eta.estimate(events.length);
    assert.equal(end.remainingSeconds, 0);
    assert.ok(
      end.runs.every((entry) => entry.state === 'done'),
      JSON.stringify(end.runs.filter((entry) => entry.state !== 'done')),
    );

    assert.deepEqual(
      first.pretrainings.map((entry) => entry.name),
      ['plain', 'masking-50'],
    );
    for (const entry of first.pretrainings) {
      assert.equal(entry.epochs, 1);
      assert.ok(entry.validationLoss > 0 && entry.cleanValidationMse > 0 && entry.referenceValidationMse > 0);
    }
    // The plain autoencoder's training loss is its clean-input loss; masking's is another (its input is masked).
    const [plain, masking] = first.pretrainings;
    assert.ok(Math.abs(plain!.validationLoss - plain!.cleanValidationMse) < 1e-6);
    assert.ok(Math.abs(masking!.validationLoss - masking!.cleanValidationMse) > 1e-6);
    assert.notEqual(masking!.cleanValidationMse, plain!.cleanValidationMse);
    // 2 seeds x 2 label counts x (2 pretrainings x 2 variants + scratch).
    assert.equal(first.cells.length, 20);
    assert.ok(first.cells.every((cell) => cell.robustness !== undefined && cell.robustness.corruptions.length === 3));
    assert.equal(first.summary.length, 10);
    const maskingFinetuned = first.summary.find(
      (entry) => entry.pretraining === 'masking-50' && entry.encoder === 'finetuned' && entry.labels === 40,
    )!;
    const plainFinetuned = first.summary.find(
      (entry) => entry.pretraining === 'plain' && entry.encoder === 'finetuned' && entry.labels === 40,
    )!;
    assert.ok(maskingFinetuned.versusPlain && maskingFinetuned.versusScratch);
    assert.ok(
      Math.abs(maskingFinetuned.versusPlain.mean - (maskingFinetuned.accuracy.mean - plainFinetuned.accuracy.mean)) <
        1e-12,
    );
    assert.equal(plainFinetuned.versusPlain, undefined);

    const metrics = await readMetrics(run);
    assert.deepEqual(metrics.ablation?.summary, first.summary);
    assert.match(ablationTables(metrics), /masking 50%.*vs plain/s);
    assert.match(ablationConclusion(metrics), /best pretraining was at 40 labels/);

    // Lose one cell, as an ablation killed while training it would, and run again one cell at a time.
    const cells = await readdir(join(directory, 'ablation', 'cells'));
    assert.equal(cells.length, 20);
    await rm(join(directory, 'ablation', 'cells', `masking-50-finetuned-100-seed${config.seed + 1}.json`));
    const oneAtATime = { ...context, config: { ...config, backend: { ...config.backend, workers: 1 } } };
    const resumed = await runAblation(oneAtATime, options);
    assert.deepEqual(
      resumed.cells.map(({ seconds: _, ...cell }) => cell),
      first.cells.map(({ seconds: _, ...cell }) => cell),
    );
    assert.deepEqual(resumed.summary, first.summary);
  } finally {
    await rm(directory, { recursive: true, force: true });
  }
});

test('the ablation conclusion names the best pretraining per label count and says whether its gain is clear', () => {
  const spread = (mean: number, std: number) => ({ mean, std });
  const pretraining = (name: string, title: string, reference: number) => ({
    name,
    title,
    noise: { kind: 'masking', amount: 0 },
    epochs: 1,
    images: 10,
    trainSeconds: 1,
    validationLoss: 0.01,
    cleanValidationMse: 0.01,
    referenceValidationMse: reference,
  });
  const entry = (name: string, accuracy: number, versusPlain?: [number, number]) => ({
    pretraining: name,
    encoder: 'finetuned',
    labels: 100,
    seeds: 3,
    accuracy: spread(accuracy, 0.01),
    ...(versusPlain ? { versusPlain: spread(...versusPlain) } : {}),
    versusScratch: spread(-0.01, 0.002),
  });
  const ablation = {
    budget: { pretrainEpochs: 2, pretrainImages: 10, minimumSteps: 1, imagesPerCell: 1 },
    labelCounts: [100],
    seeds: [1, 2, 3],
    cells: [],
    totalSeconds: 1,
    pretrainings: [pretraining('plain', 'plain', 0.05), pretraining('masking-30', 'masking 30%', 0.02)],
    summary: [entry('plain', 0.9), entry('masking-30', 0.93, [0.03, 0.01])],
  };
  const text = ablationConclusion({ ablation } as unknown as Metrics);
  assert.match(
    text,
    /at 100 labels masking 30% \(93\.00% ± 1\.00; \+3\.00 ± 1\.00 points against plain \(clear of the seed spread\), −1\.00 ± 0\.20 points against scratch \(a clear loss\)\)/,
  );
  assert.match(text, /best denoiser .*masking 30%.* is also the best pretrainer/);
});
