// `npm run bench`: training speed of the reference autoencoder and the study's classifier, against the machine's
// measured peak and against two peers in ../shared/peers: PyTorch (torch-peer: the newest PyTorch pip can install,
// at its best memory format) and Keras 3 on TensorFlow (keras-peer, with and without XLA, the faster). Ours and each
// peer's take turns over several rounds of at least 10 s a side; per model the median ratio against each peer and
// against the stronger one. Then each step and kernel as GFLOP/s and share of the peak, the classifier as one run
// against runs side by side in worker threads, and the wasm and cpu backends.
//   npm run bench -- [--json] [--seconds S] [--rounds N] [--threads N] [--torch-peer PATH|none]
//                    [--keras-peer PATH|none] [--no-cpu]   (--help for more)
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Worker } from 'node:worker_threads';
import * as tf from '@tensorflow/tfjs-core';

import { useBackend } from '../src/backend/index.js';
import { measurePeakFlops } from '../src/backend/native/peak.js';
import type { PeakFlops } from '../src/backend/native/peak.js';
import { buildAutoencoder } from '../src/model/autoencoder.js';
import { buildClassifier, referenceHeadUnits } from '../src/model/classifier.js';
import { measureTraining } from './autoencoder-speed.js';
import type { Measurement } from './autoencoder-speed.js';
import { measureClassifier } from './classifier-speed.js';
import { trainingFlopsPerImage } from './flops.js';
import { kernelCases, timeKernel } from './kernels.js';
import { peerKinds, runPeer } from './peers.js';
import type { Model, PeerKey, PeerMeasurement } from './peers.js';

const usage =
  'usage: npm run bench -- [--json] [--seconds S] [--rounds N] [--threads N] [--torch-peer PATH|none] ' +
  '[--keras-peer PATH|none] [--no-cpu]';

/** Bad flags end the run with one line that names the flag and shows the usage, and exit code 2. */
function refuse(problem: string): never {
  process.stderr.write(`bench: ${problem}\n${usage}\n`);
  process.exit(2);
}

function parseFlags() {
  try {
    return parseArgs({
      options: {
        help: { type: 'boolean', short: 'h', default: false },
        json: { type: 'boolean', default: false },
        seconds: { type: 'string', default: '10' },
        rounds: { type: 'string', default: '3' },
        threads: { type: 'string', default: '0' },
        'torch-peer': { type: 'string' },
        // The torch peer's flag before there were two peers.
        peer: { type: 'string' },
        'keras-peer': { type: 'string' },
        'no-cpu': { type: 'boolean', default: false },
      },
    }).values;
  } catch (error) {
    return refuse(error instanceof Error ? error.message.split('\n')[0]! : String(error));
  }
}

/** A flag's value as a whole number of at least `minimum`. */
function wholeNumber(flag: string, text: string, minimum: number): number {
  const value = Number(text);
  if (!Number.isInteger(value) || value < minimum)
    refuse(`--${flag} ${JSON.stringify(text)}: expected a whole number >= ${minimum}`);
  return value;
}

const projectRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const flags = parseFlags();
if (flags.help) {
  process.stdout.write(
    `${usage}\n  --seconds S: each measurement, ours and each peer's, lasts S seconds (default 10)\n` +
      '  --rounds N: interleaved rounds of ours and the peers (default 3; the ratios are their medians)\n' +
      '  --threads 0 uses every core\n' +
      '  --torch-peer PATH (or --peer PATH), --keras-peer PATH: the peer scripts (default ../shared/peers/*); none skips one\n',
  );
  process.exit(0);
}
if (flags.peer !== undefined && flags['torch-peer'] !== undefined && flags.peer !== flags['torch-peer'])
  refuse('--peer and --torch-peer name the same peer: give one of them');
