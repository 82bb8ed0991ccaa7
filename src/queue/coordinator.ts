// The coordinator's side of the queue: enqueue a grid's cells that are not done yet (each once: its job id is
// its content's hash), then collect the results as workers anywhere finish them, give up the jobs of workers
// that died, and report progress over the whole queue. The results are handed back one by one; the caller
// writes them into the run folder.
import type { LayersModel } from '@tensorflow/tfjs-layers';

import type { CellRunner } from '../grid/cells.js';
import type { SweepCell } from '../io/metrics.js';
import { InterruptedError } from '../train/events.js';
import { QueueError } from './address.js';
import { dataFingerprint, indicesBlob, jobId, modelBlob, payloadFor } from './payload.js';
import type { Blob, CellPayload } from './payload.js';
import { cellQueueName, putBlobs, reapStaleJobs } from './store.js';
import type { QueueStore } from './store.js';

export interface QueueRunnerOptions {
  /** The grid's name in job names, e.g. `sweep`. */
  grid: string;
  /** Seconds between looks at the queue (default 1). */
  pollSeconds?: number;
}

interface JobRow {
  id: string;
  state: string;
  retry_count: number;
  output: { message?: string; value?: { message?: string } } | null;
}

const sleep = (seconds: number) => new Promise((resolve) => setTimeout(resolve, seconds * 1000));

/** A CellRunner that sends the cells through the job queue in `store` and waits for the workers' results. */
export function queueCellRunner(store: QueueStore, options: QueueRunnerOptions): CellRunner {
  return async (context, data, cells, onResult) => {
    const say = (text: string) => context.reporter({ type: 'message', stage: 'queue', text });
    if (cells.length === 0) return;
    const dataHash = dataFingerprint(data);
    // Each distinct encoder, decoder and subset once, however many cells share it.
    const modelBlobs = new Map<LayersModel, Blob>();
    const blobs = new Map<string, Blob>();
    const keep = (blob: Blob) => {
      blobs.set(blob.hash, blob);
      return blob.hash;
    };
    const keepModel = async (model: LayersModel) => {
      if (!modelBlobs.has(model)) modelBlobs.set(model, await modelBlob(model));
      return keep(modelBlobs.get(model)!);
    };
    const payloads: CellPayload[] = [];
    for (const { job, autoencoder } of cells) {
      payloads.push(
        payloadFor(options.grid, job, context.config, dataHash, {
          encoder: await keepModel(autoencoder.encoder),
          decoder: await keepModel(autoencoder.decoder),
          indices: keep(indicesBlob(job.indices)),
          validationIndices: job.validationIndices === null ? null : keep(indicesBlob(job.validationIndices)),
        }),
      );
    }
    await putBlobs(store, [...blobs.values()]);
    const ids = payloads.map(jobId);
    const indexOf = new Map(ids.map((id, index) => [id, index]));
    const send = async (index: number) =>
      store.boss.send(cellQueueName, payloads[index]!, {
        id: ids[index]!,
        priority: Math.min(2 ** 30, Math.round(cells[index]!.work / 100)),
      });
    let created = 0;
    for (let index = 0; index < payloads.length; index += 1) if ((await send(index)) !== null) created += 1;
    // Cells that failed on an earlier attempt get another chance now that the grid is enqueued again.
    const failed = (await jobStates(store, ids)).filter((row) => row.state === 'failed').map((row) => row.id);
    for (const id of failed) await store.boss.retry(cellQueueName, id);
    say(
      `${cells.length} cells on the job queue at ${store.address}: ${created} enqueued now, ${cells.length - created} there already` +
        `${failed.length > 0 ? ` (${failed.length} failed before, retried)` : ''}`,
    );

    const pending = new Set(ids);
    const started = performance.now();
    let workAtStart = -1,
      workDone = 0;
    const totalWork = cells.reduce((sum, cell) => sum + cell.work, 0);
    let lastProgress = '';
    while (pending.size > 0) {
      if (context.shouldStop?.()) throw new InterruptedError('queue', 0);
      await reapStaleJobs(store);
      const results = await store.sql<{ job_id: string; result: SweepCell }>(
        'SELECT job_id, result FROM dae.results WHERE job_id = ANY($1::uuid[])',
        [[...pending]],
      );
      for (const { job_id: id, result } of results) {
        const index = indexOf.get(id)!;
        const { cell } = payloads[index]!;
        const extraDiffers = Object.entries(cell.extra ?? {}).some(
          ([key, value]) => (result as unknown as Record<string, unknown>)[key] !== value,
        );
        if (
          result.encoder !== cell.encoder ||
          result.labels !== cell.labels ||
          result.seed !== cell.seed ||
          extraDiffers
        ) {
          throw new QueueError(
            `the job queue at ${store.address} holds a result for job ${id} that is not cell ${payloads[index]!.name}`,
          );
        }
        pending.delete(id);
        workDone += cells[index]!.work;
        // Results already in the database when the coordinator (re)started do not count towards the speed.
        const rate = workAtStart < 0 ? 0 : (workDone - workAtStart) / ((performance.now() - started) / 1000);
        const remaining = totalWork - workDone;
        await onResult(result, index, rate > 0 ? remaining / rate : Number.NaN);
      }
      if (workAtStart < 0) workAtStart = workDone;
      if (pending.size === 0) break;
      const states = await jobStates(store, [...pending]);
      const dead = states.find((row) => row.state === 'failed' || row.state === 'cancelled');
      if (dead) {
        const reason = dead.output?.message ?? dead.output?.value?.message ?? 'no reason given';
        throw new QueueError(
          `cell ${payloads[indexOf.get(dead.id)!]!.name} ${dead.state} on the job queue after ${dead.retry_count + 1} tries: ${reason}`,
        );
      }
      // A job that vanished without a result (archived, or deleted by hand) is sent again.
      const present = new Set(states.map((row) => row.id));
      for (const id of pending) if (!present.has(id)) await send(indexOf.get(id)!);
      const { active, workers } = await liveWork(store, [...pending]);
      const progress = `${cells.length - pending.size}/${cells.length} cells done, ${active} in progress on ${workers} worker${workers === 1 ? '' : 's'}, ${pending.size - active} waiting`;
      if (progress !== lastProgress) say(progress);
      lastProgress = progress;
      await sleep(options.pollSeconds ?? 1);
    }
  };
}

