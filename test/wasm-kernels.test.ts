// Our wasm kernels (src/backend/wasm) against tfjs's cpu kernels: one table of cases, each run
// forward and backward (tf.grads) on both backends from the same seeded inputs, compared by
// max |wasm - cpu| / max |cpu| per output. Then: no tensor leaks across a training step, and
// clear errors for what the kernels do not implement.
import { test } from 'node:test';
import assert from 'node:assert/strict';

import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
// tfjs-core's Node bundle registers no gradients; tfjs-layers' does, on import.
import * as tfl from '@tensorflow/tfjs-layers';

import { UnsupportedKernelAttributeError } from '../src/backend/wasm/errors.js';
import { registerWasmBackend } from '../src/backend/wasm/register.js';
import { axisPhases } from '../src/backend/wasm/stride_phases.js';

const TOLERANCE = 1e-4;

interface Case {
  name: string;
  shapes: Record<string, number[]>;
  /** A function of the named inputs; its gradient is taken w.r.t. all of them. */
  run: (t: Record<string, tf.Tensor>) => tf.Tensor;
  /** Compare the forward values only. */
  forwardOnly?: boolean;
}

type Shape4 = [number, number, number, number];
type Pad = 'same' | 'valid' | number | [[0, 0], [number, number], [number, number], [0, 0]];

const conv = (x: Shape4, f: Shape4, strides: number | [number, number], pad: Pad): Case => ({
  name: `conv2d x${x.join('x')} f${f.join('x')} s${String(strides)} ${JSON.stringify(pad)}`,
  shapes: { x, f },
  run: ({ x: xs, f: fs }) => tf.conv2d(xs as tf.Tensor4D, fs as tf.Tensor4D, strides, pad),
});

const convTranspose = (
  x: Shape4,
  f: Shape4,
  out: Shape4,
  strides: number | [number, number],
  pad: 'same' | 'valid',
): Case => ({
  name: `conv2dTranspose x${x.join('x')} f${f.join('x')} -> ${out.join('x')} s${String(strides)} ${pad}`,
  shapes: { x, f },
  run: ({ x: xs, f: fs }) => tf.conv2dTranspose(xs as tf.Tensor4D, fs as tf.Tensor4D, out, strides, pad),
});

const matMul = (a: number[], b: number[], transposeA: boolean, transposeB: boolean): Case => ({
  name: `matMul ${a.join('x')} ${b.join('x')}${transposeA ? ' tA' : ''}${transposeB ? ' tB' : ''}`,
  shapes: { a, b },
  run: ({ a: as, b: bs }) => tf.matMul(as as tf.Tensor, bs as tf.Tensor, transposeA, transposeB),
  // tfjs 4.22's BatchMatMul gradient does not sum over broadcast batch dimensions, on any
  // backend ("The gradient of input 'b' has shape '2,6,5' ... '6,5'").
  forwardOnly: a.length !== b.length,
});

const sum = (x: number[], axis: number[], keepDims: boolean): Case => ({
  name: `sum ${x.join('x')} axis ${axis.join(',')}${keepDims ? ' keepDims' : ''}`,
  shapes: { x },
  run: ({ x: xs }) => tf.sum(xs as tf.Tensor, axis, keepDims),
});

