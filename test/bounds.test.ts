// Budgets have bounds: every numeric flag and setting has a range in one table (config.ts `limits`), which the flags'
// parsers, --help and the config's checks all read, so a billion epochs or seeds is refused at once in one line with
// the range, instead of a plan that takes minutes to lay out or a grid that runs out of memory; and label counts above
// what the training split holds are refused with the value and the maximum, not cut down to it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { ConfigError, limits, presets, resolveConfig, savedConfig } from '../src/config.js';
import { fittingLabelCounts, resolveLabelCounts } from '../src/grid/sweep.js';
import { assertRefused, runDaeCases } from './support/dae-cases.js';

test('the issue’s budgets without bounds are refused at once, with the flag, the value and the range', async () => {
  const cwd = await mkdtemp(join(tmpdir(), 'dae-bounds-'));
  try {
    // A run folder of the tiny preset, whose training split holds 1,000 images, for a sweep to be added to.
    const runFolder = join(cwd, 'tiny-run');
    await mkdir(runFolder);
    const record = JSON.stringify({
      formatVersion: 1,
      status: 'complete',
      startedAt: new Date(0).toISOString(),
      config: presets.tiny,
      stages: {},
    });
    await writeFile(join(runFolder, 'run.json'), record);
    const expected: [string[], RegExp][] = [
      [
        ['experiment', '--preset', 'tiny', '--epochs', '1000000000', '--out', 'run'],
        /^dae: --epochs takes a whole number from 1 to 1000, got '1000000000' \(see dae --help\)$/,
      ],
      [
        ['sweep', '--preset', 'tiny', '--seeds', '1000000000', '--out', 'run'],
        /^dae: --seeds takes a whole number from 1 to 100, got '1000000000' \(see dae --help\)$/,
      ],
      [
        ['sweep', '--preset', 'tiny', '--labels', '99999999999', '--out', 'run'],
        /^dae: --labels takes comma-separated whole numbers from 1 to 100000000 or "all", got '99999999999'/,
      ],
      [
        ['sweep', '--preset', 'tiny', '--labels', '100,5000', '--out', 'run'],
        /^dae: --labels: 5000 labels is more than the 1000 images of this run's training split; ask for at most 1000, or all/,
      ],
      [
        ['ablate', '--preset', 'tiny', '--labels', 'all,1001', '--out', 'run'],
        /^dae: --labels: 1001 labels is more than the 1000 images/,
      ],
      [['sweep', runFolder, '--labels', '2000'], /^dae: --labels: 2000 labels is more than the 1000 images/],
      [
        ['worker', '--queue', 'embedded', '--heartbeat', '86400'],
        /^dae: --heartbeat takes a whole number from 1 to 3600, got '86400'/,
      ],
      [
        ['experiment', '--preset', 'tiny', '--learning-rate', '5', '--out', 'run'],
        /^dae: --learning-rate takes a number from 0\.000001 to 1, got '5'/,
      ],
    ];
    const answers = await runDaeCases(
      expected.map(([args]) => args),
      { cwd },
    );
    for (const [index, answer] of answers.entries()) {
      assertRefused(answer, 2);
      assert.match(answer.stderr.trimEnd(), expected[index]![1]);
    }
    assert.equal(await readFile(join(runFolder, 'run.json'), 'utf8'), record, 'the refused sweep wrote run.json');

    // --help shows each range, read from the same table.
    const [help] = await runDaeCases([['experiment', '--help']], { cwd });
    assert.equal(help!.status, 0);
    assert.match(
      help!.stdout,
      /--epochs <n>\s+maximum autoencoder epochs \(default: the preset's, 5\s+for full\) \(1 to 1000\)/,
    );
    assert.match(help!.stdout, /--seed <n>\s+seed for every random choice \(default 1\) \(0 to\s+4294967295\)/);
  } finally {
    await rm(cwd, { recursive: true, force: true });
  }
});

test('the config refuses any numeric setting out of its range, from the flags, a preset or a saved run.json', () => {
  const refused = (make: () => unknown, pattern: RegExp) =>
    assert.throws(make, (error: unknown) => error instanceof ConfigError && pattern.test(error.message));
  refused(
    () => resolveConfig('tiny', { classifier: { maxEpochs: 1e9 } }),
    /^classifier\.maxEpochs must be a whole number from 1 to 1000, got 1000000000$/,
  );
  refused(
    () => resolveConfig('tiny', { autoencoder: { batchSize: 0 } }),
    /^autoencoder\.batchSize must be a whole number from 1 to 4096, got 0$/,
  );
  refused(
    () => resolveConfig('tiny', { classifier: { fineTuneLearningRate: Number.NaN } }),
    /^classifier\.fineTuneLearningRate must be a number from 0\.000001 to 1, got NaN$/,
  );
  refused(
    () => resolveConfig('tiny', { autoencoder: { noise: { kind: 'gaussian', amount: 5 } } }),
    /^autoencoder\.noise: gaussian noise amount is a standard deviation and must be in \[0, 1\], got 5/,
  );
  refused(
    () => resolveConfig('tiny', { data: { testLimit: -1 } }),
    /^data\.testLimit must be a whole number from 1 to 100000000, got -1$/,
  );
  // A run.json edited by hand is held to the same table.
  const edited = structuredClone(presets.tiny) as unknown as { autoencoder: Record<string, unknown> };
  edited.autoencoder['maxEpochs'] = 1e9;
  refused(() => savedConfig(edited, 'runs/x/run.json'), /^--epochs must be a whole number from 1 to 1000/);
  // Every preset sits inside the table.
  for (const preset of Object.values(presets)) assert.doesNotThrow(() => resolveConfig(preset.preset));
  assert.ok(Object.values(limits).every((limit) => limit.min <= limit.max && Number.isFinite(limit.max)));
});

test('label counts above the training split are refused with the value and the maximum; defaults keep what fits', () => {
  assert.deepEqual(resolveLabelCounts([1000, 'all', 100], 1000), [100, 1000]);
  assert.throws(
    () => resolveLabelCounts([100, 1001], 1000),
    (error: unknown) => error instanceof ConfigError && /1001 labels .* at most 1000/.test(error.message),
  );
  assert.deepEqual(fittingLabelCounts([100, 300, 1000, 3000, 'all'], 1000), [100, 300, 1000, 'all']);
});
