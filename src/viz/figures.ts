// The report's pictures of what the autoencoder learned. Every function takes plain typed arrays and returns an SVG
// string (pixel tiles as embedded PNGs, text as SVG text) ready for the report.
// Shape legend: N = images, H/W = image height/width, C = channels, F = filters, KH/KW = kernel height/width.

import { renderVegaLite } from './charts.js';
import { colormap, colourAt } from './colormap.js';
import type { Colormap, Rgb } from './colormap.js';
import { ImageShapeError, tileImages } from './png.js';
import type { RgbImage } from './png.js';
import { svgDocument, svgImage, svgRect, svgText } from './svg.js';

const LABEL_COLOUR = '#333';
const MUTED_COLOUR = '#666';
const HIGHLIGHT_COLOUR = '#d95f02';
/** Separators between weight tiles: white would vanish against near-zero weights, which are white too. */
const WEIGHT_SEPARATOR: Rgb = [170, 170, 170];

export interface ReconstructionFigureInput {
  /** [N, H, W] clean test images in [0, 1]. */
  original: Float32Array;
  /** [N, H, W] the same images after the noise. */
  corrupted: Float32Array;
  /** [N, H, W] the autoencoder's output for the corrupted images. */
  denoised: Float32Array;
  count: number;
  height: number;
  width: number;
  /** Integer upscaling of each digit. Default 3. */
  scale?: number;
}

/** Three labelled rows, original / corrupted / denoised, one column per test digit. */
export function reconstructionFigure(input: ReconstructionFigureInput): string {
  const { count, height, width } = input;
  const scale = input.scale ?? 3;
  const labelWidth = 92;
  const rowGap = 4;
  const rows: [string, Float32Array][] = [
    ['Original', input.original],
    ['Corrupted', input.corrupted],
    ['Denoised', input.denoised],
  ];
  const body: string[] = [];
  let top = 0;
  let pictureWidth = 0;
  for (const [label, images] of rows) {
    const picture = tileImages(images, count, height, width, { columns: count, padding: 2, scale });
    body.push(svgImage(labelWidth, top, picture));
    body.push(
      svgText(labelWidth - 10, top + picture.height / 2, label, {
        anchor: 'end',
        middle: true,
        size: 14,
        weight: '600',
      }),
    );
    pictureWidth = picture.width;
    top += picture.height + rowGap;
  }
  return svgDocument(labelWidth + pictureWidth, top - rowGap, body);
}

/** [KH, KW, C, F] in tfjs's layout, as conv2d kernels are stored. */
export type KernelShape = readonly [number, number, number, number];

export interface ConvFiltersOptions {
  /**
   * all: every KH x KW slice; one tile per filter when C = 1, else a grid of C rows by F columns.
   * channel-mean: one tile per filter, the mean over input channels.
   * Default 'all'.
   */
  view?: 'all' | 'channel-mean';
  /** Tiles per row when there is one tile per filter. Default 8, or 16 for more than 32 filters. */
  columns?: number;
  /** Integer upscaling of each kernel tile. Default 16 for one tile per filter, 4 for the full grid. */
  scale?: number;
}

/**
 * Conv kernels as tiles on a blue-white-red map with one symmetric scale for the whole figure (white = 0), so
 * filters compare with each other; a colour bar gives the scale.
 */
