// A queue worker: takes one cell at a time from the job queue, fetches what it names (the autoencoder's weights and
// the label subsets, by content hash), checks its own copy of the dataset against the job's hash, trains the cell
// exactly as a local sweep or ablation would (cells.ts), and stores the result. While it trains, a thread of its own
// renews a heartbeat;
// if the worker dies, the heartbeat runs out and the job goes back to the queue for another worker. Needs no
// shared filesystem.
import type PgBoss from 'pg-boss';

import { trainCell } from '../study/cell.js';
import type { ExperimentConfig } from '../config.js';
import { prepareData } from '../data/prepare.js';
import type { PreparedData } from '../data/prepare.js';
import type { CellJob } from '../study/jobs.js';
import type { SweepCell } from '../io/metrics.js';
import { joinAutoencoder } from '../model/autoencoder.js';
import type { Autoencoder } from '../model/autoencoder.js';
import type { Reporter } from '../train/events.js';
import { InterruptedError } from '../train/events.js';
import { QueueError } from './address.js';
import { Heartbeat } from './heartbeat.js';
import { dataFingerprint, indicesFromBlob, modelFromBlob, payloadFormat } from './payload.js';
import type { CellPayload } from './payload.js';
import { cellQueueName, getBlob, queueErrorFor, reapStaleJobs } from './store.js';
import type { QueueStore } from './store.js';

export interface QueueWorkerOptions {
  store: QueueStore;
  /** This worker's name in the queue, e.g. `host:pid`. */
  name: string;
  /** The backend settings this worker trains with (the job's own are the coordinator's). */
  backend: ExperimentConfig['backend'];
  /** This machine's copy of the dataset, for jobs whose config names a folder; default: the folder the job names. */
  dataDirectory: string | null;
  /** Seconds between heartbeats; a job is given up after three missed ones. */
  heartbeatSeconds: number;
  pollSeconds: number;
  /** Training progress of the cell in hand. */
  reporter: Reporter;
  /** One line about what the worker is doing. */
  say: (line: string) => void;
  shouldStop: () => boolean;
}

/** This worker's data differ from the job's, or it cannot read them: it refuses the job and stops. */
export class DataMismatchError extends QueueError {}

const sleep = (seconds: number) => new Promise((resolve) => setTimeout(resolve, seconds * 1000));

