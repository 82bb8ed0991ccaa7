// How fast each kind of work went in the ETA's recordings (test/fixtures/eta-*.jsonl.gz), in images per second and in
// multiply-adds per second of one run alone (src/model/arithmetic.ts), and a step's fixed cost fitted per recording:
//   npx tsc -p tsconfig.json && node scripts/fit-work-speeds.mjs [FIXTURE.jsonl.gz...]
// For every epoch it takes the planned images, steps and validation images of its phase and the epoch's seconds times
// the pool share of the runs going on during it (src/cli/eta.ts's poolShare). Per recording it prints each kind's
// speed, the ratio of the whole classifier's images per second to the autoencoder's (the layer arithmetic says 6.5)
// and each kind's multiply-adds per second against the autoencoder's (the arithmetic says 1), and the least-squares
// fit of seconds = multiply-adds / speed + steps x a step's seconds over the classifier's and the head's epochs
// (weighted by relative error), with a step's seconds in multiply-adds at the fitted speed (the head's at the
// classifier's). src/cli/eta.ts's stepMultiplyAdds came from the three recordings made under a light load. Last, the
// scatter that sets eta.ts's kindEpochsWeight: a run's first whole-network epoch about the mean of its later ones, and
// the runs' means about their cost at the recording's speed, both in log. On the six recordings made before the model
// was final it prints 0.323 and 0.314 rms pooled (1.1 epochs), 0.283 and 0.189 without eta-sweep-seed2 (2.2); with
// the held-out eta-ablation2 too, 0.340 and 0.292 (1.4), 0.312 and 0.176 (3.2).
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { gunzipSync } from 'node:zlib';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const { referenceShape, workArithmetic } = await import(pathToFileURL(join(root, 'dist/src/model/arithmetic.js')).href);
const { poolShare, stepMultiplyAdds } = await import(pathToFileURL(join(root, 'dist/src/cli/eta.js')).href);
const perImage = workArithmetic(referenceShape, 10);
const arithmetic = {
  autoencoder: [perImage.autoencoderTraining, perImage.autoencoderForward],
  classifier: [perImage.classifierTraining, perImage.classifierForward],
  head: [perImage.headTraining, perImage.headForward],
};
const fixtures = process.argv.length > 2 ? process.argv.slice(2)
  : readdirSync(join(root, 'test/fixtures')).filter((name) => /^eta-.*\.jsonl\.gz$/.test(name)).map((name) => join(root, 'test/fixtures', name));

/** Every epoch of a recording: its phase's amounts, its seconds, and the mean count of pool runs going on meanwhile. */
function epochsOf(file) {
  const events = gunzipSync(readFileSync(file)).toString('utf8').trimEnd().split('\n').map((line) => JSON.parse(line));
  const plans = new Map(events[0].event.runs.map((run) => [run.stage, run]));
  const running = new Set(), started = new Map(), runSeconds = new Map(), epochs = [];
  let last = 0;
  for (const { t, event } of events) {
    const pool = [...running].filter((stage) => plans.get(stage)?.parallel).length;
    for (const [stage, area] of runSeconds) runSeconds.set(stage, area + (t - last) * pool);
    last = t;
    const plan = plans.get(event.stage);
    if (!plan) continue;
    if (event.type === 'stage-start' || event.type === 'epoch-start') running.add(event.stage);
    if (event.type === 'epoch-start') { started.set(event.stage, t); runSeconds.set(event.stage, 0); }
    if ((event.type === 'stage-end' && plan.variant === undefined) || event.type === 'run-end') running.delete(event.stage);
    if (event.type !== 'epoch-end') continue;
    let end = 0;
    const phase = plan.epochs.find((candidate) => event.record.epoch <= (end += candidate.count));
    const wall = t - started.get(event.stage);
    const share = plan.parallel && wall > 0 ? poolShare(Math.max(1, Math.round(runSeconds.get(event.stage) / wall))) : 1;
    runSeconds.delete(event.stage);
    const [training, forward] = arithmetic[phase.kind];
    epochs.push({ ...phase, stage: event.stage, multiplyAdds: phase.images * training + phase.validationImages * forward, alone: event.record.seconds * share });
  }
  return epochs;
}