export function convFiltersFigure(kernel: Float32Array, shape: KernelShape, options: ConvFiltersOptions = {}): string {
  const [kernelHeight, kernelWidth, channels, filters] = shape;
  const pixelsPerTile = kernelHeight * kernelWidth;
  if (kernel.length !== pixelsPerTile * channels * filters) {
    throw new ImageShapeError(
      `Error in convFiltersFigure: a [${shape.join(', ')}] kernel has ${pixelsPerTile * channels * filters} weights, got ${kernel.length}.`,
    );
  }
  const view = options.view ?? 'all';
  const fullGrid = view === 'all' && channels > 1;
  const tileCount = fullGrid ? filters * channels : filters;
  const columns = fullGrid ? filters : (options.columns ?? (filters > 32 ? 16 : 8));
  const scale = options.scale ?? (fullGrid ? 4 : 16);

  // [KH, KW, C, F] -> tiles [C, F, KH, KW] (a row per input channel, a column per filter), or [F, KH, KW] averaged over
  // C.
  const tiles = new Float32Array(tileCount * pixelsPerTile);
  for (let f = 0; f < filters; f++) {
    for (let c = 0; c < channels; c++) {
      for (let y = 0; y < kernelHeight; y++) {
        for (let x = 0; x < kernelWidth; x++) {
          const weight = kernel[((y * kernelWidth + x) * channels + c) * filters + f] ?? 0;
          if (view === 'all') {
            tiles[(c * filters + f) * pixelsPerTile + y * kernelWidth + x] = weight;
          } else {
            const index = f * pixelsPerTile + y * kernelWidth + x;
            tiles[index] = (tiles[index] ?? 0) + weight / channels;
          }
        }
      }
    }
  }
  const picture = tileImages(tiles, tileCount, kernelHeight, kernelWidth, {
    columns,
    padding: fullGrid ? 1 : 2,
    scale,
    normalize: 'symmetric',
    shared: true,
    background: WEIGHT_SEPARATOR,
  });
  const magnitude = maxAbs(tiles);

  const body: string[] = [];
  const left = fullGrid ? 24 : 0;
  const top = fullGrid ? 22 : 0;
  if (fullGrid) {
    body.push(svgText(left, 14, `Filter 0–${filters - 1} →`, { fill: MUTED_COLOUR, size: 12 }));
    // Rotated a quarter turn anticlockwise, so the label reads upwards beside the rows.
    const label = svgText(0, 0, `← Input channel 0–${channels - 1}`, { fill: MUTED_COLOUR, size: 12, anchor: 'end' });
    body.push(`<g transform="translate(16 ${top}) rotate(-90)">${label}</g>`);
  }
  body.push(svgImage(left, top, picture));
  const barTop = top + picture.height + 14;
  const barWidth = Math.min(240, Math.max(160, picture.width));
  body.push(
    ...colourBar(left, barTop, barWidth, colormap('diverging'), [
      formatSigned(-magnitude),
      '0',
      formatSigned(magnitude),
    ]),
  );
  return svgDocument(Math.max(left + picture.width, left + barWidth + 4), barTop + 34, body);
}

export interface FeatureMapLayer {
  /** Shown above the maps, e.g. 'conv1'. */
  name: string;
  /** [N, H, W, C] activations, channels last as tfjs returns them. */
  activations: Float32Array;
  height: number;
  width: number;
  channels: number;
  /** Maps per row. Default ceil(C / 4), so every layer shows as four rows. */
  columns?: number;
}

export interface FeatureMapsFigureInput {
  /** [N, H, W] the input digits. */
  images: Float32Array;
  count: number;
  height: number;
  width: number;
  layers: readonly FeatureMapLayer[];
  /** Side of one map tile in pixels; each layer is upscaled by the nearest integer factor. Default 28. */
  tilePixels?: number;
}

/**
 * For each digit: the input, then every layer's feature maps on the magma map. One scale per digit and layer
 * (black = 0 for ReLU maps, bright = that layer's strongest response to this digit), so weak maps look weak.
 */
