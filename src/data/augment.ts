// Label-preserving distortions of digit images for supervised training: each image gets its own random small
// rotation, scale and sub-pixel shift (one affine map about the image centre, sampled bilinearly, zero outside).
import { nativeImageKernels } from '../backend/native/image-kernels.js';
import type { Random } from './random.js';

export interface AugmentationSpec {
  /** Largest shift per axis, in pixels (drawn uniformly, not rounded). */
  maxShift: number;
  /** Largest rotation either way, in degrees. */
  maxRotationDegrees: number;
  /** Largest relative change of size: the scale is drawn from [1 - maxScale, 1 + maxScale]. */
  maxScale: number;
}

export const noAugmentation: AugmentationSpec = { maxShift: 0, maxRotationDegrees: 0, maxScale: 0 };

export function isIdentity(spec: AugmentationSpec): boolean {
  return spec.maxShift === 0 && spec.maxRotationDegrees === 0 && spec.maxScale === 0;
}

/** One affine map: output pixel p takes the input at centre + matrix * (p - centre - shift). */
export interface AffineMap {
  rotationRadians: number;
  scale: number;
  shiftX: number;
  shiftY: number;
}

/**
 * A map as the warps take it, four numbers per image: cos(rotation) / scale, sin(rotation) / scale, shift x, shift
 * y. Computed here, in JavaScript, for every warp, so that the native one sees the very same doubles.
 */
export function warpCoefficients(map: AffineMap, into: Float64Array, offset: number): void {
  into[offset] = Math.cos(map.rotationRadians) / map.scale;
  into[offset + 1] = Math.sin(map.rotationRadians) / map.scale;
  into[offset + 2] = map.shiftX;
  into[offset + 3] = map.shiftY;
}

/**
 * Warps `count` images ([count, height*width] rows) of `images` into `out`, image n by the coefficients at
 * 4n of `coefficients` (warpCoefficients). The native backend's addon has one (backend/native/image-kernels.ts).
 */
export type BatchWarp = (
  images: Float32Array,
  count: number,
  height: number,
  width: number,
  coefficients: Float64Array,
  out: Float32Array,
) => void;

/** The batch warp in JavaScript: warpImage on each image. */
export const warpImages: BatchWarp = (images, count, height, width, coefficients, out) => {
  const pixels = height * width;
  for (let n = 0; n < count; n += 1) {
    warpImageBy(
      images.subarray(n * pixels, (n + 1) * pixels),
      out.subarray(n * pixels, (n + 1) * pixels),
      height,
      width,
      coefficients,
      4 * n,
    );
  }
};

/** The batch warp to use: the addon's on the native backend (the same numbers, faster), else warpImages. */
export function batchWarp(): BatchWarp {
  return nativeImageKernels()?.warpImages ?? warpImages;
}

/**
 * Writes `source` ([height, width]) seen through `map` into `target`, which must be the same size. Bilinear
 * sampling with zero outside; the value of every pixel is bit for bit warpImageReference's (same products, same
 * order of addition), without its per-tap bounds tests where all four neighbours are inside.
 */
export function warpImage(
  source: Float32Array,
  target: Float32Array,
  height: number,
  width: number,
  map: AffineMap,
): void {
  const coefficients = new Float64Array(4);
  warpCoefficients(map, coefficients, 0);
  warpImageBy(source, target, height, width, coefficients, 0);
}

