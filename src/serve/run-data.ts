// What `dae serve` hands the page from a run folder: which models to load, the coding units' top-activating test
// images, and a few hundred test digits as bytes. Everything is checked here, before the server starts, so a
// missing, unfinished or damaged run folder is a one-line error rather than a broken page. Checking the models needs
// a tfjs backend (any).
import { readdir } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';

import type { ExperimentConfig } from '../config.js';
import type { CodeMap } from '../eval/code-map.js';
import { floatPixels, loadDataset } from '../data/dataset.js';
import { datasetNaming } from '../data/prepare.js';
import { checkSavedModel } from '../io/model-files.js';
import { readMetrics } from '../io/metrics.js';
import { RunFolder, RunFolderError } from '../io/run-folder.js';
import type { ClassifierResult } from '../io/metrics.js';
import { encoderModes, variants } from '../model/classifier.js';
import type { EncoderMode } from '../model/classifier.js';
import { itemNoun } from '../report/format.js';
import { apiFormatVersion } from './api.js';
import type { RunSummary, ServedClassifier, ServedCodingUnit } from './api.js';

/** Test digits shipped for the "random test digit" button, besides every top-activating image. */
export const sampleDigitCount = 500;

export interface RunData {
  directory: string;
  summary: RunSummary;
  /** [summary.digits.count, height, width] uint8 pixels. */
  digitBytes: Uint8Array;
  /** Folder names under models/ the page may load. */
  modelNames: Set<string>;
}

const encoderTitles = Object.fromEntries(encoderModes.map((mode) => [mode, variants[mode].shortName])) as Record<
  EncoderMode,
  string
>;

const percent = (fraction: number) => `${Number((100 * fraction).toFixed(1))}%`;

/**
 * At 10%: fine-tuned, frozen, and the better FixMatch run; then the best classifier trained on every label. Roles
 * the run lacks are left out.
 */
export function chooseClassifiers(classifiers: readonly ClassifierResult[]): ClassifierResult[] {
  const partial = classifiers.filter((c) => c.labelFraction < 1);
  // The experiment's "scarce labels" fraction is 10%; a run configured otherwise shows its smallest fraction.
  const scarce = partial.some((c) => c.labelFraction === 0.1) ? 0.1 : Math.min(...partial.map((c) => c.labelFraction));
  const chosen = (['finetuned', 'frozen'] as const)
    .map((mode) => partial.find((c) => c.encoder === mode && c.labelFraction === scarce))
    .filter((c): c is ClassifierResult => c !== undefined);
  const semi = partial
    .filter((c) => variants[c.encoder].semiSupervised && c.labelFraction === scarce)
    .sort((a, b) => b.test.accuracy - a.test.accuracy)[0];
  if (semi) chosen.push(semi);
  const full = classifiers.filter((c) => c.labelFraction === 1).sort((a, b) => b.test.accuracy - a.test.accuracy)[0];
  if (full) chosen.push(full);
  return chosen;
}

const classifierFolder = (c: ClassifierResult) => `classifier-${c.encoder}-${c.labels}`;

