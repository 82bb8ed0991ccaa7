// The terminal reporter. Where output is not a terminal it writes plain lines: the same events and the same clock
// give the same text every time, which a snapshot pins (test/snapshots/reporter-plain.txt; rewrite it with
// UPDATE_SNAPSHOTS=1 after a deliberate change and read the diff). In a terminal it redraws a live view in place.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

import { ConfigError, presets } from '../src/config.js';
import { consoleReporter } from '../src/cli/reporter.js';
import { madeUpSpeeds } from './support/speeds.js';
import type { EstimateRecord } from '../src/cli/estimate-log.js';
import { estimateCheckLines } from '../src/cli/summary.js';
import { matchesPattern, stopAfterEventPattern, stopAfterEventVariable } from '../src/cli/stop-after-event.js';
import { classifierStage, studyPlan } from '../src/study/plan.js';
import type { EpochRecord } from '../src/train/events.js';
import type { EncoderMode } from '../src/model/classifier.js';
import type { TrainingEvent } from '../src/train/events.js';

const snapshotPath = fileURLToPath(new URL('../../test/snapshots/reporter-plain.txt', import.meta.url));

/** A study of the tiny preset told in events, each at its time on a made-up clock (seconds). */
function syntheticStudy(): { time: number; event: TrainingEvent }[] {
  const config = presets.tiny;
  const counts = { train: 1000, validation: 200, test: 300 };
  const runs = (
    [
      ['scratch', 1],
      ['finetuned', 1],
      ['frozen', 1],
      ['scratch', 0.1],
      ['finetuned', 0.1],
      ['frozen', 0.1],
    ] as [EncoderMode, number][]
  ).map(([mode, fraction]) => ({ mode, fraction, labels: Math.round(counts.train * fraction) }));
  const events: { time: number; event: TrainingEvent }[] = [];
  let time = 0;
  const at = (seconds: number, event: TrainingEvent) => {
    time += seconds;
    events.push({ time, event });
  };
  at(0, {
    type: 'plan',
    title: 'study',
    workers: 2,
    runs: studyPlan(config, counts, { stagesDone: new Set(), classifierRunsDone: new Set() }, runs, 2),
  });
  const record = (epoch: number, seconds: number, accuracy?: number): EpochRecord => ({
    epoch,
    loss: 1 / (epoch + 1),
    validationLoss: 1.2 / (epoch + 1),
    seconds,
    ...(accuracy === undefined ? {} : { validationAccuracy: accuracy }),
  });
  at(0.5, { type: 'stage-start', stage: 'pretrain', description: 'denoising autoencoder on 1000 unlabelled images' });
  for (const epoch of [1, 2]) {
    at(0, { type: 'epoch-start', stage: 'pretrain', epoch, maxEpochs: 2, batches: 8 });
    for (let batch = 1; batch <= 8; batch += 1)
      at(2, { type: 'batch-end', stage: 'pretrain', epoch, batch, batches: 8, loss: 0.1 });
    at(1, { type: 'epoch-end', stage: 'pretrain', record: record(epoch, 17), improved: true });
  }
  at(0, { type: 'stage-end', stage: 'pretrain', seconds: 34, summary: 'best validation MSE 0.07576 at epoch 2 of 2' });
  for (const [stage, seconds, summary] of [
    ['denoise', 6, 'PSNR noisy 10.22 dB -> denoised 11.78 dB'],
    ['inspect', 9, '32 coding units inspected'],
  ] as const) {
    at(1, { type: 'stage-start', stage, description: `the ${stage} stage` });
    at(seconds - 1, { type: 'saved', stage, file: `stages/${stage}.json` });
    at(1, { type: 'stage-end', stage, seconds, summary });
  }
  // Two runs at a time, their events interleaved as the pool delivers them.
  const pairs: [EncoderMode, number, EncoderMode, number][] = [
    ['scratch', 1, 'finetuned', 1],
    ['frozen', 1, 'scratch', 0.1],
    ['finetuned', 0.1, 'frozen', 0.1],
  ];
  for (const [firstMode, firstFraction, secondMode, secondFraction] of pairs) {
    const stages = [classifierStage(firstMode, firstFraction), classifierStage(secondMode, secondFraction)];
    for (const stage of stages) at(0.5, { type: 'stage-start', stage, description: stage });
    for (let epoch = 1; epoch <= 4; epoch += 1) {
      for (const [index, stage] of stages.entries()) {
        at(0, { type: 'epoch-start', stage, epoch, maxEpochs: 4, batches: 8 });
        at(4 + index, {
          type: 'epoch-end',
          stage,
          record: record(epoch, 4 + index, 0.5 + epoch / 10 - index / 20),
          improved: epoch !== 3,
        });
      }
    }
    for (const [index, stage] of stages.entries()) {
      at(0, {
        type: 'stage-end',
        stage,
        seconds: 16 + 4 * index,
        summary: 'best validation accuracy 90.00% at epoch 4 of 4',
      });
      at(1, { type: 'saved', stage, file: `classifiers/${stage}.json` });
      at(0, {
        type: 'run-end',
        stage,
        bestEpoch: 4,
        epochs: 4,
        testAccuracy: 0.9 - index / 100,
        macroF1: 0.89 - index / 100,
        seconds: 16 + 4 * index,
      });
    }
  }
  // The evaluation of the saved classifiers: mistakes, robustness, the map of the codes.
  at(0.5, {
    type: 'stage-start',
    stage: 'evaluate',
    description: 'mistakes and robustness of 6 classifiers on 300 test images, a map of the codes',
  });
  at(8, { type: 'saved', stage: 'evaluate', file: 'stages/evaluate.json' });
  at(4, { type: 'saved', stage: 'evaluate', file: 'codemap.json' });
  at(0.5, { type: 'stage-end', stage: 'evaluate', seconds: 12.5, summary: '6 classifiers evaluated' });
  at(0.5, { type: 'stage-start', stage: 'report', description: 'metrics.json and report.html' });
  at(2, { type: 'saved', stage: 'report', file: 'metrics.json' });
  at(1, { type: 'stage-end', stage: 'report', seconds: 3, summary: 'runs/tiny/report.html' });
  return events;
}

