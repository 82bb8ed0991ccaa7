// `npm run bench`: training speed of the reference autoencoder and the study's classifier against the PyTorch
// peer (../shared/peers/torch-peer: the newest PyTorch pip can install, at its best memory format), ours and
// the peer's interleaved over several rounds of at least 10 s a side, with the median ratio per model; then a
// per-kernel GFLOP/s table, the classifier as one run against runs side by side in worker threads, and the wasm
// and cpu backends.
//   npm run bench -- [--json] [--seconds S] [--rounds N] [--threads N] [--peer PATH] [--no-cpu]   (--help for more)
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Worker } from 'node:worker_threads';
import * as tf from '@tensorflow/tfjs-core';

import { useBackend } from '../src/backend/index.js';
import type { ConcreteBackendName } from '../src/backend/index.js';
import { buildAutoencoder } from '../src/model/autoencoder.js';
import { corrupt } from '../src/data/noise.js';
import { Random } from '../src/data/random.js';
import { adam } from '../src/train/adam.js';
import { trainBatches, trainingStep } from '../src/train/training-step.js';
import { measureClassifier } from './classifier-speed.js';

const usage = 'usage: npm run bench -- [--json] [--seconds S] [--rounds N] [--threads N] [--peer PATH] [--no-cpu]';

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
        peer: { type: 'string', default: join(projectRoot, '..', 'shared', 'peers', 'torch-peer') },
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
    `${usage}\n  --seconds S: each measurement, ours and the peer's, lasts S seconds (default 10)\n` +
      '  --rounds N: interleaved rounds of ours and the peer (default 3; the ratios are their medians)\n' +
      '  --threads 0 uses every core; --peer none skips the PyTorch peer\n',
  );
  process.exit(0);
}
const batchSize = 128;
const threads = wholeNumber('threads', flags.threads, 0);
const print = (line = '') => process.stdout.write(`${line}\n`);

/** Images shaped like MNIST digits: a smooth blob per image, so the noise and loss behave as on real data. */
function syntheticImages(count: number, random: Random): Float32Array {
  const images = new Float32Array(count * 784);
  for (let n = 0; n < count; n += 1) {
    const cy = 8 + random.next() * 12,
      cx = 8 + random.next() * 12,
      radius = 3 + random.next() * 4;
    for (let y = 0; y < 28; y += 1) {
      for (let x = 0; x < 28; x += 1) {
        const d = Math.hypot(y - cy, x - cx);
        images[n * 784 + y * 28 + x] = Math.max(0, Math.min(1, (radius - Math.abs(d - radius)) / 2));
      }
    }
  }
  return images;
}

/** detail: what ran the kernels (for native, the x86-64 build the loader chose and where it came from). */
interface Measurement {
  backend: ConcreteBackendName;
  detail: string;
  threads: number;
  batches: number;
  batchSize: number;
  imagesPerSecond: number;
}

/**
 * Training steps as the study runs them (the native whole step on `native`, trainOnBatch elsewhere) for at
 * least `seconds` and `minimumBatches`, after two to warm up.
 */
async function measureTraining(
  backend: ConcreteBackendName,
  seconds: number,
  size: number,
  minimumBatches = 1,
): Promise<Measurement> {
  const info = await useBackend(backend, { threads });
  const random = new Random(1);
  const clean = syntheticImages(size, random);
  const { autoencoder } = buildAutoencoder();
  const optimizer = adam(1e-3);
  autoencoder.compile({ optimizer, loss: 'meanSquaredError' });
  const step = trainingStep(autoencoder, optimizer, 'meanSquaredError');
  // A fresh corruption every step, as in training (and in the peer), made while the previous step runs, as the
  // training loop makes it.
  const run = (count: number) =>
    trainBatches(
      step,
      count,
      () => ({ x: corrupt(clean, { kind: 'salt-and-pepper', amount: 0.2 }, random), target: clean, count: size }),
      () => undefined,
    );
  if (backend !== 'cpu') await run(2);
  let batches = 0;
  const start = performance.now();
  while (batches < minimumBatches || performance.now() - start < seconds * 1000) {
    const chunk = backend === 'cpu' ? 1 : 5;
    await run(chunk);
    batches += chunk;
  }
  const elapsed = (performance.now() - start) / 1000;
  autoencoder.dispose();
  optimizer.dispose();
  return {
    backend,
    detail: info.detail,
    threads: info.threads,
    batches,
    batchSize: size,
    imagesPerSecond: (batches * size) / elapsed,
  };
}

