import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PNG } from 'pngjs';
import { labelSweepChart, trainingCurvesChart } from '../src/viz/charts.js';
import {
  confusionMatrixFigure,
  convFiltersFigure,
  cropPatch,
  featureMapsFigure,
  receptiveFieldFigure,
  reconstructionFigure,
  topActivatingFigure,
} from '../src/viz/figures.js';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { channelMaximaOf, receptiveFields } from '../src/eval/inspection.js';
import {
  ImageShapeError,
  encodeGrayscalePng,
  encodeImagePng,
  encodeRgbPng,
  tileImages,
  tiledSize,
} from '../src/viz/png.js';
import type { RgbImage } from '../src/viz/png.js';

/** The RGB of one pixel of a picture. */
function pixel(image: RgbImage, x: number, y: number): number[] {
  const offset = (y * image.width + x) * 3;
  return [...image.data.subarray(offset, offset + 3)];
}

/** Every PNG embedded in an SVG as a data URI, decoded. */
function embeddedPngs(svg: string): PNG[] {
  return [...svg.matchAll(/data:image\/png;base64,([A-Za-z0-9+/=]+)/g)].map((match) =>
    PNG.sync.read(Buffer.from(match[1] ?? '', 'base64')),
  );
}

function assertNoRemoteReferences(svg: string): void {
  assert.doesNotMatch(svg, /(?:src|href)\s*=\s*["']?\s*(?:https?:)?\/\//i);
}

test('channelMaximaOf gives what tf.max and tf.argMax over positions give, first position on ties', () => {
  const [images, positions, channels] = [3, 50, 7];
  // relu-like values: many exact zeros, so ties decide the position often.
  const activations = Float32Array.from({ length: images * positions * channels }, (_, index) =>
    Math.max(0, Math.sin(index * 12.9898) * 2 - 1.2),
  );
  activations[(1 * positions + 20) * channels + 3] = 5;
  activations[(1 * positions + 30) * channels + 3] = 5;
  for (let position = 0; position < positions; position += 1)
    activations[(2 * positions + position) * channels + 6] = 0;
  const maxima = new Float32Array(images * channels);
  const where = new Int32Array(images * channels);
  channelMaximaOf(activations, images, positions, channels, maxima, where);
  const tensor = tf.tensor3d(activations, [images, positions, channels]);
  assert.deepEqual(Array.from(maxima), Array.from(tf.max(tensor, 1).dataSync()));
  assert.deepEqual(Array.from(where), Array.from(tf.argMax(tensor, 1).dataSync()));
  assert.equal(where[channels + 3], 20);
  assert.equal(maxima[2 * channels + 6], 0);
  assert.equal(where[2 * channels + 6], 0, 'an all-zero channel keeps position 0');
});

test('encodeGrayscalePng round-trips bytes through pngjs', () => {
  const pixels = new Uint8Array([0, 128, 255, 10, 20, 30]);
  const decoded = PNG.sync.read(encodeGrayscalePng(pixels, 3, 2));
  assert.equal(decoded.width, 3);
  assert.equal(decoded.height, 2);
  // pngjs decodes to RGBA.
  for (let i = 0; i < pixels.length; i++) {
    assert.deepEqual([...decoded.data.subarray(i * 4, i * 4 + 4)], [pixels[i], pixels[i], pixels[i], 255]);
  }
});

test('encodeGrayscalePng maps floats in [0, 1] to bytes, clamping and zeroing NaN', () => {
  const decoded = PNG.sync.read(encodeGrayscalePng(new Float32Array([0, 0.5, 1, -1, 2, Number.NaN]), 6, 1));
  const reds = Array.from({ length: 6 }, (_, i) => decoded.data[i * 4]);
  assert.deepEqual(reds, [0, 128, 255, 0, 255, 0]);
});

test('encodeRgbPng keeps the colours', () => {
  const decoded = PNG.sync.read(encodeRgbPng(new Uint8Array([255, 0, 0, 0, 0, 255]), 2, 1));
  assert.deepEqual([...decoded.data], [255, 0, 0, 255, 0, 0, 255, 255]);
});

test('encoders reject a pixel count that does not match the size', () => {
  assert.throws(() => encodeGrayscalePng(new Uint8Array(5), 3, 2), ImageShapeError);
  assert.throws(() => encodeRgbPng(new Uint8Array(6), 2, 2), /expected 12/);
  assert.throws(() => encodeGrayscalePng(new Uint8Array(0), 0, 0), /positive integers/);
});

test('tiledSize counts tiles, separators and the border', () => {
  // 5 tiles of 2x3 in 3 columns -> 2 rows; scaled x2: 3 * 6 + 4 separators wide, 2 * 4 + 3 high.
  assert.deepEqual(tiledSize(5, 2, 3, { columns: 3, padding: 1, scale: 2 }), {
    width: 22,
    height: 11,
    columns: 3,
    rows: 2,
  });
  // Fewer images than columns: the grid shrinks to fit them.
  assert.deepEqual(tiledSize(2, 4, 4, { columns: 8, padding: 0 }), { width: 8, height: 4, columns: 2, rows: 1 });
});

test('tileImages places upscaled tiles on the background', () => {
  const images = new Float32Array(5 * 6);
  for (let n = 0; n < 5; n++) images.fill(n / 4, n * 6, (n + 1) * 6);
  const picture = tileImages(images, 5, 2, 3, { columns: 3, padding: 1, scale: 2, background: [10, 20, 30] });
  assert.equal(picture.width, 22);
  assert.equal(picture.height, 11);
  assert.equal(picture.data.length, 22 * 11 * 3);
  assert.deepEqual(pixel(picture, 0, 0), [10, 20, 30]);
  // Tile 0 starts at (1, 1) and is black; tile 1 starts at (1 + 6 + 1, 1).
  assert.deepEqual(pixel(picture, 1, 1), [0, 0, 0]);
  assert.deepEqual(pixel(picture, 7, 1), [10, 20, 30]);
  assert.deepEqual(pixel(picture, 8, 1), [64, 64, 64]);
  // Tile 4 (value 1) is the second tile of the second row: x from 8, y from 1 + 4 + 1.
  assert.deepEqual(pixel(picture, 8, 6), [255, 255, 255]);
  assert.deepEqual(pixel(picture, 13, 9), [255, 255, 255]);
  // The unused sixth slot stays background.
  assert.deepEqual(pixel(picture, 16, 6), [10, 20, 30]);
});

test('tileImages upscales by nearest neighbour', () => {
  const picture = tileImages(new Float32Array([0, 1, 1, 0]), 1, 2, 2, { columns: 1, padding: 0, scale: 3 });
  assert.equal(picture.width, 6);
  for (const [x, y, value] of [
    [0, 0, 0],
    [2, 2, 0],
    [3, 0, 255],
    [5, 2, 255],
    [0, 3, 255],
    [3, 3, 0],
    [5, 5, 0],
  ] as const) {
    assert.deepEqual(pixel(picture, x, y), [value, value, value], `pixel (${x}, ${y})`);
  }
});

test('tileImages normalises per image, shared, and symmetrically onto a diverging map', () => {
  const perImage = tileImages(new Float32Array([1, 3]), 1, 1, 2, { columns: 1, padding: 0, normalize: 'per-image' });
  assert.deepEqual(
    [pixel(perImage, 0, 0), pixel(perImage, 1, 0)],
    [
      [0, 0, 0],
      [255, 255, 255],
    ],
  );

  const shared = tileImages(new Float32Array([0, 1, 0, 2]), 2, 1, 2, {
    columns: 2,
    padding: 0,
    normalize: 'per-image',
    shared: true,
  });
  assert.deepEqual(pixel(shared, 1, 0), [128, 128, 128]);
  assert.deepEqual(pixel(shared, 3, 0), [255, 255, 255]);

  const dead = tileImages(new Float32Array([5, 5]), 1, 1, 2, { columns: 1, padding: 0, normalize: 'per-image' });
  assert.deepEqual(pixel(dead, 0, 0), [0, 0, 0]);

  const signed = tileImages(new Float32Array([-2, 0, 2]), 1, 1, 3, { columns: 1, padding: 0, normalize: 'symmetric' });
  const [negative, zero, positive] = [pixel(signed, 0, 0), pixel(signed, 1, 0), pixel(signed, 2, 0)];
  assert.ok(negative[2]! > negative[0]! + 50, `negative weights are blue, got ${negative.join(',')}`);
  assert.ok(positive[0]! > positive[2]! + 50, `positive weights are red, got ${positive.join(',')}`);
  assert.ok(
    zero.every((channel) => channel > 230),
    `zero is near white, got ${zero.join(',')}`,
  );

  const magma = tileImages(new Float32Array([0, 1]), 1, 1, 2, {
    columns: 1,
    padding: 0,
    normalize: 'per-image',
    colormap: 'magma',
  });
  assert.ok(
    pixel(magma, 0, 0).every((channel) => channel < 10),
    'magma starts near black',
  );
});

test('tileImages rejects bad options and short input', () => {
  assert.throws(() => tileImages(new Float32Array(3), 1, 2, 2, { columns: 1 }), /need 4 values, got 3/);
  assert.throws(() => tileImages(new Float32Array(4), 1, 2, 2, { columns: 1, scale: 1.5 }), ImageShapeError);
  assert.throws(() => tileImages(new Float32Array(4), 1, 2, 2, { columns: 0 }), ImageShapeError);
});

test('encodeImagePng encodes a tiled picture at its size', () => {
  const picture = tileImages(new Float32Array(4 * 9), 4, 3, 3, { columns: 2, padding: 1, scale: 3 });
  const decoded = PNG.sync.read(encodeImagePng(picture));
  assert.equal(decoded.width, 2 * 9 + 3);
  assert.equal(decoded.height, 2 * 9 + 3);
});

test('reconstructionFigure labels its three rows and embeds one strip per row', () => {
  const count = 4;
  const images = new Float32Array(count * 28 * 28).map((_, i) => (i % 7) / 6);
  const svg = reconstructionFigure({
    original: images,
    corrupted: images,
    denoised: images,
    count,
    height: 28,
    width: 28,
  });
  assert.match(svg, /^<svg /);
  for (const label of ['Original', 'Corrupted', 'Denoised']) assert.ok(svg.includes(`>${label}</text>`), label);
  const strips = embeddedPngs(svg);
  assert.equal(strips.length, 3);
  // Four digits at x3 with 2-pixel separators.
  assert.equal(strips[0]?.width, 4 * 84 + 5 * 2);
  assert.equal(strips[0]?.height, 84 + 2 * 2);
  assertNoRemoteReferences(svg);
});

test('convFiltersFigure tiles first-layer filters and draws the full second-layer grid', () => {
  const first = convFiltersFigure(
    new Float32Array(3 * 3 * 32).map((_, i) => Math.sin(i)),
    [3, 3, 1, 32],
  );
  const [grid, colourBar] = embeddedPngs(first);
  // 32 tiles in 8 columns of 3x3 at x16 with 2-pixel separators.
  assert.equal(grid?.width, 8 * 48 + 9 * 2);
  assert.equal(grid?.height, 4 * 48 + 5 * 2);
  assert.ok(colourBar !== undefined, 'a colour bar');
  assert.match(first, />−\d\.\d+<\/text>/);

  const kernel = new Float32Array(3 * 3 * 32 * 64).map((_, i) => Math.cos(i));
  const full = convFiltersFigure(kernel, [3, 3, 32, 64]);
  assert.ok(full.includes('Filter 0–63'));
  assert.ok(full.includes('Input channel 0–31'));
  assert.equal(embeddedPngs(full)[0]?.width, 64 * 12 + 65);
  assert.equal(embeddedPngs(full)[0]?.height, 32 * 12 + 33);

  const mean = convFiltersFigure(kernel, [3, 3, 32, 64], { view: 'channel-mean' });
  assert.equal(embeddedPngs(mean)[0]?.width, 16 * 48 + 17 * 2);

  assert.throws(() => convFiltersFigure(new Float32Array(10), [3, 3, 1, 32]), /288 weights, got 10/);
});

test('convFiltersFigure puts filter f, channel c at row c, column f', () => {
  // Only filter 1 of channel 0 is non-zero: its tile is the second one in the first row.
  const kernel = new Float32Array(1 * 1 * 2 * 3);
  kernel[(0 * 2 + 0) * 3 + 1] = 1;
  const [grid] = embeddedPngs(convFiltersFigure(kernel, [1, 1, 2, 3], { scale: 1 }));
  assert.ok(grid !== undefined);
  const red = (x: number, y: number): number[] => [
    ...grid.data.subarray((y * grid.width + x) * 4, (y * grid.width + x) * 4 + 3),
  ];
  // padding 1, tiles 1x1: tile (row r, column c) sits at (1 + 2c, 1 + 2r).
  const hot = red(3, 1);
  assert.ok(hot[0]! > 100 && hot[2]! < 100, `filter 1 channel 0 is red, got ${hot.join(',')}`);
  assert.ok(
    red(1, 1).every((channel) => channel > 230),
    'the other tiles are white (zero)',
  );
  assert.ok(red(3, 3).every((channel) => channel > 230));
});

test('featureMapsFigure shows each digit with every layer', () => {
  const count = 2;
  const svg = featureMapsFigure({
    images: new Float32Array(count * 28 * 28),
    count,
    height: 28,
    width: 28,
    layers: [
      {
        name: 'conv1',
        activations: new Float32Array(count * 14 * 14 * 32).map((_, i) => i % 5),
        height: 14,
        width: 14,
        channels: 32,
      },
      {
        name: 'conv2',
        activations: new Float32Array(count * 7 * 7 * 64).map((_, i) => i % 3),
        height: 7,
        width: 7,
        channels: 64,
      },
    ],
  });
  assert.ok(svg.includes('conv1: 32 maps, 14×14'));
  assert.ok(svg.includes('conv2: 64 maps, 7×7'));
  const pictures = embeddedPngs(svg);
  assert.equal(pictures.length, count * 3);
  // conv1: 8 columns x 4 rows of 14x14 at x2; conv2: 16 x 4 of 7x7 at x4; both with 1-pixel separators.
  assert.equal(pictures[1]?.width, 8 * 28 + 9);
  assert.equal(pictures[2]?.width, 16 * 28 + 17);
  assert.equal(pictures[1]?.height, pictures[2]?.height);
  assert.throws(
    () =>
      featureMapsFigure({
        images: new Float32Array(784),
        count: 1,
        height: 28,
        width: 28,
        layers: [{ name: 'bad', activations: new Float32Array(3), height: 2, width: 2, channels: 1 }],
      }),
    /layer bad/,
  );
});

test('topActivatingFigure draws k images and a prototype per unit', () => {
  const images = new Float32Array(10 * 4 * 4).map((_, i) => (i % 16) / 15);
  const units = [
    { unit: 7, indices: [0, 3, 9], prototype: new Float32Array(16).fill(0.5) },
    { unit: 12, indices: [1, 2, 4], prototype: new Float32Array(16).map((_, i) => i) },
  ];
  const svg = topActivatingFigure({ images, height: 4, width: 4, units, scale: 2 });
  assert.ok(svg.includes('>Unit 7</text>'));
  assert.ok(svg.includes('>Unit 12</text>'));
  assert.ok(svg.includes('Top 3 test images'));
  const pictures = embeddedPngs(svg);
  assert.equal(pictures.length, 4);
  assert.equal(pictures[0]?.width, 3 * 8 + 4);
  assert.equal(pictures[1]?.width, 8 + 2);
  assert.throws(
    () =>
      topActivatingFigure({
        images,
        height: 4,
        width: 4,
        units: [{ unit: 1, indices: [10], prototype: new Float32Array(16) }],
      }),
    /image 10, but there are 10/,
  );
});

test('confusionMatrixFigure renders counts, labelled axes and the title offline', async () => {
  const matrix = Array.from({ length: 10 }, (_, actual) =>
    Array.from({ length: 10 }, (_, predicted) => (actual === predicted ? 970 + actual : actual + predicted)),
  );
  const svg = await confusionMatrixFigure(matrix, { title: 'Fine-tuned, 10% of labels' });
  assert.match(svg, /^<svg /);
  assert.ok(svg.includes('Fine-tuned, 10% of labels'));
  assert.ok(svg.includes('Predicted class'));
  assert.ok(svg.includes('True class'));
  for (const count of ['970', '979', '17']) assert.ok(svg.includes(`>${count}</text>`), `cell ${count}`);
  for (let digit = 0; digit < 10; digit++) assert.ok(svg.includes(`>${digit}</text>`), `axis label ${digit}`);
  assertNoRemoteReferences(svg);
});

test('trainingCurvesChart renders every series offline', async () => {
  const history = [1, 2, 3].map((epoch) => ({ epoch, loss: 1 / epoch, validationLoss: 1.2 / epoch }));
  const svg = await trainingCurvesChart(
    [
      { name: 'autoencoder', history },
      { name: 'fine-tuned 10%', history },
    ],
    { title: 'Loss per epoch', logY: true },
  );
  assert.match(svg, /^<svg /);
  for (const text of ['Loss per epoch', 'autoencoder', 'fine-tuned 10%', 'Epoch', 'training', 'validation']) {
    assert.ok(svg.includes(text), text);
  }
  assertNoRemoteReferences(svg);
});

test('labelSweepChart renders a line and a band per variant on a log axis', async () => {
  const points = ['fine-tuned', 'scratch'].flatMap((variant) =>
    [100, 1000, 10000].map((labels) => ({ variant, labels, mean: 0.9 + labels / 200000, std: 0.01 })),
  );
  const svg = await labelSweepChart(points, { title: 'Accuracy against labels' });
  for (const text of ['Accuracy against labels', 'fine-tuned', 'scratch', 'log scale', '10k'])
    assert.ok(svg.includes(text), text);
  // Vega draws one area (the band) and one line per variant.
  assert.equal((svg.match(/class="mark-area/g) ?? []).length, 2);
  assert.equal((svg.match(/class="mark-line/g) ?? []).length, 2);
  assertNoRemoteReferences(svg);
});

test('receptiveFields: the reference encoder sees 3×3 pixels at conv1 and 7×7 at conv2, from the top-left corner', () => {
  const [conv1, conv2] = receptiveFields([
    { kernel: 3, stride: 2, inputSize: 28, outputSize: 14 },
    { kernel: 3, stride: 2, inputSize: 14, outputSize: 7 },
  ]);
  assert.deepEqual(conv1, { size: 3, stride: 2, start: 0 });
  assert.deepEqual(conv2, { size: 7, stride: 4, start: 0 });
  // Odd input sides put the padding before the first row too: 'same' with stride 1 on 5 pixels pads 1 each side.
  assert.deepEqual(receptiveFields([{ kernel: 3, stride: 1, inputSize: 5, outputSize: 5 }])[0], {
    size: 3,
    stride: 1,
    start: -1,
  });
});

test('receptiveFieldFigure outlines the field, magnifies the patch, labels every row in full and heads the last column Mean', () => {
  const images = new Float32Array(2 * 28 * 28);
  images[28 * 10 + 12] = 1; // image 0: one bright pixel at row 10, column 12
  const svg = receptiveFieldFigure({
    images,
    height: 28,
    width: 28,
    fieldSize: 7,
    units: [
      {
        unit: 63,
        indices: [0, 1],
        corners: [
          [8, 8],
          [-1, 26],
        ],
      },
    ],
  });
  assert.match(svg, />Channel 63</);
  assert.match(svg, />Mean</);
  assert.doesNotMatch(svg, />Decoder</);
  assert.match(svg, /7×7 receptive fields/);
  // The label is anchored at its end inside a column wide enough for "Channel 63" (≥ 10 characters at 8 px).
  const anchor = /<text x="(\d+)"[^>]*text-anchor="end"[^>]*>Channel 63</.exec(svg);
  assert.ok(anchor && Number(anchor[1]) >= 80, `label column too narrow: ${anchor?.[1]}`);
  // Two outlines on the digits (one clipped at the right edge: 2 columns of 7 inside the image) and one round the mean.
  const rects = [...svg.matchAll(/<rect x="([\d.]+)" y="([\d.]+)" width="([\d.]+)" height="([\d.]+)"/g)].map((match) =>
    match.slice(1).map(Number),
  );
  assert.equal(rects.length, 3);
  assert.deepEqual(rects[0]!.slice(2), [14, 14]);
  assert.deepEqual(rects[1]!.slice(2), [4, 12]);
  const patch = cropPatch(images, 28, 28, 0, 8, 8, 7);
  assert.equal(patch[2 * 7 + 4], 1);
  assert.equal(
    patch.reduce((sum, value) => sum + value, 0),
    1,
  );
});

test('topActivatingFigure names its last column as told', () => {
  const svg = topActivatingFigure({
    images: new Float32Array(784),
    height: 28,
    width: 28,
    units: [{ unit: 10, indices: [0], prototype: new Float32Array(784) }],
    unitLabel: 'Channel',
    prototypeLabel: 'Mean',
  });
  assert.match(svg, />Mean</);
  const anchor = /<text x="(\d+)"[^>]*text-anchor="end"[^>]*>Channel 10</.exec(svg);
  assert.ok(anchor && Number(anchor[1]) >= 80);
});
