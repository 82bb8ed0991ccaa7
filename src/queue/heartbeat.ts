// The worker's side of its heartbeat thread (heartbeat-thread.ts): start beating for a job, stop, close.
import { extname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';

export interface HeartbeatSetup {
  /** The queue's database (secret: stays inside the process). */
  url: string;
  /** The worker's name in the queue. */
  worker: string;
  /** Seconds between beats; the job is given up after three missed. */
  seconds: number;
}

export type HeartbeatMessage = { type: 'start'; jobId: string } | { type: 'stop' } | { type: 'close' };

export class Heartbeat {
  private readonly thread: Worker;
  private queue: Promise<unknown> = Promise.resolve();

  constructor(setup: HeartbeatSetup) {
    // From dist/ the thread is a .js file; from the sources (node --import tsx) it is the .ts beside this one.
    const entry = new URL(`./heartbeat-thread${extname(fileURLToPath(import.meta.url))}`, import.meta.url);
    this.thread = new Worker(entry, { workerData: setup });
    this.thread.unref();
  }

  /** Sends a message and waits for the thread's answer; messages are answered in order. */
  private send(message: HeartbeatMessage): Promise<void> {
    const reply = this.queue.then(
      () =>
        new Promise<void>((resolve, reject) => {
          this.thread.once('message', (answer: { ok: boolean; error?: string }) =>
            answer.ok ? resolve() : reject(new Error(answer.error)),
          );
          this.thread.postMessage(message);
        }),
    );
    this.queue = reply.catch(() => {});
    return reply;
  }

  /** The first beat for `jobId` is stored when this resolves. */
  start(jobId: string): Promise<void> {
    return this.send({ type: 'start', jobId });
  }

  /** Stops beating and removes the job's heartbeat. */
  stop(): Promise<void> {
    return this.send({ type: 'stop' });
  }

  /** Closes the thread's connection (waiting at most 2 s for it) and ends the thread. */
  async close(): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      this.send({ type: 'close' }).catch(() => {}),
      new Promise((resolve) => {
        timer = setTimeout(resolve, 2000);
      }),
    ]);
    clearTimeout(timer);
    await this.thread.terminate();
  }
}
