#!/usr/bin/env node
// `npm pack` and `npm publish` run this first (prepack): the prebuilt addons the package ships for the platform it
// is packed on (linux-x64 for the published package), in prebuildify's layout and tags, which node-gyp-build and
// src/backend/native/addon.ts read: prebuilds/<platform>-<arch>/<addon>.napi[.glibc|.musl].node.
// prebuildify itself builds and renames one addon per run (the first .node it finds); on x86-64 this package has
// four (three builds of the kernels and the CPU probe, binding.gyp), so this script takes its steps for all of them
// from one node-gyp build: compile, strip, copy under tagged names. It compiles in a copy of the sources
// (build/prebuild), never in build/Release, which tests or a running dae may be loading, and replaces each file by
// a rename. Nothing is compiled when every prebuilt file is newer than binding.gyp, native/ and the scripts.
import { spawnSync } from 'node:child_process';
import { copyFileSync, cpSync, existsSync, mkdirSync, readdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { findNodeGyp, nodeGypArguments } from './build-native.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const staging = join(root, 'build', 'prebuild');
const platform = `${process.platform}-${process.arch}`;
const output = join(root, 'prebuilds', platform);
// The targets binding.gyp builds here.
const addons = process.arch === 'x64' ? ['dae_cpu', 'dae_native_v4', 'dae_native_v3', 'dae_native_v1'] : ['dae_native'];
// prebuildify's tags: N-API, and on Linux the C library (node-gyp-build tells musl by /etc/alpine-release, as here).
const libc = existsSync('/etc/alpine-release') ? 'musl' : 'glibc';
const tags = process.platform === 'linux' ? ['napi', libc] : ['napi'];
const fileName = (addon) => [addon, ...tags, 'node'].join('.');

function fail(problem) {
  process.stderr.write(`prebuild: ${problem}\n`);
  process.exit(1);
}

function newestInput() {
  const inputs = [
    join(root, 'binding.gyp'),
    join(root, 'scripts', 'prebuild.mjs'),
    join(root, 'scripts', 'build-native.mjs'),
    ...readdirSync(join(root, 'native')).map((file) => join(root, 'native', file)),
  ];
  return Math.max(...inputs.map((path) => statSync(path).mtimeMs));
}

function upToDate() {
  const outputs = addons.map((addon) => join(output, fileName(addon)));
  if (!outputs.every((path) => existsSync(path))) return false;
  return Math.min(...outputs.map((path) => statSync(path).mtimeMs)) >= newestInput();
}

function run(command, args, cwd) {
  const result = spawnSync(command, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8' });
  if (result.status === 0) return;
  const text = `${result.stdout ?? ''}\n${result.stderr ?? ''}`;
  const firstError =
    text
      .split('\n')
      .find((line) => /error/i.test(line))
      ?.trim() ??
    result.error?.message ??
    `exit code ${result.status}`;
  fail(`${command} ${args.join(' ')} failed in ${cwd}: ${firstError}`);
}

if (upToDate()) {
  console.log(`prebuild: prebuilds/${platform} is newer than the native sources; nothing to compile.`);
  process.exit(0);
}
rmSync(staging, { recursive: true, force: true });
mkdirSync(staging, { recursive: true });
copyFileSync(join(root, 'binding.gyp'), join(staging, 'binding.gyp'));
cpSync(join(root, 'native'), join(staging, 'native'), { recursive: true });
const started = Date.now();
const [command, prefix] = findNodeGyp();
run(command, nodeGypArguments(prefix), staging);

mkdirSync(output, { recursive: true });
const shipped = new Set();
for (const addon of addons) {
  const built = join(staging, 'build', 'Release', `${addon}.node`);
  if (!existsSync(built)) fail(`node-gyp built no ${addon}.node: check binding.gyp's targets for ${platform}`);
  // As prebuildify --strip: the symbols are of no use to users and are most of the file.
  if (process.platform === 'linux') run('strip', ['--strip-all', built], staging);
  if (process.platform === 'darwin') run('strip', ['-Sx', built], staging);
  const target = join(output, fileName(addon));
  copyFileSync(built, `${target}.partial`);
  renameSync(`${target}.partial`, target);
  shipped.add(fileName(addon));
}
for (const stale of readdirSync(output).filter((file) => !shipped.has(file)))
  rmSync(join(output, stale), { force: true });
rmSync(staging, { recursive: true, force: true });
const sizes = [...shipped].map((file) => `${file} ${Math.round(statSync(join(output, file)).size / 1024)} KiB`);
console.log(`prebuild: prebuilds/${platform}: ${sizes.join(', ')} (${((Date.now() - started) / 1000).toFixed(0)} s)`);