export function featureMapsFigure(input: FeatureMapsFigureInput): string {
  const tilePixels = input.tilePixels ?? 28;
  const columnGap = 28;
  const rowGap = 16;
  const headerHeight = 24;
  const body: string[] = [];

  const blocks: RgbImage[][] = [];
  for (let n = 0; n < input.count; n++) {
    const grids = input.layers.map((layer) => {
      const pixelsPerMap = layer.height * layer.width;
      const expected = input.count * pixelsPerMap * layer.channels;
      if (layer.activations.length !== expected) {
        throw new ImageShapeError(
          `Error in featureMapsFigure: layer ${layer.name} should hold [${input.count}, ${layer.height}, ${layer.width}, ${layer.channels}] = ${expected} values, got ${layer.activations.length}.`,
        );
      }
      // [H, W, C] of digit n -> [C, H, W].
      const maps = new Float32Array(layer.channels * pixelsPerMap);
      const start = n * pixelsPerMap * layer.channels;
      for (let p = 0; p < pixelsPerMap; p++) {
        for (let c = 0; c < layer.channels; c++) {
          maps[c * pixelsPerMap + p] = layer.activations[start + p * layer.channels + c] ?? 0;
        }
      }
      return tileImages(maps, layer.channels, layer.height, layer.width, {
        columns: layer.columns ?? Math.ceil(layer.channels / 4),
        padding: 1,
        scale: Math.max(1, Math.round(tilePixels / layer.height)),
        normalize: 'per-image',
        shared: true,
        colormap: 'magma',
      });
    });
    const blockHeight = Math.max(...grids.map((grid) => grid.height));
    const digit = input.images.subarray(n * input.height * input.width, (n + 1) * input.height * input.width);
    const inputScale = Math.max(1, Math.floor((blockHeight - 2) / input.height));
    blocks.push([
      tileImages(digit, 1, input.height, input.width, { columns: 1, padding: 1, scale: inputScale }),
      ...grids,
    ]);
  }

  const columnWidths = input.layers.map((_, index) => Math.max(...blocks.map((block) => block[index + 1]?.width ?? 0)));
  columnWidths.unshift(Math.max(...blocks.map((block) => block[0]?.width ?? 0)));
  const headers = [
    'Input',
    ...input.layers.map((layer) => `${layer.name}: ${layer.channels} maps, ${layer.height}×${layer.width}`),
  ];
  let x = 0;
  const columnLefts = columnWidths.map((columnWidth) => {
    const left = x;
    x += columnWidth + columnGap;
    return left;
  });
  headers.forEach((header, index) =>
    body.push(svgText(columnLefts[index] ?? 0, 16, header, { weight: '600', fill: LABEL_COLOUR })),
  );

  let top = headerHeight;
  for (const block of blocks) {
    block.forEach((picture, index) => body.push(svgImage(columnLefts[index] ?? 0, top, picture)));
    top += Math.max(...block.map((picture) => picture.height)) + rowGap;
  }
  return svgDocument(x - columnGap, top - rowGap, body);
}

export interface TopActivatingUnit {
  /** The unit's index in its layer. */
  unit: number;
  /** Indices into the image stack of the images that excite this unit most, strongest first. */
  indices: readonly number[];
  /** [H, W] what the decoder makes of a code with only this unit switched on; any range, normalised per image. */
  prototype: Float32Array;
}

export interface TopActivatingFigureInput {
  /** [N, H, W] the images the indices point into, in [0, 1]. */
  images: Float32Array;
  height: number;
  width: number;
  units: readonly TopActivatingUnit[];
  /** Default 2. */
  scale?: number;
  /** Names the layer in the row labels, e.g. 'Unit' or 'Code'. Default 'Unit'. */
  unitLabel?: string;
  /** Heads the last, outlined column. Default 'Decoder' (the decoder's drawing of the unit alone). */
  prototypeLabel?: string;
}

/** Room for the longest row label ("Channel 63") at 13 px, so that none is cut off at the left edge. */
function rowLabelWidth(labels: readonly string[]): number {
  return Math.max(76, 18 + 8 * Math.max(0, ...labels.map((label) => label.length)));
}

