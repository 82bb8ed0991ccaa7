// One process per run folder: a second process is refused with the holder's PID and writes nothing, a lock left by a
// SIGKILLed process is taken over by --resume, and `dae serve` reads a locked folder. Every step waits on the run's
// own progress events (--json) or on a process's exit, never on a wall-clock delay, so the test holds on any machine.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

import { RunFolder, RunFolderError } from '../src/io/run-folder.js';
import { RunLockedError, runLockName } from '../src/io/run-lock.js';
import type { LockHolder } from '../src/io/run-lock.js';

const cli = fileURLToPath(new URL('../../bin/dae.js', import.meta.url));

function dae(...args: string[]) {
  const result = spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', timeout: 300_000 });
  const lines = result.stderr
    .trim()
    .split('\n')
    .filter((line) => line.length > 0);
  return { status: result.status, stderr: result.stderr, lastLine: lines[lines.length - 1] ?? '' };
}

const exited = (child: ChildProcess) =>
  new Promise<void>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve();
    else child.once('exit', () => resolve());
  });

/** Field 22 of /proc/<pid>/stat, as run.lock records it; null where there is no /proc. */
function processStart(pid: number): string | null {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return text.slice(text.lastIndexOf(')') + 2).split(' ')[19] ?? null;
  } catch {
    return null;
  }
}

const lockText = (holder: Partial<LockHolder>) =>
  `${JSON.stringify({ pid: 1, processStart: null, host: hostname(), lockedAt: '2020-01-01T00:00:00.000Z', command: 'dae experiment', ...holder })}\n`;

/** Every file and folder under `directory` with its size and modification time: any write shows as a change. */
async function snapshot(directory: string): Promise<Record<string, string>> {
  const entries: Record<string, string> = {};
  const info = await stat(directory);
  entries['.'] = `${info.mtimeMs}`;
  for (const name of await readdir(directory, { recursive: true })) {
    const entry = await stat(join(directory, name));
    entries[name] = `${entry.isDirectory() ? 'dir' : entry.size} ${entry.mtimeMs}`;
  }
  return entries;
}

test('the library: a live holder refuses, a dead or recycled one is taken over, holds within a process are shared', async () => {
  const directory = await mkdtemp(join(tmpdir(), 'dae-lock-'));
  const lockFile = join(directory, runLockName);
  // A live process of this machine to name as the holder.
  const sleeper = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
  try {
    const run = await RunFolder.create(directory, { preset: 'tiny' });
    const holder = JSON.parse(await readFile(lockFile, 'utf8')) as LockHolder;
    assert.equal(holder.pid, process.pid);
    // Another RunFolder of this process shares the lock; the file goes with the last release.
    const second = await RunFolder.open(directory);
    await second.release();
    assert.ok(existsSync(lockFile));
    await assert.rejects(
      second.writeJson('x.json', {}),
      (error: unknown) => error instanceof RunFolderError && /released/.test(error.message),
    );
    await run.release();
    assert.equal(existsSync(lockFile), false);

    const pid = sleeper.pid!;
    await writeFile(lockFile, lockText({ pid, processStart: processStart(pid) }));
    await assert.rejects(
      RunFolder.open(directory),
      (error: unknown) =>
        error instanceof RunLockedError &&
        error.holder.pid === pid &&
        error.message.startsWith(
          `${directory}: in use by process ${pid} (dae experiment, since 2020-01-01T00:00:00.000Z) — `,
        ) &&
        /kill/.test(error.hint),
    );
    await assert.rejects(RunFolder.create(directory, {}, { overwrite: true }), RunLockedError);
    // Reading needs no lock; writing through a read-only folder is refused.
    const reader = await RunFolder.open(directory, { readOnly: true });
    assert.equal(reader.status, 'incomplete');
    await assert.rejects(
      reader.markComplete(),
      (error: unknown) => error instanceof RunFolderError && /read-only/.test(error.message),
    );
    assert.equal(JSON.parse(await readFile(lockFile, 'utf8')).pid, pid, "refused opens leave the holder's lock alone");

    // A recycled PID: a live process, but started at another time than the holder.
    if (processStart(pid) !== null) {
      await writeFile(lockFile, lockText({ pid, processStart: '1' }));
      await (await RunFolder.open(directory)).release();
    }
    sleeper.kill('SIGKILL');
    await exited(sleeper);
    await writeFile(lockFile, lockText({ pid, processStart: processStart(process.pid) }));
    const takenOver = await RunFolder.open(directory);
    assert.equal(JSON.parse(await readFile(lockFile, 'utf8')).pid, process.pid);
    await takenOver.release();

    // A half-written lock is being written, until it is old enough to have been left by a killed process.
    await writeFile(lockFile, '{"pid": 12');
    await utimes(lockFile, new Date(0), new Date(0));
    await (await RunFolder.open(directory)).release();
    // A holder on another host cannot be checked: refused, with the file to delete named.
    await writeFile(lockFile, lockText({ pid: process.pid, host: `not-${hostname()}` }));
    await assert.rejects(
      RunFolder.open(directory),
      (error: unknown) => error instanceof RunLockedError && error.hint.includes(`delete ${lockFile}`),
    );
  } finally {
    sleeper.kill('SIGKILL');
    await rm(directory, { recursive: true, force: true });
  }
});