interface KernelCase {
  name: string;
  flops: number;
  run: () => tf.Tensor;
}

/** The convolutions and matmuls of one training step at batch 128, forward and backward. */
function kernelCases(): { cases: KernelCase[]; inputs: tf.Tensor[] } {
  const n = batchSize;
  const r = (shape: [number, number, number, number]) => tf.randomUniform(shape, -1, 1) as tf.Tensor4D;
  const r2 = (shape: [number, number]) => tf.randomUniform(shape, -1, 1) as tf.Tensor2D;
  // Conv2DBackpropFilter has no public op; the gradient code reaches it through the kernel registry too.
  const backpropFilter = (x: tf.Tensor4D, dy: tf.Tensor4D, filterShape: number[], stride: number) =>
    tf.engine().runKernel('Conv2DBackpropFilter', { x, dy }, {
      strides: stride,
      pad: 'same',
      dataFormat: 'NHWC',
      filterShape,
    } as unknown as tf.NamedAttrMap) as tf.Tensor;
  const x28 = r([n, 28, 28, 1]),
    a14x32 = r([n, 14, 14, 32]),
    a7x64 = r([n, 7, 7, 64]),
    a14x64 = r([n, 14, 14, 64]);
  const a28x32 = r([n, 28, 28, 32]),
    a28x1 = r([n, 28, 28, 1]);
  const w1 = r([3, 3, 1, 32]),
    w2 = r([3, 3, 32, 64]),
    wt1 = r([3, 3, 64, 64]),
    wt2 = r([3, 3, 32, 64]),
    wt3 = r([3, 3, 1, 32]);
  const flat = r2([n, 3136]),
    code = r2([n, 32]),
    wd1 = r2([3136, 32]),
    wd2 = r2([32, 3136]);
  const mac = (pixels: number, k: number, f: number) => 2 * n * pixels * k * f;
  const cases: KernelCase[] = [
    {
      name: 'Conv2D        encoder conv1 28x28x1 -> 14x14x32',
      flops: mac(196, 9, 32),
      run: () => tf.conv2d(x28, w1, 2, 'same'),
    },
    {
      name: 'Conv2D        encoder conv2 14x14x32 -> 7x7x64',
      flops: mac(49, 288, 64),
      run: () => tf.conv2d(a14x32, w2, 2, 'same'),
    },
    {
      name: 'BackpropInput decoder deconv1 7x7x64 -> 14x14x64',
      flops: mac(49, 576, 64),
      run: () => tf.conv2dTranspose(a7x64, wt1, [n, 14, 14, 64], 2, 'same'),
    },
    {
      name: 'BackpropInput decoder deconv2 14x14x64 -> 28x28x32',
      flops: mac(196, 288, 64),
      run: () => tf.conv2dTranspose(a14x64, wt2, [n, 28, 28, 32], 2, 'same'),
    },
    {
      name: 'BackpropInput decoder output 28x28x32 -> 28x28x1',
      flops: mac(784, 9, 32),
      run: () => tf.conv2dTranspose(a28x32, wt3, [n, 28, 28, 1], 1, 'same'),
    },
    {
      name: 'Conv2D        deconv2 input gradient 28x28x32 -> 14x14x64',
      flops: mac(196, 288, 64),
      run: () => tf.conv2d(a28x32, wt2, 2, 'same'),
    },
    {
      name: 'BackpropFilter deconv2 filter gradient',
      flops: mac(196, 288, 64),
      run: () => backpropFilter(a28x32, a14x64, [3, 3, 32, 64], 2),
    },
    {
      name: 'BackpropFilter conv2 filter gradient',
      flops: mac(49, 288, 64),
      run: () => backpropFilter(a14x32, a7x64, [3, 3, 32, 64], 2),
    },
    {
      name: 'BackpropFilter output filter gradient',
      flops: mac(784, 9, 32),
      run: () => backpropFilter(a28x1, a28x32, [3, 3, 1, 32], 1),
    },
    { name: 'BatchMatMul   coding 128x3136 . 3136x32', flops: 2 * n * 3136 * 32, run: () => tf.matMul(flat, wd1) },
    { name: 'BatchMatMul   decoder dense 128x32 . 32x3136', flops: 2 * n * 3136 * 32, run: () => tf.matMul(code, wd2) },
    {
      name: 'BatchMatMul   coding weight gradient 3136x128 . 128x32',
      flops: 2 * n * 3136 * 32,
      run: () => tf.matMul(flat, code, true, false),
    },
  ];
  return { cases, inputs: [x28, a14x32, a7x64, a14x64, a28x32, a28x1, w1, w2, wt1, wt2, wt3, flat, code, wd1, wd2] };
}