/** One row per unit: its top-activating images, then (outlined) the decoder's prototype for that unit. */
export function topActivatingFigure(input: TopActivatingFigureInput): string {
  const { height, width } = input;
  const scale = input.scale ?? 2;
  const pixelsPerImage = height * width;
  const imageCount = Math.floor(input.images.length / pixelsPerImage);
  const labelWidth = rowLabelWidth(input.units.map(({ unit }) => `${input.unitLabel ?? 'Unit'} ${unit}`));
  const prototypeGap = 18;
  const rowGap = 4;
  const headerHeight = 22;
  const body: string[] = [];
  let top = headerHeight;
  let rowsWidth = 0;
  let prototypeLeft = 0;

  for (const { unit, indices, prototype } of input.units) {
    const stack = new Float32Array(indices.length * pixelsPerImage);
    indices.forEach((imageIndex, position) => {
      if (!Number.isInteger(imageIndex) || imageIndex < 0 || imageIndex >= imageCount) {
        throw new ImageShapeError(
          `Error in topActivatingFigure: unit ${unit} points at image ${imageIndex}, but there are ${imageCount} images.`,
        );
      }
      stack.set(
        input.images.subarray(imageIndex * pixelsPerImage, (imageIndex + 1) * pixelsPerImage),
        position * pixelsPerImage,
      );
    });
    const row = tileImages(stack, Math.max(1, indices.length), height, width, {
      columns: Math.max(1, indices.length),
      padding: 1,
      scale,
    });
    const prototypePicture = tileImages(prototype, 1, height, width, {
      columns: 1,
      padding: 1,
      scale,
      normalize: 'per-image',
    });
    prototypeLeft = labelWidth + row.width + prototypeGap;
    body.push(
      svgText(labelWidth - 10, top + row.height / 2, `${input.unitLabel ?? 'Unit'} ${unit}`, {
        anchor: 'end',
        middle: true,
        weight: '600',
      }),
    );
    body.push(svgImage(labelWidth, top, row));
    body.push(svgImage(prototypeLeft, top, prototypePicture));
    body.push(
      svgRect(prototypeLeft - 1, top - 1, prototypePicture.width + 2, prototypePicture.height + 2, HIGHLIGHT_COLOUR),
    );
    rowsWidth = Math.max(rowsWidth, prototypeLeft + prototypePicture.width + 2);
    top += row.height + rowGap;
  }
  const k = input.units[0]?.indices.length ?? 0;
  body.push(svgText(labelWidth, 15, `Top ${k} test images`, { fill: MUTED_COLOUR, size: 12 }));
  body.push(
    svgText(prototypeLeft, 15, input.prototypeLabel ?? 'Decoder', { fill: HIGHLIGHT_COLOUR, size: 12, weight: '600' }),
  );
  return svgDocument(Math.max(rowsWidth, prototypeLeft + 56), top - rowGap + 1, body);
}

/** Where a conv channel's strongest response sits in the input: the top-left corner of its receptive field. */
export interface ReceptiveFieldUnit {
  unit: number;
  /** Indices into the image stack, strongest first. */
  indices: readonly number[];
  /** For each image, the input row and column of the receptive field's top-left corner (may be outside the image). */
  corners: readonly (readonly [number, number])[];
}

export interface ReceptiveFieldFigureInput {
  /** [N, H, W] the images the indices point into, in [0, 1]. */
  images: Float32Array;
  height: number;
  width: number;
  /** Side of the square receptive field in input pixels (3 for a first 3×3 layer, 7 for a second one at stride 2). */
  fieldSize: number;
  units: readonly ReceptiveFieldUnit[];
  /** Default 2. */
  scale?: number;
}

/** The [size, size] patch of image `index` whose top-left corner is (row, column); pixels outside the image are 0. */
export function cropPatch(
  images: Float32Array,
  height: number,
  width: number,
  index: number,
  row: number,
  column: number,
  size: number,
): Float32Array {
  const patch = new Float32Array(size * size);
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      const inputRow = row + y,
        inputColumn = column + x;
      if (inputRow < 0 || inputRow >= height || inputColumn < 0 || inputColumn >= width) continue;
      patch[y * size + x] = images[index * height * width + inputRow * width + inputColumn] ?? 0;
    }
  }
  return patch;
}

