// The native whole training step (native/training_step.cc) against its oracle, tfjs-layers' own trainOnBatch:
// on the stock cpu backend within float tolerance, on the native backend's kernels bit for bit where the
// arithmetic is the same (the autoencoder), and the same weights on any thread count. Models it cannot run
// train through tfjs, and frozen layers stay as they were.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import type { LayersModel } from '@tensorflow/tfjs-layers';

import { useBackend } from '../src/backend/index.js';
import type { BackendName } from '../src/backend/index.js';
import { Random } from '../src/data/random.js';
import { buildAutoencoder } from '../src/model/autoencoder.js';
import { presets } from '../src/config.js';
import { buildClassifier } from '../src/model/classifier.js';
import { adam } from '../src/train/adam.js';
import { optimizerState } from '../src/train/checkpoint.js';
import { predictInPasses, predictRows } from '../src/train/batches.js';
import { nativePredictor, trainingStep } from '../src/train/training-step.js';
import type { StepLoss } from '../src/train/training-step.js';
import { initializeWeights } from '../src/train/weights.js';

/** 'weighted': the classifier on target rows scaled by 0, ½, 1 or 3, as FixMatch's batches are (semi-supervised.ts). */
type Network = 'autoencoder' | 'classifier' | 'weighted';
const batch = 24;
/**
 * The stock cpu backend takes minutes for the reference autoencoder: its oracle runs the same layers on 12x12 images.
 */
const smallShape = { height: 12, width: 12, codingUnits: 8 };

function batchOf(network: Network, seed: number, pixels = 784): { x: Float32Array; y: Float32Array } {
  const random = new Random(seed);
  const x = Float32Array.from({ length: batch * pixels }, () => random.next());
  if (network === 'autoencoder') return { x, y: x };
  const y = new Float32Array(batch * 10);
  const weights = [0, 0.5, 1, 3];
  for (let n = 0; n < batch; n += 1) y[n * 10 + random.integer(10)] = network === 'weighted' ? weights[n % 4]! : 1;
  return { x, y };
}

function build(network: Network, small: boolean): { model: LayersModel; loss: StepLoss } {
  const shape = small ? smallShape : { height: 28, width: 28, codingUnits: 32 };
  const model =
    network === 'autoencoder'
      ? buildAutoencoder(shape).autoencoder
      : buildClassifier('scratch', shape, 10, null, presets.full.classifier.headUnits).model;
  initializeWeights(model, new Random(21));
  return { model, loss: network === 'autoencoder' ? 'meanSquaredError' : 'categoricalCrossentropy' };
}

/** Four steps (a rate change after two) through the native step or trainOnBatch; the weights, state and losses. */
async function train(
  network: Network,
  backend: BackendName,
  through: 'step' | 'trainOnBatch',
  threads = 2,
  small = false,
) {
  await useBackend(backend, { threads });
  const { model, loss } = build(network, small);
  const side = small ? smallShape.height : 28;
  const optimizer = adam(2e-3);
  model.compile({ optimizer, loss });
  const step = trainingStep(model, optimizer, loss);
  const losses: number[] = [];
  for (let index = 0; index < 4; index += 1) {
    if (index === 2) optimizer.rate = 5e-4;
    const { x, y } = batchOf(network, 30 + index, side * side);
    if (through === 'step') {
      losses.push(await step(x, y, batch));
    } else {
      const xs = tf.tensor4d(x, [batch, side, side, 1]);
      const ys = network === 'autoencoder' ? tf.tensor4d(y, [batch, side, side, 1]) : tf.tensor2d(y, [batch, 10]);
      losses.push((await model.trainOnBatch(xs, ys)) as number);
      tf.dispose([xs, ys]);
    }
  }
  const weights = model.getWeights().map((weight) => weight.dataSync().slice() as Float32Array);
  const state = (await optimizerState(optimizer)).map(({ shape, values }) => ({ shape, values }));
  model.dispose();
  optimizer.dispose();
  return { engine: step.engine, weights, state, losses };
}

/** The largest difference between two sets of weights, and the share of values that differ by more than `bound`. */
function differences(a: Float32Array[], b: Float32Array[], bound: number): { largest: number; share: number } {
  let largest = 0,
    beyond = 0,
    count = 0;
  a.forEach((values, index) =>
    values.forEach((value, i) => {
      const difference = Math.abs(value - b[index]![i]!);
      largest = Math.max(largest, difference);
      if (difference > bound) beyond += 1;
      count += 1;
    }),
  );
  return { largest, share: beyond / count };
}