function timeKernel(run: () => tf.Tensor, budgetMilliseconds: number): number {
  run().dispose();
  let count = 0;
  const start = performance.now();
  do {
    run().dispose();
    count += 1;
  } while (performance.now() - start < budgetMilliseconds);
  return (performance.now() - start) / count;
}

interface PeerMeasurement {
  name: string;
  imagesPerSecond: number;
  memoryFormat: string;
  blas: string;
}

/** One peer measurement of `model` lasting `seconds` at its best memory format, or why there is none. */
function runPeer(model: 'autoencoder' | 'classifier', seconds: number): PeerMeasurement | { unavailable: string } {
  if (flags.peer === 'none') return { unavailable: '--peer none' };
  if (!existsSync(flags.peer)) return { unavailable: `${flags.peer} does not exist` };
  // The peer splits its time between the two memory formats and reports the faster: give each the full time.
  const result = spawnSync(
    flags.peer,
    ['--model', model, '--seconds', String(2 * seconds), '--batch', String(batchSize)],
    { encoding: 'utf8' },
  );
  const line = result.stdout?.trim().split('\n').pop();
  if (result.status === 3) return { unavailable: 'no PyTorch could be installed or found (torch-peer exit 3)' };
  if (result.status !== 0 || !line)
    return { unavailable: `the peer failed (exit ${result.status}): ${result.stderr?.trim().split('\n').pop() ?? ''}` };
  const parsed = JSON.parse(line) as PeerMeasurement;
  return {
    name: parsed.name,
    imagesPerSecond: parsed.imagesPerSecond,
    memoryFormat: parsed.memoryFormat,
    blas: parsed.blas,
  };
}

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
};

const seconds = Number(flags.seconds);
if (!(seconds > 0)) refuse(`--seconds ${JSON.stringify(flags.seconds)}: expected a number of seconds > 0`);
const rounds = wholeNumber('rounds', flags.rounds, 1);
print(
  `Training speed, batch ${batchSize}: ours (native whole step) and the PyTorch peer in turn, ${rounds} rounds of ${seconds} s a side`,
);
print('  autoencoder: reference DAE (encoder 119,200 + decoder 159,169 params), Adam, MSE, fresh 20% salt-and-pepper');
print('  classifier: encoder + 16-16-10 head (120,170 params), the whole network trains, Adam, cross-entropy');
type Model = 'autoencoder' | 'classifier';
const ours: Record<Model, number[]> = { autoencoder: [], classifier: [] };
const peers: Record<Model, PeerMeasurement[]> = { autoencoder: [], classifier: [] };
let peerUnavailable: string | null = null;
let native: Measurement | null = null;
for (let round = 1; round <= rounds; round += 1) {
  for (const model of ['autoencoder', 'classifier'] as const) {
    const rate =
      model === 'autoencoder'
        ? (native = await measureTraining('native', seconds, batchSize)).imagesPerSecond
        : await measureClassifier(threads, seconds);
    ours[model].push(rate);
    let line = `round ${round}  ${model.padEnd(11)}  ours ${rate.toFixed(0).padStart(6)} images/s`;
    if (!peerUnavailable) {
      const peer = runPeer(model, seconds);
      if ('unavailable' in peer) {
        peerUnavailable = peer.unavailable;
      } else {
        peers[model].push(peer);
        line += `   peer ${peer.imagesPerSecond.toFixed(0).padStart(6)} images/s (${peer.memoryFormat})   ratio ${(rate / peer.imagesPerSecond).toFixed(2)}`;
      }
    }
    print(line);
  }
}
const ratios = (model: Model) => peers[model].map((peer, index) => ours[model][index]! / peer.imagesPerSecond);
const summary = (['autoencoder', 'classifier'] as const).map((model) => ({
  model,
  ourMedian: median(ours[model]),
  peerMedian: peers[model].length > 0 ? median(peers[model].map((peer) => peer.imagesPerSecond)) : null,
  medianRatio: peers[model].length > 0 ? median(ratios(model)) : null,
}));
const peerName = peers.autoencoder[0]?.name ?? peers.classifier[0]?.name ?? null;
for (const row of summary) {
  print(
    `median ${row.model.padEnd(11)}  ours ${row.ourMedian.toFixed(0).padStart(6)} images/s` +
      (row.medianRatio === null
        ? ''
        : `   peer ${row.peerMedian!.toFixed(0).padStart(6)} images/s   ratio ours/peer ${row.medianRatio.toFixed(2)} (median of ${ratios(row.model).length} rounds)`),
  );
}
print(`ours: native backend, ${native?.detail ?? ''}, ${native?.threads ?? ''} threads`);
print(
  peerUnavailable
    ? `peer not measured: ${peerUnavailable}`
    : `peer: ${peerName}, ${peers.autoencoder[0]?.blas ?? ''} BLAS, measured in this run`,
);

