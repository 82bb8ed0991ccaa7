// `npm run bench`: training speed of the reference autoencoder on each backend, a per-kernel GFLOP/s table, a
// profile of one training step, the classifier's speed as one run against runs side by side in worker threads,
// and the PyTorch peer measured in the same run.
//   npm run bench -- [--json] [--batches N] [--threads N] [--peer-seconds S] [--no-cpu]   (--help for more)
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
import { measureClassifier } from './classifier-speed.js';

const usage = 'usage: npm run bench -- [--json] [--batches N] [--threads N] [--peer-seconds S] [--no-cpu]';

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
        batches: { type: 'string', default: '20' },
        threads: { type: 'string', default: '0' },
        'peer-seconds': { type: 'string', default: '10' },
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
  if (!Number.isInteger(value) || value < minimum) refuse(`--${flag} ${JSON.stringify(text)}: expected a whole number >= ${minimum}`);
  return value;
}

const flags = parseFlags();
if (flags.help) {
  process.stdout.write(`${usage}\n  --threads 0 uses every core; --peer-seconds 0 skips the PyTorch peer\n`);
  process.exit(0);
}
const batchSize = 128;
const threads = wholeNumber('threads', flags.threads, 0);
const print = (line = '') => process.stdout.write(`${line}\n`);