function warpImageBy(
  source: Float32Array,
  target: Float32Array,
  height: number,
  width: number,
  coefficients: Float64Array,
  at: number,
): void {
  const centreY = (height - 1) / 2,
    centreX = (width - 1) / 2;
  const cos = coefficients[at] as number,
    sin = coefficients[at + 1] as number;
  const shiftX = coefficients[at + 2] as number,
    shiftY = coefficients[at + 3] as number;
  for (let y = 0; y < height; y += 1) {
    const offsetY = y - centreY - shiftY;
    for (let x = 0; x < width; x += 1) {
      const offsetX = x - centreX - shiftX;
      const sourceX = centreX + cos * offsetX + sin * offsetY;
      const sourceY = centreY - sin * offsetX + cos * offsetY;
      const left = Math.floor(sourceX),
        top = Math.floor(sourceY);
      const fractionX = sourceX - left,
        fractionY = sourceY - top;
      let value = 0;
      if (left >= 0 && top >= 0 && left + 1 < width && top + 1 < height) {
        const at = top * width + left;
        const upper = 1 - fractionY,
          leftWeight = 1 - fractionX;
        value += upper * leftWeight * (source[at] as number);
        value += upper * fractionX * (source[at + 1] as number);
        value += fractionY * leftWeight * (source[at + width] as number);
        value += fractionY * fractionX * (source[at + width + 1] as number);
      } else if (left >= -1 && top >= -1 && left < width && top < height) {
        for (let dy = 0; dy <= 1; dy += 1) {
          const row = top + dy;
          if (row < 0 || row >= height) continue;
          const weightY = dy === 0 ? 1 - fractionY : fractionY;
          for (let dx = 0; dx <= 1; dx += 1) {
            const column = left + dx;
            if (column < 0 || column >= width) continue;
            value += weightY * (dx === 0 ? 1 - fractionX : fractionX) * (source[row * width + column] as number);
          }
        }
      }
      target[y * width + x] = value;
    }
  }
}

/** The plain definition of warpImage, kept as its reference: the same arithmetic in the same order. */
export function warpImageReference(
  source: Float32Array,
  target: Float32Array,
  height: number,
  width: number,
  map: AffineMap,
): void {
  const centreY = (height - 1) / 2,
    centreX = (width - 1) / 2;
  // The inverse of "scale then rotate": rotate back, then divide by the scale.
  const cos = Math.cos(map.rotationRadians) / map.scale,
    sin = Math.sin(map.rotationRadians) / map.scale;
  for (let y = 0; y < height; y += 1) {
    const offsetY = y - centreY - map.shiftY;
    for (let x = 0; x < width; x += 1) {
      const offsetX = x - centreX - map.shiftX;
      const sourceX = centreX + cos * offsetX + sin * offsetY;
      const sourceY = centreY - sin * offsetX + cos * offsetY;
      const left = Math.floor(sourceX),
        top = Math.floor(sourceY);
      const fractionX = sourceX - left,
        fractionY = sourceY - top;
      let value = 0;
      for (let dy = 0; dy <= 1; dy += 1) {
        const row = top + dy;
        if (row < 0 || row >= height) continue;
        const weightY = dy === 0 ? 1 - fractionY : fractionY;
        if (weightY === 0) continue;
        for (let dx = 0; dx <= 1; dx += 1) {
          const column = left + dx;
          if (column < 0 || column >= width) continue;
          const weight = weightY * (dx === 0 ? 1 - fractionX : fractionX);
          if (weight !== 0) value += weight * (source[row * width + column] as number);
        }
      }
      target[y * width + x] = value;
    }
  }
}

/**
 * Each of the `count` images ([count, height*width] rows) distorted by its own random map, warped by `warp` (the
 * same pixels whichever warp it is), in `out` (by default a new array; the images themselves when the distortion is
 * none).
 */
export function augmentImages(
  images: Float32Array,
  count: number,
  height: number,
  width: number,
  spec: AugmentationSpec,
  random: Random,
  warp: BatchWarp = warpImages,
  out?: Float32Array,
): Float32Array {
  if (isIdentity(spec)) {
    if (!out) return images;
    out.set(images.subarray(0, count * height * width));
    return out;
  }
  out ??= new Float32Array(count * height * width);
  const coefficients = new Float64Array(4 * count);
  const between = (limit: number) => (2 * random.next() - 1) * limit;
  for (let n = 0; n < count; n += 1) {
    const map: AffineMap = {
      rotationRadians: (between(spec.maxRotationDegrees) * Math.PI) / 180,
      scale: 1 + between(spec.maxScale),
      shiftX: between(spec.maxShift),
      shiftY: between(spec.maxShift),
    };
    warpCoefficients(map, coefficients, 4 * n);
  }
  warp(images, count, height, width, coefficients, out);
  return out;
}