function render(
  events: { time: number; event: TrainingEvent }[],
  options: { json?: boolean; tty?: boolean } = {},
): string {
  return renderWithEstimates(events, options).text;
}

/** The rendering, and how the reporter's time-left estimates held once the last event had arrived. */
function renderWithEstimates(
  events: { time: number; event: TrainingEvent }[],
  options: { json?: boolean; tty?: boolean } = {},
): { text: string; record: EstimateRecord | null } {
  let text = '';
  let clock = 0;
  const stream = {
    isTTY: options.tty === true,
    columns: 120,
    write: (chunk: string) => {
      text += chunk;
      return true;
    },
  } as unknown as NodeJS.WriteStream;
  const reporter = consoleReporter({
    json: options.json === true,
    stream,
    now: () => clock,
    estimateInterval: 30,
    speeds: madeUpSpeeds,
  });
  for (const { time, event } of events) {
    clock = time;
    reporter(event);
  }
  const record = reporter.estimateRecord();
  reporter.close();
  return { text, record };
}

test('where output is not a terminal, a study renders to the same plain lines every time (snapshot)', () => {
  const text = render(syntheticStudy());
  assert.equal(text, render(syntheticStudy()), 'two renderings of the same events differ');
  assert.ok(!text.includes('\u001b['), 'escape codes in plain output');
  if (process.env.UPDATE_SNAPSHOTS === '1' || !existsSync(snapshotPath)) {
    assert.equal(
      process.env.UPDATE_SNAPSHOTS,
      '1',
      `no snapshot at ${snapshotPath}: run with UPDATE_SNAPSHOTS=1 to write it`,
    );
    writeFileSync(snapshotPath, text);
  }
  assert.equal(text, readFileSync(snapshotPath, 'utf8'));
  const lines = text.trimEnd().split('\n');
  // One line per finished epoch (2 + 6 x 4) and per finished stage or run (5 + 6), and none per batch.
  assert.equal(lines.filter((line) => / · epoch \d+\/\d+ · loss/.test(line)).length, 26);
  assert.equal(lines.filter((line) => line.startsWith('✓ ')).length, 11);
  // The command's line comes at every new step and at intervals, with the time left.
  const estimates = lines.filter((line) => line.startsWith('⏱ study · step'));
  assert.ok(estimates.length >= 6, `expected ETA lines at every step and in between, got ${estimates.length}`);
  const estimateLine =
    /^⏱ study · step [1-6]\/6 [a-z]+ · [0-6] of 6 runs done · (\d+ s|\d+:\d\d) elapsed · ~(\d+ s|\d+:\d\d) left$/;
  for (const line of estimates) assert.match(line, estimateLine);
});

