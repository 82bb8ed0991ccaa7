// A queue worker's heartbeat, on a thread of its own with its own database connection: the worker's JavaScript
// thread can be busy for a long stretch (a frozen cell computes every image's codes in one synchronous pass), and a
// heartbeat there would miss its beats and give away a cell that is still training. This thread dies with the
// process, so a killed worker stops beating at once.
import { parentPort, workerData } from 'node:worker_threads';

import pg from 'pg';

import type { HeartbeatMessage, HeartbeatSetup } from './heartbeat.js';

const port = parentPort;
if (port === null) throw new Error('heartbeat-thread.js runs as a worker thread of a queue worker, not on its own');
const { url, worker, seconds } = workerData as HeartbeatSetup;

let client: pg.Client | null = null;
let job: string | null = null;

/** The connection, opened again after an error (a restarted database, a dropped network). */
async function connection(): Promise<pg.Client> {
  if (client !== null) return client;
  const fresh = new pg.Client({ connectionString: url, application_name: 'dae heartbeat' });
  fresh.on('error', () => {
    if (client === fresh) client = null;
  });
  await fresh.connect();
  client = fresh;
  return fresh;
}

async function beat(): Promise<void> {
  if (job === null) return;
  await (
    await connection()
  ).query(
    `INSERT INTO dae.heartbeats (job_id, worker, expires_at, connection) VALUES ($1, $2, now() + $3 * interval '1 second', pg_backend_pid())
    ON CONFLICT (job_id) DO UPDATE SET worker = $2, expires_at = now() + $3 * interval '1 second', connection = pg_backend_pid()`,
    [job, worker, 3 * seconds],
  );
}

const timer = setInterval(() => {
  beat().catch(() => {
    client = null;
  });
}, seconds * 1000);

port.on('message', (message: HeartbeatMessage) => {
  const answer = async () => {
    if (message.type === 'start') {
      job = message.jobId;
      await beat();
    } else if (message.type === 'stop') {
      const finished = job;
      job = null;
      await (
        await connection()
      ).query('DELETE FROM dae.heartbeats WHERE job_id = $1 AND worker = $2', [finished, worker]);
    } else {
      // The worker terminates this thread once it has the answer.
      clearInterval(timer);
      await client?.end();
      client = null;
    }
  };
  answer().then(
    () => port.postMessage({ ok: true }),
    (error: unknown) => port.postMessage({ ok: false, error: (error as Error).message }),
  );
});