const cases: Case[] = [
  // The models' own layers (batch 3 instead of 128).
  conv([3, 28, 28, 1], [3, 3, 1, 32], 2, 'same'),
  conv([3, 14, 14, 32], [3, 3, 32, 64], 2, 'same'),
  convTranspose([3, 7, 7, 64], [3, 3, 64, 64], [3, 14, 14, 64], 2, 'same'),
  convTranspose([3, 14, 14, 64], [3, 3, 32, 64], [3, 28, 28, 32], 2, 'same'),
  convTranspose([3, 28, 28, 32], [3, 3, 1, 32], [3, 28, 28, 1], 1, 'same'),
  // Batch 1, odd sizes, channel counts 3/5/7, 1x1 / 3x3 / 5x5, mixed strides, explicit pads.
  conv([1, 5, 5, 1], [3, 3, 1, 1], 1, 'same'),
  conv([1, 9, 11, 3], [3, 3, 3, 5], 1, 'valid'),
  conv([2, 13, 7, 5], [5, 5, 5, 7], 2, 'same'),
  conv([2, 13, 7, 5], [5, 5, 5, 7], 2, 'valid'),
  conv([2, 8, 8, 7], [1, 1, 7, 3], 1, 'valid'),
  conv([2, 9, 9, 7], [1, 1, 7, 3], 2, 'same'),
  conv([1, 17, 15, 3], [3, 5, 3, 7], [2, 1], 'same'),
  conv([1, 17, 15, 3], [5, 3, 3, 5], [1, 3], 'valid'),
  conv([2, 10, 10, 3], [3, 3, 3, 6], 1, 1),
  conv([2, 10, 9, 3], [3, 3, 3, 5], 2, [
    [0, 0],
    [2, 0],
    [1, 3],
    [0, 0],
  ]),
  conv([1, 4, 4, 2], [5, 5, 2, 3], 1, 'same'), // filter larger than the image
  // Enough output pixels for several cache blocks, the last one partial.
  conv([2, 30, 30, 64], [3, 3, 64, 8], 1, 'same'),
  conv([3, 21, 21, 13], [5, 5, 13, 6], 1, 'same'),
  // A 1x1 filter cannot reach every stride phase: the input gradient takes the col2im path.
  conv([2, 99, 99, 64], [1, 1, 64, 3], 2, 'same'),
  // Input gradients with C >= 8 take the stride-phase path (smaller C, above, take col2im).
  conv([2, 13, 11, 9], [5, 5, 9, 4], 2, 'same'),
  conv([2, 13, 11, 9], [3, 3, 9, 4], [2, 3], 'valid'),
  conv([1, 9, 10, 8], [3, 3, 8, 2], 1, [
    [0, 0],
    [1, 2],
    [0, 1],
    [0, 0],
  ]),
  conv([1, 9, 10, 8], [3, 3, 8, 2], 2, [
    [0, 0],
    [2, 1],
    [1, 0],
    [0, 0],
  ]),
  convTranspose([2, 4, 6, 5], [3, 3, 11, 5], [2, 9, 13, 11], 2, 'valid'),
  convTranspose([2, 6, 4, 3], [5, 5, 8, 3], [2, 11, 12, 8], [2, 3], 'same'),
  convTranspose([1, 5, 5, 4], [4, 4, 8, 4], [1, 10, 10, 8], 2, 'same'),
  convTranspose([1, 5, 5, 3], [5, 5, 7, 3], [1, 9, 9, 7], 1, 'valid'),
  convTranspose([2, 4, 6, 5], [3, 3, 3, 5], [2, 9, 13, 3], 2, 'valid'),
  convTranspose([2, 4, 5, 5], [3, 3, 3, 5], [2, 7, 9, 3], 2, 'same'),
  convTranspose([1, 3, 3, 7], [1, 1, 5, 7], [1, 5, 5, 5], 2, 'same'),
  convTranspose([2, 6, 4, 3], [5, 5, 7, 3], [2, 11, 12, 7], [2, 3], 'same'),
  // Our BatchMatMul: transposes, batches, broadcast of either side.
  matMul([7, 5], [5, 3], false, false),
  matMul([5, 7], [5, 3], true, false),
  matMul([7, 5], [3, 5], false, true),
  matMul([5, 7], [3, 5], true, true),
  matMul([128, 313], [313, 32], false, false),
  matMul([3, 4, 6], [3, 6, 5], false, false),
  matMul([3, 6, 4], [3, 5, 6], true, true),
  matMul([2, 6, 4], [6, 5], true, false),
  matMul([4, 6], [3, 5, 6], false, true),
  matMul([2, 3, 4, 6], [2, 3, 6, 5], false, false),
  // Our Sum: leading axes (bias gradients), with the base kernel for the rest.
  sum([3, 5, 5, 7], [0, 1, 2], false),
  sum([3, 5, 5, 7], [2, 0, 1], true),
  sum([4, 9], [0], false),
  sum([7, 3, 2], [0, 1], false), // 21 rows: four at a time, then a remainder
  sum([3, 5, 7], [1], false),
  sum([3, 5, 7], [0, 1, 2], false),
];

/** Deterministic inputs in [-1, 1), the same on both backends. */
function seededValues(size: number, seed: number): Float32Array {
  let state = seed >>> 0;
  const values = new Float32Array(size);
  for (let i = 0; i < size; i++) {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    values[i] = (((t ^ (t >>> 14)) >>> 0) / 4294967296) * 2 - 1;
  }
  return values;
}

interface Result {
  forward: Float32Array;
  gradients: Float32Array[];
}

