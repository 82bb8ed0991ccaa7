// Refits the ETA's stopping-epoch prior (src/cli/stopping.ts) from finished run folders:
//   node scripts/fit-stopping.mjs RUN_DIR...
// reads every ablation cell (ablation/cells/*.json, with its budget) and sweep cell (sweep/cells/*.json) and the
// study's classifiers (classifiers/*.json), keeps the runs that early stopping ended before their
// budget, and prints the least-squares fit of log(best epoch) against log(steps per epoch) for whole-network runs,
// the geometric mean best epoch of frozen ones, and each fit's rms in log. A study's classifiers are read with the
// budget its run.json saved. The constants in stopping.ts came from this round's recipe: the run folders of a study
// with its default sweep and ablation, and of another study with its default sweep, print 98 runs, 110.2 /
// steps^0.443, and 63, 59.3. (The earlier recipe's, from its ablation's default grid and four studies: 76.2 /
// steps^0.312 and 63.5.)
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/** The earlier full preset's budget, for a study folder whose run.json holds no config. */
const full = { batchSize: 128, maxEpochs: 40, maxImagesPerRun: 825_000, frozenMaxEpochs: 100, frozenMaxImagesPerRun: 1_100_000, patience: 10, frozenPatience: 20, warmupEpochs: 3 };

/** Epochs, patience and steps per epoch of a run on `labels` labels with `budget` (as src/train/classifier.ts's epochsFor). */
function shape(budget, encoder, labels) {
  const [epochs, images] = encoder === 'frozen' ? [budget.frozenMaxEpochs, budget.frozenMaxImagesPerRun] : [budget.maxEpochs, budget.maxImagesPerRun];
  return {
    maxEpochs: Math.max(budget.warmupEpochs + 1, Math.min(epochs, Math.floor(images / labels))),
    patience: encoder === 'frozen' ? budget.frozenPatience : budget.patience,
    steps: Math.ceil(labels / budget.batchSize),
  };
}

const runs = [];
for (const folder of process.argv.slice(2)) {
  for (const cells of [join(folder, 'ablation', 'cells'), join(folder, 'sweep', 'cells')]) {
    if (!existsSync(cells)) continue;
    for (const name of readdirSync(cells).filter((file) => file.endsWith('.json'))) {
      const cell = JSON.parse(readFileSync(join(cells, name), 'utf8'));
      if (!cell.budget) continue;
      const { maxEpochs, patience, steps } = shape(cell.budget, cell.encoder, cell.labels);
      // Stopped early: its best epoch was `patience` epochs before its last.
      if (cell.epochs < maxEpochs) runs.push({ encoder: cell.encoder, steps, best: cell.epochs - patience });
    }
  }
  const classifiers = join(folder, 'classifiers');
  if (!existsSync(classifiers)) continue;
  // The study's budget as its run folder saved it.
  const record = join(folder, 'run.json');
  const budget = (existsSync(record) && JSON.parse(readFileSync(record, 'utf8')).config?.classifier) || full;
  for (const name of readdirSync(classifiers).filter((file) => file.endsWith('.json'))) {
    const { result } = JSON.parse(readFileSync(join(classifiers, name), 'utf8'));
    const { maxEpochs, steps } = shape(budget, result.encoder, result.labels);
    const accuracies = result.history.map((record) => record.validationAccuracy);
    if (result.epochs < maxEpochs) runs.push({ encoder: result.encoder, steps, best: 1 + accuracies.indexOf(Math.max(...accuracies)) });
  }
}

const whole = runs.filter((run) => run.encoder !== 'frozen' && run.best > 0);
const frozen = runs.filter((run) => run.encoder === 'frozen' && run.best > 0);
// log(best) = a - exponent * log(steps): ordinary least squares.
const xs = whole.map((run) => Math.log(run.steps)), ys = whole.map((run) => Math.log(run.best));
const mean = (values) => values.reduce((total, value) => total + value, 0) / values.length;
const [mx, my] = [mean(xs), mean(ys)];
const slope = xs.reduce((total, x, index) => total + (x - mx) * (ys[index] - my), 0) / xs.reduce((total, x) => total + (x - mx) ** 2, 0);
const intercept = my - slope * mx;
const rms = (residuals) => Math.sqrt(mean(residuals.map((value) => value ** 2)));
console.log(`whole network: ${whole.length} runs stopped early; best epoch ~ ${Math.exp(intercept).toFixed(1)} / steps^${(-slope).toFixed(3)}, rms ${rms(ys.map((y, index) => y - intercept - slope * xs[index])).toFixed(3)} in log`);
const frozenLogs = frozen.map((run) => Math.log(run.best));
console.log(`frozen: ${frozen.length} runs stopped early; best epoch ~ ${Math.exp(mean(frozenLogs)).toFixed(1)}, rms ${rms(frozenLogs.map((value) => value - mean(frozenLogs))).toFixed(3)} in log`);
