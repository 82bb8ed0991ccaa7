// PNG encoding (pngjs) and tiling of many small images into one grid picture.
// Images are row-major typed arrays: one image is height * width values, a stack is count of them back to back.

import { PNG } from 'pngjs';
import { colormap, colourAt } from './colormap.js';
import type { ColormapName, Rgb } from './colormap.js';

/** An 8-bit RGB picture: data holds width * height * 3 bytes, row by row. */
export interface RgbImage {
  width: number;
  height: number;
  data: Uint8Array;
}

/**
 * How values become the [0, 1] range a colour map reads.
 * none: values are already in [0, 1] (pixel intensities) and are clamped.
 * per-image: min → 0 and max → 1 (activations, decoder outputs of any range).
 * symmetric: [-m, m] → [0, 1] with m = max |value|, so 0 lands in the middle of a diverging map (weights).
 */
export type Normalization = 'none' | 'per-image' | 'symmetric';

export interface TileOptions {
  /** Tiles per row; fewer when there are fewer images. */
  columns: number;
  /** Pixels of background between tiles and around the grid (after scaling). Default 1. */
  padding?: number;
  /** Integer nearest-neighbour upscaling of every tile. Default 1. */
  scale?: number;
  /** Default 'none'. */
  normalize?: Normalization;
  /** Normalise over all tiles together instead of each on its own, so their magnitudes compare. Default false. */
  shared?: boolean;
  /** Default 'diverging' for symmetric normalisation, 'gray' otherwise. */
  colormap?: ColormapName;
  /** Colour of the separators. Default white. */
  background?: Rgb;
}

export class ImageShapeError extends Error {
  override name = 'ImageShapeError';
}

/** Encodes one grayscale image: floats are intensities in [0, 1] (clamped), bytes are 0-255. */
export function encodeGrayscalePng(pixels: Float32Array | Uint8Array, width: number, height: number): Buffer {
  checkDimensions('encodeGrayscalePng', width, height);
  if (pixels.length !== width * height) {
    throw new ImageShapeError(
      `Error in encodeGrayscalePng: got ${pixels.length} pixels for a ${width}x${height} image; expected ${width * height}.`,
    );
  }
  const bytes = pixels instanceof Uint8Array ? pixels : floatsToBytes(pixels);
  const png = new PNG({ width, height, colorType: 0, inputColorType: 0, inputHasAlpha: false, bitDepth: 8 });
  png.data = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return PNG.sync.write(png, { colorType: 0, inputColorType: 0, inputHasAlpha: false, bitDepth: 8 });
}

/** Encodes one RGB image given as width * height * 3 bytes. */
export function encodeRgbPng(pixels: Uint8Array, width: number, height: number): Buffer {
  checkDimensions('encodeRgbPng', width, height);
  if (pixels.length !== width * height * 3) {
    throw new ImageShapeError(
      `Error in encodeRgbPng: got ${pixels.length} bytes for a ${width}x${height} RGB image; expected ${width * height * 3}.`,
    );
  }
  const png = new PNG({ width, height, colorType: 2, inputColorType: 2, inputHasAlpha: false, bitDepth: 8 });
  png.data = Buffer.from(pixels.buffer, pixels.byteOffset, pixels.byteLength);
  return PNG.sync.write(png, { colorType: 2, inputColorType: 2, inputHasAlpha: false, bitDepth: 8 });
}

export function encodeImagePng(image: RgbImage): Buffer {
  return encodeRgbPng(image.data, image.width, image.height);
}

/** The pixel size of a grid made by tileImages. */
export function tiledSize(
  count: number,
  height: number,
  width: number,
  options: Pick<TileOptions, 'columns' | 'padding' | 'scale'>,
): { width: number; height: number; columns: number; rows: number } {
  const padding = options.padding ?? 1;
  const scale = options.scale ?? 1;
  const columns = Math.max(1, Math.min(options.columns, count));
  const rows = Math.max(1, Math.ceil(count / columns));
  return {
    width: columns * width * scale + (columns + 1) * padding,
    height: rows * height * scale + (rows + 1) * padding,
    columns,
    rows,
  };
}