/** Opens a complete run folder and gathers what the page needs. Throws RunFolderError naming the missing piece. */
export async function loadRunData(directory: string): Promise<RunData> {
  // Read only: serving takes no lock, so a folder another process is writing (a sweep, say) can still be shown.
  const run = await RunFolder.open(directory, { readOnly: true });
  if (run.status !== 'complete') {
    throw new RunFolderError(
      directory,
      'the run is incomplete, so it has no classifiers to show yet',
      `finish it with \`dae experiment --resume ${directory}\``,
    );
  }
  const config = run.config as ExperimentConfig;
  const metrics = await readMetrics(run);
  const inspection = await run.readJson<{ codingUnits?: ServedCodingUnit[] }>('stages/inspect.json');
  if (!Array.isArray(inspection.codingUnits) || inspection.codingUnits.length === 0) {
    throw new RunFolderError(
      run.path('stages', 'inspect.json'),
      'has no codingUnits',
      `re-run \`dae inspect ${directory}\``,
    );
  }
  const classifiers = chooseClassifiers(metrics.classifiers ?? []);
  if (classifiers.length === 0) {
    throw new RunFolderError(run.path('metrics.json'), 'lists no classifiers', `re-run \`dae classify ${directory}\``);
  }
  const modelNames = new Set(['encoder', 'decoder', ...classifiers.map(classifierFolder)]);
  // The same check as every other reader of a saved model (export, report, classify): the page is refused here, in
  // one line, rather than left to fail in the browser on a garbled model.json or a truncated weights.bin.
  for (const name of modelNames) await checkSavedModel(run.path('models', name));

  const dataset = await loadDataset(datasetNaming(config));
  const test = dataset.test;
  const testCount = Math.min(test.count, config.data.testLimit ?? test.count);
  const codingUnits = inspection.codingUnits.map(({ unit, indices, values }) => ({ unit, indices, values }));
  const wanted = new Set<number>(Array.from({ length: Math.min(testCount, sampleDigitCount) }, (_, index) => index));
  for (const { unit, indices } of codingUnits) {
    for (const index of indices) {
      if (!Number.isInteger(index) || index < 0 || index >= testCount) {
        throw new RunFolderError(
          run.path('stages', 'inspect.json'),
          `coding unit ${unit} names test image ${index}, outside the ${testCount} test images`,
          `re-run \`dae inspect ${directory}\``,
        );
      }
      wanted.add(index);
    }
  }
  for (const classifier of classifiers) {
    for (const { testIndex } of classifier.mistakes ?? [])
      if (Number.isInteger(testIndex) && testIndex >= 0 && testIndex < testCount) wanted.add(testIndex);
  }
  const testIndices = [...wanted].sort((a, b) => a - b);
  const pixels = test.height * test.width;
  const digitBytes = new Uint8Array(testIndices.length * pixels);
  testIndices.forEach((index, position) => {
    const digit = floatPixels(test.images, index * pixels, (index + 1) * pixels);
    for (let pixel = 0; pixel < pixels; pixel += 1) {
      digitBytes[position * pixels + pixel] = Math.round(255 * (digit[pixel] ?? 0));
    }
  });

  const summary: RunSummary = {
    formatVersion: apiFormatVersion,
    name: basename(resolve(directory)),
    preset: config.preset,
    dataset: metrics.dataset.name,
    itemName: itemNoun(metrics.dataset.name).singular,
    height: test.height,
    width: test.width,
    classes: metrics.dataset.classNames.length,
    classNames: metrics.dataset.classNames,
    trainingNoise: config.autoencoder.noise,
    encoderUrl: 'models/encoder/model.json',
    decoderUrl: 'models/decoder/model.json',
    classifiers: classifiers.map((c): ServedClassifier => ({
      title: `${percent(c.labelFraction)} labels, ${encoderTitles[c.encoder]}`,
      encoder: c.encoder,
      labelFraction: c.labelFraction,
      labels: c.labels,
      testAccuracy: c.test.accuracy,
      modelUrl: `models/${classifierFolder(c)}/model.json`,
      mistakes: (c.mistakes ?? []).filter((mistake) => mistake.testIndex < testCount),
    })),
    codingUnits,
    codeMap: (await run.exists('codemap.json')) ? await run.readJson<CodeMap>('codemap.json') : null,
    digits: { count: testIndices.length, testIndices, labels: testIndices.map((index) => test.labels[index] ?? 0) },
  };
  return { directory, summary, digitBytes, modelNames };
}

/** The most recently finished complete run folder directly under `parent` (e.g. runs/), or undefined. */
export async function newestCompleteRun(parent: string): Promise<string | undefined> {
  const entries = await readdir(parent, { withFileTypes: true }).catch(() => []);
  let newest: { directory: string; finishedAt: string } | undefined;
  for (const entry of entries) {
    if (!entry.isDirectory()) continue;
    const directory = join(parent, entry.name);
    const record = await RunFolder.open(directory, { readOnly: true })
      .then((run) => run.runRecord)
      .catch(() => undefined);
    if (record?.status !== 'complete') continue;
    const finishedAt = record.finishedAt ?? record.startedAt;
    if (!newest || finishedAt > newest.finishedAt) newest = { directory, finishedAt };
  }
  return newest?.directory;
}
