// Image-quality scores of reconstructed (or noisy) images against the clean originals.
// N = images, H/W = height/width, pixel values in [0, 1] (data range 1).
//
// SSIM convention (Wang et al. 2004, "Image quality assessment: from error visibility to structural
// similarity", eq. 13), exactly:
//   - Gaussian weighting window of 7x7 taps, sigma 1.5, weights exp(-(i²+j²)/(2·1.5²)) for
//     i, j in -3..3, normalised to sum 1 (the paper used 11x11; 7x7 suits 28x28 images, as
//     ReconstructionScores below states);
//   - local means, variances and covariance are weighted population moments (no N/(N-1) correction);
//   - C1 = (0.01·1)², C2 = (0.03·1)²;
//   - only "valid" window positions, where the whole window lies inside the image ((H-6)x(W-6) of them),
//     averaged per image, then averaged over images.
// This is scikit-image's structural_similarity(gaussian_weights=True, sigma=1.5,
// use_sample_covariance=False, data_range=1) with its filter replaced by a 7-tap one, i.e.
// scipy.ndimage.gaussian_filter(sigma=1.5, truncate=2.0) followed by crop(S, 3).mean() — scikit-image
// itself hard-codes truncate=3.5, an 11-tap filter, which would leave only 18x18 positions on MNIST.
import { nativeImageKernels } from '../backend/native/image-kernels.js';

/** Image-quality scores of one image set against the clean originals, averaged over images. */
export interface ReconstructionScores {
  mse: number;
  /** Peak signal-to-noise ratio in dB (peak 1.0), the mean of per-image values. */
  psnr: number;
  /** Structural similarity (Wang et al. 2004: 7x7 Gaussian window, sigma 1.5), mean over images. */
  ssim: number;
}

const WINDOW_RADIUS = 3;
const WINDOW_SIZE = 2 * WINDOW_RADIUS + 1;
/** The smallest image side SSIM can score: its window's. */
export const ssimWindowSize = WINDOW_SIZE;
const SIGMA = 1.5;
const C1 = (0.01 * 1) ** 2;
const C2 = (0.03 * 1) ** 2;
/** Identical images would have infinite PSNR; flooring their MSE caps them at 10·log10(1/1e-10) = 100 dB. */
const MSE_FLOOR = 1e-10;

/** The 1-D Gaussian taps; the 2-D window is their outer product, so it can be applied separably. */
function gaussianTaps(): Float64Array {
  const taps = new Float64Array(WINDOW_SIZE);
  let sum = 0;
  for (let k = -WINDOW_RADIUS; k <= WINDOW_RADIUS; k += 1) {
    const weight = Math.exp(-(k * k) / (2 * SIGMA * SIGMA));
    taps[k + WINDOW_RADIUS] = weight;
    sum += weight;
  }
  for (let k = 0; k < WINDOW_SIZE; k += 1) taps[k] = (taps[k] ?? 0) / sum;
  return taps;
}

function requireShapes(clean: Float32Array, other: Float32Array, count: number, height: number, width: number): void {
  for (const [name, value] of [
    ['count', count],
    ['height', height],
    ['width', width],
  ] as const) {
    if (!Number.isInteger(value) || value <= 0) {
      throw new RangeError(`reconstructionScores: ${name} must be a positive integer, got ${value}`);
    }
  }
  const expected = count * height * width;
  if (clean.length !== expected || other.length !== expected) {
    throw new RangeError(
      `reconstructionScores: expected ${count}x${height}x${width} = ${expected} pixels in both arrays, ` +
        `got ${clean.length} clean and ${other.length} other`,
    );
  }
  if (height < WINDOW_SIZE || width < WINDOW_SIZE) {
    throw new RangeError(
      `reconstructionScores: SSIM needs images of at least ${WINDOW_SIZE}x${WINDOW_SIZE}, got ${height}x${width}`,
    );
  }
}

/**
 * Scores each of `count` images of `other` against `clean`: its sum of squared differences into squaredErrors, its
 * mean SSIM (the window's 1-D `taps`, constants c1 and c2) into ssims. `scoreImages` is the JavaScript one; the
 * native backend's addon has one that gives the same numbers bit for bit (backend/native/image-kernels.ts).
 */
export type ImageScorer = (
  clean: Float32Array,
  other: Float32Array,
  count: number,
  height: number,
  width: number,
  taps: Float64Array,
  c1: number,
  c2: number,
  squaredErrors: Float64Array,
  ssims: Float64Array,
) => void;

export const scoreImages: ImageScorer = (clean, other, count, height, width, taps, c1, c2, squaredErrors, ssims) => {
  const pixels = height * width;
  const ssim = new SsimScratch(height, width, taps, c1, c2);
  for (let image = 0; image < count; image += 1) {
    const offset = image * pixels;
    let imageSquaredError = 0;
    for (let p = offset; p < offset + pixels; p += 1) {
      const difference = (clean[p] ?? 0) - (other[p] ?? 0);
      imageSquaredError += difference * difference;
    }
    squaredErrors[image] = imageSquaredError;
    ssims[image] = ssim.image(clean, other, offset);
  }
};

/** The per-image scorer to use: the addon's on the native backend (the same numbers, faster), else scoreImages. */
export function imageScorer(): ImageScorer {
  return nativeImageKernels()?.reconstructionScores ?? scoreImages;
}

