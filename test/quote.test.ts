// What an error message echoes of the user's input or of a file is escaped and cut (src/quote.ts): a 100,000-character
// dataset name or the binary bytes of a dataset.json come out on one short line, with their control characters as
// escapes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { oneLine, printable, quote } from '../src/quote.js';
import { assertRefused, runDaeCases } from './support/dae-cases.js';
import { writeToyDataset } from './support/toy-dataset.js';

test('quote and printable escape control characters and cut long values in the middle', () => {
  assert.equal(quote('Fashion-MNIST'), "'Fashion-MNIST'");
  assert.equal(quote(7), '7');
  assert.equal(quote(Number.NaN), 'NaN');
  assert.equal(quote(['a', null]), '["a",null]');
  assert.equal(quote(undefined), 'undefined');
  assert.equal(
    quote('a\nb\r\t\u0000\u001b[31m\u007f\u0085\u2028\u202e'),
    "'a\\nb\\r\\t\\x00\\x1b[31m\\x7f\\x85\\u2028\\u202e'",
  );
  const long = `${'a'.repeat(50_000)}${'b'.repeat(50_000)}`;
  assert.equal(quote(long, 11), "'aaaaa…bbbbb' (100,000 characters)");
  assert.equal(printable(long, 11), 'aaaaa…bbbbb (100,000 characters)');
  // Characters, not UTF-16 units: an emoji is not cut in two.
  assert.equal(quote('😀'.repeat(20), 5), "'😀😀…😀😀' (20 characters)");
  assert.equal(oneLine('first\n  second\r\nthird\u001b'), 'first second third\\x1b');
  assert.equal(oneLine('x'.repeat(5000)).length, 2000 + ' (5,000 characters)'.length);
});

test('a 100,000-character value and the binary bytes of dataset.json are echoed on one short line', async () => {
  const directory = await mkdtemp(join(tmpdir(), 'dae-quote-'));
  try {
    const data = join(directory, 'data');
    await writeToyDataset(data, 600, 90);
    await writeFile(
      join(data, 'dataset.json'),
      Buffer.from('{"name": \u0001\u0002\n\n\u001b[31mred\n\u00ff}', 'latin1'),
    );
    const named = join(directory, 'named');
    await writeToyDataset(named, 600, 90);
    await writeFile(join(named, 'dataset.json'), JSON.stringify({ name: `\u001b]0;${'y'.repeat(100_000)}\u0007` }));
    const cwd = join(directory, 'work');
    await mkdir(cwd);
    const huge = 'x'.repeat(100_000);
    const answers = await runDaeCases(
      [
        ['experiment', '--preset', 'tiny', '--dataset-name', huge, '--out', 'run'],
        ['experiment', '--preset', 'tiny', '--dataset-name', 'two\nlines', '--out', 'run'],
        ['experiment', '--preset', 'tiny', '--data', data, '--out', 'run'],
        ['experiment', '--preset', 'tiny', '--data', named, '--out', 'run'],
        ['experiment', '--preset', 'tiny', '--class-names', `a,${huge}`, '--out', 'run'],
        ['experiment', '--preset', `tiny\n${huge}`],
        ['experiment', `--${huge}`],
        ['sweep', '--preset', 'tiny', '--labels', `1,${huge}`],
        ['sweep', '--preset', 'tiny', '--queue', `postgres://${huge}\n/x`],
        ['ablate', '--preset', 'tiny', '--pretrainings', `plain,\u001b[2J${huge}`],
        ['report', join(directory, huge.slice(0, 200), '\u001b[2J')],
      ],
      { cwd },
    );
    for (const answer of answers) {
      assertRefused(answer);
      assert.ok(answer.stderr.length < 1000, `${answer.stderr.length} characters: ${answer.stderr.slice(0, 300)}`);
      // eslint-disable-next-line no-control-regex
      assert.doesNotMatch(answer.stderr.trimEnd(), /[\u0000-\u001f\u007f]/, 'a control character was echoed raw');
    }
    assert.match(answers[0]!.stderr, /got 'x+…x+' \(100,000 characters\)/);
    assert.match(answers[1]!.stderr, /got 'two\\nlines'/);
    assert.match(
      answers[2]!.stderr,
      /is not valid JSON \(Unexpected token '\\x01', "\{"name": \\x01\\x02\\n\\n\\x1b\[31m/,
    );
    assert.match(answers[3]!.stderr, /field 'name' must be .*, got '\\x1b\]0;y+…y+\\x07' \(100,005 characters\)/);
  } finally {
    await rm(directory, { recursive: true, force: true });
  }
});
