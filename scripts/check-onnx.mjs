// The exported ONNX files of a run folder against tfjs, in onnxruntime-node (a devDependency), on the whole test set:
//   node bin/dae.js export RUN_DIR --format onnx && node scripts/check-onnx.mjs RUN_DIR [ONNX_DIR] [--limit N]
// prints, per model, the largest |onnxruntime - tfjs| over every output value and how often the argmax of an image's
// output agrees; exits 1 if a difference passes 1e-5 or a classifier's argmax disagrees on any image. A model exported
// with --include-rescaling (export.json says so) is fed the same images as 0-255 pixels.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import ort from 'onnxruntime-node';

import { referenceCases } from './tfjs-reference.mjs';

const tolerance = 1e-5;

/** Per row of `count` rows: the index of the largest value. */
export function argmaxRows(values, count) {
  const size = values.length / count;
  const result = new Int32Array(count);
  for (let row = 0; row < count; row += 1) {
    let best = 0;
    for (let index = 1; index < size; index += 1)
      if (values[row * size + index] > values[row * size + best]) best = index;
    result[row] = best;
  }
  return result;
}

const argv = process.argv.slice(2);
const limitAt = argv.indexOf('--limit');
const limit = limitAt >= 0 ? Number(argv[limitAt + 1]) : undefined;
const [runDirectory, onnxDirectory = runDirectory && join(runDirectory, 'export', 'onnx')] = argv.filter(
  (_, index) => limitAt < 0 || (index !== limitAt && index !== limitAt + 1),
);
if (!runDirectory) {
  process.stderr.write('usage: node scripts/check-onnx.mjs RUN_DIR [ONNX_DIR] [--limit N]\n');
  process.exit(2);
}
const { cases } = await referenceCases(runDirectory, { limit });
const recordFile = join(onnxDirectory, 'export.json');
const record = existsSync(recordFile) ? JSON.parse(readFileSync(recordFile, 'utf8')) : { files: {} };
let failed = false;
console.log(`${'model'.padEnd(28)} ${'images'.padStart(6)}  max |onnx - tfjs|  argmax agreement`);
for (const item of cases) {
  const session = await ort.InferenceSession.create(join(onnxDirectory, `${item.model}.onnx`));
  const [inputName] = session.inputNames;
  const [outputName] = session.outputNames;
  const count = item.inputShape[0];
  const input = record.files[`${item.model}.onnx`]?.interface.rescalingIncluded
    ? item.input.map((value) => value * 255)
    : item.input;
  const rowSize = input.length / count;
  const outputs = new Float32Array(item.output.length);
  const batch = 1000;
  for (let start = 0, offset = 0; start < count; start += batch) {
    const rows = Math.min(batch, count - start);
    const feed = new ort.Tensor('float32', input.slice(start * rowSize, (start + rows) * rowSize), [
      rows,
      ...item.inputShape.slice(1),
    ]);
    const result = (await session.run({ [inputName]: feed }))[outputName];
    outputs.set(result.data, offset);
    offset += result.data.length;
  }
  let largest = 0;
  for (let index = 0; index < outputs.length; index += 1)
    largest = Math.max(largest, Math.abs(outputs[index] - item.output[index]));
  const ours = argmaxRows(outputs, count);
  const theirs = argmaxRows(item.output, count);
  const agree = ours.reduce((total, value, index) => total + (value === theirs[index] ? 1 : 0), 0);
  const classifier = item.model.startsWith('classifier');
  if (!(largest <= tolerance) || (classifier && agree !== count)) failed = true;
  // Where the argmax differs, how far apart tfjs's own two candidates are: a near-tie that a rounding difference flips.
  let widestGap = 0;
  const outputSize = item.output.length / count;
  ours.forEach((index, row) => {
    if (index !== theirs[row])
      widestGap = Math.max(
        widestGap,
        Math.abs(item.output[row * outputSize + index] - item.output[row * outputSize + theirs[row]]),
      );
  });
  const note =
    agree === count ? '' : `  (where they differ, tfjs's two values are within ${widestGap.toExponential(2)})`;
  console.log(
    `${item.model.padEnd(28)} ${String(count).padStart(6)}  ${largest.toExponential(2).padStart(17)}  ${agree}/${count}${note}`,
  );
  await session.release();
}
process.exitCode = failed ? 1 : 0;