for (const network of ['autoencoder', 'classifier', 'weighted'] as const) {
  const name = network === 'weighted' ? 'classifier on weighted target rows' : network;
  test(`the native step trains the ${name} as tfjs's trainOnBatch on the cpu backend does`, async (t) => {
    const oracle = await train(network, 'cpu', 'trainOnBatch', 2, true);
    const native = await train(network, 'native', 'step', 2, true);
    assert.equal(native.engine, 'native');
    native.losses.forEach((loss, index) =>
      assert.ok(
        Math.abs(loss - oracle.losses[index]!) < 1e-5 * Math.max(1, oracle.losses[index]!),
        `step ${index + 1}: loss ${loss} vs ${oracle.losses[index]}`,
      ),
    );
    // Adam divides by the root of the second moment, so a gradient near zero whose rounding flips its sign moves a
    // weight by up to the rate either way: 2 x 2e-3 + 2 x 5e-4 over the four steps. A wrong gradient moves many.
    const { largest, share } = differences(native.weights, oracle.weights, 1e-5);
    t.diagnostic(
      `${network}: after 4 steps, weights differ from tfjs cpu's by up to ${largest.toExponential(2)}, ` +
        `${(100 * share).toFixed(3)}% of them by more than 1e-5`,
    );
    assert.ok(largest <= 5e-3, `weights differ by ${largest}`);
    assert.ok(share < 0.01, `${(100 * share).toFixed(2)}% of the weights differ by more than 1e-5`);
    assert.deepEqual(
      native.state.map(({ shape }) => shape),
      oracle.state.map(({ shape }) => shape),
      'optimizer state layout',
    );
  });
}

test('the native autoencoder step equals trainOnBatch on the native kernels bit for bit, moments included', async () => {
  const kernels = await train('autoencoder', 'native', 'trainOnBatch');
  const step = await train('autoencoder', 'native', 'step');
  step.weights.forEach((values, index) => assert.deepEqual(values, kernels.weights[index], `weight ${index}`));
  assert.deepEqual(step.state, kernels.state);
  // tfjs reports the loss as a float32 mean, the step as a double.
  step.losses.forEach((loss, index) =>
    assert.ok(Math.abs(loss - kernels.losses[index]!) < 1e-6 * kernels.losses[index]!),
  );
});

test('the native step gives the same weights bit for bit on 1, 2 and 3 threads', async () => {
  const digest = (weights: Float32Array[]) => {
    const hash = createHash('sha256');
    for (const values of weights) hash.update(new Uint8Array(values.buffer));
    return hash.digest('hex');
  };
  try {
    for (const network of ['autoencoder', 'classifier'] as const) {
      const one = digest((await train(network, 'native', 'step', 1)).weights);
      assert.equal(
        digest((await train(network, 'native', 'step', 2)).weights),
        one,
        `${network}: 2 threads differ from 1`,
      );
      assert.equal(
        digest((await train(network, 'native', 'step', 3)).weights),
        one,
        `${network}: 3 threads differ from 1`,
      );
    }
  } finally {
    await useBackend('native');
  }
});

test('a frozen encoder stays as it was, and the pretrained model whose weights it shares is never written', async () => {
  await useBackend('native');
  const pretrained = buildAutoencoder().encoder;
  initializeWeights(pretrained, new Random(3));
  const before = pretrained.getWeights().map((weight) => weight.dataSync().slice());
  const { model, encoder } = buildClassifier(
    'finetuned',
    { height: 28, width: 28, codingUnits: 32 },
    10,
    pretrained,
    presets.full.classifier.headUnits,
  );
  encoder.trainable = false;
  const optimizer = adam(2e-3);
  model.compile({ optimizer, loss: 'categoricalCrossentropy' });
  const step = trainingStep(model, optimizer, 'categoricalCrossentropy');
  assert.equal(step.engine, 'native');
  const { x, y } = batchOf('classifier', 4);
  await step(x, y, batch);
  // The first step creates Adam's moments; later steps create nothing.
  const tensorsBefore = tf.memory().numTensors;
  await step(x, y, batch);
  assert.equal(tf.memory().numTensors, tensorsBefore, 'a step leaves no tensors behind');
  encoder
    .getWeights()
    .forEach((weight, index) => assert.deepEqual(weight.dataSync(), before[index], `frozen weight ${index} moved`));
  // Fine-tuning writes the encoder's weights in place: the pretrained model's arrays must not move with them.
  // A new phase gets a new optimizer, as in trainClassifier: Adam's moments are indexed by trainable weight.
  encoder.trainable = true;
  const wholeOptimizer = adam(2e-3);
  model.compile({ optimizer: wholeOptimizer, loss: 'categoricalCrossentropy' });
  const whole = trainingStep(model, wholeOptimizer, 'categoricalCrossentropy');
  await whole(x, y, batch);
  wholeOptimizer.dispose();
  assert.notDeepEqual(encoder.getWeights()[0]!.dataSync(), before[0], 'fine-tuning moved the encoder');
  pretrained
    .getWeights()
    .forEach((weight, index) =>
      assert.deepEqual(weight.dataSync(), before[index], `pretrained weight ${index} was written`),
    );
  model.dispose();
  pretrained.dispose();
  optimizer.dispose();
});