/**
 * Conv channels the Zeiler–Fergus way: one row per channel with its top images, the receptive field of the
 * strongest response outlined on each, then those patches magnified, then (outlined) their pixel-wise mean.
 */
export function receptiveFieldFigure(input: ReceptiveFieldFigureInput): string {
  const { height, width, fieldSize } = input;
  const scale = input.scale ?? 2;
  const pixelsPerImage = height * width;
  const imageCount = Math.floor(input.images.length / pixelsPerImage);
  const labelWidth = rowLabelWidth(input.units.map(({ unit }) => `Channel ${unit}`));
  // Patches are drawn about as large as the digits, at a whole multiple of their side.
  const patchScale = Math.max(1, Math.round((height * scale) / fieldSize));
  const gap = 18;
  const rowGap = 4;
  const body: string[] = [];
  let top = 22;
  let patchesLeft = 0,
    meanLeft = 0,
    right = 0;
  for (const { unit, indices, corners } of input.units) {
    const count = Math.max(1, indices.length);
    const stack = new Float32Array(indices.length * pixelsPerImage);
    const patches = new Float32Array(indices.length * fieldSize * fieldSize);
    const mean = new Float32Array(fieldSize * fieldSize);
    indices.forEach((imageIndex, position) => {
      if (!Number.isInteger(imageIndex) || imageIndex < 0 || imageIndex >= imageCount) {
        throw new ImageShapeError(
          `Error in receptiveFieldFigure: channel ${unit} points at image ${imageIndex}, but there are ${imageCount} images.`,
        );
      }
      stack.set(
        input.images.subarray(imageIndex * pixelsPerImage, (imageIndex + 1) * pixelsPerImage),
        position * pixelsPerImage,
      );
      const [row, column] = corners[position] ?? [0, 0];
      const patch = cropPatch(input.images, height, width, imageIndex, row, column, fieldSize);
      patches.set(patch, position * fieldSize * fieldSize);
      patch.forEach((value, pixel) => (mean[pixel] = (mean[pixel] ?? 0) + value / indices.length));
    });
    const digits = tileImages(stack, count, height, width, { columns: count, padding: 1, scale });
    // Grey separators: a patch's own border is often white stroke.
    const magnified = tileImages(patches, count, fieldSize, fieldSize, {
      columns: count,
      padding: 1,
      scale: patchScale,
      background: WEIGHT_SEPARATOR,
    });
    const meanPicture = tileImages(mean, 1, fieldSize, fieldSize, {
      columns: 1,
      padding: 1,
      scale: patchScale,
      background: WEIGHT_SEPARATOR,
    });
    patchesLeft = labelWidth + digits.width + gap;
    meanLeft = patchesLeft + magnified.width + gap;
    body.push(
      svgText(labelWidth - 10, top + digits.height / 2, `Channel ${unit}`, {
        anchor: 'end',
        middle: true,
        weight: '600',
      }),
    );
    body.push(svgImage(labelWidth, top, digits));
    // The outline on each digit: tile n starts at padding + n * (side + padding), in scaled pixels.
    indices.forEach((_, position) => {
      const [row, column] = corners[position] ?? [0, 0];
      const tileLeft = labelWidth + 1 + position * (width * scale + 1);
      const x = tileLeft + Math.max(0, column) * scale,
        y = top + 1 + Math.max(0, row) * scale;
      // Clipped to the image where the field hangs over its edge (the convolution's zero padding).
      const extent = (start: number, limit: number) =>
        (Math.min(limit, start + fieldSize) - Math.max(0, start)) * scale;
      body.push(svgRect(x, y, extent(column, width), extent(row, height), HIGHLIGHT_COLOUR, 1));
    });
    body.push(svgImage(patchesLeft, top, magnified));
    body.push(svgImage(meanLeft, top, meanPicture));
    body.push(svgRect(meanLeft - 1, top - 1, meanPicture.width + 2, meanPicture.height + 2, HIGHLIGHT_COLOUR));
    right = Math.max(right, meanLeft + meanPicture.width + 2);
    top += Math.max(digits.height, magnified.height) + rowGap;
  }
  const k = input.units[0]?.indices.length ?? 0;
  body.push(svgText(labelWidth, 15, `Top ${k} test images`, { fill: MUTED_COLOUR, size: 12 }));
  body.push(svgText(patchesLeft, 15, `${fieldSize}×${fieldSize} receptive fields`, { fill: MUTED_COLOUR, size: 12 }));
  body.push(svgText(meanLeft, 15, 'Mean', { fill: HIGHLIGHT_COLOUR, size: 12, weight: '600' }));
  return svgDocument(Math.max(right, meanLeft + 40), top - rowGap + 1, body);
}