/** Images shaped like MNIST digits: a smooth blob per image, so the noise and loss behave as on real data. */
function syntheticImages(count: number, random: Random): Float32Array {
  const images = new Float32Array(count * 784);
  for (let n = 0; n < count; n += 1) {
    const cy = 8 + random.next() * 12, cx = 8 + random.next() * 12, radius = 3 + random.next() * 4;
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
interface Measurement { backend: ConcreteBackendName; detail: string; threads: number; batches: number; batchSize: number; imagesPerSecond: number }

async function measureTraining(backend: ConcreteBackendName, batches: number, size: number): Promise<Measurement> {
  const info = await useBackend(backend, { threads });
  const random = new Random(1);
  const clean = syntheticImages(size, random);
  const { autoencoder } = buildAutoencoder();
  autoencoder.compile({ optimizer: adam(1e-3), loss: 'meanSquaredError' });
  const step = async () => {
    // A fresh corruption every step, as in training (and in the peer).
    const noisy = corrupt(clean, { kind: 'salt-and-pepper', amount: 0.2 }, random);
    const x = tf.tensor4d(noisy, [size, 28, 28, 1]);
    const y = tf.tensor4d(clean, [size, 28, 28, 1]);
    await autoencoder.trainOnBatch(x, y);
    tf.dispose([x, y]);
  };
  const warmup = backend === 'cpu' ? 0 : 2;
  for (let i = 0; i < warmup; i += 1) await step();
  const start = performance.now();
  for (let i = 0; i < batches; i += 1) await step();
  const seconds = (performance.now() - start) / 1000;
  autoencoder.dispose();
  return { backend, detail: info.detail, threads: info.threads, batches, batchSize: size, imagesPerSecond: (batches * size) / seconds };
}

/** Share of one training step's kernel time per kernel, on the current backend. */
async function profileStep(): Promise<{ name: string; milliseconds: number }[]> {
  const random = new Random(2);
  const clean = syntheticImages(batchSize, random);
  const { autoencoder } = buildAutoencoder();
  autoencoder.compile({ optimizer: adam(1e-3), loss: 'meanSquaredError' });
  const x = tf.tensor4d(corrupt(clean, { kind: 'salt-and-pepper', amount: 0.2 }, random), [batchSize, 28, 28, 1]);
  const y = tf.tensor4d(clean, [batchSize, 28, 28, 1]);
  for (let i = 0; i < 3; i += 1) await autoencoder.trainOnBatch(x, y);
  const profile = await tf.profile(async () => {
    await autoencoder.trainOnBatch(x, y);
  });
  const totals = new Map<string, number>();
  for (const kernel of profile.kernels) {
    totals.set(kernel.name, (totals.get(kernel.name) ?? 0) + Number(await kernel.kernelTimeMs));
  }
  tf.dispose([x, y]);
  autoencoder.dispose();
  return [...totals].map(([name, milliseconds]) => ({ name, milliseconds })).sort((a, b) => b.milliseconds - a.milliseconds);
}

interface KernelCase { name: string; flops: number; run: () => tf.Tensor }

/** The convolutions and matmuls of one training step at batch 128, forward and backward. */
function kernelCases(): { cases: KernelCase[]; inputs: tf.Tensor[] } {
  const n = batchSize;
  const r = (shape: [number, number, number, number]) => tf.randomUniform(shape, -1, 1) as tf.Tensor4D;
  const r2 = (shape: [number, number]) => tf.randomUniform(shape, -1, 1) as tf.Tensor2D;
  // Conv2DBackpropFilter has no public op; the gradient code reaches it through the kernel registry too.
  const backpropFilter = (x: tf.Tensor4D, dy: tf.Tensor4D, filterShape: number[], stride: number) =>
    tf.engine().runKernel('Conv2DBackpropFilter', { x, dy },
      { strides: stride, pad: 'same', dataFormat: 'NHWC', filterShape } as unknown as tf.NamedAttrMap) as tf.Tensor;
  const x28 = r([n, 28, 28, 1]), a14x32 = r([n, 14, 14, 32]), a7x64 = r([n, 7, 7, 64]), a14x64 = r([n, 14, 14, 64]);
  const a28x32 = r([n, 28, 28, 32]), a28x1 = r([n, 28, 28, 1]);
  const w1 = r([3, 3, 1, 32]), w2 = r([3, 3, 32, 64]), wt1 = r([3, 3, 64, 64]), wt2 = r([3, 3, 32, 64]), wt3 = r([3, 3, 1, 32]);
  const flat = r2([n, 3136]), code = r2([n, 32]), wd1 = r2([3136, 32]), wd2 = r2([32, 3136]);
  const mac = (pixels: number, k: number, f: number) => 2 * n * pixels * k * f;
  const cases: KernelCase[] = [
    { name: 'Conv2D        encoder conv1 28x28x1 -> 14x14x32', flops: mac(196, 9, 32), run: () => tf.conv2d(x28, w1, 2, 'same') },
    { name: 'Conv2D        encoder conv2 14x14x32 -> 7x7x64', flops: mac(49, 288, 64), run: () => tf.conv2d(a14x32, w2, 2, 'same') },
    { name: 'BackpropInput decoder deconv1 7x7x64 -> 14x14x64', flops: mac(49, 576, 64), run: () => tf.conv2dTranspose(a7x64, wt1, [n, 14, 14, 64], 2, 'same') },
    { name: 'BackpropInput decoder deconv2 14x14x64 -> 28x28x32', flops: mac(196, 288, 64), run: () => tf.conv2dTranspose(a14x64, wt2, [n, 28, 28, 32], 2, 'same') },
    { name: 'BackpropInput decoder output 28x28x32 -> 28x28x1', flops: mac(784, 9, 32), run: () => tf.conv2dTranspose(a28x32, wt3, [n, 28, 28, 1], 1, 'same') },
    { name: 'Conv2D        deconv2 input gradient 28x28x32 -> 14x14x64', flops: mac(196, 288, 64), run: () => tf.conv2d(a28x32, wt2, 2, 'same') },
    { name: 'BackpropFilter deconv2 filter gradient', flops: mac(196, 288, 64), run: () => backpropFilter(a28x32, a14x64, [3, 3, 32, 64], 2) },
    { name: 'BackpropFilter conv2 filter gradient', flops: mac(49, 288, 64), run: () => backpropFilter(a14x32, a7x64, [3, 3, 32, 64], 2) },
    { name: 'BackpropFilter output filter gradient', flops: mac(784, 9, 32), run: () => backpropFilter(a28x1, a28x32, [3, 3, 1, 32], 1) },
    { name: 'BatchMatMul   coding 128x3136 . 3136x32', flops: 2 * n * 3136 * 32, run: () => tf.matMul(flat, wd1) },
    { name: 'BatchMatMul   decoder dense 128x32 . 32x3136', flops: 2 * n * 3136 * 32, run: () => tf.matMul(code, wd2) },
    { name: 'BatchMatMul   coding weight gradient 3136x128 . 128x32', flops: 2 * n * 3136 * 32, run: () => tf.matMul(flat, code, true, false) },
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

function runPeer(seconds: number): { name: string; imagesPerSecond: number; blas: string } | null {
  const python = '/usr/bin/python3';
  const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
  const script = join(root, '..', 'shared', 'peers', 'torch_ae_bench.py');
  if (seconds === 0 || !existsSync(python) || !existsSync(script)) return null;
  if (spawnSync(python, ['-c', 'import torch'], { stdio: 'ignore' }).status !== 0) return null;
  const result = spawnSync(python, [script, '--seconds', String(seconds), '--batch', String(batchSize)], { encoding: 'utf8' });
  const line = result.stdout.trim().split('\n').pop();
  if (result.status !== 0 || !line) return null;
  const parsed = JSON.parse(line) as { name: string; imagesPerSecond: number; blas: string };
  return { name: parsed.name, imagesPerSecond: parsed.imagesPerSecond, blas: parsed.blas };
}

const batches = wholeNumber('batches', flags.batches, 1);
print(`Reference autoencoder (encoder 119,200 + decoder 159,169 params), batch ${batchSize}, Adam, MSE, 20% salt-and-pepper`);
const native = await measureTraining('native', batches, batchSize);
print(`native  ${native.imagesPerSecond.toFixed(1).padStart(8)} images/s  (${native.detail}; ${native.threads} threads, ${batches} batches of ${batchSize})`);

print('\nPer-kernel speed at the model\'s shapes (batch 128):');
print(`${'kernel'.padEnd(58)} ${'MFLOP'.padStart(7)} ${'native GFLOP/s'.padStart(15)} ${'wasm GFLOP/s'.padStart(13)}`);
const kernelRates = new Map<string, { native: number; wasm: number; flops: number }>();
{
  const { cases, inputs } = kernelCases();
  for (const c of cases) kernelRates.set(c.name, { native: c.flops / timeKernel(c.run, 300) / 1e6, wasm: 0, flops: c.flops });
  tf.dispose(inputs);
}
const profile = await profileStep();
await useBackend('wasm');
{
  const { cases, inputs } = kernelCases();
  for (const c of cases) kernelRates.get(c.name)!.wasm = c.flops / timeKernel(c.run, 300) / 1e6;
  tf.dispose(inputs);
}
for (const [name, rate] of kernelRates) {
  print(`${name.padEnd(58)} ${(rate.flops / 1e6).toFixed(1).padStart(7)} ${rate.native.toFixed(1).padStart(15)} ${rate.wasm.toFixed(1).padStart(13)}`);
}

const total = profile.reduce((sum, k) => sum + k.milliseconds, 0);
print(`\nProfile of one native training step (${total.toFixed(1)} ms of kernel time; tf.profile adds overhead):`);
for (const kernel of profile.filter((k) => k.milliseconds / total >= 0.005)) {
  print(`  ${kernel.name.padEnd(24)} ${kernel.milliseconds.toFixed(2).padStart(8)} ms ${((100 * kernel.milliseconds) / total).toFixed(1).padStart(6)}%`);
}

// The classifier's kernels are small: one run keeps a second thread mostly waiting. The study trains its runs
// side by side in worker threads (--workers), one kernel thread each; this is the comparison behind that.
const classifierBatches = Math.max(10, batches * 2);
const oneRun = await measureClassifier(threads, classifierBatches);
const sideBySide = await Promise.all(Array.from({ length: native.threads }, () => new Promise<number>((resolve, reject) => {
  const worker = new Worker(new URL('./classifier-speed.js', import.meta.url), { workerData: classifierBatches });
  worker.once('message', (rate: number) => { void worker.terminate(); resolve(rate); });
  worker.once('error', reject);
})));
await useBackend('native', { threads });
const sideBySideTotal = sideBySide.reduce((sum, rate) => sum + rate, 0);
print(`\nClassifier (scratch, batch 128): one run on ${native.threads} threads ${oneRun.toFixed(0)} images/s; ` +
  `${native.threads} runs side by side on one thread each ${sideBySide.map((rate) => rate.toFixed(0)).join(' + ')} = ` +
  `${sideBySideTotal.toFixed(0)} images/s (${(sideBySideTotal / oneRun).toFixed(2)}×)`);

const wasm = await measureTraining('wasm', Math.max(2, Math.round(batches / 4)), batchSize);
print(`\nwasm    ${wasm.imagesPerSecond.toFixed(1).padStart(8)} images/s  (${wasm.batches} batches of ${batchSize})`);
let cpu: Measurement | null = null;
if (!flags['no-cpu']) {
  cpu = await measureTraining('cpu', 1, 16);
  print(`cpu     ${cpu.imagesPerSecond.toFixed(1).padStart(8)} images/s  (1 batch of 16: the stock tfjs cpu backend is too slow for more)`);
}
const peer = runPeer(wholeNumber('peer-seconds', flags['peer-seconds'], 0));
if (peer) {
  print(`peer    ${peer.imagesPerSecond.toFixed(1).padStart(8)} images/s  (${peer.name}, ${peer.blas} BLAS, measured in this run)`);
  print(`ratio native / peer: ${(native.imagesPerSecond / peer.imagesPerSecond).toFixed(2)}`);
} else {
  print('peer    not measured: /usr/bin/python3 with torch is not installed (apt-get install -y python3-torch libopenblas0-pthread)');
}
if (flags.json) {
  print(JSON.stringify({
    backend: 'native', build: native.detail, threads: native.threads, imagesPerSecond: Number(native.imagesPerSecond.toFixed(1)),
    wasmImagesPerSecond: Number(wasm.imagesPerSecond.toFixed(1)),
    classifier: { oneRunImagesPerSecond: Number(oneRun.toFixed(1)), sideBySideImagesPerSecond: Number(sideBySideTotal.toFixed(1)), runs: native.threads },
    cpuImagesPerSecond: cpu ? Number(cpu.imagesPerSecond.toFixed(2)) : null,
    peer: peer ? { name: peer.name, imagesPerSecond: peer.imagesPerSecond } : null,
  }));
}