test('a model with a layer the native step does not run trains through trainOnBatch', async () => {
  await useBackend('native');
  const model = tfl.sequential({
    layers: [
      tfl.layers.dense({ inputShape: [8], units: 4, activation: 'relu' }),
      tfl.layers.dropout({ rate: 0.5 }),
      tfl.layers.dense({ units: 3, activation: 'softmax' }),
    ],
  });
  const optimizer = adam(1e-3);
  model.compile({ optimizer, loss: 'categoricalCrossentropy' });
  const step = trainingStep(model, optimizer, 'categoricalCrossentropy');
  assert.equal(step.engine, 'tfjs');
  const loss = await step(new Float32Array(16).fill(0.5), Float32Array.of(1, 0, 0, 0, 1, 0), 2);
  assert.ok(Number.isFinite(loss));
  model.dispose();
  optimizer.dispose();
});

/** The study's autoencoder, seeded, and a fine-tuned classifier on its encoder, on the native backend. */
async function predictionModels(seed: number) {
  await useBackend('native');
  const { autoencoder, encoder } = buildAutoencoder();
  initializeWeights(autoencoder, new Random(seed));
  const { model: classifier } = buildClassifier(
    'finetuned',
    { height: 28, width: 28, codingUnits: 32 },
    10,
    encoder,
    presets.full.classifier.headUnits,
  );
  return { autoencoder, encoder, classifier };
}

test('predictions on the addon equal tfjs predict for the autoencoder, encoder and classifier', async () => {
  const { autoencoder, encoder, classifier } = await predictionModels(8);
  const { x } = batchOf('autoencoder', 9);
  for (const model of [autoencoder, encoder, classifier]) {
    const fromTfjs = tf.tidy(() => (model.predict(tf.tensor4d(x, [batch, 28, 28, 1])) as tf.Tensor).dataSync().slice());
    const fromAddon = predictRows(model, x, batch, [28, 28, 1]);
    assert.equal(fromAddon.length, fromTfjs.length, model.name);
    let largest = 0;
    fromAddon.forEach((value, index) => {
      largest = Math.max(largest, Math.abs(value - fromTfjs[index]!));
    });
    assert.ok(largest < 1e-5, `${model.name}: outputs differ by ${largest}`);
  }
  assert.ok(nativePredictor(autoencoder), 'the autoencoder predicts on the addon');
  autoencoder.dispose();
  classifier.dispose();
});

test("a row's predictions on the addon are the same bits whatever rows share its pass", async () => {
  // predictInPasses, and so predictRows and FixMatch's weak views, rely on this.
  const { autoencoder, classifier } = await predictionModels(10);
  const rows = 40;
  const random = new Random(11);
  const x = Float32Array.from({ length: rows * 784 }, () => (random.next() < 0.7 ? 0 : random.next()));
  for (const model of [autoencoder, classifier]) {
    const predictor = nativePredictor(model)!;
    const size = predictor.outputSize;
    const whole = new Float32Array(rows * size);
    predictor.predict(x, rows, whole);
    const inPasses = new Float32Array(rows * size);
    predictInPasses(predictor, x, rows, 784, 7, inPasses);
    predictor.dispose();
    assert.deepEqual(new Uint32Array(inPasses.buffer), new Uint32Array(whole.buffer), model.name);
  }
  autoencoder.dispose();
  classifier.dispose();
});