print("\nPer-kernel speed at the model's shapes (batch 128):");
print(`${'kernel'.padEnd(58)} ${'MFLOP'.padStart(7)} ${'native GFLOP/s'.padStart(15)} ${'wasm GFLOP/s'.padStart(13)}`);
const kernelRates = new Map<string, { native: number; wasm: number; flops: number }>();
{
  const { cases, inputs } = kernelCases();
  for (const c of cases)
    kernelRates.set(c.name, { native: c.flops / timeKernel(c.run, 300) / 1e6, wasm: 0, flops: c.flops });
  tf.dispose(inputs);
}
await useBackend('wasm');
{
  const { cases, inputs } = kernelCases();
  for (const c of cases) kernelRates.get(c.name)!.wasm = c.flops / timeKernel(c.run, 300) / 1e6;
  tf.dispose(inputs);
}
for (const [name, rate] of kernelRates) {
  print(
    `${name.padEnd(58)} ${(rate.flops / 1e6).toFixed(1).padStart(7)} ${rate.native.toFixed(1).padStart(15)} ${rate.wasm.toFixed(1).padStart(13)}`,
  );
}

// The classifier's kernels are small: one run keeps a second thread mostly waiting. The study trains its runs
// side by side in worker threads (--workers), one kernel thread each; this is the comparison behind that.
const nativeThreads = native?.threads ?? 1;
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

const wasm = await measureTraining('wasm', seconds / 2, batchSize, 2);
print(
  `\nwasm    ${wasm.imagesPerSecond.toFixed(1).padStart(8)} images/s  (autoencoder, ${wasm.batches} batches of ${batchSize})`,
);
let cpu: Measurement | null = null;
if (!flags['no-cpu']) {
  cpu = await measureTraining('cpu', 0, 16);
  print(
    `cpu     ${cpu.imagesPerSecond.toFixed(1).padStart(8)} images/s  (1 batch of 16: the stock tfjs cpu backend is too slow for more)`,
  );
}
if (flags.json) {
  print(
    JSON.stringify({
      backend: 'native',
      detail: native?.detail ?? null,
      threads: nativeThreads,
      batch: batchSize,
      seconds,
      rounds,
      autoencoder: {
        imagesPerSecond: ours.autoencoder.map(round1),
        peerImagesPerSecond: peers.autoencoder.map((peer) => peer.imagesPerSecond),
        peerMemoryFormat: peers.autoencoder.map((peer) => peer.memoryFormat),
        medianRatio: ratioOf('autoencoder'),
      },
      classifier: {
        imagesPerSecond: ours.classifier.map(round1),
        peerImagesPerSecond: peers.classifier.map((peer) => peer.imagesPerSecond),
        peerMemoryFormat: peers.classifier.map((peer) => peer.memoryFormat),
        medianRatio: ratioOf('classifier'),
        sideBySideImagesPerSecond: round1(sideBySideTotal),
        runs: nativeThreads,
      },
      peer: peerName ? { name: peerName, blas: peers.autoencoder[0]?.blas ?? null } : { unavailable: peerUnavailable },
      kernels: [...kernelRates].map(([name, rate]) => ({
        name: name.replace(/\s+/g, ' '),
        megaflops: round1(rate.flops / 1e6),
        nativeGflops: round1(rate.native),
        wasmGflops: round1(rate.wasm),
      })),
      wasmImagesPerSecond: round1(wasm.imagesPerSecond),
      cpuImagesPerSecond: cpu ? Number(cpu.imagesPerSecond.toFixed(2)) : null,
    }),
  );
}

function round1(value: number): number {
  return Number(value.toFixed(1));
}

function ratioOf(model: Model): number | null {
  const row = summary.find((entry) => entry.model === model);
  return row?.medianRatio == null ? null : Number(row.medianRatio.toFixed(3));
}
