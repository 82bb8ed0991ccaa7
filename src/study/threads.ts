// Classifier runs trained side by side in worker threads, one kernel thread each. One run's small kernels keep a
// second thread mostly waiting, and its JavaScript (distortions, batching, validation) runs on one thread anyway;
// on two cores the study's classifier stage takes ~15% less time and the sweep ~25% less this way. Every native
// sum is split by item count, not thread count, so each run's results are the same bit for bit as when the runs
// take turns in the main thread.
import { extname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';

import { keepingNativeThreads, releaseFreeMemory, setNativeThreads } from '../backend/index.js';
import { shared, sharedImageSet } from '../data/dataset.js';
import type { PreparedData } from '../data/prepare.js';
import type { ExperimentContext } from './context.js';
import { DivergenceError, InterruptedError } from '../train/events.js';
import type { SerializedError, WorkerJob, WorkerMessage, WorkerResult, WorkerSetup } from './thread-protocol.js';

/** An error thrown inside a worker, carried to the main thread with its message and the name of its class. */
export class ThreadJobError extends Error {
  override readonly name = 'ThreadJobError';
  constructor(
    readonly originalName: string,
    message: string,
    readonly workerStack: string | undefined,
  ) {
    super(message);
  }
}

function revive(error: SerializedError): Error {
  if (error.name === 'InterruptedError' && error.stage !== undefined && error.epoch !== undefined) {
    return new InterruptedError(error.stage, error.epoch);
  }
  if (
    error.name === 'DivergenceError' &&
    error.stage !== undefined &&
    error.epoch !== undefined &&
    error.batch !== undefined &&
    error.loss !== undefined
  ) {
    return new DivergenceError(error.stage, error.epoch, error.batch, error.loss);
  }
  return new ThreadJobError(error.name, error.message, error.stack);
}

/** A worker that loads the run folder's autoencoder once, then trains the jobs it is handed in turn. */
class ClassifierWorker {
  private readonly worker: Worker;
  private waiting: { resolve: (message: WorkerMessage) => void; reject: (error: Error) => void } | null = null;
  private exited: Error | null = null;

  constructor(
    setup: WorkerSetup,
    private readonly context: ExperimentContext,
  ) {
    // From dist/ the worker is a .js file; from the sources (node --import tsx) it is the .ts beside this one.
    const entry = new URL(`./thread${extname(fileURLToPath(import.meta.url))}`, import.meta.url);
    this.worker = new Worker(entry, { workerData: setup });
    this.worker.on('message', (message: WorkerMessage) => {
      if (message.type === 'event') this.context.reporter(message.event);
      else this.settle((waiting) => waiting.resolve(message));
    });
    this.worker.on('error', (error) => this.fail(error));
    this.worker.on('exit', (code) =>
      this.fail(new Error(`a classifier worker exited with code ${code} before its run was done`)),
    );
  }

  private settle(action: (waiting: NonNullable<ClassifierWorker['waiting']>) => void): void {
    const waiting = this.waiting;
    this.waiting = null;
    if (waiting) action(waiting);
  }

  private fail(error: Error): void {
    this.exited ??= error;
    this.settle((waiting) => waiting.reject(error));
  }

  /** The worker's next message other than a progress event: `ready`, a result or an error. */
  private next(): Promise<WorkerMessage> {
    if (this.exited) return Promise.reject(this.exited);
    return new Promise((resolve, reject) => {
      this.waiting = { resolve, reject };
    });
  }

  async ready(): Promise<void> {
    const message = await this.next();
    if (message.type === 'error') throw revive(message.error);
  }

  async train(job: WorkerJob): Promise<WorkerResult> {
    const reply = this.next();
    this.worker.postMessage(job);
    const message = await reply;
    if (message.type === 'error') throw revive(message.error);
    if (message.type !== 'result') throw new Error(`a classifier worker answered '${message.type}' to a job`);
    return message.result;
  }

  async close(): Promise<void> {
    this.worker.removeAllListeners('exit');
    await this.worker.terminate();
  }
}

/** The data in SharedArrayBuffers, which workers receive without copying (prepareData's already is: no copy). */
function sharedData(data: PreparedData): PreparedData {
  return {
    name: data.name,
    classNames: data.classNames,
    train: sharedImageSet(data.train),
    validation: sharedImageSet(data.validation),
    test: sharedImageSet(data.test),
    trainSourceIndices: shared(data.trainSourceIndices),
  };
}

/** The study's order for its runs: the most planned work first, ties in the order given, so a short one ends last. */
export function longestFirst<Entry extends { work: number }>(entries: Entry[]): Entry[] {
  return [...entries].sort((a, b) => b.work - a.work);
}

/**
 * Trains `jobs` on `workers` worker threads, handed out in the order given, and returns their results in that
 * order, calling `onResult` as each one arrives. The
 * first failure (an interruption included) stops the other workers at their next batch, and is thrown once all
 * have stopped; the jobs finished by then are saved in the run folder, so a resumed run skips them.
 */
export async function runInThreads<Result extends WorkerResult>(
  context: ExperimentContext,
  data: PreparedData,
  jobs: WorkerJob[],
  workers: number,
  onResult: (result: Result, index: number) => void = () => {},
  robustness?: WorkerSetup['robustness'],
): Promise<Result[]> {
  const stop = new SharedArrayBuffer(4);
  const stopFlag = new Int32Array(stop);
  const queue = jobs.map((job, index) => ({ job, index }));
  const results: Result[] = new Array<Result>(jobs.length);
  let failure: Error | null = null;
  const halt = (error: Error) => {
    // An interruption that follows a real failure (the other workers stopping) must not hide it.
    if (failure === null || (failure instanceof InterruptedError && !(error instanceof InterruptedError)))
      failure = error;
    Atomics.store(stopFlag, 0, 1);
  };
  const setup: WorkerSetup = {
    directory: context.run.directory,
    config: context.config,
    data: sharedData(data),
    stop,
    ...(robustness ? { robustness } : {}),
  };
  const poll = setInterval(() => {
    if (context.shouldStop?.()) Atomics.store(stopFlag, 0, 1);
  }, 100);
  // Every worker runs its kernels itself: with a pool of one thread the JS threads never wait on each other. The
  // command's own count comes back once they are done.
  await keepingNativeThreads(async () => {
    setNativeThreads(1);
    // What the stages before freed, given back before the workers need memory of their own.
    releaseFreeMemory();
    try {
      await Promise.all(
        Array.from({ length: Math.min(workers, jobs.length) }, async () => {
          const worker = new ClassifierWorker(setup, context);
          try {
            await worker.ready();
            for (let entry = queue.shift(); entry !== undefined && failure === null; entry = queue.shift()) {
              const result = (await worker.train(entry.job)) as Result;
              results[entry.index] = result;
              onResult(result, entry.index);
            }
          } catch (error) {
            halt(error instanceof Error ? error : new Error(String(error)));
          } finally {
            await worker.close();
          }
        }),
      );
    } finally {
      clearInterval(poll);
      // The heaps of the workers' threads outlive them, holding what the runs freed.
      releaseFreeMemory();
    }
  });
  if (failure !== null) throw failure;
  return results;
}
