// What tfjs predicts for each saved model of a run folder on the test set of the run's dataset: the oracle that
// scripts/check-onnx.mjs and scripts/check-keras.py hold the exported files to. Needs the built library
// (`npx tsc -p tsconfig.json`, or `npm test`).
//   node scripts/tfjs-reference.mjs RUN_DIR OUT_DIR [--limit N]
// writes OUT_DIR/<model>.input.npy and <model>.output.npy (float32) for every model, and labels.npy (uint8). The
// images are the dataset's test images scaled to [0, 1], [N, H, W, 1]; the decoder's input is the encoder's codes.
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { Buffer } from 'node:buffer';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import * as tf from '@tensorflow/tfjs-core';

import { loadDataset, loadModel, RunFolder, useBackend } from '../dist/src/index.js';

const batchSize = 500;

/** `model` on `input` ([count, ...shape] rows), in batches; a Float32Array of all outputs. */
function predictRows(model, input, shape, count) {
  const rowSize = shape.reduce((a, b) => a * b, 1);
  const outShape = model.outputs[0].shape.slice(1);
  const output = new Float32Array(count * outShape.reduce((a, b) => a * b, 1));
  let offset = 0;
  for (let start = 0; start < count; start += batchSize) {
    const rows = Math.min(batchSize, count - start);
    const values = tf.tidy(() =>
      model.predict(tf.tensor(input.subarray(start * rowSize, (start + rows) * rowSize), [rows, ...shape])).dataSync(),
    );
    output.set(values, offset);
    offset += values.length;
  }
  return { output, outShape };
}

/**
 * For every model of the complete run at `runDirectory`: { model, input, inputShape, output, outputShape } with the
 * batch axis first in both shapes, and the test labels.
 */
export async function referenceCases(runDirectory, { limit } = {}) {
  await useBackend('auto', { threads: 0 });
  const run = await RunFolder.open(runDirectory, { readOnly: true });
  if (run.status !== 'complete') throw new Error(`${runDirectory}: the run has not finished`);
  const { data } = run.config;
  const dataset = await loadDataset({
    ...(data.directory ? { directory: data.directory } : {}),
    name: data.name ?? null,
    classNames: data.classNames ?? null,
  });
  const count = Math.min(limit ?? dataset.test.labels.length, dataset.test.labels.length);
  const { height, width } = dataset.test;
  const images = dataset.test.images.subarray(0, count * height * width);
  const labels = dataset.test.labels.subarray(0, count);
  const names = (await readdir(run.path('models'), { withFileTypes: true }))
    .filter((entry) => entry.isDirectory() && existsSync(run.path('models', entry.name, 'model.json')))
    .map((entry) => entry.name)
    .sort();
  const cases = [];
  let codes = null;
  // The encoder first: its codes are the decoder's input.
  for (const name of [...names.filter((n) => n === 'encoder'), ...names.filter((n) => n !== 'encoder')]) {
    const model = await loadModel(run.path('models', name));
    const shape = model.inputs[0].shape.slice(1);
    let input = images;
    if (shape.length === 1) {
      if (!codes) throw new Error(`${name}: takes vectors, but the run has no encoder to make them`);
      input = codes;
    }
    const { output, outShape } = predictRows(model, input, shape, count);
    if (name === 'encoder') codes = output;
    cases.push({ model: name, input, inputShape: [count, ...shape], output, outputShape: [count, ...outShape] });
    model.dispose();
  }
  return { cases, labels };
}

/** NumPy's .npy format, version 1.0. */
function npy(values, shape, descr) {
  let header = `{'descr': '${descr}', 'fortran_order': False, 'shape': (${shape.join(', ')}${shape.length === 1 ? ',' : ''}), }`;
  header += ' '.repeat(63 - ((10 + header.length) % 64)) + '\n';
  const prefix = new Uint8Array(10);
  prefix.set([0x93, ...Buffer.from('NUMPY', 'latin1'), 1, 0]);
  new DataView(prefix.buffer).setUint16(8, header.length, true);
  return Buffer.concat([
    prefix,
    Buffer.from(header, 'latin1'),
    Buffer.from(values.buffer, values.byteOffset, values.byteLength),
  ]);
}

async function main(argv) {
  const limitAt = argv.indexOf('--limit');
  const limit = limitAt >= 0 ? Number(argv[limitAt + 1]) : undefined;
  const [runDirectory, out] = argv.filter((_, index) => limitAt < 0 || (index !== limitAt && index !== limitAt + 1));
  if (!runDirectory || !out) {
    process.stderr.write('usage: node scripts/tfjs-reference.mjs RUN_DIR OUT_DIR [--limit N]\n');
    process.exitCode = 2;
    return;
  }
  const { cases, labels } = await referenceCases(runDirectory, { limit });
  await mkdir(out, { recursive: true });
  await writeFile(join(out, 'labels.npy'), npy(labels, [labels.length], '|u1'));
  for (const item of cases) {
    await writeFile(join(out, `${item.model}.input.npy`), npy(item.input, item.inputShape, '<f4'));
    await writeFile(join(out, `${item.model}.output.npy`), npy(item.output, item.outputShape, '<f4'));
  }
  process.stderr.write(`tfjs-reference: ${cases.length} models, ${labels.length} test images -> ${out}\n`);
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) await main(process.argv.slice(2));