/** Forward output and d(sum(output * weights))/d(input) for every input, on the current backend. */
function evaluate(c: Case): Result {
  return tf.tidy(() => {
    const names = Object.keys(c.shapes);
    const inputs = names.map((name, i) => {
      const shape = c.shapes[name] as number[];
      return tf.tensor(
        seededValues(
          shape.reduce((p, d) => p * d, 1),
          17 + i,
        ),
        shape,
      );
    });
    const byName = (ts: tf.Tensor[]): Record<string, tf.Tensor> =>
      Object.fromEntries(names.map((name, i) => [name, ts[i] as tf.Tensor]));
    const forward = c.run(byName(inputs));
    // Random output weights so that every gradient entry depends on the kernel's arithmetic.
    const weights = tf.tensor(seededValues(forward.size, 99), forward.shape);
    if (c.forwardOnly === true) return { forward: forward.dataSync() as Float32Array, gradients: [] };
    const gradients = tf.grads((...ts: tf.Tensor[]) => tf.sum(tf.mul(c.run(byName(ts)), weights)))(inputs);
    return {
      forward: forward.dataSync() as Float32Array,
      gradients: gradients.map((g) => g.dataSync() as Float32Array),
    };
  });
}

function relativeError(actual: Float32Array, expected: Float32Array): number {
  assert.equal(actual.length, expected.length);
  let scale = 0;
  let difference = 0;
  for (let i = 0; i < expected.length; i++) {
    scale = Math.max(scale, Math.abs(expected[i] as number));
    difference = Math.max(difference, Math.abs((actual[i] as number) - (expected[i] as number)));
  }
  return scale === 0 ? difference : difference / scale;
}

const ready = registerWasmBackend({ threads: 1 });

test('wasm kernels match the cpu kernels, forward and backward', async (t) => {
  await ready;
  // IS_TEST makes the engine check, after every kernel, that the backend holds no more buffers
  // than the kernel returned: an intermediate that a kernel forgot to release fails the case.
  // (Not for the training step: tfjs's own custom-gradient ops, like fused matMul, trip it.)
  tf.env().set('IS_TEST', true);
  t.after(() => tf.env().set('IS_TEST', false));
  let worst = 0;
  for (const c of cases) {
    await t.test(c.name, async () => {
      await tf.setBackend('cpu');
      const expected = evaluate(c);
      await tf.setBackend('wasm');
      const actual = evaluate(c);
      const errors = [relativeError(actual.forward, expected.forward)];
      actual.gradients.forEach((g, i) => errors.push(relativeError(g, expected.gradients[i] as Float32Array)));
      const max = Math.max(...errors);
      worst = Math.max(worst, max);
      t.diagnostic(`${c.name}: max relative error ${max.toExponential(2)}`);
      assert.ok(max <= TOLERANCE, `${c.name}: relative errors ${errors.map((e) => e.toExponential(2)).join(', ')}`);
    });
  }
  t.diagnostic(`worst relative error over ${cases.length} cases: ${worst.toExponential(2)}`);
});

test('stride phases reproduce the 1-D transposed convolution exactly', () => {
  let checked = 0;
  for (let inSize = 1; inSize <= 12; inSize++) {
    for (let filterSize = 1; filterSize <= 5; filterSize++) {
      for (let stride = 1; stride <= 3; stride++) {
        for (let padBefore = 0; padBefore < filterSize; padBefore++) {
          for (let padAfter = 0; padAfter < filterSize; padAfter++) {
            const outSize = Math.floor((inSize + padBefore + padAfter - filterSize) / stride) + 1;
            const phases = axisPhases(inSize, outSize, filterSize, stride, padBefore);
            if (outSize < 1 || phases === undefined) continue;
            // Integer data, so both sums are exact.
            const dy = Array.from({ length: outSize }, (_, o) => 3 * o + 1);
            const w = Array.from({ length: filterSize }, (_, k) => 10 * k + 7);
            const direct = new Array<number>(inSize).fill(0);
            for (let o = 0; o < outSize; o++) {
              for (let k = 0; k < filterSize; k++) {
                const i = o * stride + k - padBefore;
                if (i >= 0 && i < inSize) direct[i] = (direct[i] as number) + (dy[o] as number) * (w[k] as number);
              }
            }
            const byPhase = new Array<number>(inSize).fill(NaN);
            phases.forEach((p, c) => {
              const padded = [
                ...new Array<number>(p.padBefore).fill(0),
                ...dy,
                ...new Array<number>(p.padAfter).fill(0),
              ];
              assert.equal(padded.length - p.taps + 1, p.length);
              for (let a = 0; a < p.length; a++) {
                let total = 0;
                for (let t = 0; t < p.taps; t++) {
                  total += (padded[a + t] as number) * (w[p.firstTap + stride * (p.taps - 1 - t)] as number);
                }
                byPhase[a * stride + c] = total;
              }
            });
            assert.deepEqual(byPhase, direct, `in ${inSize} k ${filterSize} s ${stride} pad ${padBefore},${padAfter}`);
            checked++;
          }
        }
      }
    }
  }
  assert.ok(checked > 300, `only ${checked} geometries had a phase plan`);
});

