// The label-efficiency sweep: the three classifier variants on nested, stratified label subsets of growing size,
// several seeds each, all on one pretrained autoencoder. Each finished cell is written at once, so a killed
// sweep loses at most the cell in progress and a rerun skips what is done.
import { subsetImageSet } from './data/dataset.js';
import { prepareData } from './data/prepare.js';
import { stratifiedSubsets } from './data/split.js';
import { pretrain, trainAndEvaluate, writeReport } from './experiment.js';
import type { ExperimentContext } from './experiment.js';
import type { EncoderMode, MeanAndSpread, Metrics, SweepCell, SweepResult } from './metrics.js';
import { labelSweepChart } from './viz/charts.js';

export interface SweepOptions {
  /** Label counts; 'all' is the whole training split. */
  labelCounts: (number | 'all')[];
  seeds: number;
  encoders: EncoderMode[];
}

export const defaultSweep: SweepOptions = {
  labelCounts: [100, 300, 1000, 3000, 6000, 'all'],
  seeds: 3,
  encoders: ['frozen', 'finetuned', 'scratch'],
};

const cellFile = (cell: Pick<SweepCell, 'encoder' | 'labels' | 'seed'>) => `sweep/cells/${cell.encoder}-${cell.labels}-seed${cell.seed}.json`;

export function meanAndSpread(values: readonly number[]): MeanAndSpread {
  const mean = values.reduce((sum, value) => sum + value, 0) / values.length;
  const variance = values.length < 2 ? 0 : values.reduce((sum, value) => sum + (value - mean) ** 2, 0) / (values.length - 1);
  return { mean, std: Math.sqrt(variance) };
}

/** Mean ± std per (variant, label count), and the paired fine-tuned − scratch gain per label count. */
export function summariseSweep(labelCounts: number[], seeds: number[], cells: SweepCell[], validationPolicy: string): SweepResult {
  const find = (encoder: EncoderMode, labels: number, seed: number) =>
    cells.find((cell) => cell.encoder === encoder && cell.labels === labels && cell.seed === seed);
  const encoders = [...new Set(cells.map((cell) => cell.encoder))];
  const summary = labelCounts.flatMap((labels) => encoders.map((encoder) => {
    const runs = cells.filter((cell) => cell.encoder === encoder && cell.labels === labels);
    return { encoder, labels, seeds: runs.length, accuracy: meanAndSpread(runs.map((r) => r.accuracy)), macroF1: meanAndSpread(runs.map((r) => r.macroF1)) };
  })).filter((entry) => entry.seeds > 0);
  const gain = labelCounts.flatMap((labels) => {
    const differences = seeds.flatMap((seed) => {
      const finetuned = find('finetuned', labels, seed), scratch = find('scratch', labels, seed);
      return finetuned && scratch ? [finetuned.accuracy - scratch.accuracy] : [];
    });
    return differences.length > 0 ? [{ labels, ...meanAndSpread(differences) }] : [];
  });
  return { labelCounts, seeds, validationPolicy, cells, summary, gain };
}

export async function runSweep(context: ExperimentContext, options: SweepOptions): Promise<SweepResult> {
  const { run, config, reporter } = context;
  const data = await prepareData(config);
  const { autoencoder } = await pretrain(context, data);
  const labelCounts = [...new Set(options.labelCounts.map((count) => (count === 'all' ? data.train.count : Math.min(count, data.train.count))))]
    .sort((a, b) => a - b);
  const seeds = Array.from({ length: options.seeds }, (_, index) => config.seed + index);
  const everything = Int32Array.from({ length: data.train.count }, (_, index) => index);
  const everyValidation = Int32Array.from({ length: data.validation.count }, (_, index) => index);
  const validationPolicy = 'early stopping on a stratified validation subset of at most as many labelled images as the training subset (capped at the held-out set)';
  const total = labelCounts.length * seeds.length * options.encoders.length;
  const cells: SweepCell[] = [];
  let done = 0;
  let trainedSeconds = 0, trainedCells = 0;
  for (const seed of seeds) {
    // Nested per seed: the smaller subsets are inside the larger ones, and every variant sees the same labels.
    const partial = labelCounts.filter((count) => count < data.train.count);
    const subsets = partial.length > 0 ? stratifiedSubsets(data.train.labels, everything, partial, seed) : [];
    for (const labels of labelCounts) {
      const indices = labels === data.train.count ? everything : subsets[partial.indexOf(labels)]!;
      await run.writeJson(`sweep/subsets/labels-${labels}-seed${seed}.json`, { labels, seed, indices: Array.from(indices) });
      const validationCount = Math.min(labels, data.validation.count);
      const validation = validationCount === data.validation.count ? data.validation
        : subsetImageSet(data.validation, stratifiedSubsets(data.validation.labels, everyValidation, [validationCount], seed)[0]!);
      const labelled = subsetImageSet(data.train, indices);
      for (const encoder of options.encoders) {
        const file = cellFile({ encoder, labels, seed });
        if (await run.exists(file)) {
          cells.push(await run.readJson<SweepCell>(file));
          done += 1;
          continue;
        }
        const stage = `sweep ${encoder} ${labels} labels seed ${seed}`;
        const { classifier, result } = await trainAndEvaluate(context, data, autoencoder, encoder, labelled, validation, {
          stage, name: `sweep-${encoder}-${labels}-${seed}`, seed, labelFraction: labels / data.train.count,
        });
        classifier.model.dispose();
        const cell: SweepCell = { encoder, labels, seed, accuracy: result.test.accuracy, macroF1: result.test.macroF1, epochs: result.epochs, seconds: result.trainSeconds };
        await run.writeJson(file, cell);
        cells.push(cell);
        done += 1;
        trainedSeconds += cell.seconds;
        trainedCells += 1;
        // Cells grow with the label count, so the ETA scales the mean time per cell by the labels still to go.
        const remaining = total - done;
        const eta = remaining === 0 ? 0 : (trainedSeconds / trainedCells) * remaining;
        reporter({ type: 'message', stage: 'sweep', text: `cell ${done}/${total} done (${encoder}, ${labels} labels, seed ${seed}: ${(100 * cell.accuracy).toFixed(2)}%); about ${Math.round(eta / 60)} min to go` });
      }
    }
  }
  const result = summariseSweep(labelCounts, seeds, cells, validationPolicy);
  await run.writeJson('sweep/sweep.json', result);
  const chart = await labelSweepChart(result.summary.map((entry) => ({ variant: entry.encoder, labels: entry.labels, mean: entry.accuracy.mean, std: entry.accuracy.std })),
    { title: 'Test accuracy against the number of labels' });
  await run.writeFile('figures/sweep.svg', chart);
  await run.writeJson('figures/sweep.json', [{
    id: 'sweep', section: 'classification', title: 'Label efficiency', mime: 'image/svg+xml', file: 'figures/sweep.svg',
    caption: `Test accuracy of the three classifier variants against the number of labelled training images (log scale), mean over ${seeds.length} seeds with a ±1 standard deviation band; the subsets are nested and stratified, and every variant sees the same labels.`,
  }]);
  if (await run.exists('metrics.json')) {
    const metrics = await run.readJson<Metrics>('metrics.json');
    await run.writeJson('metrics.json', { ...metrics, sweep: result });
    if (run.isStageDone('classify')) await writeReport(context);
  } else {
    await run.writeJson('metrics.json', { formatVersion: 1, sweep: result });
  }
  return result;
}