const peerPaths: Record<PeerKey, string> = {
  torch: flags['torch-peer'] ?? flags.peer ?? join(projectRoot, '..', 'shared', 'peers', 'torch-peer'),
  keras: flags['keras-peer'] ?? join(projectRoot, '..', 'shared', 'peers', 'keras-peer'),
};
const batchSize = 128;
const threads = wholeNumber('threads', flags.threads, 0);
const print = (line = '') => process.stdout.write(`${line}\n`);

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
};
const round1 = (value: number) => Number(value.toFixed(1));
const round3 = (value: number) => Number(value.toFixed(3));
const gflops = (flopsPerSecond: number) => (flopsPerSecond / 1e9).toFixed(1);
const percent = (share: number) => `${(100 * share).toFixed(0)}%`;

const seconds = Number(flags.seconds);
if (!(seconds > 0)) refuse(`--seconds ${JSON.stringify(flags.seconds)}: expected a number of seconds > 0`);
const rounds = wholeNumber('rounds', flags.rounds, 1);

// The limit every step and kernel is a share of: the peak with all the kernels' threads, measured before anything
// else loads the machine (and again with one thread, to show what the second and later threads add).
const nativeThreads = (await useBackend('native', { threads })).threads;
let peak: { all: PeakFlops; one: PeakFlops } | { unavailable: string };
try {
  peak = { all: measurePeakFlops(nativeThreads), one: measurePeakFlops(1) };
  const build = { avx512: 'AVX-512', avx2: 'AVX2', avx: 'AVX' }[peak.all.target] ?? peak.all.target;
  print(
    `peak: ${gflops(peak.all.flopsPerSecond)} GFLOP/s on ${nativeThreads} threads, ${gflops(peak.one.flopsPerSecond)} on one ` +
      `(${build} build, ${peak.all.lanes} lanes: independent multiply-adds, the best of 5 runs)`,
  );
} catch (error) {
  peak = { unavailable: error instanceof Error ? error.message : String(error) };
  print(`peak not measured: ${peak.unavailable}`);
}

// FLOP per image of each model's training step, counted from its layers (bench/flops.ts says how).
const flopsPerImage: Record<Model, number> = { autoencoder: 0, classifier: 0 };
{
  const { autoencoder } = buildAutoencoder();
  const { model: classifier } = buildClassifier(
    'scratch',
    { height: 28, width: 28, codingUnits: 32 },
    10,
    null,
    referenceHeadUnits,
  );
  flopsPerImage.autoencoder = trainingFlopsPerImage(autoencoder);
  flopsPerImage.classifier = trainingFlopsPerImage(classifier);
  autoencoder.dispose();
  classifier.dispose();
}

print(
  `\nTraining speed, batch ${batchSize}: ours (native whole step), then each peer, in turn, ${rounds} round${rounds === 1 ? '' : 's'} of ${seconds} s a side`,
);
print('  autoencoder: reference DAE (encoder 119,200 + decoder 159,169 params), Adam, MSE, fresh 20% salt-and-pepper');
print('  classifier: encoder + 16-16-10 head (120,170 params), the whole network trains, Adam, cross-entropy');
const models = ['autoencoder', 'classifier'] as const;
const ours: Record<Model, number[]> = { autoencoder: [], classifier: [] };
const peers: Record<Model, Record<PeerKey, PeerMeasurement[]>> = {
  autoencoder: { torch: [], keras: [] },
  classifier: { torch: [], keras: [] },
};
const peerUnavailable: Partial<Record<PeerKey, string>> = {};
let native: Measurement | null = null;
for (let round = 1; round <= rounds; round += 1) {
  for (const model of models) {
    const rate =
      model === 'autoencoder'
        ? (native = await measureTraining('native', threads, seconds, batchSize)).imagesPerSecond
        : await measureClassifier(threads, seconds);
    ours[model].push(rate);
    let line = `round ${round}  ${model.padEnd(11)}  ours ${rate.toFixed(0).padStart(6)} images/s`;
    for (const kind of peerKinds) {
      if (peerUnavailable[kind.key] !== undefined) continue;
      const peer = runPeer(kind, peerPaths[kind.key], model, seconds, batchSize);
      if ('unavailable' in peer) {
        peerUnavailable[kind.key] = peer.unavailable;
        continue;
      }
      peers[model][kind.key].push(peer);
      line += `   ${kind.key} ${peer.imagesPerSecond.toFixed(0).padStart(6)} (${peer.fasterWay}) ratio ${(rate / peer.imagesPerSecond).toFixed(2)}`;
    }
    print(line);
  }
}

