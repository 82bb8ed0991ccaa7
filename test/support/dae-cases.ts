// Many `dae` command lines that should each be refused, run quickly: in one child process (dae-cases-child.ts) that
// runs them one after the other through the CLI's main(), instead of one node process each, which would cost a
// second of start-up apiece. A command line that gives no answer within `seconds` has its child killed and is
// answered as timed out; the rest go on in a new child. The child's working folder is `cwd`, and it sees no queue of
// this machine: DAE_QUEUE is unset and DAE_QUEUE_HOME is a folder of its own.
import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { extname, join } from 'node:path';
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import assert from 'node:assert/strict';

export interface DaeAnswer {
  args: string[];
  /** The exit code dae set, or null when it timed out or its process died. */
  status: number | null;
  stdout: string;
  stderr: string;
  /** Paths under the working folder that were not there before the command (folders end with a slash). */
  created: string[];
  /** Why there is no answer: it gave none within the time allowed, or the child process died. */
  failure?: string;
}

const child = fileURLToPath(new URL(`./dae-cases-child${extname(fileURLToPath(import.meta.url))}`, import.meta.url));

/** Runs each of `cases` (dae's arguments) in turn, in `cwd`; each must answer within `seconds`. */
export async function runDaeCases(
  cases: readonly string[][],
  options: { cwd: string; seconds?: number; env?: NodeJS.ProcessEnv },
): Promise<DaeAnswer[]> {
  const seconds = options.seconds ?? 20;
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    DAE_QUEUE_HOME: mkdtempSync(join(tmpdir(), 'dae-cases-queue-')),
    ...options.env,
  };
  delete env['DAE_QUEUE'];
  // Under node --import tsx the child needs the same loader; node --test's own flags are not for it.
  const execArgv = process.execArgv.filter((flag) => !flag.startsWith('--test'));
  const answers: DaeAnswer[] = [];
  while (answers.length < cases.length) {
    const start = answers.length;
    const batch = cases.slice(start);
    const worker = spawn(process.execPath, [...execArgv, child], {
      cwd: options.cwd,
      env,
      stdio: ['pipe', 'pipe', 'pipe', 'pipe'],
    });
    let output = '';
    const collect = (chunk: Buffer) => {
      output = (output + chunk.toString('utf8')).slice(-4000);
    };
    worker.stdout.on('data', collect);
    worker.stderr.on('data', collect);
    worker.stdin.end(JSON.stringify(batch));
    const exited = new Promise<void>((resolve) => worker.on('close', () => resolve()));
    const lines = createInterface({ input: worker.stdio[3] as Readable })[Symbol.asyncIterator]();
    for (let index = start; index < cases.length; index += 1) {
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<'timeout'>((resolve) => {
        timer = setTimeout(() => resolve('timeout'), seconds * 1000);
      });
      const next = await Promise.race([lines.next(), timeout]);
      clearTimeout(timer);
      const args = cases[index]!;
      if (next === 'timeout' || next.done) {
        worker.kill('SIGKILL');
        await exited;
        const failure =
          next === 'timeout' ? `no answer within ${seconds} s` : `the process running it died: ${output.trim()}`;
        answers.push({ args, status: null, stdout: '', stderr: '', created: [], failure });
        break;
      }
      const answer = JSON.parse(next.value) as Omit<DaeAnswer, 'args'> & { index: number };
      assert.equal(answer.index, index - start, 'answers came out of order');
      answers.push({
        args,
        status: answer.status,
        stdout: answer.stdout,
        stderr: answer.stderr,
        created: answer.created,
      });
    }
    // A refused command must leave nothing running: a real dae would not exit while it does.
    let timer: NodeJS.Timeout | undefined;
    const lingering = await Promise.race([
      exited.then(() => false),
      new Promise<boolean>((resolve) => {
        timer = setTimeout(() => resolve(true), seconds * 1000);
      }),
    ]);
    clearTimeout(timer);
    if (lingering) {
      worker.kill('SIGKILL');
      await exited;
      assert.fail(
        `something these commands opened kept their process alive after the last one answered: ${shown(answers.at(-1)!)}`,
      );
    }
  }
  return answers;
}

/** How `dae` showed an answer, for assertion messages. */
export const shown = (answer: DaeAnswer) =>
  `dae ${answer.args.map((arg) => (arg.length > 80 ? `${arg.slice(0, 77)}...` : arg)).join(' ')} -> ` +
  `${answer.failure ?? `exit ${answer.status}`}\n${answer.stderr}`;

/**
 * The house rule for bad input: exactly one line on stderr, starting `dae: `, exit code 1 or 2 (`status` if given),
 * nothing left in the working folder, and an answer in time.
 */
export function assertRefused(answer: DaeAnswer, status?: 1 | 2): void {
  assert.equal(answer.failure, undefined, shown(answer));
  if (status === undefined) assert.ok(answer.status === 1 || answer.status === 2, shown(answer));
  else assert.equal(answer.status, status, shown(answer));
  const lines = answer.stderr.split('\n');
  assert.equal(lines.length, 2, `not one line:\n${shown(answer)}`);
  assert.equal(lines[1], '', `not one line:\n${shown(answer)}`);
  assert.match(lines[0]!, /^dae: \S/, shown(answer));
  assert.deepEqual(answer.created, [], `left behind:\n${shown(answer)}`);
}
