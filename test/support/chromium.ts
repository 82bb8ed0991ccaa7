// The browser for the page's end-to-end test, brought by the devDependencies: the Chromium that the npm package
// @sparticuz/chromium ships (a headless-shell build, brotli-compressed inside the package, with the NSS libraries it
// links against), unpacked into the test's own folder and driven by playwright-core. Nothing comes from apt, so
// `npm ci && npm test` is all a machine with Node and a C++ compiler needs. CHROMIUM_PATH names another browser
// to use instead (Debian's /usr/bin/chromium, say). The package is pinned at 147.0.0, its last release that
// supports Node 20 (later ones require Node 22.17).
import { spawn } from 'node:child_process';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import Chromium from '@sparticuz/chromium';
import { chromium } from 'playwright-core';
import type { BrowserContext } from 'playwright-core';

/**
 * What headless Chromium needs on this kind of machine: no sandbox (the tests run as root), no GPU, and none of
 * the background connections (updates, sync, safe browsing, ...), which a closed network refuses many at a time.
 */
const headlessArgs = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

export interface LaunchedBrowser {
  context: BrowserContext;
  /** Which browser this is, for the test's log. */
  description: string;
}

/** Unpacks the package's Chromium into `directory`; resolves with the executable and the folder of its libraries. */
async function unpackBundledChromium(
  root: string,
  directory: string,
): Promise<{ executablePath: string; libraryPath: string }> {
  await mkdir(directory, { recursive: true });
  // The package unpacks into os.tmpdir() and reuses whatever it finds there; a child process with TMPDIR set to a
  // fresh folder keeps one test run from picking up another's half-written or older browser. It unpacks the NSS
  // libraries the browser links against only where it believes it runs on Amazon Linux 2023 (this variable), and
  // then puts them on LD_LIBRARY_PATH: we want them everywhere, so that a machine without Debian's libnss3 works too.
  const script = `const { default: Chromium } = await import('@sparticuz/chromium');
    process.stdout.write(JSON.stringify({ executablePath: await Chromium.executablePath(), libraryPath: process.env.LD_LIBRARY_PATH }));`;
  const child = spawn(process.execPath, ['--input-type=module', '--eval', script], {
    cwd: root,
    env: { ...process.env, TMPDIR: directory, AWS_LAMBDA_JS_RUNTIME: 'nodejs20.x' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  let errors = '';
  child.stdout.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  child.stderr.on('data', (chunk: Buffer) => {
    errors += chunk.toString();
  });
  const code = await new Promise<number | null>((resolveExit) => child.on('close', resolveExit));
  if (code !== 0)
    throw new Error(
      `unpacking @sparticuz/chromium into ${directory} failed (exit ${code}): ${errors.trim().split('\n').pop()}`,
    );
  return JSON.parse(output) as { executablePath: string; libraryPath: string };
}

/**
 * Starts headless Chromium with a new profile in `workDirectory` (a fresh --user-data-dir) and the given viewport.
 * `root` is the package root, from which the bundled browser's package is resolved.
 */
export async function launchChromium(
  root: string,
  workDirectory: string,
  viewport: { width: number; height: number },
): Promise<LaunchedBrowser> {
  const profile = join(workDirectory, 'chromium-profile');
  const chosenPath = process.env['CHROMIUM_PATH'];
  if (chosenPath !== undefined) {
    const context = await chromium.launchPersistentContext(profile, {
      executablePath: chosenPath,
      headless: true,
      args: headlessArgs,
      viewport,
    });
    return { context, description: `${chosenPath} (CHROMIUM_PATH)` };
  }
  const started = performance.now();
  const { executablePath, libraryPath } = await unpackBundledChromium(root, join(workDirectory, 'chromium'));
  const unpackSeconds = (performance.now() - started) / 1000;
  // The package's recommended flags, less its --headless=shell: Playwright passes --headless itself.
  const args = [...Chromium.args.filter((flag) => !flag.startsWith('--headless')), ...headlessArgs];
  const context = await chromium.launchPersistentContext(profile, {
    executablePath,
    headless: true,
    args,
    viewport,
    env: { ...process.env, LD_LIBRARY_PATH: libraryPath },
  });
  return {
    context,
    description: `@sparticuz/chromium's build, unpacked to ${executablePath} in ${unpackSeconds.toFixed(1)} s`,
  };
}
