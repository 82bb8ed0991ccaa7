// Where and on what a result was measured: this machine, the package, the checkout's commit and Node. The collector
// adds it to every file it writes, so run the collector on the machine and checkout that made the run.
import { execFileSync } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { availableParallelism, cpus, platform, arch, totalmem } from 'node:os';
import { join } from 'node:path';

import type { Provenance } from './data.js';

/** The files whose changes would change what a run measures; a checkout that differs there is marked modified. */
const measuredSources = [
  'src',
  'native',
  'bench',
  'binding.gyp',
  'package.json',
  'package-lock.json',
  'scripts/build-native.mjs',
];

const git = (root: string, args: string[]) =>
  execFileSync('git', ['-C', root, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();

export interface MeasuredRun {
  /** What ran the kernels, e.g. 'native backend (avx512 kernels, x86-64-v4 build, from source), 2 threads'. */
  kernels: string;
  measuredAt: string;
  command: string;
}

/** The provenance of a run made here, and warnings about what the collector cannot vouch for. */
export async function provenanceOf(
  root: string,
  run: MeasuredRun,
): Promise<{ provenance: Provenance; warnings: string[] }> {
  const warnings: string[] = [];
  const manifest = JSON.parse(await readFile(join(root, 'package.json'), 'utf8')) as { name: string; version: string };
  let commit = 'unknown';
  let modified = false;
  try {
    commit = git(root, ['rev-parse', 'HEAD']);
    modified = git(root, ['status', '--porcelain', '--untracked-files=no', '--', ...measuredSources]) !== '';
    const committedAt = git(root, ['show', '-s', '--format=%cI', 'HEAD']);
    if (Date.parse(committedAt) > Date.parse(run.measuredAt)) {
      warnings.push(
        `the checkout's commit ${commit.slice(0, 10)} (${committedAt}) is newer than the run (${run.measuredAt}): ` +
          'was the run made with this commit? Collect right after running, on the same checkout',
      );
    }
  } catch {
    warnings.push('not a git checkout: the commit is recorded as unknown');
  }
  if (modified) warnings.push(`the checkout's code differs from commit ${commit.slice(0, 10)}: recorded as modified`);
  return {
    provenance: {
      machine: {
        cpu: cpus()[0]?.model.trim() ?? 'unknown',
        cores: availableParallelism(),
        memoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
        platform: `${platform()} ${arch()}`,
      },
      build: {
        package: `${manifest.name} ${manifest.version}`,
        commit,
        modified,
        kernels: run.kernels,
        node: process.version,
      },
      measuredAt: run.measuredAt,
      command: run.command,
    },
    warnings,
  };
}

/** The backend that ran, as one string: 'native backend (avx2 kernels, ...), 2 threads'. */
export function kernelsOf(backend: { name: string; detail?: string | null; threads: number }): string {
  return `${backend.name} backend${backend.detail ? ` (${backend.detail})` : ''}, ${backend.threads} thread${backend.threads === 1 ? '' : 's'}`;
}
