// Bad input at the command line: one line naming the flag, file or value and what to do, exit code 2 for a bad
// command line (an unknown flag, a bad flag value) and 1 for anything else, no stack trace, and no run folder made.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const cli = fileURLToPath(new URL('../../bin/dae.js', import.meta.url));

/** Runs `dae` and waits for it to exit; a command that hung would leave the test to the runner's own limit. */
async function dae(...args: string[]) {
  const child = spawn(process.execPath, [cli, ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
    stderr += chunk;
  });
  const status = await new Promise<number | null>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', resolve);
  });
  const errorLines = stderr
    .trim()
    .split('\n')
    .filter((line) => line.length > 0);
  return { status, stderr, lastLine: errorLines[errorLines.length - 1] ?? '' };
}

/** Usage errors (the command line itself is wrong) exit 2; every other refusal exits 1. */
const usage = 2;
const failure = 1;

function assertOneLineError(result: Awaited<ReturnType<typeof dae>>, status: number, pattern: RegExp): void {
  assert.equal(result.status, status, `exit code:\n${result.stderr}`);
  assert.match(result.lastLine, pattern);
  assert.doesNotMatch(result.stderr, /^\s+at /m, `no stack trace expected:\n${result.stderr}`);
}

test('unknown flags and out-of-range values are refused as usage errors', async () => {
  assertOneLineError(await dae('experiment', '--bogus'), usage, /^dae: unknown option '--bogus' \(see dae --help\)$/);
  assertOneLineError(await dae('bogus'), usage, /^dae: unknown command 'bogus' \(see dae --help\)$/);
  assertOneLineError(
    await dae('experiment', '--threads', '-3'),
    usage,
    /^dae: --threads takes a whole number from 0 to 256, got '-3' \(see dae --help\)$/,
  );
  assertOneLineError(
    await dae('experiment', '--seed', 'abc'),
    usage,
    /^dae: --seed takes a whole number from 0 to 4294967295, got 'abc' \(see dae --help\)$/,
  );
  assertOneLineError(
    await dae('experiment', '--preset', 'huge'),
    usage,
    /^dae: option '--preset <name>' argument 'huge' is invalid\. Allowed choices are full, quick, tiny\./,
  );
  assertOneLineError(
    await dae('experiment', '--backend', 'gpu'),
    usage,
    /^dae: option '--backend <name>' argument 'gpu' is invalid\./,
  );
  assertOneLineError(await dae('report'), usage, /^dae: missing required argument 'run-dir'/);
  assertOneLineError(
    await dae('serve', '--port', '99999'),
    usage,
    /^dae: --port takes a whole number from 0 to 65535, got '99999' \(see dae --help\)$/,
  );
  // Values only the config's checks refuse are usage errors too.
  assertOneLineError(
    await dae('experiment', '--preset', 'tiny', '--dataset-name='),
    usage,
    /^dae: --dataset-name must be 1\.\.\d+ characters, none of them control characters, got '' \(see dae --help\)$/,
  );
});

test('a dataset folder without IDX files is named in a one-line error, and no run folder is made', async () => {
  const directory = await mkdtemp(join(tmpdir(), 'dae-cli-'));
  try {
    const empty = join(directory, 'empty-dataset');
    await mkdir(empty);
    const out = join(directory, 'run');
    const result = await dae('experiment', '--preset', 'tiny', '--backend', 'native', '--data', empty, '--out', out);
    assertOneLineError(result, failure, /^dae: /);
    // The folder exists but holds nothing: the first file looked for is named, not "folder does not exist".
    assert.equal(
      result.lastLine,
      `dae: ${join(empty, 'train-images-idx3-ubyte')}: missing training images (expected train-images-idx3-ubyte, ` +
        'or train-images.idx3-ubyte, an uncompressed IDX file) — point --data at a folder holding train-images-idx3-ubyte, ' +
        'train-labels-idx1-ubyte, t10k-images-idx3-ubyte and t10k-labels-idx1-ubyte (uncompressed), or omit --data to use the bundled MNIST',
    );
    assert.ok(!existsSync(out), `${out} was made`);
  } finally {
    await rm(directory, { recursive: true, force: true });
  }
});

test('a folder that is not a run folder, and an output path that cannot be created, are refused', async () => {
  const directory = await mkdtemp(join(tmpdir(), 'dae-cli-'));
  try {
    assertOneLineError(await dae('report', directory), failure, /^dae: .*run\.json/);
    const file = join(directory, 'a-file');
    await writeFile(file, 'not a directory');
    assertOneLineError(
      await dae('experiment', '--preset', 'tiny', '--out', join(file, 'run')),
      failure,
      /^dae: .*a-file/,
    );
    // A folder that exists but refuses children: Node's recursive mkdir spun there forever.
    const refusing = join('/proc', `dae-${process.pid}`, 'run');
    assertOneLineError(
      await dae('experiment', '--preset', 'tiny', '--out', refusing),
      failure,
      /^dae: \/proc\/dae-\d+\/run: /,
    );
    assert.ok(!existsSync(dirname(refusing)), `${dirname(refusing)} was created`);
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
    await writeFile(
      join(directory, 'run.json'),
      JSON.stringify({
        formatVersion: 1,
        status: 'incomplete',
        startedAt: new Date().toISOString(),
        config,
        stages: {},
      }),
    );
    assertOneLineError(
      await dae('classify', directory),
      failure,
      /^dae: .*run\.json: made by an older version .*config\.classifier\.augmentation.*new run folder/,
    );
  } finally {
    await rm(directory, { recursive: true, force: true });
  }
});