test('a second process is refused while the first trains and writes nothing; --resume takes over once the first is SIGKILLed; serve reads a held folder', async () => {
  const directory = await mkdtemp(join(tmpdir(), 'dae-lock-cli-'));
  const out = join(directory, 'run');
  let server: ChildProcess | undefined;
  const first = spawn(
    process.execPath,
    [cli, 'experiment', '--preset', 'tiny', '--backend', 'native', '--json', '--out', out],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  try {
    // Stop the first process at the end of its first pretraining epoch: it holds the lock and is mid-run.
    const firstEpoch = new Promise<void>((resolve, reject) => {
      const lines = createInterface({ input: first.stderr! });
      lines.on('line', (line) => {
        if (!line.startsWith('{')) return;
        const event = JSON.parse(line) as { type: string; stage: string };
        if (event.type === 'epoch-end' && event.stage === 'pretrain') {
          first.kill('SIGSTOP');
          lines.close();
          resolve();
        }
      });
      first.once('exit', (code) => reject(new Error(`the first run ended (code ${code}) before its first epoch`)));
    });
    await firstEpoch;
    const before = await snapshot(out);
    const pid = first.pid!;
    for (const args of [
      ['experiment', '--resume', out],
      ['experiment', '--preset', 'tiny', '--out', out],
      ['pretrain', '--preset', 'tiny', '--out', out],
      ['inspect', out],
      ['classify', out],
      ['report', out],
      ['sweep', out],
    ]) {
      const result = dae(...args);
      assert.equal(result.status, 1, `dae ${args.join(' ')}: ${result.stderr}`);
      assert.match(
        result.lastLine,
        new RegExp(
          `^dae: ${out}: in use by process ${pid} \\(.*\\) — wait for it to finish, or stop it \\(kill ${pid}\\)`,
        ),
        `dae ${args.join(' ')}`,
      );
      assert.doesNotMatch(result.stderr, /^\s+at /m);
    }
    assert.deepEqual(await snapshot(out), before, 'a refused process wrote into the run folder');

    first.kill('SIGKILL');
    await exited(first);
    assert.equal(
      (JSON.parse(await readFile(join(out, runLockName), 'utf8')) as LockHolder).pid,
      pid,
      'the killed process leaves its lock',
    );
    const resumed = dae('experiment', '--resume', out);
    assert.equal(resumed.status, 0, resumed.stderr);
    assert.equal(JSON.parse(await readFile(join(out, 'run.json'), 'utf8')).status, 'complete');
    assert.equal(existsSync(join(out, runLockName)), false, 'a finished run releases its lock');

    // This test process now holds the finished folder, as a running `dae sweep` would; serve reads it all the same.
    const held = await RunFolder.open(out);
    const lockBefore = await readFile(join(out, runLockName), 'utf8');
    assert.match(dae('report', out).lastLine, new RegExp(`in use by process ${process.pid} `));
    server = spawn(process.execPath, [cli, 'serve', out, '--port', '0'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let serverErrors = '';
    server.stderr!.on('data', (chunk: Buffer) => {
      serverErrors += chunk.toString();
    });
    const url = await new Promise<string>((resolve, reject) => {
      createInterface({ input: server!.stdout! }).once('line', resolve);
      server!.once('exit', (code) => reject(new Error(`dae serve exited with code ${code}: ${serverErrors}`)));
    });
    const response = await fetch(new URL('api/run.json', url));
    assert.equal(response.status, 200);
    assert.equal(((await response.json()) as { name: string }).name, 'run');
    assert.equal(await readFile(join(out, runLockName), 'utf8'), lockBefore, "serve leaves the holder's lock alone");
    await held.release();
  } finally {
    first.kill('SIGKILL');
    server?.kill('SIGTERM');
    await Promise.all([exited(first), ...(server ? [exited(server)] : [])]);
    await rm(directory, { recursive: true, force: true });
  }
});

test('the lock is released when a command fails and when Ctrl-C stops it', async () => {
  const directory = await mkdtemp(join(tmpdir(), 'dae-lock-release-'));
  const out = join(directory, 'run');
  const failed = dae('experiment', '--preset', 'tiny', '--data', join(directory, 'no-such-dataset'), '--out', out);
  assert.equal(failed.status, 1, failed.stderr);
  assert.equal(existsSync(join(out, runLockName)), false, 'a failed command releases its lock');

  const interrupted = join(directory, 'interrupted');
  const stopped = spawn(
    process.execPath,
    [cli, 'experiment', '--preset', 'tiny', '--backend', 'native', '--json', '--out', interrupted],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  try {
    // Ctrl-C at the first training batch: the run stops at the next safe point and exits with 130.
    const lines = createInterface({ input: stopped.stderr! });
    lines.on('line', (line) => {
      if (line.startsWith('{') && (JSON.parse(line) as { type: string }).type === 'batch-end') {
        stopped.kill('SIGINT');
        lines.close();
      }
    });
    await exited(stopped);
    assert.equal(stopped.exitCode, 130);
    assert.equal(existsSync(join(interrupted, runLockName)), false, 'Ctrl-C releases the lock');
  } finally {
    stopped.kill('SIGKILL');
    await exited(stopped);
    await rm(directory, { recursive: true, force: true });
  }
});