// Anything that shares a core with the measuring threads, even for a moment, only lowers a peak reading: two runs
// here read 172 and 117 GFLOP/s on two threads that give 232-234 on a quiet machine, and every share of the peak
// came out too high. So measure it again now that the peers are done, and keep the higher of the two readings.
if ('all' in peak) {
  const again = { all: measurePeakFlops(nativeThreads), one: measurePeakFlops(1) };
  const higher = (first: PeakFlops, second: PeakFlops) =>
    second.flopsPerSecond > first.flopsPerSecond ? second : first;
  print(
    `peak again after the rounds: ${gflops(again.all.flopsPerSecond)} GFLOP/s on ${nativeThreads} threads, ` +
      `${gflops(again.one.flopsPerSecond)} on one; the higher of the two readings is the peak below`,
  );
  peak = { all: higher(peak.all, again.all), one: higher(peak.one, again.one) };
}
const peakFlops = 'all' in peak ? peak.all.flopsPerSecond : null;
const shareOfPeak = (flopsPerSecond: number) => (peakFlops === null ? null : flopsPerSecond / peakFlops);

/** Per model and peer: the median images/s and the median of the rounds' ratios ours / peer; null when unmeasured. */
function peerSummary(model: Model, key: PeerKey) {
  const measured = peers[model][key];
  if (measured.length === 0) return null;
  const medianImagesPerSecond = median(measured.map((peer) => peer.imagesPerSecond));
  return {
    name: measured[0]!.name,
    imagesPerSecond: measured.map((peer) => peer.imagesPerSecond),
    fasterWay: measured.map((peer) => peer.fasterWay),
    medianImagesPerSecond,
    gflops: (flopsPerImage[model] * medianImagesPerSecond) / 1e9,
    shareOfPeak: shareOfPeak(flopsPerImage[model] * medianImagesPerSecond),
    medianRatio: median(measured.map((peer, index) => ours[model][index]! / peer.imagesPerSecond)),
    rounds: measured.length,
  };
}
const summary = models.map((model) => {
  const ourMedian = median(ours[model]);
  const byPeer = peerKinds.flatMap((kind) => {
    const entry = peerSummary(model, kind.key);
    return entry ? [{ key: kind.key, ...entry }] : [];
  });
  // The stronger peer: the higher median images/s on this model.
  const stronger = byPeer.reduce<(typeof byPeer)[number] | null>(
    (best, entry) => (best === null || entry.medianImagesPerSecond > best.medianImagesPerSecond ? entry : best),
    null,
  );
  return {
    model,
    ourMedian,
    gflops: (flopsPerImage[model] * ourMedian) / 1e9,
    shareOfPeak: shareOfPeak(flopsPerImage[model] * ourMedian),
    byPeer,
    stronger,
  };
});

