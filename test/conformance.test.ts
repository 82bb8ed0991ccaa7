// One table of kernel cases, run through the `native` backend (and its plain reference loops) and the `wasm`
// backend, each compared with tfjs's own `cpu` kernels: forward values and gradients through tf.grads.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';

import { useBackend } from '../src/backend/index.js';
import { loadNativeAddon } from '../src/backend/native/addon.js';
import { augmentImages, warpCoefficients, warpImages } from '../src/data/augment.js';
import { Random } from '../src/data/random.js';
import { reconstructionScores, ssimWindow } from '../src/eval/reconstruction.js';

type Inputs = Record<string, { shape: number[]; positive?: boolean }>;
interface Case {
  name: string;
  inputs: Inputs;
  /** Builds the outputs from tensors named as in `inputs`. */
  run: (t: Record<string, tf.Tensor>) => tf.Tensor;
  /** Skip the gradient check (ops whose gradient is not defined everywhere, e.g. step). */
  forwardOnly?: boolean;
}

const conv = (x: number[], f: number[], strides: number | [number, number], pad: 'same' | 'valid' | number): Case => ({
  name: `conv2d x${x.join('x')} f${f.join('x')} s${String(strides)} ${pad}`,
  inputs: { x: { shape: x }, f: { shape: f } },
  run: ({ x: xs, f: fs }) => tf.conv2d(xs as tf.Tensor4D, fs as tf.Tensor4D, strides, pad),
});
const convTranspose = (x: number[], f: number[], outShape: number[], stride: number, pad: 'same' | 'valid'): Case => ({
  name: `conv2dTranspose x${x.join('x')} f${f.join('x')} -> ${outShape.join('x')} s${stride} ${pad}`,
  inputs: { x: { shape: x }, f: { shape: f } },
  run: ({ x: xs, f: fs }) =>
    tf.conv2dTranspose(xs as tf.Tensor4D, fs as tf.Tensor4D, outShape as [number, number, number, number], stride, pad),
});
const fusedConv = (activation: 'relu' | 'sigmoid' | 'linear'): Case => ({
  name: `fused conv2d bias ${activation}`,
  inputs: { x: { shape: [3, 9, 9, 5] }, f: { shape: [3, 3, 5, 7] }, b: { shape: [7] } },
  run: ({ x, f, b }) =>
    tf.fused.conv2d({
      x: x as tf.Tensor4D,
      filter: f as tf.Tensor4D,
      strides: 2,
      pad: 'same',
      bias: b as tf.Tensor,
      activation,
    }),
});
const matMul = (a: number[], b: number[], transposeA: boolean, transposeB: boolean): Case => ({
  name: `matMul ${a.join('x')} ${b.join('x')}${transposeA ? ' tA' : ''}${transposeB ? ' tB' : ''}`,
  inputs: { a: { shape: a }, b: { shape: b } },
  run: ({ a: as, b: bs }) => tf.matMul(as as tf.Tensor, bs as tf.Tensor, transposeA, transposeB),
  // tfjs 4.22's BatchMatMul gradient does not sum over broadcast batch dimensions (it fails on cpu too).
  forwardOnly: a.length !== b.length,
});

