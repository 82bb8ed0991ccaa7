// The x86-64 builds of the native kernels that this CPU runs but the loader does not pick (it takes the best, which
// the rest of the suite tests) pass the native conformance tests too, each loaded through DAE_NATIVE_VARIANT; a level
// above the CPU's is refused with a one-line reason.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

import { loadNativeAddon, nativeVariants, variantOverrideVariable } from '../src/backend/native/addon.js';

const conformance = fileURLToPath(new URL('./conformance.test.js', import.meta.url));
const backendModule = new URL('../src/backend/index.js', import.meta.url).href;
const loaded = loadNativeAddon();
const x86 = loaded.addon !== null && loaded.variant !== 'native';
const best = loaded.addon ? nativeVariants.indexOf(loaded.variant) : -1;

function backendDetail(variant: string) {
  const script = `import { useBackend } from ${JSON.stringify(backendModule)}; ` +
    "const backend = await useBackend('auto'); console.log(JSON.stringify(backend));";
  const result = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
    encoding: 'utf8', env: { ...process.env, [variantOverrideVariable]: variant },
  });
  assert.equal(result.status, 0, result.stderr);
  return JSON.parse(result.stdout) as { name: string; detail: string; fallbackReasons: string[] };
}

test('every lower x86-64 build this CPU runs matches tfjs and its reference loops', { skip: !x86 && 'not an x86-64 build' }, () => {
  for (const variant of nativeVariants.slice(best + 1, nativeVariants.indexOf('native'))) {
    assert.match(backendDetail(variant).detail, new RegExp(`, ${variant} build, `));
    // A test run of its own, not a child of this one (whose runner reads its children's output in its own format).
    const env: NodeJS.ProcessEnv = { ...process.env, [variantOverrideVariable]: variant };
    delete env['NODE_TEST_CONTEXT'];
    const result = spawnSync(process.execPath, ['--test', '--test-reporter=spec', '--test-name-pattern=native', conformance], { encoding: 'utf8', env, timeout: 300_000 });
    const worst = result.stdout.split('\n').filter((line) => /worst relative error/.test(line)).map((line) => line.replace(/^#\s*/, ''));
    assert.equal(result.status, 0, `${variant}: the native conformance tests failed:\n${result.stdout.slice(-3000)}`);
    assert.ok(worst.length >= 2, `${variant}: the native conformance tests did not run:\n${result.stdout.slice(-2000)}`);
    process.stdout.write(`${variant}: ${worst.join('; ')}\n`);
  }
});

test('a level above what this CPU runs is refused with a reason, and auto falls back', { skip: (!x86 || best === 0) && 'no level above this CPU\'s' }, () => {
  const backend = backendDetail(nativeVariants[0]);
  assert.notEqual(backend.name, 'native');
  assert.match(backend.fallbackReasons.join('\n'), /DAE_NATIVE_VARIANT=x86-64-v4 but this CPU runs x86-64(-v\d)? at best: unset it or name a lower level/);
});