print(
  `\nMedians of ${rounds} round${rounds === 1 ? '' : 's'}. One training step (forward and backward multiply-adds, bench/flops.ts) is ` +
    `${(flopsPerImage.autoencoder / 1e6).toFixed(1)} MFLOP per autoencoder image and ` +
    `${(flopsPerImage.classifier / 1e6).toFixed(1)} per classifier image` +
    (peakFlops === null ? '; no peak to compare with.' : `; % of the ${gflops(peakFlops)} GFLOP/s peak.`),
);
print(
  `${'model'.padEnd(12)} ${'who'.padEnd(30)} ${'images/s'.padStart(9)} ${'GFLOP/s'.padStart(8)} ${'% of peak'.padStart(9)} ${'ours / this'.padStart(12)}`,
);
for (const row of summary) {
  const line = (who: string, imagesPerSecond: number, share: number | null, ratio: string) =>
    print(
      `${row.model.padEnd(12)} ${who.padEnd(30)} ${imagesPerSecond.toFixed(0).padStart(9)} ` +
        `${gflops(flopsPerImage[row.model] * imagesPerSecond).padStart(8)} ${(share === null ? '–' : percent(share)).padStart(9)} ${ratio.padStart(12)}`.trimEnd(),
    );
  line('ours', row.ourMedian, row.shareOfPeak, '');
  for (const entry of row.byPeer)
    line(entry.name, entry.medianImagesPerSecond, entry.shareOfPeak, entry.medianRatio.toFixed(2));
  if (row.stronger)
    print(
      `${row.model.padEnd(12)} stronger peer: ${row.stronger.name} (higher median images/s), ours / it ${row.stronger.medianRatio.toFixed(2)}`,
    );
}
print(`ours: native backend, ${native?.detail ?? ''}, ${native?.threads ?? ''} threads`);
for (const kind of peerKinds) {
  const measured = peers.autoencoder[kind.key][0] ?? peers.classifier[kind.key][0];
  print(
    measured
      ? `${kind.key} peer: ${measured.name}${measured.blas ? `, ${measured.blas} BLAS` : ''}, measured in this run`
      : `${kind.key} peer not measured: ${peerUnavailable[kind.key] ?? 'no round ran it'}`,
  );
}

print("\nPer-kernel speed at the model's shapes (batch 128):");
print(
  `${'kernel'.padEnd(58)} ${'MFLOP'.padStart(7)} ${'native GFLOP/s'.padStart(15)} ${'% of peak'.padStart(9)} ${'wasm GFLOP/s'.padStart(13)}`,
);
const kernelRates = new Map<string, { native: number; wasm: number; flops: number }>();
{
  const { cases, inputs } = kernelCases(batchSize);
  for (const c of cases)
    kernelRates.set(c.name, { native: c.flops / timeKernel(c.run, 300) / 1e6, wasm: 0, flops: c.flops });
  tf.dispose(inputs);
}
await useBackend('wasm');
{
  const { cases, inputs } = kernelCases(batchSize);
  for (const c of cases) kernelRates.get(c.name)!.wasm = c.flops / timeKernel(c.run, 300) / 1e6;
  tf.dispose(inputs);
}
for (const [name, rate] of kernelRates) {
  const share = shareOfPeak(rate.native * 1e9);
  print(
    `${name.padEnd(58)} ${(rate.flops / 1e6).toFixed(1).padStart(7)} ${rate.native.toFixed(1).padStart(15)} ` +
      `${(share === null ? '–' : percent(share)).padStart(9)} ${rate.wasm.toFixed(1).padStart(13)}`,
  );
}

// The classifier's kernels are small: one run keeps a second thread mostly waiting. The study trains its runs
// side by side in worker threads (--workers), one kernel thread each; this is the comparison behind that.
const oneRun = median(ours.classifier);
const sideBySide = await Promise.all(
  Array.from(
    { length: nativeThreads },
    () =>
      new Promise<number>((resolve, reject) => {
        const worker = new Worker(new URL('./classifier-speed.js', import.meta.url), { workerData: seconds });
        worker.once('message', (rate: number) => {
          void worker.terminate();
          resolve(rate);
        });
        worker.once('error', reject);
      }),
  ),
);
await useBackend('native', { threads });
const sideBySideTotal = sideBySide.reduce((sum, rate) => sum + rate, 0);
print(
  `\nClassifier (scratch, batch 128): one run on ${nativeThreads} threads ${oneRun.toFixed(0)} images/s (median above); ` +
    `${nativeThreads} runs side by side on one thread each ${sideBySide.map((rate) => rate.toFixed(0)).join(' + ')} = ` +
    `${sideBySideTotal.toFixed(0)} images/s (${(sideBySideTotal / oneRun).toFixed(2)}×)`,
);