/** The SSIM window's 1-D Gaussian taps and constants, as the scorers take them. */
export const ssimWindow = { taps: gaussianTaps(), c1: C1, c2: C2 } as const;

/** MSE over all pixels, mean per-image PSNR and mean per-image SSIM of `other` against `clean`, both [N, H, W]. */
export function reconstructionScores(
  clean: Float32Array,
  other: Float32Array,
  count: number,
  height: number,
  width: number,
  scorer: ImageScorer = scoreImages,
): ReconstructionScores {
  requireShapes(clean, other, count, height, width);
  const pixels = height * width;
  const squaredErrors = new Float64Array(count);
  const ssims = new Float64Array(count);
  scorer(clean, other, count, height, width, ssimWindow.taps, ssimWindow.c1, ssimWindow.c2, squaredErrors, ssims);
  let squaredErrorSum = 0;
  let psnrSum = 0;
  let ssimSum = 0;
  for (let image = 0; image < count; image += 1) {
    const imageSquaredError = squaredErrors[image] as number;
    squaredErrorSum += imageSquaredError;
    psnrSum += 10 * Math.log10(1 / Math.max(imageSquaredError / pixels, MSE_FLOOR));
    ssimSum += ssims[image] as number;
  }
  return { mse: squaredErrorSum / (count * pixels), psnr: psnrSum / count, ssim: ssimSum / count };
}

/**
 * Buffers for one image's SSIM, reused across images. Separable filtering: a horizontal pass over
 * all H rows into [H, W-6] buffers, then a vertical pass gives the [H-6, W-6] valid positions.
 */
class SsimScratch {
  readonly #height: number;
  readonly #width: number;
  readonly #validWidth: number;
  readonly #taps: Float64Array;
  readonly #c1: number;
  readonly #c2: number;
  // Horizontally filtered x, y, x², y², xy, each [H, W-6].
  readonly #rowX: Float64Array;
  readonly #rowY: Float64Array;
  readonly #rowXX: Float64Array;
  readonly #rowYY: Float64Array;
  readonly #rowXY: Float64Array;

  constructor(height: number, width: number, taps: Float64Array, c1: number, c2: number) {
    this.#taps = taps;
    this.#c1 = c1;
    this.#c2 = c2;
    this.#height = height;
    this.#width = width;
    this.#validWidth = width - 2 * WINDOW_RADIUS;
    const size = height * this.#validWidth;
    this.#rowX = new Float64Array(size);
    this.#rowY = new Float64Array(size);
    this.#rowXX = new Float64Array(size);
    this.#rowYY = new Float64Array(size);
    this.#rowXY = new Float64Array(size);
  }

  /** Mean SSIM over the valid window positions of the image starting at `offset` in both arrays. */
  image(clean: Float32Array, other: Float32Array, offset: number): number {
    const H = this.#height;
    const W = this.#width;
    const VW = this.#validWidth;
    const VH = H - 2 * WINDOW_RADIUS;
    const g = this.#taps;
    const rowX = this.#rowX;
    const rowY = this.#rowY;
    const rowXX = this.#rowXX;
    const rowYY = this.#rowYY;
    const rowXY = this.#rowXY;
    // Indices below stay inside their arrays by construction (requireShapes checked the lengths),
    // so the `?? 0` fallbacks never fire; they only satisfy noUncheckedIndexedAccess.
    for (let r = 0; r < H; r += 1) {
      const rowStart = offset + r * W;
      for (let c = 0; c < VW; c += 1) {
        let sx = 0;
        let sy = 0;
        let sxx = 0;
        let syy = 0;
        let sxy = 0;
        for (let k = 0; k < WINDOW_SIZE; k += 1) {
          const weight = g[k] ?? 0;
          const x = clean[rowStart + c + k] ?? 0;
          const y = other[rowStart + c + k] ?? 0;
          sx += weight * x;
          sy += weight * y;
          sxx += weight * x * x;
          syy += weight * y * y;
          sxy += weight * x * y;
        }
        const out = r * VW + c;
        rowX[out] = sx;
        rowY[out] = sy;
        rowXX[out] = sxx;
        rowYY[out] = syy;
        rowXY[out] = sxy;
      }
    }
    let total = 0;
    for (let r = 0; r < VH; r += 1) {
      for (let c = 0; c < VW; c += 1) {
        let meanX = 0;
        let meanY = 0;
        let meanXX = 0;
        let meanYY = 0;
        let meanXY = 0;
        for (let k = 0; k < WINDOW_SIZE; k += 1) {
          const weight = g[k] ?? 0;
          const at = (r + k) * VW + c;
          meanX += weight * (rowX[at] ?? 0);
          meanY += weight * (rowY[at] ?? 0);
          meanXX += weight * (rowXX[at] ?? 0);
          meanYY += weight * (rowYY[at] ?? 0);
          meanXY += weight * (rowXY[at] ?? 0);
        }
        const varianceX = meanXX - meanX * meanX;
        const varianceY = meanYY - meanY * meanY;
        const covariance = meanXY - meanX * meanY;
        total +=
          ((2 * meanX * meanY + this.#c1) * (2 * covariance + this.#c2)) /
          ((meanX * meanX + meanY * meanY + this.#c1) * (varianceX + varianceY + this.#c2));
      }
    }
    return total / (VH * VW);
  }
}