export interface ConfusionMatrixOptions {
  title: string;
  /** Names of the classes; default '0', '1', ... */
  classNames?: readonly string[];
}

/**
 * A confusion-matrix heatmap (rows = true class) with the count in every cell. Cells are coloured by the share of
 * their true class on a square-root scale, so a handful of mistakes still shows against thousands of hits.
 */
export async function confusionMatrixFigure(
  matrix: readonly (readonly number[])[],
  options: ConfusionMatrixOptions,
): Promise<string> {
  const names = options.classNames ?? matrix.map((_, index) => String(index));
  const values = matrix.flatMap((row, trueIndex) => {
    const total = row.reduce((sum, count) => sum + count, 0);
    return row.map((count, predictedIndex) => ({
      actual: names[trueIndex] ?? String(trueIndex),
      predicted: names[predictedIndex] ?? String(predictedIndex),
      count,
      share: total > 0 ? count / total : 0,
    }));
  });
  const axisOrder = [...names];
  const cell = 38;
  // Names wider than a cell (Fashion-MNIST's "T-shirt/top") are slanted so that they do not run into each other.
  const labelAngle = names.some((name) => name.length > 3) ? -40 : 0;
  return renderVegaLite({
    title: options.title,
    width: cell * names.length,
    height: cell * names.length,
    data: { values },
    encoding: {
      x: {
        field: 'predicted',
        type: 'ordinal',
        sort: axisOrder,
        title: 'Predicted class',
        axis: { labelAngle, orient: 'top' },
      },
      y: { field: 'actual', type: 'ordinal', sort: axisOrder, title: 'True class' },
    },
    layer: [
      {
        mark: { type: 'rect', stroke: 'white', strokeWidth: 1 },
        encoding: {
          color: {
            field: 'share',
            type: 'quantitative',
            title: 'Row share',
            // From near-white, so an empty cell reads as empty: Vega's 'blues' scheme starts at a visible blue.
            scale: { type: 'sqrt', domain: [0, 1], range: ['#f7fbff', '#08306b'], interpolate: 'hcl' },
            legend: { format: '.0%', gradientLength: cell * names.length - 20 },
          },
        },
      },
      {
        mark: { type: 'text', fontSize: 11 },
        encoding: {
          text: { field: 'count', type: 'quantitative' },
          color: { condition: { test: 'datum.share > 0.5', value: 'white' }, value: '#222' },
        },
      },
    ],
  });
}

