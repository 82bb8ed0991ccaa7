// The child process of dae-cases.ts: runs the `dae` command lines it is sent on stdin (a JSON array of argument
// lists) one after the other in this process, through the CLI's own main(), and answers each on file descriptor 3
// with a JSON line: its exit code, what it wrote to stdout and stderr, and the paths it left in the working folder
// that were not there before it.
import { readdirSync, writeSync } from 'node:fs';
import { join } from 'node:path';

import { main } from '../../src/cli/main.js';

/** Every path under `folder`, relative to it, folders marked with a trailing slash. */
function listing(folder: string, prefix = ''): string[] {
  const entries = readdirSync(join(folder, prefix), { withFileTypes: true });
  return entries.flatMap((entry) => {
    const path = join(prefix, entry.name);
    return entry.isDirectory() ? [`${path}/`, ...listing(folder, path)] : [path];
  });
}

/** Runs `dae ...args` here; what it writes to stdout and stderr is caught, not shown. */
async function runOne(args: string[]) {
  const written = { stdout: '', stderr: '' };
  const writers = { stdout: process.stdout.write, stderr: process.stderr.write };
  const catching = (stream: 'stdout' | 'stderr') =>
    ((chunk: string | Uint8Array, ...rest: unknown[]) => {
      written[stream] += typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8');
      const callback = rest.find((item) => typeof item === 'function') as (() => void) | undefined;
      callback?.();
      return true;
    }) as typeof process.stdout.write;
  process.exitCode = 0;
  process.stdout.write = catching('stdout');
  process.stderr.write = catching('stderr');
  let status: number;
  try {
    await main([process.execPath, 'dae', ...args]);
    status = Number(process.exitCode ?? 0);
  } catch (error) {
    // What node does with an error no one caught: its stack on stderr, exit code 1.
    written.stderr += `${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`;
    status = 1;
  } finally {
    process.stdout.write = writers.stdout;
    process.stderr.write = writers.stderr;
    process.exitCode = 0;
  }
  return { status, ...written };
}

const input: string[] = [];
for await (const chunk of process.stdin) input.push(String(chunk));
const cases = JSON.parse(input.join('')) as string[][];
for (const [index, args] of cases.entries()) {
  const before = new Set(listing(process.cwd()));
  const answer = await runOne(args);
  const created = listing(process.cwd()).filter((path) => !before.has(path));
  writeSync(3, `${JSON.stringify({ index, ...answer, created })}\n`);
}
