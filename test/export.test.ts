// `dae export`: every model of a run folder, as ONNX, run in onnxruntime-node on real test digits, must give tfjs's
// outputs to 1e-5 with the same argmax on every image; the Keras 3 files must hold tfjs's weights where Keras looks
// for them (Keras itself is checked by scripts/check-keras.py, outside npm test); and bad requests are refused in
// one line with nothing written. The run folder is made here from the project's own builders and saveModel, with
// seeded weights, exactly as `dae experiment` saves them; one extra model has the shapes the study does not use.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import type { LayersModel } from '@tensorflow/tfjs-layers';
import ort from 'onnxruntime-node';
import protobuf from 'protobufjs';
import { unzipSync, strFromU8 } from 'fflate';

import { useBackend } from '../src/backend/index.js';
import { floatPixels, loadDataset } from '../src/data/dataset.js';
import { Random } from '../src/data/random.js';
import { exportRun } from '../src/export/export-run.js';
import { ExportError } from '../src/export/model-tree.js';
import { exportTree } from '../src/export/interface.js';
import { weightGroups } from '../src/export/keras.js';
import { modelTree } from '../src/export/model-tree.js';
import { saveModel, loadModel } from '../src/io/model-files.js';
import { RunFolder } from '../src/io/run-folder.js';
import { buildAutoencoder, referenceShape } from '../src/model/autoencoder.js';
import { presets } from '../src/config.js';
import { buildClassifier } from '../src/model/classifier.js';
import { initializeWeights } from '../src/train/weights.js';

const cli = fileURLToPath(new URL('../../bin/dae.js', import.meta.url));
const schema = fileURLToPath(new URL('../../proto/onnx.proto', import.meta.url));
const testImages = 300;

/** Shapes the study's models do not have: 'valid' padding, a kernel smaller than its stride, a Dense without bias. */
function oddShapes(): LayersModel {
  return tfl.sequential({
    name: 'odd_shapes',
    layers: [
      tfl.layers.conv2d({
        name: 'odd_conv',
        inputShape: [28, 28, 1],
        filters: 4,
        kernelSize: [3, 5],
        strides: [2, 3],
        padding: 'valid',
        activation: 'relu',
      }),
      tfl.layers.conv2dTranspose({
        name: 'odd_deconv',
        filters: 3,
        kernelSize: 1,
        strides: 2,
        padding: 'same',
        activation: 'sigmoid',
      }),
      tfl.layers.flatten({ name: 'odd_flatten' }),
      tfl.layers.dense({ name: 'odd_dense', units: 12, useBias: false }),
      tfl.layers.reshape({ name: 'odd_reshape', targetShape: [2, 2, 3] }),
      tfl.layers.conv2d({
        name: 'odd_conv2',
        filters: 5,
        kernelSize: 2,
        strides: 1,
        padding: 'same',
        activation: 'softmax',
      }),
    ],
  });
}

/** A complete run folder holding the study's nine kinds of model (six classifiers as three) plus oddShapes. */
async function makeRun(directory: string): Promise<string[]> {
  const random = new Random(11);
  const run = await RunFolder.create(directory, { preset: 'test' });
  const { encoder, decoder, autoencoder } = buildAutoencoder(referenceShape);
  initializeWeights(autoencoder, random);
  const metadata = { seed: 11, dataset: 'MNIST' };
  const classNames = ['zero', 'one', 'two', 'three', 'four', 'five', 'six', 'seven', 'eight', 'nine'];
  await saveModel(encoder, run.path('models', 'encoder'), { ...metadata, role: 'encoder' });
  await saveModel(decoder, run.path('models', 'decoder'), { ...metadata, role: 'decoder' });
  await saveModel(autoencoder, run.path('models', 'autoencoder'), { ...metadata, role: 'autoencoder' });
  for (const mode of ['frozen', 'finetuned', 'scratch'] as const) {
    const classifier = buildClassifier(mode, referenceShape, 10, encoder, presets.full.classifier.headUnits);
    initializeWeights(classifier.model, random);
    await saveModel(classifier.model, run.path('models', `classifier-${mode}-100`), {
      ...metadata,
      encoder: mode,
      labels: 100,
      classNames,
    });
  }
  const odd = oddShapes();
  initializeWeights(odd, random);
  await saveModel(odd, run.path('models', 'odd-shapes'), { ...metadata, role: 'test' });
  await run.markComplete();
  await run.release();
  return [
    'autoencoder',
    'classifier-finetuned-100',
    'classifier-frozen-100',
    'classifier-scratch-100',
    'decoder',
    'encoder',
    'odd-shapes',
  ];
}