export const cases: Case[] = [
  conv([1, 5, 5, 1], [3, 3, 1, 1], 1, 'same'),
  conv([2, 28, 28, 1], [3, 3, 1, 32], 2, 'same'),
  conv([4, 14, 14, 32], [3, 3, 32, 64], 2, 'same'),
  conv([3, 9, 11, 3], [3, 3, 3, 5], 1, 'valid'),
  conv([2, 13, 7, 5], [5, 5, 5, 7], 2, 'same'),
  conv([2, 8, 8, 7], [1, 1, 7, 9], 1, 'valid'),
  conv([1, 17, 17, 13], [3, 3, 13, 17], [2, 1], 'valid'),
  conv([2, 10, 10, 3], [3, 3, 3, 6], 1, 1),
  convTranspose([2, 7, 7, 64], [3, 3, 64, 64], [2, 14, 14, 64], 2, 'same'),
  convTranspose([2, 14, 14, 6], [3, 3, 5, 6], [2, 28, 28, 5], 2, 'same'),
  convTranspose([3, 28, 28, 32], [3, 3, 1, 32], [3, 28, 28, 1], 1, 'same'),
  convTranspose([1, 5, 5, 3], [5, 5, 7, 3], [1, 9, 9, 7], 1, 'valid'),
  convTranspose([2, 4, 6, 5], [3, 3, 3, 5], [2, 9, 13, 3], 2, 'valid'),
  fusedConv('relu'),
  fusedConv('sigmoid'),
  fusedConv('linear'),
  matMul([7, 5], [5, 3], false, false),
  matMul([5, 7], [5, 3], true, false),
  matMul([7, 5], [3, 5], false, true),
  matMul([5, 7], [3, 5], true, true),
  matMul([128, 3136], [3136, 32], false, false),
  matMul([3, 4, 6], [3, 6, 5], false, false),
  matMul([2, 6, 4], [6, 5], true, false),
  matMul([4, 6], [3, 6, 5], false, false),
  matMul([1, 33], [33, 65], false, false),
  {
    name: 'fused matMul bias relu',
    inputs: { a: { shape: [9, 13] }, b: { shape: [13, 37] }, c: { shape: [37] } },
    run: ({ a, b, c }) =>
      tf.fused.matMul({ a: a as tf.Tensor2D, b: b as tf.Tensor2D, bias: c as tf.Tensor, activation: 'relu' }),
  },
  {
    name: 'add bias, multiply, divide, subtract with broadcasts',
    inputs: { x: { shape: [2, 5, 5, 7] }, b: { shape: [7] }, s: { shape: [], positive: true }, m: { shape: [5, 7] } },
    run: ({ x, b, s, m }) =>
      tf.div(tf.sub(tf.mul(tf.add(x as tf.Tensor, b as tf.Tensor), m as tf.Tensor), s as tf.Tensor), s as tf.Tensor),
  },
  {
    name: 'relu, sigmoid, square, sqrt, neg, exp, log, abs, maximum, minimum',
    inputs: { x: { shape: [3, 50, 40] }, p: { shape: [3, 50, 40], positive: true } },
    run: ({ x, p }) =>
      tf.addN([
        tf.relu(x as tf.Tensor),
        tf.sigmoid(x as tf.Tensor),
        tf.square(x as tf.Tensor),
        tf.sqrt(p as tf.Tensor),
        tf.neg(x as tf.Tensor),
        tf.exp(x as tf.Tensor),
        tf.log(p as tf.Tensor),
        tf.abs(x as tf.Tensor),
        tf.maximum(x as tf.Tensor, p as tf.Tensor),
        tf.minimum(x as tf.Tensor, p as tf.Tensor),
        tf.squaredDifference(x as tf.Tensor, p as tf.Tensor),
      ]),
  },
  {
    name: 'maximum, minimum, squaredDifference with a broadcast operand',
    inputs: { x: { shape: [3, 50, 40] }, y: { shape: [40] } },
    run: ({ x, y }) =>
      tf.addN([
        tf.maximum(x as tf.Tensor, y as tf.Tensor),
        tf.minimum(y as tf.Tensor, x as tf.Tensor),
        tf.squaredDifference(x as tf.Tensor, y as tf.Tensor),
      ]),
    // tfjs 4.22's gradients of these do not sum over a broadcast operand's dimensions (they fail on cpu too).
    forwardOnly: true,
  },
  {
    name: 'step',
    inputs: { x: { shape: [1000] } },
    run: ({ x }) => tf.add(tf.step(x as tf.Tensor), tf.step(x as tf.Tensor, 0.25)),
    forwardOnly: true,
  },
  {
    name: 'sum over leading axes, all axes, keepDims, inner axis',
    inputs: { x: { shape: [4, 6, 5, 3] } },
    run: ({ x }) =>
      tf.concat([
        tf.sum(x as tf.Tensor, [0, 1, 2]),
        tf.reshape(tf.sum(x as tf.Tensor), [1]),
        tf.reshape(tf.sum(x as tf.Tensor, [0, 1], true), [-1]),
        tf.reshape(tf.sum(x as tf.Tensor, 3), [-1]),
      ]),
  },
  {
    name: 'mean over trailing axes, all axes, keepDims, a leading axis (a loss)',
    inputs: { x: { shape: [4, 6, 5, 3] } },
    run: ({ x }) =>
      tf.concat([
        tf.reshape(tf.mean(x as tf.Tensor, -1), [-1]),
        tf.reshape(tf.mean(x as tf.Tensor, [2, 3], true), [-1]),
        tf.reshape(tf.mean(x as tf.Tensor), [1]),
        tf.reshape(tf.mean(x as tf.Tensor, 0), [-1]),
        tf.reshape(tf.mean(tf.mean(tf.square(x as tf.Tensor), -1)), [1]),
      ]),
  },
];

