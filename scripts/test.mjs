#!/usr/bin/env node
// `npm test`'s last step: node --test over the files named on the command line, the spec reporter on the terminal and
// beside it scripts/skipped-tests-reporter.mjs, which notes every skipped test. A skipped test passes without a word
// from the runner but its summary count, which is how checks have stopped running here unnoticed; so the suite fails
// on any skip but those allowed below: tests that need hardware this machine lacks, whose reason names it. Exits with
// node --test's own code when that is not 0, else 1 for a skip not allowed, else 0.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

/** The skips allowed: the test file's name and the skip's reason, which must name the missing hardware. */
const allowedSkips = [
  // One test per x86-64 build of the native kernels; a CPU runs only the levels its instruction sets allow.
  {
    file: 'native-variants.test.js',
    reason: /^needs (AVX-512 \(x86-64-v4\)|AVX2 \+ FMA \(x86-64-v3\)|an x86-64 CPU)$/,
  },
];

const files = process.argv.slice(2);
if (files.length === 0) {
  console.error('usage: node scripts/test.mjs FILE.test.js ...');
  process.exit(2);
}
const reporter = pathToFileURL(join(dirname(fileURLToPath(import.meta.url)), 'skipped-tests-reporter.mjs')).href;
const folder = mkdtempSync(join(tmpdir(), 'dae-test-skips-'));
const skipsFile = join(folder, 'skips.jsonl');

const child = spawn(
  process.execPath,
  [
    '--test',
    '--test-reporter=spec',
    '--test-reporter-destination=stdout',
    `--test-reporter=${reporter}`,
    `--test-reporter-destination=${skipsFile}`,
    ...files,
  ],
  { stdio: 'inherit' },
);
// Ctrl-C reaches the child with the terminal's process group; a SIGTERM sent to this process alone is passed on.
process.on('SIGTERM', () => child.kill('SIGTERM'));
const [code, signal] = await new Promise((resolve) => child.on('close', (...exit) => resolve(exit)));

const skips = existsSync(skipsFile)
  ? readFileSync(skipsFile, 'utf8')
      .split('\n')
      .filter((line) => line !== '')
      .map((line) => JSON.parse(line))
  : null;
rmSync(folder, { recursive: true, force: true });
if (code !== 0) process.exit(code ?? 1);
if (skips === null) {
  console.error(`scripts/test.mjs: node --test ended (${signal ?? code}) without its skip report`);
  process.exit(1);
}
const allowed = (skip) =>
  allowedSkips.some((entry) => basename(skip.file) === entry.file && entry.reason.test(skip.reason));
const describe = (skip) =>
  `  ${basename(skip.file)}: ${skip.name}${skip.reason === '' ? ' (no reason given)' : ` # ${skip.reason}`}`;
const refused = skips.filter((skip) => !allowed(skip));
const excused = skips.filter(allowed);
if (excused.length > 0)
  console.log(`\n${excused.length} skipped for hardware this machine lacks:\n${excused.map(describe).join('\n')}`);
if (refused.length > 0) {
  console.error(
    `\n${refused.length} skipped test(s) not on the allow-list in scripts/test.mjs (only missing hardware may skip):\n${refused.map(describe).join('\n')}`,
  );
  process.exit(1);
}
console.log(skips.length === 0 ? '\nskipped: none' : `\nskipped: ${skips.length}, all for missing hardware`);
