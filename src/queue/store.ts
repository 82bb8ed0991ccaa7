// The queue's database: pg-boss's job queue (schema `pgboss`) for the cells, and three small tables of our own
// (schema `dae`): blobs by content hash, results by job id, and the heartbeats of jobs being worked on.
import PgBoss from 'pg-boss';

import { printable } from '../quote.js';
import { QueueError, redactedAddress } from './address.js';

/** The one queue every grid's cells go to. */
export const cellQueueName = 'dae-cells';

/** Retries of a job whose worker died or refused it, before it is marked failed. */
export const retryLimit = 5;

export interface QueueStore {
  boss: PgBoss;
  /** The address with its credentials removed, for messages. */
  address: string;
  /** The full URL, credentials included: for connections of this process's own threads only, never to be shown. */
  connectionString: string;
  sql<Row>(text: string, values?: unknown[]): Promise<Row[]>;
  close(): Promise<void>;
}

const schema = `
  BEGIN;
  SELECT pg_advisory_xact_lock(740214);
  CREATE SCHEMA IF NOT EXISTS dae;
  CREATE TABLE IF NOT EXISTS dae.blobs (hash text PRIMARY KEY, bytes bytea NOT NULL);
  CREATE TABLE IF NOT EXISTS dae.results (job_id uuid PRIMARY KEY, name text NOT NULL, result jsonb NOT NULL, worker text NOT NULL,
    finished_at timestamptz NOT NULL DEFAULT now());
  CREATE TABLE IF NOT EXISTS dae.heartbeats (job_id uuid PRIMARY KEY, worker text NOT NULL, expires_at timestamptz NOT NULL);
  -- The server process of the connection the heartbeat is sent on, which is gone the moment its worker dies.
  ALTER TABLE dae.heartbeats ADD COLUMN IF NOT EXISTS connection integer;
  COMMIT;`;

/** Turns a driver error into one line that names the (redacted) address and says what to check. */
export function queueErrorFor(address: string, error: unknown): QueueError {
  const { code, message } = error as { code?: string; message?: string };
  const detail =
    code === 'ECONNREFUSED'
      ? 'connection refused: is PostgreSQL running there, on that port?'
      : code === 'ENOTFOUND' || code === 'EAI_AGAIN'
        ? 'unknown host: check the host name'
        : code === 'ETIMEDOUT' || /timeout/i.test(message ?? '')
          ? 'no answer in time: check the host, the port and any firewall'
          : code === '28P01' || code === '28000'
            ? 'the user name or password was refused'
            : code === '3D000'
              ? 'that database does not exist: create it (createdb) or name another'
              : code === '42501'
                ? 'the user may not create tables there: grant it CREATE on the database'
                : (message ?? String(error)).split('\n')[0];
  return new QueueError(`the job queue at ${printable(address)} cannot be used: ${printable(detail ?? '')}`);
}

/** Connects to the queue's database, installing pg-boss's and our tables if they are missing. */
export async function openQueueStore(
  url: string,
  options: { onError?: (error: QueueError) => void } = {},
): Promise<QueueStore> {
  const address = redactedAddress(url);
  const boss = new PgBoss({
    connectionString: url,
    application_name: 'dae',
    max: 4,
    schedule: false,
    // Jobs are given up by their heartbeats (see worker.ts); pg-boss's own expiry (at most 24 h) is only a backstop.
    expireInHours: 23,
    retryLimit,
    retryDelay: 0,
    connectionTimeoutMillis: 10_000,
  } as PgBoss.ConstructorOptions);
  boss.on('error', (error) => options.onError?.(queueErrorFor(address, error)));
  try {
    await boss.start();
    await boss.getDb().executeSql(schema, []);
    if ((await boss.getQueue(cellQueueName)) === null) {
      await boss.createQueue(cellQueueName, {
        name: cellQueueName,
        retryLimit,
        retryDelay: 0,
        expireInSeconds: 23 * 3600,
      });
    }
  } catch (error) {
    await boss.stop({ graceful: false, wait: true, close: true }).catch(() => {});
    throw error instanceof QueueError ? error : queueErrorFor(address, error);
  }
  return {
    boss,
    address,
    connectionString: url,
    sql: async <Row>(text: string, values: unknown[] = []) =>
      (await boss.getDb().executeSql(text, values)).rows as Row[],
    close: () => boss.stop({ graceful: false, wait: true, close: true }),
  };
}

/** Stores blobs not stored yet. */
export async function putBlobs(
  store: QueueStore,
  blobs: readonly { hash: string; bytes: Uint8Array }[],
): Promise<void> {
  for (const { hash, bytes } of blobs) {
    await store.sql('INSERT INTO dae.blobs (hash, bytes) VALUES ($1, $2) ON CONFLICT (hash) DO NOTHING', [
      hash,
      Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength),
    ]);
  }
}

export async function getBlob(store: QueueStore, hash: string): Promise<Uint8Array> {
  const rows = await store.sql<{ bytes: Buffer }>('SELECT bytes FROM dae.blobs WHERE hash = $1', [hash]);
  if (rows[0] === undefined)
    throw new QueueError(
      `the job queue at ${store.address} has no blob ${hash.slice(0, 12)}: re-enqueue the grid from its run folder`,
    );
  return new Uint8Array(rows[0].bytes);
}

/**
 * Gives up the jobs whose workers stopped sending heartbeats (killed, or cut off): pg-boss puts each back in the
 * queue for another worker (or marks it failed after `retryLimit` tries). Any process connected to the queue
 * may call it; it returns how many jobs it gave up.
 */
export async function reapStaleJobs(store: QueueStore): Promise<number> {
  const stale = await store.sql<{ job_id: string }>(
    'DELETE FROM dae.heartbeats WHERE expires_at < now() RETURNING job_id',
  );
  for (const { job_id: id } of stale)
    await store.boss.fail(cellQueueName, id, { message: 'its worker stopped sending heartbeats' });
  return stale.length;
}