function colourBar(
  left: number,
  top: number,
  width: number,
  table: Colormap,
  labels: readonly [string, string, string],
): string[] {
  const barHeight = 10;
  const data = new Uint8Array(width * barHeight * 3);
  for (let x = 0; x < width; x++) {
    const [red, green, blue] = colourAt(table, x / (width - 1));
    for (let y = 0; y < barHeight; y++) {
      const offset = (y * width + x) * 3;
      data[offset] = red;
      data[offset + 1] = green;
      data[offset + 2] = blue;
    }
  }
  const labelTop = top + barHeight + 14;
  return [
    svgImage(left, top, { width, height: barHeight, data }),
    svgRect(left, top, width, barHeight, '#999', 0.5),
    svgText(left, labelTop, labels[0], { size: 11, fill: MUTED_COLOUR }),
    svgText(left + width / 2, labelTop, labels[1], { size: 11, fill: MUTED_COLOUR, anchor: 'middle' }),
    svgText(left + width, labelTop, labels[2], { size: 11, fill: MUTED_COLOUR, anchor: 'end' }),
  ];
}

function maxAbs(values: Float32Array): number {
  let magnitude = 0;
  for (const value of values) if (Math.abs(value) > magnitude) magnitude = Math.abs(value);
  return magnitude;
}

function formatSigned(value: number): string {
  const text = Math.abs(value).toPrecision(2);
  return value < 0 ? `−${text}` : value > 0 ? `+${text}` : '0';
}

export interface MistakesFigureInput {
  /** [N, H, W] the images the mistakes' test indices point into, in [0, 1]. */
  images: Float32Array;
  height: number;
  width: number;
  /** One row per classifier, its mistakes most confident first. */
  rows: readonly {
    title: string;
    mistakes: readonly { testIndex: number; label: number; predicted: number; probability: number }[];
  }[];
  /** One per class, label 0 first. */
  classNames: readonly string[];
  /** Default 2. */
  scale?: number;
}

/** One row per classifier: its most confident test mistakes, each captioned "true → predicted, probability". */
export function mistakesFigure(input: MistakesFigureInput): string {
  const { height, width } = input;
  const scale = input.scale ?? 2;
  const pixelsPerImage = height * width;
  const imageCount = Math.floor(input.images.length / pixelsPerImage);
  const columns = Math.max(1, ...input.rows.map((row) => row.mistakes.length));
  const cell = Math.max(width * scale + 2, 64);
  const body: string[] = [];
  let top = 0;
  const name = (label: number) => input.classNames[label] ?? String(label);
  for (const row of input.rows) {
    body.push(svgText(0, top + 14, row.title, { weight: '600', fill: LABEL_COLOUR }));
    top += 22;
    if (row.mistakes.length === 0) {
      body.push(svgText(0, top + 12, 'No mistakes on the test set.', { fill: MUTED_COLOUR, size: 12 }));
      top += 24;
      continue;
    }
    row.mistakes.forEach((mistake, position) => {
      if (!Number.isInteger(mistake.testIndex) || mistake.testIndex < 0 || mistake.testIndex >= imageCount) {
        throw new ImageShapeError(
          `Error in mistakesFigure: ${row.title} names test image ${mistake.testIndex}, but there are ${imageCount} images.`,
        );
      }
      const picture = tileImages(
        input.images.subarray(mistake.testIndex * pixelsPerImage, (mistake.testIndex + 1) * pixelsPerImage),
        1,
        height,
        width,
        { columns: 1, padding: 1, scale },
      );
      const left = position * cell;
      body.push(svgImage(left, top, picture));
      body.push(
        svgText(
          left + picture.width / 2,
          top + picture.height + 13,
          `${name(mistake.label)} → ${name(mistake.predicted)}`,
          { anchor: 'middle', size: 11, weight: '600', fill: HIGHLIGHT_COLOUR },
        ),
      );
      body.push(
        svgText(
          left + picture.width / 2,
          top + picture.height + 26,
          `${(100 * mistake.probability).toFixed(mistake.probability > 0.995 ? 1 : 0)}%`,
          { anchor: 'middle', size: 11, fill: MUTED_COLOUR },
        ),
      );
    });
    top += height * scale + 2 + 36;
  }
  return svgDocument(columns * cell, Math.max(1, top), body);
}
