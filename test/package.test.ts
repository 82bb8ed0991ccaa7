// The package as a user installs it: `npm pack`, then the tarball installed into an empty project offline with
// install scripts disabled, where `dae experiment --preset tiny` runs on the prebuilt native kernels, the library
// imports, and `dae serve` serves the page; then the install script, allowed, finds nothing to compile.
import { test } from 'node:test';
import type { TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import type { SpawnSyncReturns } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { EstimateRecord } from '../src/cli/estimate-log.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
const npx = process.platform === 'win32' ? 'npx.cmd' : 'npx';

interface LockEntry {
  dev?: boolean;
  [key: string]: unknown;
}

function run(
  command: string,
  args: string[],
  cwd: string,
  env: NodeJS.ProcessEnv = {},
  timeout = 300_000,
): SpawnSyncReturns<string> {
  const result = spawnSync(command, args, { cwd, encoding: 'utf8', timeout, env: { ...process.env, ...env } });
  const output = `${result.stdout}\n${result.stderr}`.trim();
  assert.equal(
    result.status,
    0,
    `${command} ${args.join(' ')} in ${cwd} failed (${result.error?.message ?? `exit ${result.status}`}):\n${output.slice(-3000)}`,
  );
  return result;
}

/**
 * The user's project: the tarball as its one dependency, and a lockfile that pins the tarball's own dependencies
 * to the versions in this repository's lockfile (its entries that are not dev-only, at the same paths: the
 * dependencies of the package root are hoisted the same way). npm ci fetched exactly those tarballs into npm's cache,
 * but not the registry's version lists that resolving them anew would need, so this is what lets the install run
 * offline; what is tested is the tarball, not npm's resolution.
 */
async function writeUserProject(directory: string, tarball: string): Promise<void> {
  const manifest = JSON.parse(await readFile(join(root, 'package.json'), 'utf8')) as Record<string, unknown>;
  const lock = JSON.parse(await readFile(join(root, 'package-lock.json'), 'utf8')) as {
    packages: Record<string, LockEntry>;
  };
  const dependency = `file:${tarball}`;
  const packages: Record<string, unknown> = {
    '': { name: 'user-project', version: '1.0.0', dependencies: { 'dae-pretrain': dependency } },
    'node_modules/dae-pretrain': {
      version: manifest['version'],
      resolved: dependency,
      hasInstallScript: true,
      license: manifest['license'],
      dependencies: manifest['dependencies'],
      optionalDependencies: manifest['optionalDependencies'],
      bin: manifest['bin'],
      engines: manifest['engines'],
    },
  };
  for (const [path, entry] of Object.entries(lock.packages)) {
    if (path !== '' && !entry.dev) packages[path] = entry;
  }
  await writeFile(
    join(directory, 'package.json'),
    JSON.stringify(
      {
        name: 'user-project',
        version: '1.0.0',
        private: true,
        type: 'module',
        dependencies: { 'dae-pretrain': dependency },
      },
      null,
      2,
    ),
  );
  await writeFile(
    join(directory, 'package-lock.json'),
    JSON.stringify(
      {
        name: 'user-project',
        version: '1.0.0',
        lockfileVersion: 3,
        requires: true,
        packages,
      },
      null,
      2,
    ),
  );
}

/**
 * Starts `dae serve` and resolves with the URL it prints on stdout, and a function that stops it. npx runs dae in a
 * process of its own, so the stop signal goes to the whole process group.
 */
function startServe(cwd: string, runDirectory: string): Promise<{ url: string; stop: () => Promise<void> }> {
  return new Promise((resolve, reject) => {
    const child = spawn(npx, ['--offline', 'dae', 'serve', runDirectory, '--port', '0'], {
      cwd,
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    // 'close' comes when every process of the group has let go of the pipes.
    const closed = new Promise<void>((done) => child.once('close', () => done()));
    const signalGroup = (signal: NodeJS.Signals) => {
      try {
        process.kill(-child.pid!, signal);
      } catch {
        // The group has already exited.
      }
    };
    const stop = async () => {
      signalGroup('SIGTERM');
      const timer = setTimeout(() => signalGroup('SIGKILL'), 10_000);
      await closed;
      clearTimeout(timer);
    };
    let stdout = '';
    let stderr = '';
    const timer = setTimeout(() => {
      void stop();
      reject(new Error(`dae serve printed no URL in 60 s: ${stderr}`));
    }, 60_000);
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      const url = /http:\/\/127\.0\.0\.1:\d+\//.exec(stdout)?.[0];
      if (url) {
        clearTimeout(timer);
        resolve({ url, stop });
      }
    });
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`dae serve exited (${code}) before serving: ${stderr}`));
    });
  });
}

