// Every build of the native kernels this CPU runs passes the native conformance tests, each loaded through
// DAE_NATIVE_VARIANT; by default the loader takes the best of them; a level above the CPU's, or a name that is no
// level, is refused with a one-line reason while auto falls back. The only skips are builds that need an instruction
// set this CPU lacks, and they say which.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { loadNativeAddon, nativeVariants, variantOverrideVariable } from '../src/backend/native/addon.js';
import type { NativeVariant } from '../src/backend/native/addon.js';
import { finished } from './support/finished.js';

const conformance = fileURLToPath(new URL('./conformance.test.js', import.meta.url));
const backendModule = new URL('../src/backend/index.js', import.meta.url).href;

/** What each x86-64 build needs of the CPU, as a skip reason names it. */
const requiredHardware: Record<Exclude<NativeVariant, 'native'>, string> = {
  'x86-64-v4': 'AVX-512 (x86-64-v4)',
  'x86-64-v3': 'AVX2 + FMA (x86-64-v3)',
  'x86-64': 'an x86-64 CPU',
};
const x86Levels = nativeVariants.filter((variant): variant is Exclude<NativeVariant, 'native'> => variant !== 'native');

// This file's own process: the loader below must see the machine, not a level capped by the caller's environment.
delete process.env[variantOverrideVariable];
const loaded = loadNativeAddon();

/**
 * The best x86-64 level this CPU runs, from the addon's own probe (dae_cpu, next to the loaded build); null elsewhere.
 */
function cpuLevel(): NativeVariant | null {
  if (!loaded.addon || loaded.variant === 'native') return null;
  const folder = dirname(loaded.path);
  const probe = readdirSync(folder).find((file) => /^dae_cpu(\..+)?\.node$/.test(file));
  assert.ok(probe, `no dae_cpu addon beside ${loaded.path}`);
  return (createRequire(import.meta.url)(join(folder, probe)) as { level(): NativeVariant }).level();
}
const level = cpuLevel();
const notX86 = level === null && 'needs an x86-64 CPU';

const runNode = (args: string[], env: NodeJS.ProcessEnv) => finished(process.execPath, args, { env });

/** The environment with DAE_NATIVE_VARIANT set to `variant`, or unset for undefined. */
function withVariant(variant: string | undefined): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  if (variant === undefined) delete env[variantOverrideVariable];
  else env[variantOverrideVariable] = variant;
  return env;
}

async function backendDetail(variant: string | undefined) {
  const script =
    `import { useBackend } from ${JSON.stringify(backendModule)}; ` +
    "const backend = await useBackend('auto'); console.log(JSON.stringify(backend));";
  const result = await runNode(['--input-type=module', '-e', script], withVariant(variant));
  assert.equal(result.status, 0, result.stderr);
  return JSON.parse(result.stdout) as { name: string; detail: string; fallbackReasons: string[] };
}

test('the native addon loads, and by default the loader takes the best build this CPU runs', async () => {
  assert.ok(loaded.addon, `the native addon did not load: ${loaded.reason ?? ''}`);
  const backend = await backendDetail(undefined);
  assert.equal(backend.name, 'native');
  assert.match(backend.detail, level === null ? /, built for this machine, / : new RegExp(`, ${level} build, `));
});

for (const variant of x86Levels) {
  const runs = level !== null && nativeVariants.indexOf(level) <= nativeVariants.indexOf(variant);
  const skip = notX86 || (!runs && `needs ${requiredHardware[variant]}`);
  test(`the ${variant} build matches tfjs and its reference loops`, { skip }, async () => {
    assert.match((await backendDetail(variant)).detail, new RegExp(`, ${variant} build, `));
    // A test run of its own, not a child of this one (whose runner reads its children's output in its own format).
    const env = withVariant(variant);
    delete env['NODE_TEST_CONTEXT'];
    const result = await runNode(['--test', '--test-reporter=spec', '--test-name-pattern=native', conformance], env);
    const worst = result.stdout
      .split('\n')
      .filter((line) => /worst relative error/.test(line))
      .map((line) => line.replace(/^#\s*/, ''));
    assert.equal(result.status, 0, `${variant}: the native conformance tests failed:\n${result.stdout.slice(-3000)}`);
    assert.ok(
      worst.length >= 2,
      `${variant}: the native conformance tests did not run:\n${result.stdout.slice(-2000)}`,
    );
    process.stdout.write(`${variant}: ${worst.join('; ')}\n`);
  });
}

test(
  "a level above this CPU's, or a name that is no level, is refused with a reason, and auto falls back",
  { skip: notX86 },
  async (t) => {
    for (const name of ['x86-64-v9', 'native']) {
      const backend = await backendDetail(name);
      assert.notEqual(backend.name, 'native', `${variantOverrideVariable}=${name}`);
      assert.match(
        backend.fallbackReasons.join('\n'),
        new RegExp(`${variantOverrideVariable}=${name} is not an x86-64 level: use x86-64-v4, x86-64-v3 or x86-64`),
      );
    }
    const above = x86Levels.slice(0, x86Levels.indexOf(level as (typeof x86Levels)[number]));
    for (const variant of above) {
      const backend = await backendDetail(variant);
      assert.notEqual(backend.name, 'native', `${variantOverrideVariable}=${variant}`);
      assert.match(
        backend.fallbackReasons.join('\n'),
        new RegExp(
          `${variantOverrideVariable}=${variant} but this CPU runs ${level} at best: unset it or name a lower level`,
        ),
      );
    }
    t.diagnostic(
      above.length > 0
        ? `refused above this CPU's ${level}: ${above.join(', ')}`
        : `this CPU runs ${level}, the highest level: no level above it to refuse`,
    );
  },
);
