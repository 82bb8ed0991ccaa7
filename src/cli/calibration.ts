// How fast this machine does each kind of work, measured when a command starts: a few batches of each kind of
// training at two batch sizes, and passes forward through each model, timed in a thread of their own (about two
// seconds) so that nothing of the command's own models or random streams is touched. The time estimate (eta.ts)
// prices its plan in these seconds, then corrects them by how fast the real work goes.
import { extname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';

import { keepingNativeThreads } from '../backend/index.js';
import type { BackendName } from '../backend/index.js';
import type { EpochKind, ForwardWork } from '../train/events.js';

/** Seconds of one run on one kernel thread: per training step and image of each kind, per image passed forward. */
export interface MachineSpeeds {
  epochs: Record<EpochKind, { perStep: number; perImage: number }>;
  forward: Record<keyof ForwardWork, number>;
}

/**
 * Measures `backend` on this machine with classifiers of the run's head (`headUnits` a hidden layer); `codeMap`: also
 * time a small code map (the study draws one).
 */
export async function measureMachine(
  backend: BackendName,
  codeMap: boolean,
  headUnits: number,
): Promise<MachineSpeeds> {
  // From dist/ the thread is a .js file; from the sources (node --import tsx) it is the .ts beside this one.
  const entry = new URL(`./calibration-thread${extname(fileURLToPath(import.meta.url))}`, import.meta.url);
  // The thread times its work on one kernel thread, and the kernels' thread pool is the process's.
  return keepingNativeThreads(async () => {
    const worker = new Worker(entry, { workerData: { backend, codeMap, headUnits } });
    try {
      return await new Promise<MachineSpeeds>((resolve, reject) => {
        worker.once('message', resolve);
        worker.once('error', reject);
        worker.once('exit', (code) => reject(new Error(`the calibration thread exited with code ${code}`)));
      });
    } finally {
      await worker.terminate();
    }
  });
}
