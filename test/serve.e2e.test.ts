// `dae serve` end to end: a tiny run folder is trained for real, served on 127.0.0.1, and the page is driven in
// headless Chromium (the build that the devDependency @sparticuz/chromium ships, through playwright-core; see
// support/chromium.ts): draw a stroke, load a test digit whose label the 100%-label classifier gets right (found
// here in Node with the same saved model), use the gallery and the noise controls, check that no request leaves
// the machine, and save screenshots a person can look at.
//
// Environment:
//   CHROMIUM_PATH           another browser to use (say /usr/bin/chromium; default: the one the devDependencies bring)
//   DAE_SERVE_RUN           serve this complete run folder instead of training a tiny one (~30 s)
//   DAE_SERVE_SCREENSHOT    where the desktop screenshot goes (default dist/screenshots/serve-page.png)
// docs/serve-screenshot.png (docs/usage.md shows it) is made this way from a full-preset run (the seed-1 study, after
// `dae report`):
// DAE_SERVE_RUN=runs/<full run> DAE_SERVE_SCREENSHOT=docs/serve-screenshot.png node --test dist/test/serve.e2e.test.js
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { cp, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs-core';
import type { BrowserContext, Page } from 'playwright-core';

import { useBackend } from '../src/backend/index.js';
import { loadModel } from '../src/io/model-files.js';
import { RunFolderError } from '../src/io/run-folder.js';
import type { RunSummary } from '../src/serve/api.js';
import { safeSegments, serveRun } from '../src/serve/server.js';
import type { RunningServer } from '../src/serve/server.js';
import { launchChromium } from './support/chromium.js';

/** The package root: the first folder above this file (test/ or dist/test/) with a package.json. */
function packageRoot(): string {
  let directory = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(directory, 'package.json'))) directory = dirname(directory);
  return directory;
}

const root = packageRoot();
const screenshotPath = resolve(
  root,
  process.env['DAE_SERVE_SCREENSHOT'] ?? join('dist', 'screenshots', 'serve-page.png'),
);

