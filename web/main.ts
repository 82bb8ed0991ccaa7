// The `dae serve` page: fetches the run summary and test digits from the server it came from, loads the models, and
// reruns the pipeline (corrupt -> encode -> decode -> classify) whenever the drawing or a control changes.
// The URL hash #digit=<test index> names the test digit shown, so a view can be shared or reloaded.
import { corruptionKinds, corruptions, formatNoiseAmount, shortNoiseName } from '../src/data/noise.js';
import type { NoiseSpec } from '../src/data/noise.js';
import type { RunSummary } from '../src/serve/api.js';
import { apiFormatVersion } from '../src/serve/api.js';
import { DrawingPad } from './drawing.js';
import { UnitGallery } from './gallery.js';
import type { TestDigit } from './gallery.js';
import { decodePrototypes, loadPipeline, psnr, runPass } from './pipeline.js';
import type { ClassifierInput, Pipeline } from './pipeline.js';
import { CodeMapView } from './code-map.js';
import { showMistakes } from './mistakes.js';
import { CodingBars, drawDigit, ProbabilityPanel } from './render.js';

type Source = { kind: 'drawing' } | { kind: 'test'; digit: TestDigit; edited: boolean };

function byId<T extends HTMLElement>(id: string): T {
  const node = document.getElementById(id);
  if (!node) throw new Error(`page: #${id} is missing from index.html`);
  return node as T;
}

const setStatus = (text: string) => (byId('status').textContent = text);

async function fetchOk(url: string): Promise<Response> {
  const response = await fetch(url);
  if (!response.ok) throw new Error(`GET ${url} answered ${response.status} ${response.statusText}`);
  return response;
}

async function fetchRun(): Promise<{ summary: RunSummary; digits: TestDigit[] }> {
  const summary = (await (await fetchOk('api/run.json')).json()) as RunSummary;
  if (summary.formatVersion !== apiFormatVersion) {
    throw new Error(
      `the server speaks API version ${String(summary.formatVersion)}, this page ${apiFormatVersion}: rebuild with npm run build`,
    );
  }
  const bytes = new Uint8Array(await (await fetchOk('api/digits.bin')).arrayBuffer());
  const pixels = summary.height * summary.width;
  if (bytes.length !== summary.digits.count * pixels) {
    throw new Error(
      `api/digits.bin holds ${bytes.length} bytes, expected ${summary.digits.count} digits of ${pixels} pixels`,
    );
  }
  const digits = summary.digits.testIndices.map((testIndex, position) => ({
    testIndex,
    label: summary.digits.labels[position] ?? -1,
    pixels: Float32Array.from(bytes.subarray(position * pixels, (position + 1) * pixels), (level) => level / 255),
  }));
  return { summary, digits };
}

const formatDecibels = (value: number) => (Number.isFinite(value) ? `PSNR ${value.toFixed(1)} dB` : 'identical');

/**
 * The page's words for the run's images ("digit" for MNIST, "image" otherwise), in the heading, button and captions.
 */
function nameTheItems(summary: RunSummary): { name: string; withArticle: string } {
  const name = summary.itemName;
  const withArticle = `${/^[aeiou]/.test(name) ? 'an' : 'a'} ${name}`;
  const heading = `Draw ${withArticle}, watch it denoised, encoded and classified`;
  byId('page-title').textContent = heading;
  document.title = `dae · ${summary.dataset} · denoise, encode, classify`;
  byId('random-digit').textContent = `Random test ${name}`;
  byId('pad').setAttribute(
    'aria-label',
    `${summary.width} by ${summary.height} drawing canvas: draw ${withArticle} with the mouse or a finger`,
  );
  return { name, withArticle };
}

