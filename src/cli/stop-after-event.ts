// A hook for crash tests (test/reliability.test.ts), read by the CLI only. A SIGKILL sent when the test reads a
// progress event lands wherever the run has got to by then, and how far that is depends on the machine's speed; a
// test that means to kill mid-epoch, or while the report is written, needs the run to wait there. With
// DAE_STOP_AFTER_EVENT set to a JSON pattern of an event, say
// {"type":"batch-end","stage":"pretrain","epoch":2,"batch":4}
// (nested objects match field by field: {"type":"epoch-end","record":{"epoch":1}}), the process prints its progress
// synchronously, and after printing the first event that matches it stops itself with SIGSTOP, every thread at
// once, until the test's SIGKILL arrives (or a SIGCONT lets it go on).
import { writeSync } from 'node:fs';
import { Writable } from 'node:stream';

import { ConfigError } from '../config.js';
import { quote } from '../quote.js';
import type { TrainingEvent } from '../train/events.js';

export const stopAfterEventVariable = 'DAE_STOP_AFTER_EVENT';

/** True when every field of `pattern` equals the same field of `value`, objects compared field by field. */
export function matchesPattern(pattern: unknown, value: unknown): boolean {
  if (pattern === null || typeof pattern !== 'object') return Object.is(pattern, value);
  if (value === null || typeof value !== 'object') return false;
  return Object.entries(pattern).every(([key, inner]) =>
    matchesPattern(inner, (value as Record<string, unknown>)[key]),
  );
}

/** The pattern in the environment, or null when the variable is not set. */
export function stopAfterEventPattern(environment: NodeJS.ProcessEnv): Record<string, unknown> | null {
  const text = environment[stopAfterEventVariable];
  if (text === undefined || text === '') return null;
  let pattern: unknown;
  try {
    pattern = JSON.parse(text);
  } catch {
    pattern = null;
  }
  if (pattern === null || typeof pattern !== 'object' || Array.isArray(pattern)) {
    throw new ConfigError(
      `${stopAfterEventVariable} must hold a JSON object such as {"type":"epoch-end"}, got ${quote(text)}; unset it for a normal run`,
    );
  }
  return pattern as Record<string, unknown>;
}

/**
 * A stream that has handed each chunk to the file descriptor before write() returns (its _write finishes
 * synchronously, so the stream never queues). process.stderr queues writes to a pipe in memory when the pipe is
 * full, and a process stopped with that queue unflushed would never show the test the event it stopped at.
 */
export function synchronousStream(fd: number): Writable {
  const pause = new Int32Array(new SharedArrayBuffer(4));
  return new Writable({
    write(chunk: Buffer, _encoding, done) {
      let bytes = chunk;
      while (bytes.length > 0) {
        try {
          bytes = bytes.subarray(writeSync(fd, bytes));
        } catch (error) {
          // The pipe is full (Node keeps it non-blocking): wait a millisecond for the reader, then try again.
          if ((error as NodeJS.ErrnoException).code !== 'EAGAIN') return done(error as Error);
          Atomics.wait(pause, 0, 0, 1);
        }
      }
      done();
    },
  });
}

/** Stops this process (SIGSTOP) after the first event that matches `pattern`; call it once the event is printed. */
export function stopAfterEvent(pattern: Record<string, unknown>): (event: TrainingEvent) => void {
  let stopped = false;
  return (event) => {
    if (stopped || !matchesPattern(pattern, event)) return;
    stopped = true;
    process.kill(process.pid, 'SIGSTOP');
  };
}
