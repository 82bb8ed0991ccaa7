// Bad input at the command line: one line naming the flag, file or value and what to do, a non-zero exit code,
// no stack trace, and no run folder that looks complete.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const cli = fileURLToPath(new URL('../../bin/dae.js', import.meta.url));

function dae(...args: string[]) {
  const result = spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', timeout: 120_000 });
  const errorLines = result.stderr.trim().split('\n').filter((line) => line.length > 0);
  return { status: result.status, stderr: result.stderr, lastLine: errorLines[errorLines.length - 1] ?? '' };
}

function assertOneLineError(result: ReturnType<typeof dae>, pattern: RegExp): void {
  assert.notEqual(result.status, 0, 'the command should fail');
  assert.match(result.lastLine, pattern);
  assert.doesNotMatch(result.stderr, /^\s+at /m, `no stack trace expected:\n${result.stderr}`);
}

test('unknown flags and out-of-range values are refused', () => {
  assertOneLineError(dae('experiment', '--bogus'), /unknown option '--bogus'|run with --help/);
  assertOneLineError(dae('experiment', '--threads', '-3'), /--threads|unknown option/);
  assertOneLineError(dae('experiment', '--seed', 'abc'), /--seed|seed/);
  assertOneLineError(dae('experiment', '--preset', 'huge'), /huge|preset/);
  assertOneLineError(dae('experiment', '--backend', 'gpu'), /gpu|backend/);
});

test('a dataset folder without IDX files is named in a one-line error, and the run is marked incomplete', async () => {
  const directory = await mkdtemp(join(tmpdir(), 'dae-cli-'));
  try {
    const empty = join(directory, 'empty-dataset');
    const out = join(directory, 'run');
    await writeFile(join(directory, 'placeholder'), '');
    const result = dae('experiment', '--preset', 'tiny', '--backend', 'native', '--data', empty, '--out', out);
    assertOneLineError(result, /^dae: .*empty-dataset/);
    const record = JSON.parse(await readFile(join(out, 'run.json'), 'utf8')) as { status: string };
    assert.equal(record.status, 'incomplete');
  } finally {
    await rm(directory, { recursive: true, force: true });
  }
});

test('a folder that is not a run folder, and an output path that cannot be created, are refused', async () => {
  const directory = await mkdtemp(join(tmpdir(), 'dae-cli-'));
  try {
    assertOneLineError(dae('report', directory), /^dae: .*run\.json/);
    const file = join(directory, 'a-file');
    await writeFile(file, 'not a directory');
    assertOneLineError(dae('experiment', '--preset', 'tiny', '--out', join(file, 'run')), /^dae: .*a-file/);
  } finally {
    await rm(directory, { recursive: true, force: true });
  }
});

test('a run folder written with an older config shape is refused with the missing setting named', async () => {
  const directory = await mkdtemp(join(tmpdir(), 'dae-cli-'));
  try {
    const { presets } = await import('../src/config.js');
    const classifier: Record<string, unknown> = { ...presets.tiny.classifier, augmentShift: 2 };
    delete classifier['augmentation'];
    const config = { ...presets.tiny, classifier };
    await writeFile(join(directory, 'run.json'), JSON.stringify({ formatVersion: 1, status: 'incomplete', startedAt: new Date().toISOString(), config, stages: {} }));
    assertOneLineError(dae('classify', directory), /^dae: .*run\.json: made by an older version .*config\.classifier\.augmentation.*new run folder/);
  } finally {
    await rm(directory, { recursive: true, force: true });
  }
});