function argmaxRows(values: Float32Array, rows: number): number[] {
  const size = values.length / rows;
  return Array.from({ length: rows }, (_, row) => {
    let best = 0;
    for (let index = 1; index < size; index += 1)
      if (values[row * size + index]! > values[row * size + best]!) best = index;
    return best;
  });
}

function dae(...args: string[]) {
  const result = spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', timeout: 120_000 });
  const lines = result.stderr
    .trim()
    .split('\n')
    .filter((line) => line.length > 0);
  return {
    status: result.status,
    stdout: result.stdout,
    stderr: result.stderr,
    lastLine: lines[lines.length - 1] ?? '',
  };
}

test("every exported ONNX model gives tfjs's outputs in onnxruntime, to 1e-5 and the same argmax on every image", async () => {
  await useBackend('native');
  const directory = await mkdtemp(join(tmpdir(), 'dae-export-'));
  try {
    const names = await makeRun(directory);
    const exported = await exportRun(directory, { format: 'onnx' });
    assert.deepEqual(
      exported.map((item) => item.model),
      names,
    );
    assert.deepEqual(
      (await readdir(join(directory, 'export', 'onnx'))).sort(),
      [...names.map((name) => `${name}.onnx`), 'export.json'].sort(),
    );

    const mnist = await loadDataset();
    const images = floatPixels(mnist.test.images, 0, testImages * 28 * 28);
    const modelProto = protobuf
      .parse(await readFile(schema, 'utf8'), { keepCase: true })
      .root.lookupType('onnx.ModelProto');
    let codes: Float32Array | null = null;
    for (const item of ['encoder', ...names.filter((name) => name !== 'encoder')].map((name) =>
      exported.find((entry) => entry.model === name)!,
    )) {
      const bytes = await readFile(item.file);
      // The file says what it is: opset 17, IR 8, a named input with a dynamic batch axis.
      const decoded = modelProto.toObject(modelProto.decode(bytes), { longs: Number }) as {
        ir_version: number;
        opset_import: { version: number }[];
        graph: {
          input: {
            name: string;
            type: { tensor_type: { shape: { dim: { dim_param?: string; dim_value?: number }[] } } };
          }[];
          output: { name: string }[];
        };
      };
      assert.equal(decoded.ir_version, 8);
      assert.deepEqual(
        decoded.opset_import.map((entry) => entry.version),
        [17],
      );
      assert.equal(
        decoded.graph.input[0]?.type.tensor_type.shape.dim[0]?.dim_param,
        'batch',
        `${item.model}: batch axis`,
      );

      const model = await loadModel(join(directory, 'models', item.model));
      const input: Float32Array = item.inputShape.length === 1 ? codes! : images;
      const shape = [testImages, ...item.inputShape];
      const expected = tf.tidy(() => (model.predict(tf.tensor(input, shape)) as tf.Tensor).dataSync() as Float32Array);
      if (item.model === 'encoder') codes = expected;
      model.dispose();

      const session = await ort.InferenceSession.create(bytes);
      assert.deepEqual([session.inputNames, session.outputNames], [[item.inputName], [item.outputName]]);
      const result: ort.Tensor = (await session.run({ [item.inputName]: new ort.Tensor('float32', input, shape) }))[
        item.outputName
      ]!;
      assert.deepEqual(result.dims, [testImages, ...item.outputShape], `${item.model}: output shape`);
      const actual = result.data as Float32Array;
      let largest = 0;
      for (let index = 0; index < actual.length; index += 1)
        largest = Math.max(largest, Math.abs(actual[index]! - expected[index]!));
      assert.ok(largest <= 1e-5, `${item.model}: max |onnxruntime - tfjs| = ${largest}`);
      assert.deepEqual(argmaxRows(actual, testImages), argmaxRows(expected, testImages), `${item.model}: argmax`);
      // Not vacuous: the outputs vary from image to image.
      assert.notDeepEqual(
        Array.from(actual.subarray(0, actual.length / testImages)),
        Array.from(actual.subarray(actual.length / testImages, (2 * actual.length) / testImages)),
      );
      // A batch of one runs too (the batch axis is dynamic).
      const one = (
        await session.run({
          [item.inputName]: new ort.Tensor('float32', input.slice(0, input.length / testImages), [
            1,
            ...item.inputShape,
          ]),
        })
      )[item.outputName]!;
      assert.deepEqual(one.dims, [1, ...item.outputShape]);
      await session.release();
    }
  } finally {
    await rm(directory, { recursive: true, force: true });
  }
});

