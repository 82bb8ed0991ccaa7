// `dae worker --queue URL`: trains cells from a job queue until it is stopped, on any machine that can reach the
// queue's database. `--workers N` runs N such workers as child processes, so that a killed one loses one cell.
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { hostname } from 'node:os';

import { InvalidArgumentError, Option } from 'commander';
import type { Command } from 'commander';

import { backendNames, useBackend } from '../../backend/index.js';
import type { BackendName } from '../../backend/index.js';
import { limits } from '../../config.js';
import { loadDataset } from '../../data/dataset.js';
import { parseQueueAddress, QueueError } from '../../queue/address.js';
import { openQueue } from '../../queue/open.js';
import { runQueueWorker } from '../../queue/worker.js';
import { InterruptedError } from '../../train/events.js';
import type { TrainingEvent } from '../../train/events.js';
import { numberOption, pathIn } from '../flags.js';
import { consoleReporter } from '../reporter.js';
import { stopAfterEvent, stopAfterEventPattern, synchronousStream } from '../stop-after-event.js';

interface WorkerOptions {
  queue: string;
  threads: number;
  workers: number;
  concurrency?: number;
  backend: BackendName;
  data?: string;
  heartbeat: number;
  poll: number;
  json: boolean;
}

/** The option that names the queue, shared with `dae sweep`. */
export const queueOption = () =>
  new Option(
    '--queue <url>',
    'job queue: "embedded" (a PostgreSQL on this machine, started by dae) or postgres://user:password@host:port/database',
  )
    .env('DAE_QUEUE')
    .argParser((value: string) => {
      // A value that is no queue address at all is a usage error; one that names an unreachable queue is found out
      // when the queue is opened.
      try {
        parseQueueAddress(value);
      } catch (error) {
        if (error instanceof QueueError) throw new InvalidArgumentError(error.message);
        throw error;
      }
      return value;
    });

/** Runs `count` copies of this command with --workers 1 and waits for them; their lines are prefixed. */
async function runChildren(count: number): Promise<void> {
  const args = process.argv
    .slice(2)
    .flatMap((arg, index, all) =>
      ['--workers', '--concurrency'].some(
        (flag) => arg === flag || all[index - 1] === flag || arg.startsWith(`${flag}=`),
      )
        ? []
        : [arg],
    );
  const spawned: ChildProcess[] = [];
  const children = Array.from({ length: count }, (_, index) => {
    const child = spawn(process.execPath, [...process.execArgv, process.argv[1]!, ...args, '--workers', '1'], {
      stdio: ['ignore', 'inherit', 'pipe'],
    });
    spawned.push(child);
    let pending = '';
    child.stderr.on('data', (chunk: Buffer) => {
      const lines = (pending + chunk.toString('utf8')).split('\n');
      pending = lines.pop() ?? '';
      for (const line of lines) process.stderr.write(`[${index + 1}] ${line}\n`);
    });
    return new Promise<number>((resolve) => child.on('exit', (code, signal) => resolve(code ?? (signal ? 128 : 1))));
  });
  // Ctrl-C in a terminal reaches the whole process group, children included; a SIGTERM to this process is passed on.
  process.on('SIGTERM', () => {
    for (const child of spawned) child.kill('SIGTERM');
  });
  process.stderr.write(
    `dae worker: ${count} worker processes, their lines marked [1] to [${count}]; Ctrl-C stops them at their next safe point\n`,
  );
  const codes = await Promise.all(children);
  process.exitCode = Math.max(...codes);
}

export function addWorkerCommand(program: Command, stopRequested: () => boolean): void {
  program
    .command('worker')
    .description('train cells from a job queue until stopped (run one on every machine; see `dae sweep --queue`)')
    .addOption(queueOption().makeOptionMandatory())
    .addOption(numberOption('--threads <n>', 'kernel threads per cell, 0 = every core', limits.threads).default(0))
    .addOption(
      numberOption('--workers <n>', 'cells trained at once, each in its own worker process', limits.processes).default(
        1,
      ),
    )
    .addOption(numberOption('--concurrency <n>', 'the old spelling of --workers', limits.processes).hideHelp())
    .addOption(new Option('--backend <name>', 'tfjs backend').choices(backendNames).default('auto'))
    .option(
      '--data <dir>',
      "this machine's copy of the dataset, for cells of runs made with --data (checked against the job's hash)",
      pathIn('--data'),
    )
    .addOption(
      numberOption(
        '--heartbeat <seconds>',
        'seconds between heartbeats; a cell is given back to the queue after three missed',
        limits.seconds,
      ).default(10),
    )
    .addOption(numberOption('--poll <seconds>', 'seconds between looks at an empty queue', limits.seconds).default(2))
    .option('--json', 'progress as JSON lines', false)
    .action(async (options: WorkerOptions) => {
      // A dataset this worker cannot read is refused now, not when the first job arrives.
      if (options.data !== undefined) await loadDataset({ directory: options.data });
      if (options.concurrency !== undefined)
        process.stderr.write(
          'dae: --concurrency N is now --workers N, as in the other commands; --concurrency still works for now\n',
        );
      const workers = options.concurrency ?? options.workers;
      if (workers > 1) return runChildren(workers);
      const name = `${hostname()}:${process.pid}`;
      const stopPattern = stopAfterEventPattern(process.env);
      const terminal = consoleReporter({
        json: options.json,
        stream: stopPattern ? synchronousStream(process.stderr.fd) : process.stderr,
      });
      const stopHere = stopPattern ? stopAfterEvent(stopPattern) : () => {};
      const reporter = (event: TrainingEvent) => {
        terminal(event);
        stopHere(event);
      };
      const say = (text: string) => reporter({ type: 'message', stage: 'worker', text });
      const queue = await openQueue(options.queue, 'worker', (error) => say(error.message));
      try {
        const backend = await useBackend(options.backend, { threads: options.threads });
        say(
          `${name} on ${queue.workerAddress}: backend ${backend.name} (${backend.detail}, ${backend.threads} thread${backend.threads === 1 ? '' : 's'})`,
        );
        const finished = await runQueueWorker({
          store: queue.store,
          name,
          backend: { name: backend.name, threads: backend.threads, workers: 1 },
          dataDirectory: options.data ?? null,
          heartbeatSeconds: options.heartbeat,
          pollSeconds: options.poll,
          reporter,
          say,
          shouldStop: stopRequested,
        });
        say(`stopped after ${finished} cell${finished === 1 ? '' : 's'}`);
      } catch (error) {
        if (!(error instanceof InterruptedError)) throw error;
        say('stopped; the cell in hand went back to the queue');
        process.exitCode = 130;
      } finally {
        await queue.close();
      }
    });
}
