#!/usr/bin/env node
// npm runs `prepare` after `npm ci` or `npm install` in this folder, and when packing, after prepack: both need dist/
// (the library and the CLI, tsc) and web/dist (the page, vite), which git does not hold: `npm run build`.
// When packing with DAE_REUSE_BUILD=1, the dist/ and web/dist already there are packed as they are: the tarball test
// sets it, because `npm test` has just built both, and building them again would replace files under the tests
// running beside it.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const built = existsSync(join(root, 'dist', 'src', 'cli.js')) && existsSync(join(root, 'web', 'dist', 'index.html'));
if (process.env.DAE_REUSE_BUILD === '1' && process.env.npm_command === 'pack' && built) {
  console.log('prepare: DAE_REUSE_BUILD=1: packing the dist/ and web/dist already built.');
} else {
  const npm = process.env.npm_execpath ? [process.execPath, [process.env.npm_execpath]] : ['npm', []];
  const result = spawnSync(npm[0], [...npm[1], 'run', 'build'], { cwd: root, stdio: 'inherit' });
  process.exit(result.status ?? 1);
}