/** Trains cells from the queue until `shouldStop`; returns how many it finished. */
export async function runQueueWorker(options: QueueWorkerOptions): Promise<number> {
  const { store, say } = options;
  let data: { key: string; prepared: PreparedData; hash: string } | null = null;
  const autoencoders = new Map<string, Autoencoder>();
  let finished = 0,
    waiting = false,
    lost = false;
  const heartbeat = new Heartbeat({
    url: store.connectionString,
    worker: options.name,
    seconds: options.heartbeatSeconds,
  });

  const dataFor = async (payload: CellPayload): Promise<PreparedData> => {
    const dataConfig = {
      ...payload.config.data,
      directory:
        payload.config.data.directory === null ? null : (options.dataDirectory ?? payload.config.data.directory),
    };
    const config = { ...payload.config, data: dataConfig };
    const key = JSON.stringify([config.seed, dataConfig]);
    if (data?.key !== key) {
      data = null;
      let prepared: PreparedData;
      try {
        prepared = await prepareData(config);
      } catch (error) {
        throw new DataMismatchError(
          `this worker cannot read the dataset of ${payload.name} (${(error as Error).message}); give it its own copy with dae worker --data DIR`,
        );
      }
      data = { key, prepared, hash: dataFingerprint(prepared) };
    }
    if (data.hash !== payload.dataHash) {
      throw new DataMismatchError(
        `this worker's copy of the dataset (${dataConfig.directory ?? 'the embedded MNIST'}, hash ${data.hash.slice(0, 12)}) differs from the one ` +
          `${payload.name} was made from (hash ${payload.dataHash.slice(0, 12)}): give this worker the same files with --data DIR`,
      );
    }
    return data.prepared;
  };
  const autoencoderFor = async (blobs: CellPayload['blobs']): Promise<Autoencoder> => {
    const key = `${blobs.encoder}:${blobs.decoder}`;
    let autoencoder = autoencoders.get(key);
    if (autoencoder === undefined) {
      // A few autoencoders at most are in use at once (one per pretraining of an ablation): keep the last four.
      if (autoencoders.size >= 4) {
        const [oldest] = autoencoders;
        oldest![1].autoencoder.dispose();
        autoencoders.delete(oldest![0]);
      }
      autoencoder = joinAutoencoder(
        await modelFromBlob(await getBlob(store, blobs.encoder)),
        await modelFromBlob(await getBlob(store, blobs.decoder)),
      );
      autoencoders.set(key, autoencoder);
    }
    return autoencoder;
  };

  while (!options.shouldStop()) {
    let job: PgBoss.JobWithMetadata<CellPayload> | undefined;
    try {
      await reapStaleJobs(store);
      [job] = await store.boss.fetch<CellPayload>(cellQueueName, { includeMetadata: true });
      if (lost) say(`the job queue at ${store.address} answers again`);
      lost = false;
    } catch (error) {
      // The database restarted or the network dropped: keep trying, as a worker runs until it is stopped.
      if (!lost) say(`${queueErrorFor(store.address, error).message}; trying again every ${options.pollSeconds} s`);
      lost = true;
      await sleep(options.pollSeconds);
      continue;
    }
    if (job === undefined) {
      if (!waiting) say(`waiting for cells on ${store.address}`);
      waiting = true;
      await sleep(options.pollSeconds);
      continue;
    }
    waiting = false;
    const payload = job.data;
    const fetched = performance.now();
    try {
      await heartbeat.start(job.id);
      if (payload.format !== payloadFormat) {
        throw new QueueError(
          `job ${job.id} has payload format ${payload.format}, and this worker reads format ${payloadFormat}: run the same version of dae-pretrain everywhere`,
        );
      }
      const prepared = await dataFor(payload);
      const cellJob: CellJob = {
        ...payload.cell,
        budget: payload.budget,
        indices: indicesFromBlob(await getBlob(store, payload.blobs.indices)),
        validationIndices:
          payload.blobs.validationIndices === null
            ? null
            : indicesFromBlob(await getBlob(store, payload.blobs.validationIndices)),
      };
      const autoencoder = await autoencoderFor(payload.blobs);
      say(
        `training ${payload.name} (job ${job.id.slice(0, 8)}${job.retryCount > 0 ? `, try ${job.retryCount + 1}` : ''})`,
      );
      const trainingStarted = performance.now();
      const cell: SweepCell = await trainCell(
        {
          config: { ...payload.config, backend: options.backend },
          reporter: options.reporter,
          shouldStop: options.shouldStop,
        },
        prepared,
        autoencoder,
        cellJob,
      );
      const training = (performance.now() - trainingStarted) / 1000;
      await store.sql(
        'INSERT INTO dae.results (job_id, name, result, worker) VALUES ($1, $2, $3, $4) ON CONFLICT (job_id) DO NOTHING',
        [job.id, payload.name, JSON.stringify(cell), options.name],
      );
      await store.boss.complete(cellQueueName, job.id, { worker: options.name });
      finished += 1;
      // The queue's own work for this cell: fetching the blobs, checking the data, storing the result.
      const queueWork = (performance.now() - fetched) / 1000 - training;
      say(
        `done ${payload.name}: ${(100 * cell.accuracy).toFixed(2)}% in ${training.toFixed(2)} s, queue work ${queueWork.toFixed(3)} s (${finished} cell${finished === 1 ? '' : 's'} so far)`,
      );
    } catch (error) {
      // Put the job back (or, after its last try, mark it failed with the reason) before stopping or going on.
      const message = error instanceof Error ? error.message : String(error);
      await store.boss.fail(cellQueueName, job.id, { message: `${options.name}: ${message}` }).catch(() => {});
      if (error instanceof InterruptedError || error instanceof QueueError) throw error;
      say(`${payload.name} failed: ${message}`);
    } finally {
      await heartbeat.stop().catch(() => {});
    }
  }
  await heartbeat.close();
  for (const autoencoder of autoencoders.values()) autoencoder.autoencoder.dispose();
  return finished;
}
