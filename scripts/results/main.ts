// `npm run results`: the docs' numbers from results/, and results/ from runs.
//   npm run results                              regenerate README.md's and docs/'s tables, sentences and figures
//   npm run results -- --check                   change nothing; exit 1 if any of them differs from results/
//   npm run results -- collect study RUN_DIR...  a finished `dae experiment` folder per seed
//   npm run results -- collect sweep RUN_DIR     the folder `dae sweep` ran on
//   npm run results -- collect ablation RUN_DIR  the folder `dae ablate` ran on
//   npm run results -- collect bench FILE        the saved output of `npm run bench -- --json`
//   npm run results -- collect install SECONDS   how long `npm ci` took on a clean clone
// Collecting writes the small JSON files into results/ and then regenerates. Run it on the machine and checkout
// that made the runs: it records this machine's CPU, the commit and the kernels' build beside the numbers.
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { collectAblation, collectBench, collectInstall, collectStudy, collectSweep } from './collect.js';
import type { Collected } from './collect.js';
import { resultsFileName, resultsFolder, ResultsError } from './data.js';
import { generate } from './generate.js';

const usage = `usage: npm run results [-- --check]
       npm run results -- collect study RUN_DIR...
       npm run results -- collect sweep|ablation RUN_DIR
       npm run results -- collect bench FILE      (the output of npm run bench -- --json)
       npm run results -- collect install SECONDS (what \`time npm ci\` took on a clean clone)`;

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const print = (line: string) => process.stdout.write(`${line}\n`);
const warn = (line: string) => process.stderr.write(`results: warning: ${line}\n`);

class UsageError extends Error {}

/** Six significant digits are more than any table shows, and keep the files readable. */
const rounded = (_key: string, value: unknown) =>
  typeof value === 'number' && !Number.isInteger(value) ? Number(value.toPrecision(6)) : value;

async function collect(kind: string | undefined, sources: string[]): Promise<void> {
  if (sources.length === 0) throw new UsageError(`collect ${kind ?? ''}: name what to collect`);
  const one = (): string => {
    if (sources.length !== 1) throw new UsageError(`collect ${kind ?? ''}: expected one source, got ${sources.length}`);
    return sources[0]!;
  };
  const collected: Collected[] = [];
  if (kind === 'study') for (const source of sources) collected.push(await collectStudy(root, source));
  else if (kind === 'sweep') collected.push(await collectSweep(root, one()));
  else if (kind === 'ablation') collected.push(await collectAblation(root, one()));
  else if (kind === 'bench') collected.push(await collectBench(root, one()));
  else if (kind === 'install') collected.push(await collectInstall(root, Number(one())));
  else
    throw new UsageError(
      `collect: unknown kind ${JSON.stringify(kind ?? '')}; use study, sweep, ablation, bench or install`,
    );
  await mkdir(join(root, resultsFolder), { recursive: true });
  for (const { files, warnings } of collected) {
    for (const file of files) {
      const name = resultsFileName(file);
      await writeFile(join(root, resultsFolder, name), `${JSON.stringify(file, rounded, 2)}\n`);
      print(`wrote ${resultsFolder}/${name}`);
    }
    for (const warning of warnings) warn(warning);
  }
}

async function main(args: string[]): Promise<number> {
  const check = args[0] === '--check';
  if (args[0] === 'collect') await collect(args[1], args.slice(2));
  else if (args.length > (check ? 1 : 0)) throw new UsageError(`unknown arguments: ${args.join(' ')}`);
  const { differences, warnings } = await generate(root, { check });
  for (const warning of warnings) warn(warning);
  if (check) {
    if (differences.length === 0) return 0;
    process.stderr.write(
      `results: these differ from what results/ gives (run npm run results to regenerate them):\n` +
        differences.map((line) => `  ${line}\n`).join(''),
    );
    return 1;
  }
  print(
    differences.length === 0
      ? 'results: every table and figure is up to date'
      : `results: regenerated\n  ${differences.join('\n  ')}`,
  );
  return 0;
}

try {
  process.exitCode = await main(process.argv.slice(2));
} catch (error) {
  if (error instanceof UsageError) {
    process.stderr.write(`results: ${error.message}\n${usage}\n`);
    process.exitCode = 2;
  } else if (error instanceof ResultsError) {
    process.stderr.write(`results: ${error.message}\n`);
    process.exitCode = 1;
  } else {
    throw error;
  }
}
