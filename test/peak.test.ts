// The measured peak (native/peak.cc through src/backend/native/peak.ts): a finite, positive rate on one thread and on
// all; the loop really runs, as its accumulators' sum and its FLOP count show; bad arguments are refused. No bound on
// speed, absolute or relative: how much the second thread adds depends on what else the machine runs.
import { test } from 'node:test';
import assert from 'node:assert/strict';

import { BackendError } from '../src/backend/index.js';
import { loadNativeAddon } from '../src/backend/native/addon.js';
import { measurePeakFlops } from '../src/backend/native/peak.js';

const loaded = loadNativeAddon();

test("the peak on one thread and on every thread is finite and positive, at the build's vector width", () => {
  assert.ok(loaded.addon, `native addon missing: ${loaded.reason ?? ''}`);
  const threads = loaded.addon.threads();
  const one = measurePeakFlops(1);
  const all = measurePeakFlops(threads);
  for (const peak of [one, all]) {
    assert.ok(Number.isFinite(peak.flopsPerSecond) && peak.flopsPerSecond > 0, `peak ${peak.flopsPerSecond}`);
  }
  assert.equal(all.threads, threads);
  const lanes: Record<string, number> = { avx512: 16, avx2: 8, avx: 8 };
  assert.equal(one.lanes, lanes[one.target] ?? 4, `lanes of the ${one.target} build`);
});

test('the loop runs on every thread: each accumulator settles at 1, and their sum is returned', () => {
  assert.ok(loaded.addon?.peakFlops, 'native addon without peakFlops');
  // 0.999^65536 is ~3e-29: every chain has reached shift / (1 - scale) = 1 (native/peak.cc).
  const run = loaded.addon.peakFlops(2, 1 << 16);
  assert.ok(Math.abs(run.checksum - 2 * 12 * run.lanes) < 1e-2, `checksum ${run.checksum}`);
  assert.equal(run.flops, 2 * 2 * 12 * run.lanes * (1 << 16));
  assert.ok(run.seconds > 0);
});

test('bad arguments are refused with the reason', () => {
  assert.ok(loaded.addon?.peakFlops, 'native addon without peakFlops');
  assert.throws(() => loaded.addon!.peakFlops!(0, 10), /peakFlops: threads must be 1 to 1024/);
  assert.throws(() => loaded.addon!.peakFlops!(1, 0), /iterations at least 1/);
  assert.throws(() => measurePeakFlops(0), BackendError);
});