/** Trains the tiny preset into `directory` with the real CLI, as a user would. */
async function trainTinyRun(directory: string): Promise<void> {
  const child = spawn(
    process.execPath,
    [join(root, 'bin', 'dae.js'), 'experiment', '--preset', 'tiny', '--out', directory],
    { cwd: root, stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let log = '';
  child.stderr.on('data', (chunk: Buffer) => (log = (log + chunk.toString()).slice(-4000)));
  const code = await new Promise<number | null>((resolveExit) => child.on('close', resolveExit));
  assert.equal(code, 0, `dae experiment --preset tiny failed:\n${log}`);
}

/** GET with the path sent byte for byte (fetch would normalise the `..` away), and each Host header given. */
function rawGet(url: string, path: string, host?: string | string[]): Promise<number> {
  const { hostname, port } = new URL(url);
  return new Promise((resolveStatus, rejectStatus) => {
    const outgoing = request(
      {
        hostname,
        port,
        path,
        headers: host === undefined ? {} : Array.isArray(host) ? host.flatMap((name) => ['Host', name]) : { host },
      },
      (response) => {
        response.resume();
        resolveStatus(response.statusCode ?? 0);
      },
    );
    outgoing.on('error', rejectStatus);
    outgoing.end();
  });
}

/**
 * Index into the shipped digits of the one the given classifier is surest about and right on, with its probabilities.
 */
async function confidentlyRightDigit(
  runDirectory: string,
  summary: RunSummary,
  bytes: Uint8Array,
  classifierIndex: number,
) {
  const classifier = summary.classifiers[classifierIndex];
  assert.ok(classifier);
  await useBackend('cpu');
  const model = await loadModel(join(runDirectory, dirname(classifier.modelUrl)));
  const { count } = summary.digits;
  const probabilities = tf.tidy(() => {
    const images = tf.div(tf.tensor4d(Float32Array.from(bytes), [count, summary.height, summary.width, 1]), 255);
    return (model.predict(images) as tf.Tensor2D).arraySync();
  });
  model.dispose();
  let best: { position: number; confidence: number } | undefined;
  probabilities.forEach((row, position) => {
    const top = row.indexOf(Math.max(...row));
    if (top === summary.digits.labels[position] && (!best || row[top]! > best.confidence))
      best = { position, confidence: row[top]! };
  });
  assert.ok(best, `the ${classifier.title} classifier gets none of the ${count} shipped test digits right`);
  return {
    testIndex: summary.digits.testIndices[best.position]!,
    label: summary.digits.labels[best.position]!,
    probabilities: probabilities[best.position]!,
  };
}

// Page read-outs.
const updateCount = (page: Page) => page.evaluate(() => Number(document.body.dataset['updates'] ?? 0));
/** Waits until the page has rerun the pipeline since `previous` and has no frame pending. */
async function settled(page: Page, previous: number): Promise<void> {
  await page.waitForFunction((count) => Number(document.body.dataset['updates'] ?? 0) > count, previous);
  await page.evaluate(() => new Promise((done) => requestAnimationFrame(() => requestAnimationFrame(done))));
}
/** Red channel of a digit canvas, one value per pixel. */
const canvasPixels = (page: Page, id: string) =>
  page.evaluate((canvasId) => {
    const canvas = document.getElementById(canvasId) as HTMLCanvasElement;
    const data = canvas.getContext('2d')!.getImageData(0, 0, canvas.width, canvas.height).data;
    return Array.from({ length: data.length / 4 }, (_, index) => data[4 * index] ?? 0);
  }, id);
const probabilityTable = (page: Page) =>
  page.$$eval('.classifier', (blocks) =>
    blocks.map((block) => ({
      topClass: Number((block as HTMLElement).dataset['topClass']),
      values: Array.from(block.querySelectorAll<HTMLElement>('.row'), (row) => Number(row.dataset['probability'])),
    })),
  );
const differs = (a: readonly number[], b: readonly number[]) =>
  a.some((value, index) => Math.abs(value - (b[index] ?? 0)) > 1e-6);

/**
 * A touch stroke down the middle of the pad (touch events through the DevTools protocol), checked to reach the input.
 */
async function drawWithFinger(page: Page): Promise<void> {
  let count = await updateCount(page);
  await page.click('#clear');
  await settled(page, count);
  await page.locator('#pad').scrollIntoViewIfNeeded();
  const box = await page.locator('#pad').boundingBox();
  assert.ok(box);
  const session = await page.context().newCDPSession(page);
  await session.send('Emulation.setTouchEmulationEnabled', { enabled: true, maxTouchPoints: 1 });
  const x = box.x + box.width / 2;
  count = await updateCount(page);
  await session.send('Input.dispatchTouchEvent', {
    type: 'touchStart',
    touchPoints: [{ x, y: box.y + 0.2 * box.height }],
  });
  for (let step = 1; step <= 10; step += 1) {
    await session.send('Input.dispatchTouchEvent', {
      type: 'touchMove',
      touchPoints: [{ x, y: box.y + (0.2 + 0.06 * step) * box.height }],
    });
  }
  await session.send('Input.dispatchTouchEvent', { type: 'touchEnd', touchPoints: [] });
  await settled(page, count);
  await session.detach();
  assert.ok(
    (await canvasPixels(page, 'clean')).filter((level) => level > 128).length > 20,
    'the finger stroke reached the clean input',
  );
  assert.match((await page.textContent('#source')) ?? '', /Your drawing/);
}

describe('dae serve', { timeout: 240_000 }, () => {
  let workDirectory = '';
  let runDirectory = '';
  let server: RunningServer | undefined;
  let context: BrowserContext | undefined;
  let page: Page;
  const requests: string[] = [];
  const pageErrors: string[] = [];
  /** A test digit the 100%-label classifier gets right, once the test that finds it has run. */
  let knownTestIndex = 0;

  before(async () => {
    workDirectory = await mkdtemp(join(tmpdir(), 'dae-serve-test-'));
    runDirectory = process.env['DAE_SERVE_RUN'] ?? join(workDirectory, 'run');
    if (process.env['DAE_SERVE_RUN'] === undefined) await trainTinyRun(runDirectory);
    server = await serveRun(runDirectory, { port: 0 });
    const browser = await launchChromium(root, workDirectory, { width: 1280, height: 900 });
    context = browser.context;
    page = context.pages()[0] ?? (await context.newPage());
    page.on('request', (outgoing) => requests.push(outgoing.url()));
    page.on('pageerror', (error) => pageErrors.push(error.message));
    page.on('console', (message) => {
      if (message.type() === 'error') pageErrors.push(message.text());
    });
    await page.goto(server.url);
    await page.waitForSelector('body[data-state="ready"], body[data-state="error"]', { timeout: 60_000 });
    assert.equal(
      await page.getAttribute('body', 'data-state'),
      'ready',
      `the page did not start: ${await page.textContent('#status')}`,
    );
    await page.waitForFunction(() => Number(document.body.dataset['updates'] ?? 0) >= 1);
    const userAgent = await page.evaluate(() => navigator.userAgent);
    process.stdout.write(
      `# browser: ${browser.description}; ${/HeadlessChrome\/\S+|Chrome\/\S+/.exec(userAgent)?.[0] ?? userAgent}\n`,
    );
  });

  after(async () => {
    await context?.close();
    await server?.close();
    if (workDirectory) await rm(workDirectory, { recursive: true, force: true });
  });

  it('shows the four classifiers, the 32 coding units and their gallery', async () => {
    const titles = await page.$$eval('.classifier h3', (headings) => headings.map((heading) => heading.textContent));
    assert.deepEqual(
      titles.map((title) => title?.replace(/, .*/, '')),
      ['10% labels', '10% labels', '10% labels', '100% labels'],
    );
    assert.match(titles[0] ?? '', /fine-tuned/);
    assert.match(titles[1] ?? '', /frozen/);
    assert.match(titles[2] ?? '', /FixMatch/);
    assert.equal(await page.locator('.unit-bar').count(), 32);
    assert.equal(await page.locator('.prototype').count(), 32);
  });

  it('denoises and classifies a stroke drawn with the mouse', async () => {
    let count = await updateCount(page);
    await page.click('#clear');
    await settled(page, count);
    const denoisedBefore = await canvasPixels(page, 'denoised');
    const probabilitiesBefore = await probabilityTable(page);

    const box = await page.locator('#pad').boundingBox();
    assert.ok(box);
    const at = (x: number, y: number) => [box.x + x * box.width, box.y + y * box.height] as const;
    count = await updateCount(page);
    // A "7": a bar across the top, then a diagonal down to the left.
    await page.mouse.move(...at(0.3, 0.25));
    await page.mouse.down();
    await page.mouse.move(...at(0.7, 0.25), { steps: 8 });
    await page.mouse.move(...at(0.45, 0.8), { steps: 12 });
    await page.mouse.up();
    await settled(page, count);

    assert.ok(
      (await canvasPixels(page, 'clean')).filter((level) => level > 128).length > 20,
      'the stroke reached the clean input',
    );
    assert.ok(differs(await canvasPixels(page, 'denoised'), denoisedBefore), 'the denoised image changed');
    const probabilitiesAfter = await probabilityTable(page);
    probabilitiesAfter.forEach((classifier, index) => {
      assert.ok(
        differs(classifier.values, probabilitiesBefore[index]?.values ?? []),
        `classifier ${index}'s probabilities changed`,
      );
      assert.ok(
        Math.abs(classifier.values.reduce((total, value) => total + value, 0) - 1) < 1e-3,
        'probabilities sum to 1',
      );
    });
    assert.match((await page.textContent('#source')) ?? '', /Your drawing/);
  });

  it('gives a test digit the class the 100%-label classifier gives it in Node', async () => {
    const summary = (await (await fetch(new URL('api/run.json', server!.url))).json()) as RunSummary;
    const bytes = new Uint8Array(await (await fetch(new URL('api/digits.bin', server!.url))).arrayBuffer());
    const full = summary.classifiers.length - 1;
    const known = await confidentlyRightDigit(runDirectory, summary, bytes, full);
    knownTestIndex = known.testIndex;

    await page.check('input[name="classifier-input"][value="clean"]');
    const count = await updateCount(page);
    await page.evaluate((testIndex) => (location.hash = `#digit=${testIndex}`), known.testIndex);
    await settled(page, count);
    assert.equal(await page.getAttribute('#source', 'data-label'), String(known.label));
    const table = await probabilityTable(page);
    assert.equal(
      table[full]?.topClass,
      known.label,
      `top class for test digit #${known.testIndex} (label ${known.label})`,
    );
    // The browser's tfjs and Node's run the same saved model on the same pixels.
    table[full]?.values.forEach((value, digit) =>
      assert.ok(
        Math.abs(value - (known.probabilities[digit] ?? 0)) < 1e-4,
        `class ${digit}: browser ${value}, node ${known.probabilities[digit]}`,
      ),
    );
  });

  it('corrupts with the chosen noise, and not at all at amount 0', async () => {
    const clean = await canvasPixels(page, 'clean');
    let count = await updateCount(page);
    await page.selectOption('#noise-kind', 'masking');
    await page.fill('#noise-amount', '0.5');
    await settled(page, count);
    const masked = await canvasPixels(page, 'corrupted');
    assert.ok(
      masked.every((level, index) => level <= (clean[index] ?? 0)),
      'masking only erases pixels',
    );
    assert.ok(differs(masked, clean), 'half the pixels masked');
    count = await updateCount(page);
    await page.fill('#noise-amount', '0');
    await settled(page, count);
    assert.deepEqual(await canvasPixels(page, 'corrupted'), clean);
    count = await updateCount(page);
    await page.selectOption('#noise-kind', 'salt-and-pepper');
    await page.fill('#noise-amount', '0.2');
    await settled(page, count);
  });

  it("shows a coding unit's top-activating images and loads one on click", async () => {
    const summary = (await (await fetch(new URL('api/run.json', server!.url))).json()) as RunSummary;
    const unit = summary.codingUnits[5];
    assert.ok(unit);
    await page.click(`.unit-bar[data-unit="${unit.unit}"]`);
    assert.equal(await page.getAttribute('#unit-detail', 'data-unit'), String(unit.unit));
    const shown = await page.$$eval('#unit-detail .top-image', (buttons) =>
      buttons.map((button) => Number((button as HTMLElement).dataset['testIndex'])),
    );
    assert.deepEqual(shown, unit.indices);
    assert.ok((await page.$$eval('#unit-detail .detail-prototype canvas', (canvases) => canvases.length)) === 1);
    const count = await updateCount(page);
    await page.click(`#unit-detail .top-image[data-test-index="${unit.indices[0]}"]`);
    await settled(page, count);
    assert.match((await page.textContent('#source')) ?? '', new RegExp(`Test digit #${unit.indices[0]},`));
    const randomCount = await updateCount(page);
    await page.click('#random-digit');
    await settled(page, randomCount);
    assert.match((await page.getAttribute('#source', 'data-label')) ?? '', /^\d$/);
  });

  it('draws the map of the codes and places the current input on it, the same spot for the same image', async () => {
    const summary = (await (await fetch(new URL('api/run.json', server!.url))).json()) as RunSummary;
    assert.ok(summary.codeMap, 'the run has a code map');
    assert.equal(await page.getAttribute('#codemap', 'data-points'), String(summary.codeMap.positions.length));
    const xs = summary.codeMap.positions.map(([x]) => x),
      ys = summary.codeMap.positions.map(([, y]) => y);
    const placed = async () => [
      Number(await page.getAttribute('#codemap', 'data-x')),
      Number(await page.getAttribute('#codemap', 'data-y')),
    ];
    const show = async (hash: string) => {
      const count = await updateCount(page);
      await page.evaluate((value) => {
        location.hash = '';
        location.hash = value;
      }, hash);
      await settled(page, count);
      return placed();
    };
    const first = await show(`#digit=${summary.digits.testIndices[0]}`);
    const second = await show(`#digit=${summary.digits.testIndices[1]}`);
    const firstAgain = await show(`#digit=${summary.digits.testIndices[0]}`);
    const span = Math.max(Math.max(...xs) - Math.min(...xs), Math.max(...ys) - Math.min(...ys));
    for (const [x, y] of [first, second]) {
      assert.ok(Number.isFinite(x!) && Number.isFinite(y!), 'a finite position');
      assert.ok(
        x! > Math.min(...xs) - span &&
          x! < Math.max(...xs) + span &&
          y! > Math.min(...ys) - span &&
          y! < Math.max(...ys) + span,
        'on the map',
      );
    }
    assert.notDeepEqual(first, second, 'another image lands elsewhere');
    assert.deepEqual(firstAgain, first, 'the same image lands on the same spot');
  });

  it("lists each classifier's most confident test mistakes and loads one on click", async () => {
    const summary = (await (await fetch(new URL('api/run.json', server!.url))).json()) as RunSummary;
    assert.equal(await page.locator('.mistake-block').count(), summary.classifiers.length);
    const withMistakes = summary.classifiers.findIndex((classifier) => classifier.mistakes.length > 0);
    assert.ok(withMistakes >= 0, 'some served classifier has a mistake to show');
    const mistakes = summary.classifiers[withMistakes]!.mistakes;
    const shown = await page.$$eval(`.mistake-block[data-classifier="${withMistakes}"] .mistake`, (buttons) =>
      buttons.map((button) => Number((button as HTMLElement).dataset['testIndex'])),
    );
    assert.deepEqual(
      shown,
      mistakes.map((mistake) => mistake.testIndex),
    );
    for (const mistake of mistakes) {
      assert.notEqual(mistake.predicted, mistake.label);
      const position = summary.digits.testIndices.indexOf(mistake.testIndex);
      assert.equal(
        summary.digits.labels[position],
        mistake.label,
        `test image #${mistake.testIndex} is shipped with its true label`,
      );
    }
    assert.ok(
      mistakes.every((mistake, index) => index === 0 || mistake.probability <= mistakes[index - 1]!.probability),
      'most confident first',
    );
    const first = mistakes[0]!;
    const count = await updateCount(page);
    await page.click(
      `.mistake-block[data-classifier="${withMistakes}"] .mistake[data-test-index="${first.testIndex}"]`,
    );
    await settled(page, count);
    assert.match((await page.textContent('#source')) ?? '', new RegExp(`#${first.testIndex},`));
    assert.equal(await page.getAttribute('#source', 'data-label'), String(first.label));
  });

  it('fits a phone-sized screen, draws with a finger, sends no request off this machine, and leaves screenshots', async () => {
    // The known digit again, with the classifiers on the denoised image: the view the README shows.
    await page.check('input[name="classifier-input"][value="denoised"]');
    await page.click('.unit-bar[data-unit="0"]');
    let count = await updateCount(page);
    await page.evaluate((testIndex) => {
      location.hash = '';
      location.hash = `#digit=${testIndex}`;
    }, knownTestIndex);
    await settled(page, count);
    await mkdir(dirname(screenshotPath), { recursive: true });
    await page.screenshot({ path: screenshotPath, fullPage: true });

    await page.setViewportSize({ width: 390, height: 844 });
    await page.evaluate(() => new Promise((done) => requestAnimationFrame(() => requestAnimationFrame(done))));
    assert.ok(
      await page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth),
      'no sideways scrolling at 390 px',
    );
    await drawWithFinger(page);
    count = await updateCount(page);
    await page.evaluate((testIndex) => (location.hash = `#digit=${testIndex}`), knownTestIndex);
    await settled(page, count);
    const phonePath = screenshotPath.replace(/\.png$/, '-phone.png');
    await page.screenshot({ path: phonePath });

    const origin = new URL(server!.url).origin;
    assert.deepEqual(
      requests.filter((url) => new URL(url).origin !== origin),
      [],
    );
    assert.deepEqual(pageErrors, []);
    process.stdout.write(`# screenshots: ${screenshotPath}, ${phonePath}\n`);
  });

  it('refuses paths outside its folders and other host names', async () => {
    const url = server!.url;
    assert.equal(await rawGet(url, '/../run.json'), 400);
    assert.equal(await rawGet(url, '/models/..%2f..%2frun.json'), 400);
    assert.equal(await rawGet(url, '/models/encoder/../../run.json'), 400);
    assert.equal(await rawGet(url, '/models/autoencoder/model.json'), 404);
    assert.equal(await rawGet(url, '/models/encoder/checkpoint.json'), 404);
    assert.equal(await rawGet(url, '/models/encoder/model.json'), 200);
    assert.equal(await rawGet(url, '/', 'attacker.example'), 421);
    // Two Host headers, one of them this server's, in either order: refused, whichever one Node would keep.
    const own = new URL(url).host;
    assert.equal(await rawGet(url, '/', [own, 'attacker.example']), 400);
    assert.equal(await rawGet(url, '/', ['attacker.example', own]), 400);
    assert.equal(await rawGet(url, '/', own), 200);
    assert.equal(safeSegments('/a/%2e%2e/b'), null);
    assert.equal(safeSegments('//etc/passwd'), null);
    assert.deepEqual(safeSegments('/assets/index.js'), ['assets', 'index.js']);
  });

  it('refuses a missing or unfinished run folder before listening', async () => {
    await assert.rejects(serveRun(join(workDirectory, 'nowhere'), { port: 0 }), RunFolderError);
    const unfinished = join(workDirectory, 'unfinished');
    await mkdir(unfinished);
    await cp(join(runDirectory, 'run.json'), join(unfinished, 'run.json'));
    const record = JSON.parse(await readFile(join(unfinished, 'run.json'), 'utf8')) as Record<string, unknown>;
    await writeFile(join(unfinished, 'run.json'), JSON.stringify({ ...record, status: 'incomplete' }));
    await assert.rejects(serveRun(unfinished, { port: 0 }), (error: unknown) => {
      assert.ok(error instanceof RunFolderError);
      assert.match(error.message, /incomplete.*dae experiment --resume/);
      assert.ok(!error.message.includes('\n'));
      return true;
    });
  });
});