const wasm = await measureTraining('wasm', threads, seconds / 2, batchSize, 2);
print(
  `\nwasm    ${wasm.imagesPerSecond.toFixed(1).padStart(8)} images/s  (autoencoder, ${wasm.batches} batches of ${batchSize})`,
);
let cpu: Measurement | null = null;
if (!flags['no-cpu']) {
  cpu = await measureTraining('cpu', threads, 0, 16);
  print(
    `cpu     ${cpu.imagesPerSecond.toFixed(1).padStart(8)} images/s  (1 batch of 16: the stock tfjs cpu backend is too slow for more)`,
  );
}
if (flags.json) {
  /** A model's figures: the old fields (against the PyTorch peer) first, then the step's work and each peer. */
  const modelJson = (model: Model) => {
    const row = summary.find((entry) => entry.model === model)!;
    const torch = peers[model].torch;
    const torchSummary = row.byPeer.find((entry) => entry.key === 'torch');
    return {
      imagesPerSecond: ours[model].map(round1),
      peerImagesPerSecond: torch.map((peer) => peer.imagesPerSecond),
      peerMemoryFormat: torch.map((peer) => peer.fasterWay),
      medianRatio: torchSummary ? round3(torchSummary.medianRatio) : null,
      megaflopsPerImage: round1(flopsPerImage[model] / 1e6),
      gflops: round1(row.gflops),
      shareOfPeak: row.shareOfPeak === null ? null : round3(row.shareOfPeak),
      peers: Object.fromEntries(
        row.byPeer.map((entry) => [
          entry.key,
          {
            name: entry.name,
            imagesPerSecond: entry.imagesPerSecond,
            fasterWay: entry.fasterWay,
            medianImagesPerSecond: round1(entry.medianImagesPerSecond),
            gflops: round1(entry.gflops),
            shareOfPeak: entry.shareOfPeak === null ? null : round3(entry.shareOfPeak),
            medianRatio: round3(entry.medianRatio),
          },
        ]),
      ),
      stronger: row.stronger ? { peer: row.stronger.key, medianRatio: round3(row.stronger.medianRatio) } : null,
    };
  };
  const peerJson = (key: PeerKey) => {
    const measured = peers.autoencoder[key][0] ?? peers.classifier[key][0];
    return measured ? { name: measured.name, blas: measured.blas } : { unavailable: peerUnavailable[key] ?? null };
  };
  print(
    JSON.stringify({
      backend: 'native',
      detail: native?.detail ?? null,
      threads: nativeThreads,
      batch: batchSize,
      seconds,
      rounds,
      peak:
        'all' in peak
          ? {
              gflops: round1(peak.all.flopsPerSecond / 1e9),
              threads: peak.all.threads,
              oneThreadGflops: round1(peak.one.flopsPerSecond / 1e9),
              target: peak.all.target,
              lanes: peak.all.lanes,
            }
          : peak,
      autoencoder: modelJson('autoencoder'),
      classifier: {
        ...modelJson('classifier'),
        sideBySideImagesPerSecond: round1(sideBySideTotal),
        runs: nativeThreads,
      },
      peer: peerJson('torch'),
      peers: { torch: peerJson('torch'), keras: peerJson('keras') },
      kernels: [...kernelRates].map(([name, rate]) => ({
        name: name.replace(/\s+/g, ' '),
        megaflops: round1(rate.flops / 1e6),
        nativeGflops: round1(rate.native),
        nativeShareOfPeak: peakFlops === null ? null : round3((rate.native * 1e9) / peakFlops),
        wasmGflops: round1(rate.wasm),
      })),
      wasmImagesPerSecond: round1(wasm.imagesPerSecond),
      cpuImagesPerSecond: cpu ? Number(cpu.imagesPerSecond.toFixed(2)) : null,
    }),
  );
}