function tinyEncoder(): tfl.layers.Layer[] {
  return [
    tfl.layers.conv2d({
      inputShape: [28, 28, 1],
      filters: 4,
      kernelSize: 3,
      strides: 2,
      padding: 'same',
      activation: 'relu',
    }),
    tfl.layers.conv2d({ filters: 8, kernelSize: 3, strides: 2, padding: 'same', activation: 'relu' }),
    tfl.layers.flatten(),
    tfl.layers.dense({ units: 6 }),
  ];
}

test('a training step leaks no tensors on wasm (autoencoder and classifier)', async () => {
  await ready;
  await tf.setBackend('wasm');
  const autoencoder = tfl.sequential({
    layers: [
      ...tinyEncoder(),
      tfl.layers.dense({ units: 7 * 7 * 8 }),
      tfl.layers.reshape({ targetShape: [7, 7, 8] }),
      tfl.layers.conv2dTranspose({ filters: 8, kernelSize: 3, strides: 2, padding: 'same', activation: 'relu' }),
      tfl.layers.conv2dTranspose({ filters: 4, kernelSize: 3, strides: 2, padding: 'same', activation: 'relu' }),
      tfl.layers.conv2dTranspose({ filters: 1, kernelSize: 3, strides: 1, padding: 'same', activation: 'sigmoid' }),
    ],
  });
  autoencoder.compile({ optimizer: tf.train.adam(1e-3), loss: 'meanSquaredError' });
  const classifier = tfl.sequential({
    layers: [
      ...tinyEncoder(),
      tfl.layers.dense({ units: 16, activation: 'relu' }),
      tfl.layers.dense({ units: 16, activation: 'relu' }),
      tfl.layers.dense({ units: 10, activation: 'softmax' }),
    ],
  });
  classifier.compile({ optimizer: tf.train.adam(1e-3), loss: 'categoricalCrossentropy' });

  const images = tf.abs(tf.tensor(seededValues(5 * 28 * 28, 3), [5, 28, 28, 1]));
  const labels = tf.oneHot(tf.tensor1d([0, 3, 9, 3, 1], 'int32'), 10);
  for (const [model, target] of [
    [autoencoder, images],
    [classifier, labels],
  ] as const) {
    await model.trainOnBatch(images, target); // creates the optimizer's slots
    const before = tf.memory().numTensors;
    const buffersBefore = tf.backend().numDataIds();
    const loss = await model.trainOnBatch(images, target);
    assert.equal(tf.memory().numTensors, before, `${model.name} leaked tensors in one training step`);
    assert.equal(tf.backend().numDataIds(), buffersBefore, `${model.name} leaked wasm buffers in one training step`);
    assert.ok(Number.isFinite(loss as number), `${model.name} loss is ${String(loss)}`);
  }
  tf.dispose([images, labels]);
  autoencoder.dispose();
  classifier.dispose();
});

test('the wasm gradient kernels name what they do not implement', async () => {
  await ready;
  await tf.setBackend('wasm');
  const x = tf.zeros([1, 3, 5, 5]);
  const dy = tf.zeros([1, 4, 3, 3]);
  const filter = tf.zeros([3, 3, 3, 4]);
  const attrs = { strides: 1, pad: 'valid', dataFormat: 'NCHW' } as const;
  assert.throws(
    () => tf.engine().runKernel('Conv2DBackpropFilter', { x, dy }, { ...attrs, filterShape: [3, 3, 3, 4] }),
    (e: unknown) =>
      e instanceof UnsupportedKernelAttributeError && /Conv2DBackpropFilter: dataFormat="NCHW"/.test(e.message),
  );
  assert.throws(
    () => tf.engine().runKernel('Conv2DBackpropInput', { dy, filter }, { ...attrs, inputShape: [1, 3, 5, 5] }),
    (e: unknown) =>
      e instanceof UnsupportedKernelAttributeError && /Conv2DBackpropInput: dataFormat="NCHW"/.test(e.message),
  );
  tf.dispose([x, dy, filter]);
});

test('registerWasmBackend is idempotent and leaves the backend choice to the caller', async () => {
  await ready;
  await tf.setBackend('cpu');
  await registerWasmBackend({ threads: 1 });
  assert.equal(tf.getBackend(), 'cpu');
  assert.ok(tf.findBackendFactory('wasm') !== null);
});