/** Deterministic inputs in [-1, 1] (or [0.1, 1.1] for positive ones). */
function makeInputs(inputs: Inputs, seed: number): Record<string, { shape: number[]; values: Float32Array }> {
  let state = seed >>> 0;
  const next = () => {
    state = (state * 1664525 + 1013904223) >>> 0;
    return state / 2 ** 32;
  };
  return Object.fromEntries(
    Object.entries(inputs).map(([name, spec]) => {
      const values = Float32Array.from({ length: spec.shape.reduce((p, d) => p * d, 1) }, () =>
        spec.positive ? 0.1 + next() : next() * 2 - 1,
      );
      return [name, { shape: spec.shape, values }];
    }),
  );
}

interface Result {
  output: Float32Array;
  gradients: Float32Array[];
}

function evaluate(testCase: Case, seed: number): Result {
  const data = makeInputs(testCase.inputs, seed);
  return tf.tidy(() => {
    const names = Object.keys(data);
    const tensors = names.map((name) => tf.tensor(data[name]!.values, data[name]!.shape));
    const bind = (list: tf.Tensor[]) => Object.fromEntries(names.map((name, index) => [name, list[index]!]));
    const output = testCase.run(bind(tensors));
    if (testCase.forwardOnly) return { output: output.dataSync() as Float32Array, gradients: [] };
    // Weighting the outputs with fixed noise makes every output element matter to the gradient.
    const weights = tf.tensor(makeInputs({ w: { shape: output.shape } }, seed + 1).w!.values, output.shape);
    const gradients = tf.grads((...xs: tf.Tensor[]) => tf.sum(tf.mul(testCase.run(bind(xs)), weights)))(tensors);
    return { output: output.dataSync() as Float32Array, gradients: gradients.map((g) => g.dataSync() as Float32Array) };
  });
}

/** max |a - b| / max |b|: the error relative to the size of the reference values. */
function relativeError(actual: Float32Array, expected: Float32Array): number {
  assert.equal(actual.length, expected.length, 'output sizes differ');
  let difference = 0,
    scale = 1e-12;
  for (let i = 0; i < expected.length; i += 1) {
    const delta = Math.abs(actual[i]! - expected[i]!);
    difference = Number.isNaN(delta) ? Infinity : Math.max(difference, delta);
    scale = Math.max(scale, Math.abs(expected[i]!));
  }
  return difference / scale;
}

const tolerance = 1e-4;

async function checkBackend(backend: 'native' | 'wasm'): Promise<void> {
  const expected = new Map<string, Result>();
  await useBackend('cpu');
  cases.forEach((testCase, index) => expected.set(testCase.name, evaluate(testCase, index + 1)));
  await useBackend(backend);
  const lines: string[] = [];
  let worst = 0;
  cases.forEach((testCase, index) => {
    const reference = expected.get(testCase.name)!;
    const actual = evaluate(testCase, index + 1);
    const errors = [
      relativeError(actual.output, reference.output),
      ...actual.gradients.map((gradient, g) => relativeError(gradient, reference.gradients[g]!)),
    ];
    const caseWorst = Math.max(...errors);
    worst = Math.max(worst, caseWorst);
    lines.push(
      `${backend.padEnd(6)} ${testCase.name.padEnd(62)} forward ${errors[0]!.toExponential(2)}  ` +
        `gradients ${
          errors
            .slice(1)
            .map((e) => e.toExponential(2))
            .join(' ') || '-'
        }`,
    );
    assert.ok(caseWorst <= tolerance, `${backend}: ${testCase.name}: relative error ${caseWorst} > ${tolerance}`);
  });
  process.stdout.write(
    `${lines.join('\n')}\n${backend}: worst relative error ${worst.toExponential(2)} over ${cases.length} cases\n`,
  );
}