/** Least squares of alone = multiplyAdds / speed + batches x step, each epoch weighted by 1 / alone^2. */
function fitStep(epochs) {
  let s11 = 0, s12 = 0, s22 = 0, s1y = 0, s2y = 0;
  for (const { multiplyAdds: x1, batches: x2, alone: y } of epochs) {
    const w = 1 / (y * y);
    s11 += w * x1 * x1; s12 += w * x1 * x2; s22 += w * x2 * x2; s1y += w * x1 * y; s2y += w * x2 * y;
  }
  const det = s11 * s22 - s12 * s12;
  return { speed: det / (s1y * s22 - s2y * s12), stepSeconds: (s11 * s2y - s12 * s1y) / det };
}

const total = (list, key) => list.reduce((sum, entry) => sum + entry[key], 0);
const mean = (values) => values.reduce((sum, value) => sum + value, 0) / values.length;
/** Per recording: squared log scatter of a run's first whole-network epoch about its later ones, and of runs' means about the cost model. */
const scatter = [];
for (const file of fixtures) {
  const epochs = epochsOf(file).filter((epoch) => epoch.alone > 0);
  console.log(file.split('/').at(-1));
  const speeds = {};
  for (const kind of ['autoencoder', 'classifier', 'head']) {
    const list = epochs.filter((epoch) => epoch.kind === kind);
    if (list.length === 0) continue;
    const seconds = total(list, 'alone');
    const cost = total(list, 'multiplyAdds') + total(list, 'batches') * stepMultiplyAdds[kind];
    speeds[kind] = { images: total(list, 'images') / seconds, cost: cost / seconds };
    let line = `  ${kind}: ${list.length} epochs, ${seconds.toFixed(1)} s alone, ${speeds[kind].images.toFixed(0)} images/s, ${(speeds[kind].cost / 1e9).toFixed(2)} G multiply-adds/s with steps`;
    if (kind !== 'autoencoder') {
      const fit = fitStep(list);
      const at = kind === 'head' ? (speeds.classifier?.cost ?? fit.speed) : fit.speed;
      line += `; fit: ${(fit.speed / 1e9).toFixed(2)} G/s + ${(1000 * fit.stepSeconds).toFixed(3)} ms a step (${(fit.stepSeconds * at / 1e6).toFixed(1)} M multiply-adds)`;
    }
    console.log(line);
  }
  // How well a run's own epochs and its kind's speed tell its next epochs (src/cli/eta.ts's kindEpochsWeight): in log,
  // each whole-network epoch's time against its cost at the recording's speed, per run.
  const runs = new Map();
  for (const epoch of epochs.filter((entry) => entry.kind === 'classifier')) {
    const cost = epoch.multiplyAdds + epoch.batches * stepMultiplyAdds.classifier;
    runs.set(epoch.stage, [...(runs.get(epoch.stage) ?? []), Math.log(epoch.alone * speeds.classifier.cost / cost)]);
  }
  const first = [...runs.values()].filter((logs) => logs.length >= 6).map((logs) => (logs[0] - mean(logs.slice(1))) ** 2);
  const between = [...runs.values()].filter((logs) => logs.length >= 3).map((logs) => mean(logs) ** 2);
  if (first.length > 0) {
    scatter.push({ file, first: mean(first), between: mean(between) });
    console.log(`  whole-network runs: first epoch about the mean of the later ones ${Math.sqrt(mean(first)).toFixed(3)} rms in log (${first.length} runs); runs' means about the cost at this speed ${Math.sqrt(mean(between)).toFixed(3)} (${between.length} runs)`);
  }
  if (speeds.autoencoder && speeds.classifier) {
    console.log(`  classifier against autoencoder: ${(speeds.classifier.images / speeds.autoencoder.images).toFixed(2)}x the images/s (arithmetic: ${(perImage.autoencoderTraining / perImage.classifierTraining).toFixed(2)}), ${(speeds.classifier.cost / speeds.autoencoder.cost).toFixed(2)}x the multiply-adds/s (arithmetic: 1)`);
  }
}

const ratio = (list) => `first epoch ${Math.sqrt(mean(list.map((entry) => entry.first))).toFixed(3)}, runs ${Math.sqrt(mean(list.map((entry) => entry.between))).toFixed(3)} rms in log: the kind counts as ${(mean(list.map((entry) => entry.first)) / mean(list.map((entry) => entry.between))).toFixed(1)} epochs`;
if (scatter.length > 1) {
  console.log(`pooled over ${scatter.length} recordings: ${ratio(scatter)}`);
  const calm = scatter.filter((entry) => !entry.file.endsWith('eta-sweep-seed2.jsonl.gz'));
  if (calm.length < scatter.length) console.log(`without the sweep whose machine sped up (eta-sweep-seed2): ${ratio(calm)}`);
}
