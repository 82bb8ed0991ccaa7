// Corruptions the denoising autoencoder learns to undo, in one table: each entry says how it corrupts, what its
// amount means and how the report, the tables and the page name it. Everything else (config checks, the page's
// menu, table headers) reads this table, so adding a corruption is adding an entry here. Each works per pixel on
// images in [0, 1] and draws from the Random it is given, so the same seed corrupts the same pixels.
import type { Random } from './random.js';
import { quote } from '../quote.js';

export interface Corruption {
  /** Its name in the page's menu: 'salt and pepper'. */
  name: string;
  /** The largest amount that makes sense: 1 for a fraction of pixels; for a deviation, where more stops mattering. */
  maxAmount: number;
  /** What the amount is, for error messages: 'the fraction of pixels hit'. */
  amountMeaning: string;
  /** The report's phrase: 'salt-and-pepper noise on 20% of the pixels'. */
  describe: (amount: number) => string;
  /** Short enough for a column header or the page: 'salt & pepper 20%'. */
  shortName: (amount: number) => string;
  /** The amount alone, as the page's slider shows it: '20%', 'σ 0.40'. */
  formatAmount: (amount: number) => string;
  /** Writes the corrupted `images` to `out`, one pixel at a time. */
  apply: (images: Float32Array, out: Float32Array, amount: number, random: Random) => void;
}

const percent = (fraction: number) => `${Number((fraction * 100).toPrecision(3))}%`;

export const corruptions = {
  'salt-and-pepper': {
    name: 'salt and pepper',
    maxAmount: 1,
    amountMeaning: 'the fraction of pixels hit',
    describe: (amount) => `salt-and-pepper noise on ${percent(amount)} of the pixels`,
    shortName: (amount) => `salt & pepper ${percent(amount)}`,
    formatAmount: (amount) => percent(amount),
    apply: (images, out, amount, random) => {
      // One draw per pixel: below amount/2 it turns black (pepper), below amount white (salt).
      const half = amount / 2;
      for (let index = 0; index < images.length; index += 1) {
        const draw = random.next();
        out[index] = draw < half ? 0 : draw < amount ? 1 : (images[index] ?? 0);
      }
    },
  },
  gaussian: {
    name: 'Gaussian',
    // On pixels in [0, 1], a standard deviation of 1 already leaves little of the image; more only clips harder.
    maxAmount: 1,
    amountMeaning: 'a standard deviation',
    describe: (amount) => `Gaussian noise with standard deviation ${amount}`,
    shortName: (amount) => `Gaussian σ ${amount}`,
    formatAmount: (amount) => `σ ${amount.toFixed(2)}`,
    apply: (images, out, amount, random) => {
      // Additive N(0, amount²), clipped back to the valid pixel range.
      for (let index = 0; index < images.length; index += 1) {
        const noisy = (images[index] ?? 0) + amount * random.normal();
        out[index] = noisy < 0 ? 0 : noisy > 1 ? 1 : noisy;
      }
    },
  },
  masking: {
    name: 'masking',
    maxAmount: 1,
    amountMeaning: 'the fraction of pixels hit',
    describe: (amount) => `masking noise zeroing ${percent(amount)} of the pixels`,
    shortName: (amount) => `masking ${percent(amount)}`,
    formatAmount: (amount) => percent(amount),
    apply: (images, out, amount, random) => {
      // Dropout on the input: the pixel is erased, never brightened.
      for (let index = 0; index < images.length; index += 1) {
        out[index] = random.next() < amount ? 0 : (images[index] ?? 0);
      }
    },
  },
} satisfies Record<string, Corruption>;

export type CorruptionKind = keyof typeof corruptions;
export const corruptionKinds = Object.keys(corruptions) as CorruptionKind[];

export interface NoiseSpec {
  kind: CorruptionKind;
  /** What the corruption's amountMeaning says: a fraction of pixels, or a standard deviation. */
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

/** The table's entry for `kind`, or NoiseSpecError. Specs may come from JSON or the command line. */
function corruptionFor(kind: unknown): Corruption {
  if (typeof kind !== 'string' || !Object.hasOwn(corruptions, kind)) {
    throw new NoiseSpecError(`unknown noise kind ${quote(kind)}`, `use one of ${corruptionKinds.join(', ')}`);
  }
  return corruptions[kind as CorruptionKind];
}

/** Throws NoiseSpecError unless `noise` can be applied. */
export function validateNoiseSpec(noise: NoiseSpec): void {
  const corruption = corruptionFor(noise.kind);
  const { kind, amount } = noise;
  if (typeof amount !== 'number' || !Number.isFinite(amount)) {
    throw new NoiseSpecError(`${kind} noise amount must be a finite number, got ${quote(amount)}`, 'pass e.g. 0.3');
  }
  if (amount < 0 || amount > corruption.maxAmount) {
    throw new NoiseSpecError(
      `${kind} noise amount is ${corruption.amountMeaning} and must be in [0, ${corruption.maxAmount}], got ${quote(amount)}`,
      'pass e.g. 0.3',
    );
  }
}

/** A corrupted copy of `images` (any shape, values in [0, 1]) in `out`, new by default; the input is left untouched. */
export function corrupt(
  images: Float32Array,
  noise: NoiseSpec,
  random: Random,
  out: Float32Array = new Float32Array(images.length),
): Float32Array {
  validateNoiseSpec(noise);
  corruptions[noise.kind].apply(images, out, noise.amount, random);
  return out;
}

/** The report's phrase for `noise`, e.g. 'masking noise zeroing 30% of the pixels'. */
export const describeNoise = (noise: NoiseSpec): string => corruptionFor(noise.kind).describe(noise.amount);

/** A column header's name for `noise`, e.g. 'Gaussian σ 0.4'. */
export const shortNoiseName = (noise: NoiseSpec): string => corruptionFor(noise.kind).shortName(noise.amount);

/** The amount of `noise` as the page shows it, e.g. '20%'. */
export const formatNoiseAmount = (noise: NoiseSpec): string => corruptionFor(noise.kind).formatAmount(noise.amount);
