// The terminal reporter: one stage at a time reads as before; interleaved stages (classifier runs in worker
// threads) get a header whenever the stage changes, so every line can be told apart.
import { test } from 'node:test';
import assert from 'node:assert/strict';

import { ConfigError } from '../src/config.js';
import { consoleReporter } from '../src/cli/reporter.js';
import { matchesPattern, stopAfterEventPattern, stopAfterEventVariable } from '../src/cli/stop-after-event.js';
import type { TrainingEvent } from '../src/train/events.js';

function capture(events: TrainingEvent[], json = false): string[] {
  let text = '';
  const stream = { isTTY: false, write: (chunk: string) => { text += chunk; return true; } } as unknown as NodeJS.WriteStream;
  const reporter = consoleReporter({ json, stream });
  for (const event of events) reporter(event);
  return text.split('\n').filter((line) => line !== '');
}

const record = (epoch: number) => ({ epoch, loss: 0.5, validationLoss: 0.4, validationAccuracy: 0.9, seconds: 1 });

test('interleaved stages are headed by their name whenever the stage changes', () => {
  const lines = capture([
    { type: 'stage-start', stage: 'classify scratch 100%', description: 'scratch encoder' },
    { type: 'stage-start', stage: 'classify finetuned 100%', description: 'finetuned encoder' },
    { type: 'epoch-end', stage: 'classify scratch 100%', record: record(1), improved: true },
    { type: 'epoch-end', stage: 'classify scratch 100%', record: record(2), improved: false },
    { type: 'epoch-end', stage: 'classify finetuned 100%', record: record(1), improved: true },
    { type: 'stage-end', stage: 'classify scratch 100%', seconds: 3, summary: 'best at 1' },
  ]);
  assert.deepEqual(lines.map((line) => line.replace(/\s+/g, ' ').trim()), [
    '▸ classify scratch 100%: scratch encoder',
    '▸ classify finetuned 100%: finetuned encoder',
    '▸ classify scratch 100%',
    'epoch 1 loss 0.50000 val loss 0.40000 val acc 90.00% 1.0 s *',
    'epoch 2 loss 0.50000 val loss 0.40000 val acc 90.00% 1.0 s',
    '▸ classify finetuned 100%',
    'epoch 1 loss 0.50000 val loss 0.40000 val acc 90.00% 1.0 s *',
    '▸ classify scratch 100%',
    'done in 3.0 s: best at 1',
  ]);
});

test('one stage at a time prints no extra headers', () => {
  const lines = capture([
    { type: 'stage-start', stage: 'pretrain', description: 'denoising autoencoder' },
    { type: 'epoch-end', stage: 'pretrain', record: record(1), improved: true },
    { type: 'message', stage: 'pretrain', text: 'continuing' },
    { type: 'stage-end', stage: 'pretrain', seconds: 2, summary: 'done' },
  ]);
  assert.equal(lines.filter((line) => line.startsWith('▸')).length, 1);
  assert.equal(lines.length, 4);
});

test('a saved file is a JSON line for machines and no line for people', () => {
  const saved: TrainingEvent = { type: 'saved', stage: 'report', file: 'metrics.json' };
  assert.deepEqual(capture([saved], true).map((line) => JSON.parse(line) as unknown), [saved]);
  assert.deepEqual(capture([saved]), []);
});

test('the crash tests\' stop pattern matches events field by field, and a malformed one is refused in one line', () => {
  const epochEnd: TrainingEvent = { type: 'epoch-end', stage: 'pretrain', record: record(2), improved: true };
  assert.ok(matchesPattern({ type: 'epoch-end', record: { epoch: 2 } }, epochEnd));
  assert.ok(!matchesPattern({ type: 'epoch-end', record: { epoch: 1 } }, epochEnd));
  assert.ok(!matchesPattern({ type: 'epoch-end', stage: 'classify' }, epochEnd));
  assert.ok(!matchesPattern({ record: { epoch: 2, missing: 1 } }, epochEnd));
  assert.equal(stopAfterEventPattern({}), null);
  assert.deepEqual(stopAfterEventPattern({ [stopAfterEventVariable]: '{"type":"saved"}' }), { type: 'saved' });
  for (const text of ['{"type":', '[1]', '"saved"', 'null']) {
    assert.throws(() => stopAfterEventPattern({ [stopAfterEventVariable]: text }),
      (error: unknown) => error instanceof ConfigError && error.message.includes(stopAfterEventVariable) && !error.message.includes('\n'));
  }
});