/** Lays count images of height x width out on a grid, coloured through a colour map. */
export function tileImages(
  images: Float32Array,
  count: number,
  height: number,
  width: number,
  options: TileOptions,
): RgbImage {
  checkDimensions('tileImages', width, height);
  const scale = options.scale ?? 1;
  const padding = options.padding ?? 1;
  if (!Number.isInteger(scale) || scale < 1) {
    throw new ImageShapeError(`Error in tileImages: scale must be a positive integer, got ${scale}.`);
  }
  if (!Number.isInteger(padding) || padding < 0) {
    throw new ImageShapeError(`Error in tileImages: padding must be a non-negative integer, got ${padding}.`);
  }
  if (!Number.isInteger(options.columns) || options.columns < 1) {
    throw new ImageShapeError(`Error in tileImages: columns must be a positive integer, got ${options.columns}.`);
  }
  const pixelsPerImage = height * width;
  if (images.length < count * pixelsPerImage) {
    throw new ImageShapeError(
      `Error in tileImages: ${count} images of ${height}x${width} need ${count * pixelsPerImage} values, got ${images.length}.`,
    );
  }

  const normalize = options.normalize ?? 'none';
  const table = colormap(options.colormap ?? (normalize === 'symmetric' ? 'diverging' : 'gray'));
  const background = options.background ?? [255, 255, 255];
  const size = tiledSize(count, height, width, { columns: options.columns, padding, scale });
  const data = new Uint8Array(size.width * size.height * 3);
  for (let i = 0; i < data.length; i += 3) {
    data[i] = background[0];
    data[i + 1] = background[1];
    data[i + 2] = background[2];
  }

  const sharedRange = options.shared === true ? valueRange(images, 0, count * pixelsPerImage) : undefined;
  for (let n = 0; n < count; n++) {
    const start = n * pixelsPerImage;
    const range = sharedRange ?? valueRange(images, start, start + pixelsPerImage);
    const toUnit = unitMapping(normalize, range);
    const left = padding + (n % size.columns) * (width * scale + padding);
    const top = padding + Math.floor(n / size.columns) * (height * scale + padding);
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) {
        const [red, green, blue] = colourAt(table, toUnit(images[start + y * width + x] ?? 0));
        for (let dy = 0; dy < scale; dy++) {
          let offset = ((top + y * scale + dy) * size.width + left + x * scale) * 3;
          for (let dx = 0; dx < scale; dx++, offset += 3) {
            data[offset] = red;
            data[offset + 1] = green;
            data[offset + 2] = blue;
          }
        }
      }
    }
  }
  return { width: size.width, height: size.height, data };
}

interface ValueRange {
  min: number;
  max: number;
}

function valueRange(values: Float32Array, start: number, end: number): ValueRange {
  let min = Infinity;
  let max = -Infinity;
  for (let i = start; i < end; i++) {
    const value = values[i] ?? 0;
    if (Number.isNaN(value)) continue;
    if (value < min) min = value;
    if (value > max) max = value;
  }
  return min <= max ? { min, max } : { min: 0, max: 0 };
}

function unitMapping(normalize: Normalization, { min, max }: ValueRange): (value: number) => number {
  switch (normalize) {
    case 'none':
      return (value) => value;
    case 'per-image': {
      const span = max - min;
      // A constant image (a dead feature map) shows as the bottom of the map rather than dividing by zero.
      return span > 0 ? (value) => (value - min) / span : () => 0;
    }
    case 'symmetric': {
      const magnitude = Math.max(Math.abs(min), Math.abs(max));
      return magnitude > 0 ? (value) => 0.5 + value / (2 * magnitude) : () => 0.5;
    }
  }
}

function floatsToBytes(values: Float32Array): Uint8Array {
  const bytes = new Uint8Array(values.length);
  for (let i = 0; i < values.length; i++) {
    const value = values[i] ?? 0;
    bytes[i] = Number.isNaN(value) ? 0 : Math.round(Math.min(1, Math.max(0, value)) * 255);
  }
  return bytes;
}

function checkDimensions(operation: string, width: number, height: number): void {
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1) {
    throw new ImageShapeError(
      `Error in ${operation}: width and height must be positive integers, got ${width}x${height}.`,
    );
  }
}
