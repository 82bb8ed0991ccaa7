// Opening the queue that `--queue` names, for a coordinator or a worker.
import { parseQueueAddress } from './address.js';
import { findEmbeddedQueue, openEmbeddedQueue } from './embedded.js';
import { openQueueStore } from './store.js';
import type { QueueStore } from './store.js';

export interface OpenQueue {
  store: QueueStore;
  /** `embedded`, or the URL without its credentials: what to tell workers to connect to. */
  workerAddress: string;
  /** Closes the connection, and stops the embedded database if no other coordinator uses it. */
  close(): Promise<void>;
}

/**
 * Connects to the queue `value` names. A coordinator with `embedded` starts this machine's embedded PostgreSQL
 * unless one is running; a worker with `embedded` connects to the one running.
 */
export async function openQueue(
  value: string,
  role: 'coordinator' | 'worker',
  onError?: (error: Error) => void,
): Promise<OpenQueue> {
  const address = parseQueueAddress(value);
  const reachable = async (url: string) => {
    try {
      await (await openQueueStore(url)).close();
      return true;
    } catch {
      return false;
    }
  };
  const embedded =
    address.kind === 'embedded'
      ? role === 'coordinator'
        ? await openEmbeddedQueue(reachable)
        : { url: await findEmbeddedQueue(), stop: async () => {} }
      : null;
  const url = embedded?.url ?? (address.kind === 'url' ? address.url : '');
  try {
    const store = await openQueueStore(url, onError ? { onError } : {});
    return {
      store,
      workerAddress: embedded ? 'embedded' : store.address,
      close: async () => {
        await store.close();
        await embedded?.stop();
      },
    };
  } catch (error) {
    await embedded?.stop();
    throw error;
  }
}