function start(summary: RunSummary, digits: TestDigit[], pipeline: Pipeline): void {
  const { width, height } = summary;
  const item = nameTheItems(summary);
  const digitByIndex = new Map(digits.map((digit) => [digit.testIndex, digit]));
  const noiseKind = byId<HTMLSelectElement>('noise-kind');
  const noiseAmount = byId<HTMLInputElement>('noise-amount');
  const noiseAmountValue = byId<HTMLOutputElement>('noise-amount-value');
  let noise: NoiseSpec = { ...summary.trainingNoise };
  let seed = 1;
  let classifierInput: ClassifierInput = 'corrupted';
  let source: Source = { kind: 'drawing' };
  let updates = 0;
  let scheduled = false;

  const pad = new DrawingPad(
    byId('pad'),
    width,
    height,
    () => schedule(),
    () => {
      if (source.kind === 'test') source = { ...source, edited: true };
      else source = { kind: 'drawing' };
      history.replaceState(null, '', location.pathname + location.search);
    },
  );

  // One scale for every bar: the strongest activation seen on the test set.
  const scale = Math.max(1e-6, ...summary.codingUnits.flatMap((unit) => unit.values.map(Math.abs)));
  const selectUnit = (unit: number) => {
    bars.select(unit);
    gallery.select(unit);
  };
  const bars = new CodingBars(byId('coding'), summary.codingUnits.length, scale, selectUnit);
  const probabilities = new ProbabilityPanel(byId('probabilities'), summary.classifiers, summary.classNames);
  const prototypeValues = summary.codingUnits.map(
    (unit) => unit.values.reduce((total, value) => total + value, 0) / Math.max(1, unit.values.length),
  );
  const gallery = new UnitGallery(byId('prototypes'), byId('unit-detail'), {
    units: summary.codingUnits,
    prototypes: decodePrototypes(pipeline, prototypeValues),
    width,
    height,
    digit: (testIndex) => digitByIndex.get(testIndex),
    classNames: summary.classNames,
    onSelect: selectUnit,
    onPickDigit: (testIndex) => showTestDigit(testIndex),
  });

  const codeMap = summary.codeMap ? new CodeMapView(byId('codemap'), summary.codeMap, summary.classNames) : null;
  if (!codeMap)
    byId('codemap-note').textContent =
      'This run has no map of the codes (it was made before maps were); `dae report` on it adds one.';
  showMistakes(
    byId('mistakes'),
    summary.classifiers,
    summary.classNames,
    (testIndex) => digitByIndex.get(testIndex),
    width,
    height,
    (testIndex) => showTestDigit(testIndex),
  );

  function describeSource(): string {
    if (source.kind === 'drawing')
      return pad.pixels.some((value) => value > 0) ? 'Your drawing.' : `Empty: draw ${item.withArticle} in the box.`;
    const { testIndex, label } = source.digit;
    return `Test ${item.name} #${testIndex}, label ${summary.classNames[label] ?? label}${source.edited ? ', with your strokes on top' : ''}.`;
  }

  function update(): void {
    scheduled = false;
    const clean = pad.pixels;
    const result = runPass(pipeline, clean, noise, seed, classifierInput);
    drawDigit(byId('clean'), clean, width, height);
    drawDigit(byId('corrupted'), result.corrupted, width, height);
    drawDigit(byId('denoised'), result.denoised, width, height);
    byId('corrupted-psnr').textContent = formatDecibels(psnr(clean, result.corrupted));
    byId('denoised-psnr').textContent = formatDecibels(psnr(clean, result.denoised));
    bars.update(result.code);
    codeMap?.update(result.code);
    probabilities.update(result.probabilities);
    const caption = byId('source');
    caption.textContent = describeSource();
    caption.dataset['label'] = source.kind === 'test' && !source.edited ? String(source.digit.label) : '';
    noiseAmountValue.textContent = formatNoiseAmount(noise);
    document.body.dataset['updates'] = String((updates += 1));
  }

  function schedule(): void {
    if (scheduled) return;
    scheduled = true;
    requestAnimationFrame(update);
  }

  function showTestDigit(testIndex: number): void {
    const digit = digitByIndex.get(testIndex);
    if (!digit) {
      setStatus(`Test ${item.name} #${testIndex} is not among the ${digits.length} ${item.name}s this server ships.`);
      return;
    }
    source = { kind: 'test', digit, edited: false };
    pad.set(digit.pixels);
    history.replaceState(null, '', `#digit=${testIndex}`);
    schedule();
  }

  const hashDigit = () => {
    const match = /^#digit=(\d+)$/.exec(location.hash);
    return match ? Number(match[1]) : undefined;
  };

  byId('random-digit').addEventListener('click', () => {
    const digit = digits[Math.floor(Math.random() * digits.length)];
    if (digit) showTestDigit(digit.testIndex);
  });
  byId('clear').addEventListener('click', () => {
    source = { kind: 'drawing' };
    pad.clear();
    history.replaceState(null, '', location.pathname + location.search);
    schedule();
  });
  byId('new-noise').addEventListener('click', () => {
    seed += 1;
    schedule();
  });
  // The menu lists every corruption of the table in data/noise.ts.
  noiseKind.replaceChildren(...corruptionKinds.map((kind) => new Option(corruptions[kind].name, kind)));
  noiseKind.value = noise.kind;
  noiseAmount.value = String(noise.amount);
  noiseKind.addEventListener('change', () => {
    noise = { ...noise, kind: noiseKind.value as NoiseSpec['kind'] };
    schedule();
  });
  noiseAmount.addEventListener('input', () => {
    noise = { ...noise, amount: Number(noiseAmount.value) };
    schedule();
  });
  for (const radio of document.querySelectorAll<HTMLInputElement>('input[name="classifier-input"]')) {
    radio.checked = radio.value === classifierInput;
    radio.addEventListener('change', () => {
      if (radio.checked) classifierInput = radio.value as ClassifierInput;
      schedule();
    });
  }
  window.addEventListener('hashchange', () => {
    const testIndex = hashDigit();
    if (testIndex !== undefined) showTestDigit(testIndex);
  });

  selectUnit(summary.codingUnits[0]?.unit ?? 0);
  showTestDigit(hashDigit() ?? digits[0]?.testIndex ?? 0);
}

async function main(): Promise<void> {
  try {
    const { summary, digits } = await fetchRun();
    byId('run-line').textContent =
      `Run ${summary.name} · ${summary.dataset}, preset ${summary.preset} · ` +
      `autoencoder trained on ${shortNoiseName(summary.trainingNoise)} noise`;
    const pipeline = await loadPipeline(summary, (loaded, total) =>
      setStatus(`Loading the models… ${loaded} of ${total}`),
    );
    start(summary, digits, pipeline);
    setStatus('');
    document.body.dataset['state'] = 'ready';
  } catch (error) {
    setStatus(`The page could not start: ${error instanceof Error ? error.message : String(error)}`);
    document.body.dataset['state'] = 'error';
  }
}

void main();