test('native kernels match tfjs cpu kernels, forward and gradients', async () => {
  await checkBackend('native');
});

test('wasm kernels match tfjs cpu kernels, forward and gradients', async () => {
  await checkBackend('wasm');
});

test('native fast path matches its plain reference loops', () => {
  const loaded = loadNativeAddon();
  assert.ok(loaded.addon, `native addon missing: ${loaded.reason ?? ''}`);
  const addon = loaded.addon;
  const random = (length: number, seed: number) => makeInputs({ v: { shape: [length] } }, seed).v!.values;
  // [N, H, W, C, KH, KW, F, OH, OW, strideH, strideW, padTop, padLeft, dilationH, dilationW]
  const geometries = [
    [2, 28, 28, 1, 3, 3, 32, 14, 14, 2, 2, 0, 0, 1, 1],
    [3, 14, 14, 32, 3, 3, 64, 7, 7, 2, 2, 0, 0, 1, 1],
    [1, 9, 9, 5, 3, 3, 7, 9, 9, 1, 1, 1, 1, 1, 1],
    [2, 11, 9, 3, 5, 5, 6, 4, 3, 2, 2, 1, 2, 1, 1],
    [1, 12, 12, 4, 3, 3, 5, 8, 8, 1, 1, 0, 0, 2, 2],
    // Channels a whole number of vectors (the filter gradient that reads x and dy in place, conv_filter_gradient.cc):
    // filters not a whole register tile, padding with stride 2, a 3x2 kernel, dilation.
    [2, 9, 10, 16, 3, 3, 13, 5, 5, 2, 2, 1, 1, 1, 1],
    [1, 12, 11, 32, 3, 2, 7, 12, 11, 1, 1, 1, 0, 1, 1],
    [1, 12, 12, 32, 3, 3, 6, 8, 8, 1, 1, 0, 0, 2, 2],
    // One input channel (the direct loops of conv_single_channel.cc): F past one 16-lane block, padding with
    // stride 2, and dilation.
    [2, 13, 11, 1, 3, 3, 19, 7, 6, 2, 2, 1, 1, 1, 1],
    [3, 28, 28, 1, 3, 3, 32, 28, 28, 1, 1, 1, 1, 1, 1],
    [1, 10, 10, 1, 3, 3, 5, 6, 6, 1, 1, 0, 0, 2, 2],
  ];
  let worst = 0;
  geometries.forEach((values, index) => {
    const g = Int32Array.from(values);
    const [n, h, w, c, kh, kw, f, oh, ow] = values as [
      number,
      number,
      number,
      number,
      number,
      number,
      number,
      number,
      number,
    ];
    const x = random(n * h * w * c, index * 3 + 1),
      filter = random(kh * kw * c * f, index * 3 + 2);
    const dy = random(n * oh * ow * f, index * 3 + 3),
      bias = random(f, index * 3 + 4);
    const pairs: [Float32Array, Float32Array][] = [];
    const y = [new Float32Array(dy.length), new Float32Array(dy.length)] as const;
    addon.conv2d(g, x, filter, y[0], bias, 1, false);
    addon.conv2d(g, x, filter, y[1], bias, 1, true);
    const dx = [new Float32Array(x.length), new Float32Array(x.length)] as const;
    addon.conv2dBackpropInput(g, dy, filter, dx[0], false);
    addon.conv2dBackpropInput(g, dy, filter, dx[1], true);
    const dw = [new Float32Array(filter.length), new Float32Array(filter.length)] as const;
    addon.conv2dBackpropFilter(g, x, dy, dw[0], false);
    addon.conv2dBackpropFilter(g, x, dy, dw[1], true);
    pairs.push([y[0], y[1]], [dx[0], dx[1]], [dw[0], dw[1]]);
    for (const [fast, plain] of pairs) worst = Math.max(worst, relativeError(fast, plain));
  });
  for (const [m, n, k, ta, tb] of [
    [37, 41, 300, false, false],
    [97, 33, 7, true, false],
    [13, 70, 29, false, true],
    [1, 1, 1, true, true],
  ] as const) {
    const a = random(m * k, m),
      b = random(k * n, n),
      bias = random(n, k);
    const fast = new Float32Array(m * n),
      plain = new Float32Array(m * n);
    addon.batchMatMul(a, b, fast, 1, m, n, k, ta, tb, 0, 0, bias, 2, false);
    addon.batchMatMul(a, b, plain, 1, m, n, k, ta, tb, 0, 0, bias, 2, true);
    worst = Math.max(worst, relativeError(fast, plain));
  }
  process.stdout.write(`native fast vs reference: worst relative error ${worst.toExponential(2)}\n`);
  assert.ok(worst <= tolerance, `fast path differs from reference by ${worst}`);
});

