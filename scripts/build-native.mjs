#!/usr/bin/env node
// The install script: builds the native kernel addon with node-gyp (binding.gyp). In a git checkout (`npm ci` here)
// it always compiles. An installed package carries prebuilt addons (prebuilds/, made by scripts/prebuild.mjs at pack
// time): when one of them loads on this machine nothing is compiled, unless `--build-from-source` is given
// (npm_config_build_from_source). A failed build must not fail the install: the project then runs on the portable
// `wasm` backend, and says so once, in one line.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const statusFile = join(root, 'build', 'native-status.json');

export function findNodeGyp() {
  // npm passes the path of its bundled node-gyp to lifecycle scripts.
  if (process.env.npm_config_node_gyp && existsSync(process.env.npm_config_node_gyp)) {
    return [process.execPath, [process.env.npm_config_node_gyp]];
  }
  // Run by hand: the node-gyp that ships inside npm, next to this node binary.
  const bundled = join(
    dirname(process.execPath),
    '..',
    'lib',
    'node_modules',
    'npm',
    'node_modules',
    'node-gyp',
    'bin',
    'node-gyp.js',
  );
  if (existsSync(bundled)) return [process.execPath, [bundled]];
  try {
    const require = createRequire(import.meta.url);
    return [process.execPath, [require.resolve('node-gyp/bin/node-gyp.js')]];
  } catch {
    return ['node-gyp', []];
  }
}

/** node-gyp's arguments for a release build of every target, against this node's own headers when it has them. */
export function nodeGypArguments(prefix) {
  // Build against the headers installed with this node (no download); npm passes its own nodedir setting.
  const nodePrefix = join(dirname(process.execPath), '..');
  const nodedir =
    process.env.npm_config_nodedir ??
    (existsSync(join(nodePrefix, 'include', 'node', 'node_api.h')) ? nodePrefix : undefined);
  // On x86-64 there are four targets (three builds of the kernels and the CPU probe): compile them side by side.
  const jobs = process.env.npm_config_jobs ?? process.env.JOBS ?? 'max';
  return [...prefix, 'rebuild', '--release', `--jobs=${jobs}`, ...(nodedir ? [`--nodedir=${nodedir}`] : [])];
}

/** The addon that loads here without compiling (a prebuilt one, in an installed package), or null. */
function loadableWithoutBuilding() {
  const loader = join(root, 'dist', 'src', 'backend', 'native', 'addon.js');
  if (!existsSync(loader)) return null;
  // In a child process, so that an addon that crashes its process cannot take the install with it.
  const probe = `import(${JSON.stringify(pathToFileURL(loader).href)}).then(({ loadNativeAddon }) => {
    const loaded = loadNativeAddon();
    process.stdout.write(JSON.stringify(loaded.addon ? { variant: loaded.variant, origin: loaded.origin } : null));
  });`;
  const result = spawnSync(process.execPath, ['--input-type=module', '-e', probe], { encoding: 'utf8' });
  if (result.status !== 0) return null;
  try {
    return JSON.parse(result.stdout);
  } catch {
    return null;
  }
}

function writeStatus(status) {
  mkdirSync(dirname(statusFile), { recursive: true });
  if (existsSync(statusFile)) rmSync(statusFile);
  writeFileSync(statusFile, JSON.stringify(status) + '\n');
}

function main() {
  if (process.env.DAE_SKIP_NATIVE === '1') {
    writeStatus({ built: false, reason: 'DAE_SKIP_NATIVE=1 was set' });
    console.log(
      'dae-pretrain: native kernels not compiled (DAE_SKIP_NATIVE=1); training will use a prebuilt addon if one fits, else the wasm backend.',
    );
    return;
  }
  const fromSource = process.env.npm_config_build_from_source === 'true' || existsSync(join(root, '.git'));
  const loadable = fromSource ? null : loadableWithoutBuilding();
  if (loadable) {
    const which = loadable.origin === 'prebuilt' ? 'prebuilt native kernels' : 'native kernels compiled here before';
    console.log(`dae-pretrain: using the ${which} (${loadable.variant} build); nothing to compile.`);
    return;
  }

  const [command, prefix] = findNodeGyp();
  const result = spawnSync(command, nodeGypArguments(prefix), {
    cwd: root,
    stdio: ['ignore', 'pipe', 'pipe'],
    encoding: 'utf8',
  });
  if (result.status === 0) {
    writeStatus({ built: true });
  } else {
    const output = `${result.stdout ?? ''}\n${result.stderr ?? ''}`;
    const firstError =
      output
        .split('\n')
        .find((line) => /error/i.test(line))
        ?.trim() ??
      result.error?.message ??
      'unknown error';
    writeStatus({ built: false, reason: firstError });
    mkdirSync(join(root, 'build'), { recursive: true });
    writeFileSync(join(root, 'build', 'native-build.log'), output);
    console.log(
      `dae-pretrain: native kernels did not build (${firstError}); training will use a prebuilt addon if one fits, else the slower wasm backend. Log: build/native-build.log`,
    );
  }
}

// Run as the install script; scripts/prebuild.mjs imports the node-gyp helpers above.
if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) main();