test(
  'the packed tarball installs offline without install scripts and runs on its prebuilt kernels',
  { timeout: 900_000 },
  async (t: TestContext) => {
    const directory = await mkdtemp(join(tmpdir(), 'dae-package-'));
    try {
      // prepack compiles the prebuilt addons unless they are newer than the native sources; npm test has just built
      // dist/ and web/dist, which DAE_REUSE_BUILD=1 packs as they are (see scripts/prepare.mjs).
      run(npm, ['pack', '--pack-destination', directory], root, { DAE_REUSE_BUILD: '1' }, 600_000);
      const tarballName = readdirSync(directory).find((file) => file.endsWith('.tgz'));
      assert.ok(tarballName, 'npm pack wrote no tarball');
      const tarball = join(directory, tarballName);
      const listing = run('tar', ['-tzf', tarball], directory)
        .stdout.split('\n')
        .filter((line) => line.length > 0);
      const platform = `${process.platform}-${process.arch}`;
      for (const expected of [
        'package/dist/src/index.js',
        'package/dist/src/index.d.ts',
        'package/dist/src/cli/main.js',
        'package/bin/dae.js',
        'package/web/dist/index.html',
        'package/binding.gyp',
        'package/native/addon.cc',
        'package/scripts/build-native.mjs',
        'package/proto/onnx.proto',
      ]) {
        assert.ok(listing.includes(expected), `the tarball lacks ${expected}`);
      }
      const prebuilt = listing.filter(
        (path) => path.startsWith(`package/prebuilds/${platform}/`) && path.endsWith('.node'),
      );
      assert.ok(prebuilt.length > 0, `the tarball has no prebuilt addon for ${platform}`);
      assert.ok(
        !listing.some((path) => path.startsWith('package/dist/test/') || path.endsWith('.map')),
        'tests or source maps were packed',
      );
      t.diagnostic(
        `${tarballName}: ${Math.round(statSync(tarball).size / 1024)} KiB packed, ${listing.length} files; prebuilt: ${prebuilt.map((path) => path.split('/').pop()).join(', ')}`,
      );

      const project = join(directory, 'user-project');
      await mkdir(project);
      await writeUserProject(project, tarball);
      run(npm, ['install', '--offline', '--ignore-scripts', '--no-audit', '--no-fund'], project);
      const installed = join(project, 'node_modules', 'dae-pretrain');
      assert.ok(!existsSync(join(installed, 'build')), 'something was compiled although install scripts were disabled');

      const experiment = run(npx, ['--offline', 'dae', 'experiment', '--preset', 'tiny', '--out', 'run'], project);
      const metrics = JSON.parse(await readFile(join(project, 'run', 'metrics.json'), 'utf8')) as {
        backend: { name: string; detail?: string };
        classifiers: unknown[];
      };
      assert.equal(metrics.backend.name, 'native', `the run fell back to another backend:\n${experiment.stderr}`);
      assert.match(metrics.backend.detail ?? '', /build, prebuilt$/);
      assert.ok(metrics.classifiers.length > 0);
      t.diagnostic(`backend: native (${metrics.backend.detail})`);
      // The command checks its time-left estimates once it has ended and saves them beside its results (it prints them
      // only when it took a minute or more). Training takes most of a run, so the estimates made from its plan on cover
      // at least the last three quarters of it.
      const estimates = JSON.parse(
        await readFile(join(project, 'run', 'time-estimates.json'), 'utf8'),
      ) as EstimateRecord;
      assert.equal(estimates.command, 'study');
      assert.deepEqual(
        estimates.checks.slice(-3).map((check) => check.fraction),
        [0.25, 0.5, 0.75],
      );
      t.diagnostic(
        `time left estimated at 25/50/75%: ${estimates.checks
          .slice(-3)
          .map((check) => `${(100 * check.error).toFixed(1)}%`)
          .join(' / ')}`,
      );

      // The exporters find ONNX's schema and h5wasm's module inside the installed package.
      for (const format of ['onnx', 'keras']) {
        const exported = run(
          npx,
          ['--offline', 'dae', 'export', 'run', '--format', format, '--model', 'autoencoder'],
          project,
        );
        assert.equal(exported.stdout.trim(), join('run', 'export', format, `autoencoder.${format}`));
        assert.ok(statSync(join(project, exported.stdout.trim())).size > 100_000);
      }

      const script =
        "import { runExperiment, useBackend } from 'dae-pretrain'; " +
        "const backend = await useBackend('native'); console.log(typeof runExperiment, backend.detail);";
      const imported = run(process.execPath, ['--input-type=module', '-e', script], project);
      assert.match(imported.stdout, /^function .*prebuilt/);

      // The embedded PostgreSQL of `--queue embedded` starts although the install scripts that link its libraries did
      // not run (startEmbeddedPostgres restores the links), and answers on loopback.
      const database = join(directory, 'postgres');
      const postgresScript =
        "import { chmodSync } from 'node:fs'; import { startEmbeddedPostgres, openQueueStore } from 'dae-pretrain'; " +
        `chmodSync(${JSON.stringify(directory)}, 0o755); ` +
        `const server = await startEmbeddedPostgres({ directory: ${JSON.stringify(database)}, persistent: false }); ` +
        "const store = await openQueueStore(server.url); const [row] = await store.sql('SELECT 1 AS one'); await store.close(); await server.stop(); " +
        'console.log(row.one);';
      const postgres = run(process.execPath, ['--input-type=module', '-e', postgresScript], project);
      assert.equal(postgres.stdout.trim(), '1', postgres.stderr);

      const server = await startServe(project, 'run');
      try {
        const page = await fetch(server.url);
        assert.equal(page.status, 200);
        assert.match(await page.text(), /<script type="module"[^>]*src="\.\/assets\//);
        const summary = await fetch(new URL('api/run.json', server.url));
        assert.equal(summary.status, 200);
      } finally {
        await server.stop();
      }

      // With install scripts allowed, the install script finds the prebuilt addon loads and compiles nothing.
      const rebuilt = run(npm, ['rebuild', 'dae-pretrain', '--offline', '--foreground-scripts'], project);
      assert.match(rebuilt.stdout + rebuilt.stderr, /using the prebuilt native kernels/);
      assert.ok(
        !existsSync(join(installed, 'build', 'Release')),
        'the install script compiled although a prebuilt addon fits',
      );
    } finally {
      await rm(directory, { recursive: true, force: true });
    }
  },
);
