// Where the job queue lives: `embedded` (a PostgreSQL for this machine, started by dae) or a postgres:// URL.
// A URL may hold a password: it is only ever shown with the credentials replaced (redactedAddress).
import { printable, quote } from '../quote.js';

/** The queue cannot be reached or used; the message names the (redacted) address and says what to do. */
export class QueueError extends Error {
  override readonly name = 'QueueError';
}

export type QueueAddress = { kind: 'embedded' } | { kind: 'url'; url: string };

/** Reads `--queue`: `embedded`, or a postgres:// (postgresql://) URL. */
export function parseQueueAddress(value: string): QueueAddress {
  const text = value.trim();
  if (text === 'embedded') return { kind: 'embedded' };
  let parsed: URL;
  try {
    parsed = new URL(text);
  } catch {
    throw new QueueError(
      `--queue takes 'embedded' or a URL like postgres://user:password@host:5432/database, got ${quote(redactedAddress(text))}`,
    );
  }
  if (parsed.protocol !== 'postgres:' && parsed.protocol !== 'postgresql:') {
    throw new QueueError(
      `--queue: only PostgreSQL queues are supported (postgres://...), got a ${printable(parsed.protocol.replace(/:$/, ''), 20)}:// URL`,
    );
  }
  if (parsed.hostname === '') throw new QueueError(`--queue: the URL ${quote(redactedAddress(text))} names no host`);
  return { kind: 'url', url: text };
}

/** The address with any user name and password replaced by `***`, for messages and files. */
export function redactedAddress(text: string): string {
  try {
    const parsed = new URL(text);
    if (parsed.username !== '' || parsed.password !== '') {
      parsed.username = '***';
      parsed.password = '';
    }
    parsed.search = '';
    return parsed.toString();
  } catch {
    // Not a URL: drop anything that looks like user:password@.
    return text.replace(/\/\/[^@/]*@/, '//***@');
  }
}
