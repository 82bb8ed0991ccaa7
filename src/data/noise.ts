// Corruptions the denoising autoencoder learns to undo. Each works per pixel on images in [0, 1] and
// draws from the Random it is given, so the same seed corrupts the same pixels.

import type { Random } from './random.js';

export interface NoiseSpec {
  kind: 'salt-and-pepper' | 'gaussian' | 'masking';
  /** Fraction of pixels hit (salt-and-pepper, masking) or the standard deviation (gaussian). */
  amount: number;
}

/** A noise setting that cannot be applied: unknown kind or an amount out of range. */
export class NoiseSpecError extends Error {
  override readonly name = 'NoiseSpecError';
  readonly hint: string;

  constructor(problem: string, hint: string) {
    super(`${problem} — ${hint}`);
    this.hint = hint;
  }
}

const NOISE_KINDS: readonly NoiseSpec['kind'][] = ['salt-and-pepper', 'gaussian', 'masking'];

/** Throws NoiseSpecError unless `noise` can be applied. Specs may come from JSON or the command line. */
export function validateNoiseSpec(noise: NoiseSpec): void {
  if (!NOISE_KINDS.includes(noise.kind)) {
    throw new NoiseSpecError(`unknown noise kind "${String(noise.kind)}"`, `use one of ${NOISE_KINDS.join(', ')}`);
  }
  const { kind, amount } = noise;
  if (typeof amount !== 'number' || !Number.isFinite(amount)) {
    throw new NoiseSpecError(`${kind} noise amount must be a finite number, got ${String(amount)}`, 'pass e.g. 0.3');
  }
  if (kind === 'gaussian') {
    if (amount < 0) {
      throw new NoiseSpecError(
        `gaussian noise amount is a standard deviation and cannot be negative, got ${amount}`,
        'pass a value ≥ 0, e.g. 0.3',
      );
    }
  } else if (amount < 0 || amount > 1) {
    throw new NoiseSpecError(
      `${kind} noise amount is the fraction of pixels hit and must be in [0, 1], got ${amount}`,
      'pass e.g. 0.3 for 30% of pixels',
    );
  }
}

/** A corrupted copy of `images` (any shape, values in [0, 1]); the input is left untouched. */
export function corrupt(images: Float32Array, noise: NoiseSpec, random: Random): Float32Array {
  validateNoiseSpec(noise);
  const { amount } = noise;
  const corrupted = new Float32Array(images.length);
  switch (noise.kind) {
    case 'salt-and-pepper': {
      // One draw per pixel: below amount/2 it turns black (pepper), below amount white (salt).
      const half = amount / 2;
      for (let index = 0; index < images.length; index += 1) {
        const draw = random.next();
        corrupted[index] = draw < half ? 0 : draw < amount ? 1 : (images[index] ?? 0);
      }
      break;
    }
    case 'gaussian': {
      // Additive N(0, amount²), clipped back to the valid pixel range.
      for (let index = 0; index < images.length; index += 1) {
        const noisy = (images[index] ?? 0) + amount * random.normal();
        corrupted[index] = noisy < 0 ? 0 : noisy > 1 ? 1 : noisy;
      }
      break;
    }
    case 'masking': {
      // Dropout on the input: the pixel is erased, never brightened.
      for (let index = 0; index < images.length; index += 1) {
        corrupted[index] = random.next() < amount ? 0 : (images[index] ?? 0);
      }
      break;
    }
  }
  return corrupted;
}