test("native augmentation warp gives the JavaScript warp's pixels bit for bit", () => {
  const loaded = loadNativeAddon();
  assert.ok(loaded.addon?.warpImages, `native addon missing or without warpImages: ${loaded.reason ?? ''}`);
  const addon = loaded.addon;
  const random = new Random(17);
  for (const [count, height, width] of [
    [64, 28, 28],
    [5, 9, 13],
    [3, 1, 4],
  ] as const) {
    const images = Float32Array.from({ length: count * height * width }, () =>
      random.next() < 0.4 ? random.next() : 0,
    );
    // Small maps as training draws them, whole turns, zooms, and shifts that put an image partly or wholly outside.
    const maps = Array.from({ length: count }, (_, n) => ({
      rotationRadians: (random.next() * 2 - 1) * (n % 3 === 0 ? Math.PI : 0.25),
      scale: n % 4 === 0 ? 0.4 + 2 * random.next() : 0.9 + 0.2 * random.next(),
      shiftX: (random.next() * 2 - 1) * (n % 5 === 0 ? 40 : 2),
      shiftY: n === 1 ? 0.5 : (random.next() * 2 - 1) * 2,
    }));
    const coefficients = new Float64Array(4 * count);
    maps.forEach((map, n) => warpCoefficients(map, coefficients, 4 * n));
    const native = new Float32Array(images.length).fill(Number.NaN),
      script = new Float32Array(images.length);
    addon.warpImages!(images, count, height, width, coefficients, native);
    warpImages(images, count, height, width, coefficients, script);
    assert.deepEqual(native, script, `${count}x${height}x${width}`);
    assert.ok(
      native.some((value, index) => value !== images[index]),
      'the maps moved pixels',
    );
  }
  const spec = { maxShift: 2, maxRotationDegrees: 12, maxScale: 0.1 };
  const batch = Float32Array.from({ length: 8 * 784 }, () => random.next());
  assert.deepEqual(
    augmentImages(batch, 8, 28, 28, spec, new Random(5), addon.warpImages!.bind(addon)),
    augmentImages(batch, 8, 28, 28, spec, new Random(5)),
  );
  assert.throws(
    () => addon.warpImages!(new Float32Array(2), 2, 1, 1, new Float64Array(4), new Float32Array(2)),
    /warpImages: maps \(4 values per image\) must be a Float64Array of at least 8 values/,
  );
});

test('native reconstruction scores give the JavaScript scores bit for bit', () => {
  const loaded = loadNativeAddon();
  assert.ok(
    loaded.addon?.reconstructionScores,
    `native addon missing or without reconstructionScores: ${loaded.reason ?? ''}`,
  );
  const addon = loaded.addon;
  const random = new Random(23);
  for (const [count, height, width] of [
    [200, 28, 28],
    [3, 7, 7],
    [5, 9, 12],
  ] as const) {
    const clean = Float32Array.from({ length: count * height * width }, () =>
      random.next() < 0.3 ? random.next() : 0,
    );
    const other = Float32Array.from(clean, (value) => Math.min(1, Math.max(0, value + (random.next() - 0.5) * 0.4)));
    other.set(clean.subarray(0, height * width));
    const native = reconstructionScores(clean, other, count, height, width, addon.reconstructionScores!.bind(addon));
    assert.deepEqual(native, reconstructionScores(clean, other, count, height, width), `${count}x${height}x${width}`);
    assert.ok(native.ssim > 0 && native.ssim < 1, `ssim ${native.ssim}`);
  }
  assert.throws(
    () =>
      addon.reconstructionScores!(
        new Float32Array(9),
        new Float32Array(9),
        1,
        3,
        3,
        ssimWindow.taps,
        0,
        0,
        new Float64Array(1),
        new Float64Array(1),
      ),
    /at least the window's size/,
  );
});
