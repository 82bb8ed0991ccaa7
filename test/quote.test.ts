// What an error message echoes of the user's input or of a file is escaped and cut (src/quote.ts).
import { test } from 'node:test';
import assert from 'node:assert/strict';

import { oneLine, printable, quote } from '../src/quote.js';

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