/**
 * How many of the jobs `ids` a live worker is training, and how many live workers the whole queue has. A worker is
 * alive while its heartbeat is current and the connection it beats on is open: a killed worker's connection is gone
 * at once, while its heartbeat stays current for up to three beats, until its job is given up. (Heartbeats of a
 * worker that does not record its connection count until they run out.)
 */
async function liveWork(store: QueueStore, ids: string[]): Promise<{ active: number; workers: number }> {
  const [counts] = await store.sql<{ active: number; workers: number }>(
    `
    WITH alive AS (SELECT job_id, worker FROM dae.heartbeats
      WHERE expires_at >= now() AND (connection IS NULL OR connection IN (SELECT pid FROM pg_stat_activity)))
    SELECT (SELECT count(*) FROM pgboss.job WHERE name = $1 AND id = ANY($2::uuid[]) AND state = 'active' AND id IN (SELECT job_id FROM alive))::int AS active,
      (SELECT count(DISTINCT worker) FROM alive)::int AS workers`,
    [cellQueueName, ids],
  );
  return counts ?? { active: 0, workers: 0 };
}

/** pg-boss's record of each job (its own table; pg-boss 10's schema). */
async function jobStates(store: QueueStore, ids: string[]): Promise<JobRow[]> {
  return store.sql<JobRow>(
    'SELECT id, state, retry_count, output FROM pgboss.job WHERE name = $1 AND id = ANY($2::uuid[])',
    [cellQueueName, ids],
  );
}