test("in a terminal the view is redrawn in place and ends with the command's line; epochs are only in --verbose", () => {
  const text = render(syntheticStudy(), { tty: true });
  assert.ok(text.includes('\u001b['), 'no cursor movement in a terminal');
  assert.match(text, /study · step 6\/6 report · 6 of 6 runs done · 3:05 elapsed · done/);
  assert.match(text, /✓ scratch 100% · best epoch 4 of 4 · test 90\.00% · macro-F1 0\.8900/);
  assert.doesNotMatch(text, / · epoch \d+\/\d+ · loss/, 'epoch lines without --verbose');
});

test('--json writes every event as one JSON line, and nothing else', () => {
  const events = syntheticStudy();
  const lines = render(events, { json: true }).trimEnd().split('\n');
  assert.deepEqual(
    lines.map((line) => JSON.parse(line) as unknown),
    events.map(({ event }) => event),
  );
});

test('every mode keeps the time-left estimates and checks them at 10, 25, 50 and 75% of the time taken', () => {
  const events = syntheticStudy();
  const total = events.at(-1)!.time;
  const { record } = renderWithEstimates(events);
  assert.ok(record);
  assert.equal(record.command, 'study');
  assert.equal(record.totalSeconds, total);
  assert.deepEqual(
    record.checks.map((check) => check.fraction),
    [0.1, 0.25, 0.5, 0.75],
  );
  for (const check of record.checks) {
    // The last estimate at or before its fraction: the synthetic events are at most 8 s apart.
    assert.ok(
      check.atSeconds <= check.fraction * total && check.atSeconds > check.fraction * total - 8,
      JSON.stringify(check),
    );
    assert.equal(check.actualSeconds, total - check.atSeconds);
    assert.ok(check.estimatedSeconds > 0);
    assert.ok(Math.abs(check.error - (check.estimatedSeconds - check.actualSeconds) / check.actualSeconds) < 1e-12);
  }
  assert.deepEqual(renderWithEstimates(events, { json: true }).record, record, '--json checks the same estimates');
  assert.deepEqual(renderWithEstimates(events, { tty: true }).record, record, 'a terminal checks the same estimates');
  // The synthetic study takes 185 s: long enough for its summary to print the check.
  const lines = estimateCheckLines(record);
  assert.equal(lines.length, 6);
  assert.match(lines[2]!, /^ {2}10% +\d+ s +(\d+ s|[\d:]+) +(\d+ s|[\d:]+) +[+−]\d+\.\d%$/);
  assert.deepEqual(estimateCheckLines(null), []);
  assert.deepEqual(estimateCheckLines({ ...record, totalSeconds: 59 }), [], 'a command under a minute prints no check');
});

test("the crash tests' stop pattern matches events field by field, and a malformed one is refused in one line", () => {
  const record = { epoch: 2, loss: 0.5, validationLoss: 0.4, validationAccuracy: 0.9, seconds: 1 };
  const epochEnd: TrainingEvent = { type: 'epoch-end', stage: 'pretrain', record, improved: true };
  assert.ok(matchesPattern({ type: 'epoch-end', record: { epoch: 2 } }, epochEnd));
  assert.ok(!matchesPattern({ type: 'epoch-end', record: { epoch: 1 } }, epochEnd));
  assert.ok(!matchesPattern({ type: 'epoch-end', stage: 'classify' }, epochEnd));
  assert.ok(!matchesPattern({ record: { epoch: 2, missing: 1 } }, epochEnd));
  assert.equal(stopAfterEventPattern({}), null);
  assert.deepEqual(stopAfterEventPattern({ [stopAfterEventVariable]: '{"type":"saved"}' }), { type: 'saved' });
  for (const text of ['{"type":', '[1]', '"saved"', 'null']) {
    assert.throws(
      () => stopAfterEventPattern({ [stopAfterEventVariable]: text }),
      (error: unknown) =>
        error instanceof ConfigError && error.message.includes(stopAfterEventVariable) && !error.message.includes('\n'),
    );
  }
});
