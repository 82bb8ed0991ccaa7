// The job queue's cost and throughput on a small grid: `node dist/bench/queue.js [--rounds N] [--min-steps N]`.
// Pretrains a tiny run folder, starts an embedded PostgreSQL, then times `dae sweep` over the same 18 cells four
// ways per round: in-process one at a time, in-process two at a time (worker threads), and through the queue with
// one and with two `dae worker --threads 1` processes (started and waiting before the coordinator, a fresh
// database per run). Prints one JSON line per run and checks that every run's sweep summary is the same.
import { spawn, spawnSync } from 'node:child_process';
import { chmod, cp, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

import { startEmbeddedPostgres } from '../src/queue/embedded.js';
import { openQueueStore } from '../src/queue/store.js';

const { values } = parseArgs({
  options: { rounds: { type: 'string', default: '1' }, 'min-steps': { type: 'string', default: '300' } },
});
const cli = fileURLToPath(new URL('../../bin/dae.js', import.meta.url));
const grid = ['--labels', '40,200,800', '--repeats', '2', '--min-steps', values['min-steps']];
const print = (value: unknown) => process.stdout.write(`${JSON.stringify(value)}\n`);

function dae(args: string[], environment: Record<string, string> = {}) {
  const started = performance.now();
  const child = spawn('nice', ['-n', '10', process.execPath, cli, ...args], {
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { ...process.env, ...environment },
  });
  const lines: string[] = [];
  createInterface({ input: child.stderr }).on('line', (line) => lines.push(line));
  const done = new Promise<{ code: number | null; seconds: number }>((resolve) =>
    child.on('close', (code) => resolve({ code, seconds: (performance.now() - started) / 1000 })),
  );
  return { child, lines, done };
}

/** The numbers a worker prints per cell: `done <cell>: <accuracy>% in <training> s, queue work <seconds> s`. */
function cellTimes(lines: string[]) {
  return lines.flatMap((line) => {
    const text = line.startsWith('{') ? String((JSON.parse(line) as { text?: unknown }).text ?? '') : '';
    const match = / in ([\d.]+) s, queue work ([\d.]+) s/.exec(text);
    return match ? [{ training: Number(match[1]), queueWork: Number(match[2]) }] : [];
  });
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? Number.NaN;

const directory = await mkdtemp(join(tmpdir(), 'dae-bench-queue-'));
await chmod(directory, 0o755);
const postgres = await startEmbeddedPostgres({ directory: join(directory, 'postgres'), persistent: false });
try {
  const base = join(directory, 'base');
  const pretrain = spawnSync(
    'nice',
    ['-n', '10', process.execPath, cli, 'pretrain', '--preset', 'tiny', '--epochs', '1', '--out', base],
    { encoding: 'utf8' },
  );
  if (pretrain.status !== 0) throw new Error(pretrain.stderr);
  const ways = [
    ['in-process, one at a time', 0],
    ['in-process, two worker threads', -2],
    ['queue, 1 worker process', 1],
    ['queue, 2 worker processes', 2],
  ] as const;
  const summaries: string[] = [];
  for (let round = 1; round <= Number(values.rounds); round += 1) {
    for (const [label, workers] of ways) {
      const folder = join(directory, `run-${summaries.length + 1}`);
      await cp(base, folder, { recursive: true });
      let record: Record<string, unknown>;
      if (workers <= 0) {
        const run = dae([
          'sweep',
          folder,
          ...grid,
          ...(workers === 0 ? ['--workers', '1', '--threads', '1'] : ['--workers', '2', '--threads', '2']),
        ]);
        const { code, seconds } = await run.done;
        if (code !== 0) throw new Error(run.lines.join('\n'));
        record = { round, label, seconds };
      } else {
        const database = `bench_${summaries.length + 1}`;
        const store = await openQueueStore(postgres.url);
        await store.sql(`CREATE DATABASE ${database}`);
        await store.close();
        const url = postgres.url.replace(/\/dae$/, `/${database}`);
        const workerRuns = Array.from({ length: workers }, () =>
          dae(['worker', '--threads', '1', '--poll', '1', '--json'], { DAE_QUEUE: url }),
        );
        while (!workerRuns.every((run) => run.lines.some((line) => line.includes('waiting for cells'))))
          await new Promise((resolve) => setTimeout(resolve, 200));
        const coordinator = dae(['sweep', folder, ...grid], { DAE_QUEUE: url });
        const { code, seconds } = await coordinator.done;
        if (code !== 0) throw new Error(coordinator.lines.join('\n'));
        for (const run of workerRuns) run.child.kill('SIGINT');
        await Promise.all(workerRuns.map((run) => run.done));
        const times = workerRuns.map((run) => cellTimes(run.lines));
        const all = times.flat();
        record = {
          round,
          label,
          seconds,
          cellsPerWorker: times.map((cells) => cells.length),
          trainingSeconds: all.reduce((sum, cell) => sum + cell.training, 0),
          queueWorkMedian: median(all.map((cell) => cell.queueWork)),
          queueWorkFirstCell: times.map((cells) => cells[0]?.queueWork),
        };
      }
      print(record);
      const sweep = JSON.parse(await readFile(join(folder, 'sweep', 'sweep.json'), 'utf8')) as { summary: unknown };
      summaries.push(JSON.stringify(sweep.summary));
    }
  }
  print({ sameSweepInEveryRun: summaries.every((summary) => summary === summaries[0]) });
} finally {
  await postgres.stop();
  await rm(directory, { recursive: true, force: true });
}
