#!/usr/bin/env node
// Builds the native kernel addon with node-gyp during `npm ci`. A failed build must not fail the install:
// the project then runs on the portable `wasm` backend, and says so once, in one line.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const statusFile = join(root, 'build', 'native-status.json');

function findNodeGyp() {
  // npm passes the path of its bundled node-gyp to lifecycle scripts.
  if (process.env.npm_config_node_gyp && existsSync(process.env.npm_config_node_gyp)) {
    return [process.execPath, [process.env.npm_config_node_gyp]];
  }
  // Run by hand: the node-gyp that ships inside npm, next to this node binary.
  const bundled = join(dirname(process.execPath), '..', 'lib', 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js');
  if (existsSync(bundled)) return [process.execPath, [bundled]];
  try {
    const require = createRequire(import.meta.url);
    return [process.execPath, [require.resolve('node-gyp/bin/node-gyp.js')]];
  } catch {
    return ['node-gyp', []];
  }
}

if (process.env.DAE_SKIP_NATIVE === '1') {
  writeStatus({ built: false, reason: 'DAE_SKIP_NATIVE=1 was set' });
  console.log('dae-pretrain: native kernels skipped (DAE_SKIP_NATIVE=1); training will use the wasm backend.');
  process.exit(0);
}

const [command, prefix] = findNodeGyp();
// Build against the headers installed with this node (no download); npm passes its own nodedir setting.
const nodePrefix = join(dirname(process.execPath), '..');
const nodedir = process.env.npm_config_nodedir
  ?? (existsSync(join(nodePrefix, 'include', 'node', 'node_api.h')) ? nodePrefix : undefined);
const gypArguments = [...prefix, 'rebuild', '--release', ...(nodedir ? [`--nodedir=${nodedir}`] : [])];
const result = spawnSync(command, gypArguments, {
  cwd: root,
  stdio: ['ignore', 'pipe', 'pipe'],
  encoding: 'utf8',
});
if (result.status === 0) {
  writeStatus({ built: true });
} else {
  const output = `${result.stdout ?? ''}\n${result.stderr ?? ''}`;
  const firstError = output.split('\n').find((line) => /error/i.test(line))?.trim() ?? result.error?.message ?? 'unknown error';
  writeStatus({ built: false, reason: firstError });
  mkdirSync(join(root, 'build'), { recursive: true });
  writeFileSync(join(root, 'build', 'native-build.log'), output);
  console.log(`dae-pretrain: native kernels did not build (${firstError}); training will use the slower wasm backend. Log: build/native-build.log`);
}

function writeStatus(status) {
  mkdirSync(dirname(statusFile), { recursive: true });
  if (existsSync(statusFile)) rmSync(statusFile);
  writeFileSync(statusFile, JSON.stringify(status) + '\n');
}