test("the Keras 3 files hold config.json, metadata.json and tfjs's weights where Keras reads them", async () => {
  await useBackend('native');
  const directory = await mkdtemp(join(tmpdir(), 'dae-export-'));
  try {
    await makeRun(directory);
    const out = join(directory, 'keras-files');
    const exported = await exportRun(directory, { format: 'keras', model: 'autoencoder', out });
    assert.deepEqual(
      exported.map((item) => item.file),
      [join(out, 'autoencoder.keras')],
    );
    const files = unzipSync(new Uint8Array(await readFile(join(out, 'autoencoder.keras'))));
    assert.deepEqual(Object.keys(files).sort(), ['config.json', 'metadata.json', 'model.weights.h5']);
    const config = JSON.parse(strFromU8(files['config.json']!)) as {
      class_name: string;
      config: {
        layers: {
          class_name: string;
          name: string;
          inbound_nodes: { args: { config: { keras_history: unknown[] } }[] }[];
        }[];
      };
    };
    // The three fixes Keras 3 needs over tfjs's model.json: class names, node index 0 of nested models, an input layer
    // for the Sequential.
    assert.equal(config.class_name, 'Functional');
    assert.deepEqual(
      config.config.layers.map((layer) => [layer.class_name, layer.name]),
      [
        ['InputLayer', 'image'],
        ['Functional', 'encoder'],
        ['Sequential', 'decoder'],
        ['Identity', 'reconstruction'],
      ],
    );
    assert.deepEqual(config.config.layers[2]?.inbound_nodes[0]?.args[0]?.config.keras_history, ['encoder', 0, 0]);
    assert.match(
      strFromU8(files['config.json']!),
      /"class_name":"InputLayer","registered_name":null,"config":\{"batch_shape":\[null,32\]/,
    );

    const h5wasm = (await import('h5wasm/node')).default;
    await h5wasm.ready;
    const h5Path = join(directory, 'weights.h5');
    await import('node:fs/promises').then((fs) => fs.writeFile(h5Path, files['model.weights.h5']!));
    const h5 = new h5wasm.File(h5Path, 'r');
    try {
      const model = await loadModel(join(directory, 'models', 'autoencoder'));
      const groups = weightGroups(
        exportTree(modelTree(model, 'autoencoder'), { includeRescaling: false }, 'autoencoder'),
      );
      assert.ok(
        groups.some((group) => group.path === 'layers/functional/layers/conv2d_1/vars'),
        'encoder_conv2 where Keras looks for it',
      );
      assert.ok(
        groups.some((group) => group.path === 'layers/sequential/layers/conv2d_transpose_2/vars'),
        'decoder_output where Keras looks for it',
      );
      let checked = 0;
      for (const group of groups) {
        group.variables.forEach((variable, index) => {
          const dataset = h5.get(`${group.path}/${index}`) as InstanceType<typeof h5wasm.Dataset>;
          assert.deepEqual(dataset.shape, variable.shape);
          assert.deepEqual(dataset.value, variable.values, `${group.path}/${index}`);
          checked += 1;
        });
      }
      assert.equal(checked, model.weights.length);
      model.dispose();
    } finally {
      h5.close();
    }
  } finally {
    await rm(directory, { recursive: true, force: true });
  }
});

test('bad requests get a one-line error and a non-zero exit, and leave no file behind', async () => {
  const directory = await mkdtemp(join(tmpdir(), 'dae-export-'));
  try {
    const runDirectory = join(directory, 'run');
    await useBackend('native');
    await makeRun(runDirectory);
    const out = join(directory, 'out');
    // Exit 2 for a bad command line, 1 for a request the run folder cannot meet.
    const refused = (result: ReturnType<typeof dae>, status: 1 | 2, pattern: RegExp) => {
      assert.equal(result.status, status, result.stderr);
      assert.match(result.lastLine, pattern);
      assert.doesNotMatch(result.stderr, /^\s+at /m, `no stack trace expected:\n${result.stderr}`);
      assert.equal(result.stdout, '');
      assert.equal(existsSync(out), false, 'nothing written');
    };
    refused(
      dae('export', runDirectory, '--format', 'onnx', '--model', 'classifier-frozen-5500', '--out', out),
      1,
      /^dae: --model classifier-frozen-5500: .*models holds no such model \(it has autoencoder, .*\) — name one of them, or all$/,
    );
    refused(
      dae('export', runDirectory, '--format', 'tflite', '--out', out),
      2,
      /^dae: .*'tflite' is invalid. Allowed choices are onnx, keras/,
    );
    refused(dae('export', runDirectory, '--out', out), 2, /^dae: required option '--format <name>' not specified/);
    refused(
      dae('export', join(directory, 'no-run'), '--format', 'onnx', '--out', out),
      1,
      /^dae: .*no-run: not a dae run folder/,
    );

    // A model the formats cannot hold stops the whole export before any file is written.
    const model = tfl.sequential({
      layers: [
        tfl.layers.dense({ name: 'dense_in', inputShape: [4], units: 3 }),
        tfl.layers.dropout({ name: 'drop', rate: 0.5 }),
      ],
    });
    await saveModel(model, join(runDirectory, 'models', 'with-dropout'));
    refused(
      dae('export', runDirectory, '--format', 'keras', '--out', out),
      1,
      /^dae: .*with-dropout: layer 'drop' is a Dropout — only chains of Dense/,
    );

    const record = JSON.parse(await readFile(join(runDirectory, 'run.json'), 'utf8')) as Record<string, unknown>;
    await import('node:fs/promises').then((fs) =>
      fs.writeFile(join(runDirectory, 'run.json'), JSON.stringify({ ...record, status: 'incomplete' })),
    );
    refused(
      dae('export', runDirectory, '--format', 'onnx', '--model', 'encoder', '--out', out),
      1,
      /^dae: .*run\.json: the run has not finished .*dae experiment --resume/,
    );
    await assert.rejects(exportRun(runDirectory, { format: 'onnx', out }), ExportError);
    await assert.rejects(
      exportRun(runDirectory, { format: 'tflite' as 'onnx', out }),
      /--format tflite: is not a format dae exports — use one of onnx, keras/,
    );
    assert.equal(existsSync(out), false);

    // A finished run folder without models (made by hand) has nothing to export, and says so.
    const empty = await RunFolder.create(join(directory, 'empty-run'), { preset: 'test' });
    await empty.markComplete();
    await empty.release();
    await assert.rejects(
      exportRun(join(directory, 'empty-run'), { format: 'keras', out }),
      /empty-run\/models: holds no saved model/,
    );
    assert.equal(existsSync(out), false);
  } finally {
    await rm(directory, { recursive: true, force: true });
  }
});

/** The .keras file's config.json and metadata.json. */
async function kerasJson(file: string): Promise<{ config: KerasEntry; metadata: Record<string, unknown> }> {
  const files = unzipSync(new Uint8Array(await readFile(file)));
  return {
    config: JSON.parse(strFromU8(files['config.json']!)) as KerasEntry,
    metadata: JSON.parse(strFromU8(files['metadata.json']!)) as Record<string, unknown>,
  };
}

interface KerasEntry {
  class_name: string;
  name?: string;
  config: {
    name: string;
    trainable?: boolean;
    scale?: number;
    layers?: KerasEntry[];
    input_layers?: unknown[];
    output_layers?: unknown[];
  };
}

/** ONNX metadata_props of a file, as a record. */
async function onnxMetadata(file: string): Promise<Record<string, string>> {
  const modelProto = protobuf
    .parse(await readFile(schema, 'utf8'), { keepCase: true })
    .root.lookupType('onnx.ModelProto');
  const decoded = modelProto.toObject(modelProto.decode(await readFile(file))) as {
    metadata_props: { key: string; value: string }[];
  };
  return Object.fromEntries(decoded.metadata_props.map(({ key, value }) => [key, value]));
}

test('every model is named by one scheme in both formats: image or code in; code, reconstruction or class_probabilities out', async () => {
  await useBackend('native');
  const directory = await mkdtemp(join(tmpdir(), 'dae-export-'));
  try {
    await makeRun(directory);
    const scheme: Record<string, [string, string]> = {
      encoder: ['image', 'code'],
      decoder: ['code', 'reconstruction'],
      autoencoder: ['image', 'reconstruction'],
      'classifier-frozen-100': ['image', 'class_probabilities'],
      'classifier-finetuned-100': ['image', 'class_probabilities'],
      'classifier-scratch-100': ['image', 'class_probabilities'],
    };
    const onnx = await exportRun(directory, { format: 'onnx' });
    const keras = await exportRun(directory, { format: 'keras' });
    for (const [model, [input, output]] of Object.entries(scheme)) {
      const onnxItem = onnx.find((item) => item.model === model)!;
      assert.deepEqual([onnxItem.inputName, onnxItem.outputName], [input, output], `${model} (exportRun)`);
      const session = await ort.InferenceSession.create(await readFile(onnxItem.file));
      assert.deepEqual([session.inputNames, session.outputNames], [[input], [output]], `${model}.onnx`);
      await session.release();
      const { config } = await kerasJson(keras.find((item) => item.model === model)!.file);
      // A Functional model names its input and output layers; a Sequential (the decoder) starts with its InputLayer.
      const layers = config.config.layers!;
      assert.equal(layers[0]?.config.name, input, `${model}.keras input`);
      assert.deepEqual([layers.at(-1)?.class_name, layers.at(-1)?.config.name], ['Identity', output], `${model}.keras`);
      if (config.class_name === 'Functional') {
        assert.deepEqual(config.config.input_layers, [input, 0, 0]);
        assert.deepEqual(config.config.output_layers, [output, 0, 0]);
      }
    }
  } finally {
    await rm(directory, { recursive: true, force: true });
  }
});

test('the files say how to feed them: [0, 1] pixels, NHWC, the class names; --include-rescaling takes 0-255 pixels', async () => {
  await useBackend('native');
  const directory = await mkdtemp(join(tmpdir(), 'dae-export-'));
  try {
    await makeRun(directory);
    const model = 'classifier-finetuned-100';
    const [plainKeras] = await exportRun(directory, { format: 'keras', model });
    const { metadata } = await kerasJson(plainKeras!.file);
    const described = metadata['dae_pretrain'] as {
      input: { name: string; range: number[]; layout: string; preprocessing: string };
      classNames: string[];
      rescalingIncluded: boolean;
    };
    assert.deepEqual([described.input.name, described.input.range, described.input.layout], ['image', [0, 1], 'NHWC']);
    assert.match(described.input.preprocessing, /divide 0-255 pixels by 255/);
    assert.equal(described.rescalingIncluded, false);
    assert.deepEqual(described.classNames.slice(0, 2), ['zero', 'one']);
    const [plainOnnx] = await exportRun(directory, { format: 'onnx', model });
    const props = await onnxMetadata(plainOnnx!.file);
    assert.deepEqual(
      [props['input_range'], props['layout'], props['rescaling_included'], JSON.parse(props['class_names']!)[9]],
      ['[0,1]', 'NHWC', 'false', 'nine'],
    );
    assert.match(props['preprocessing']!, /divide 0-255 pixels by 255/);
    const record = JSON.parse(await readFile(join(directory, 'export', 'onnx', 'export.json'), 'utf8')) as {
      files: Record<string, { interface: { input: { range: number[] } } }>;
    };
    assert.deepEqual(record.files[`${model}.onnx`]?.interface.input.range, [0, 1]);

    // With the rescaling inside, raw pixels give tfjs's answer on pixels / 255.
    const out = join(directory, 'rescaled');
    const [rescaledOnnx] = await exportRun(directory, { format: 'onnx', model, out, includeRescaling: true });
    const [rescaledKeras] = await exportRun(directory, { format: 'keras', model, out, includeRescaling: true });
    const rescaledProps = await onnxMetadata(rescaledOnnx!.file);
    assert.deepEqual([rescaledProps['input_range'], rescaledProps['rescaling_included']], ['[0,255]', 'true']);
    const keras = await kerasJson(rescaledKeras!.file);
    const first = keras.config.config.layers![1]!;
    assert.deepEqual(
      [first.class_name, first.config.name, first.config.scale],
      ['Rescaling', 'rescale_pixels', 1 / 255],
    );
    assert.deepEqual((keras.metadata['dae_pretrain'] as { input: { range: number[] } }).input.range, [0, 255]);

    const mnist = await loadDataset();
    const count = 50;
    const images = floatPixels(mnist.test.images, 0, count * 28 * 28);
    const pixels = images.map((value) => Math.round(value * 255));
    const tfjsModel = await loadModel(join(directory, 'models', model));
    const expected = tf.tidy(
      () => (tfjsModel.predict(tf.tensor(images, [count, 28, 28, 1])) as tf.Tensor).dataSync() as Float32Array,
    );
    tfjsModel.dispose();
    const run = async (file: string, input: Float32Array) => {
      const session = await ort.InferenceSession.create(await readFile(file));
      const result = await session.run({ image: new ort.Tensor('float32', input, [count, 28, 28, 1]) });
      await session.release();
      return result['class_probabilities']!.data as Float32Array;
    };
    const largest = (actual: Float32Array) =>
      Math.max(...actual.map((value, index) => Math.abs(value - expected[index]!)));
    assert.ok(largest(await run(rescaledOnnx!.file, pixels)) <= 1e-5, 'rescaled model on 0-255 pixels');
    assert.ok(largest(await run(plainOnnx!.file, images)) <= 1e-5, 'plain model on [0, 1] pixels');
    // Not vacuous: raw pixels into the plain model give another answer.
    assert.ok(largest(await run(plainOnnx!.file, pixels)) > 1e-2, 'raw pixels into the plain model');
  } finally {
    await rm(directory, { recursive: true, force: true });
  }
});

test("a frozen classifier's encoder is exported with trainable false, and only a frozen one's", async () => {
  await useBackend('native');
  const directory = await mkdtemp(join(tmpdir(), 'dae-export-'));
  try {
    await makeRun(directory);
    const exported = await exportRun(directory, { format: 'keras' });
    const trainable = async (model: string) => {
      const { config } = await kerasJson(exported.find((item) => item.model === model)!.file);
      const encoder = config.config.layers!.find((layer) => layer.config.name === 'encoder')!;
      const head = config.config.layers!.find((layer) => layer.config.name === 'head_output')!;
      return {
        encoder: encoder.config.trainable,
        // The input layer has no trainable flag of its own.
        encoderLayers: [...new Set(encoder.config.layers!.slice(1).map((layer) => layer.config.trainable))],
        head: head.config.trainable,
      };
    };
    assert.deepEqual(await trainable('classifier-frozen-100'), { encoder: false, encoderLayers: [false], head: true });
    assert.deepEqual(await trainable('classifier-finetuned-100'), { encoder: true, encoderLayers: [true], head: true });
    assert.deepEqual(await trainable('classifier-scratch-100'), { encoder: true, encoderLayers: [true], head: true });
  } finally {
    await rm(directory, { recursive: true, force: true });
  }
});

test('--out must be new, empty or an export of this run; a taken file name stops the export before any file is written', async () => {
  await useBackend('native');
  const directory = await mkdtemp(join(tmpdir(), 'dae-export-'));
  try {
    const runDirectory = join(directory, 'run');
    const otherRun = join(directory, 'other-run');
    await makeRun(runDirectory);
    await makeRun(otherRun);
    const listing = async (folder: string) => (existsSync(folder) ? (await readdir(folder)).sort() : null);
    const refusedOut = async (out: string, pattern: RegExp) => {
      const before = await listing(out);
      const result = dae('export', runDirectory, '--format', 'onnx', '--out', out);
      assert.equal(result.status, 1, result.stderr);
      assert.match(result.lastLine, pattern);
      assert.match(result.lastLine, / — choose a new or empty folder for --out/);
      assert.deepEqual(await listing(out), before, `${out}: nothing written`);
    };
    await refusedOut(otherRun, /^dae: --out .*other-run: is a run folder \(it holds run\.json\)/);
    await refusedOut(runDirectory, /^dae: --out .*run: is the run folder itself/);
    await refusedOut(join(otherRun, 'export', 'onnx'), /^dae: --out .*: is inside the run folder .*other-run/);
    await refusedOut(join(runDirectory, 'models'), /: is not empty and holds files that are no export of this run \(/);
    // Another run's export is not this run's.
    await exportRun(otherRun, { format: 'onnx', out: join(directory, 'other-export') });
    await refusedOut(join(directory, 'other-export'), /: holds an export of another run \(.*other-run, started /);

    // An earlier export of this run may be written again, and a folder stands where one file would go: refused,
    // and every file left as it was.
    const out = join(directory, 'export');
    await exportRun(runDirectory, { format: 'onnx', out });
    await rm(join(out, 'encoder.onnx'));
    await import('node:fs/promises').then((fs) => fs.mkdir(join(out, 'encoder.onnx')));
    const before = await Promise.all(
      (await readdir(out)).map(async (name) => [name, (await stat(join(out, name))).mtimeMs]),
    );
    const taken = dae('export', runDirectory, '--format', 'onnx', '--out', out);
    assert.equal(taken.status, 1, taken.stderr);
    assert.match(taken.lastLine, /^dae: .*export\/encoder\.onnx: is a folder, where the export would write a file — /);
    const after = await Promise.all(
      (await readdir(out)).map(async (name) => [name, (await stat(join(out, name))).mtimeMs]),
    );
    assert.deepEqual(after, before, 'no file written, none left half-way');
    await rm(join(out, 'encoder.onnx'), { recursive: true });
    const again = dae('export', runDirectory, '--format', 'onnx', '--out', out);
    assert.equal(again.status, 0, again.stderr);
    assert.equal((await readdir(out)).filter((name) => name.endsWith('.onnx')).length, 7);
  } finally {
    await rm(directory, { recursive: true, force: true });
  }
});
