// A small seeded pseudo-random generator, so one seed reproduces every random choice of a run on any
// machine. Math.random cannot be seeded, and tfjs's own generators are tied to tensors.
//
// Generator: xoshiro128** 1.0 (Blackman & Vigna, https://prng.di.unimi.it/xoshiro128starstar.c),
// 128 bits of state, 32-bit outputs. The state is filled from the seed with splitmix32, the usual
// way to turn a small seed into well-mixed state. Only 32-bit integer operations (Math.imul, shifts)
// are used, so the sequence is identical on every platform.

const GOLDEN_GAMMA = 0x9e3779b9;
const TWO_TO_THE_32 = 2 ** 32;

/** splitmix32's output function: a bijection on 32-bit integers that mixes all bits. */
function mix32(value: number): number {
  let mixed = value | 0;
  mixed = Math.imul(mixed ^ (mixed >>> 16), 0x21f0aaad);
  mixed = Math.imul(mixed ^ (mixed >>> 15), 0x735a2d97);
  return (mixed ^ (mixed >>> 15)) >>> 0;
}

/** FNV-1a over the UTF-16 code units of a string, from a chosen offset basis. */
function hashString(text: string, basis: number): number {
  let hash = basis >>> 0;
  for (let index = 0; index < text.length; index += 1) {
    hash = Math.imul(hash ^ text.charCodeAt(index), 0x01000193) >>> 0;
  }
  return hash;
}

const rotateLeft = (value: number, bits: number): number => (value << bits) | (value >>> (32 - bits));

export class Random {
  // The 64-bit key the state was derived from, kept so fork() depends on the seed and label only,
  // never on how many numbers were drawn before it: adding a draw in one stage leaves others unchanged.
  #keyLow: number;
  #keyHigh: number;
  // xoshiro's four 32-bit words. A typed array rather than four fields: V8 keeps its elements as raw integers, and
  // a draw then costs a third of the time, which matters at one draw per pixel of every corrupted image.
  readonly #state = new Int32Array(4);
  // Box–Muller makes normals in pairs; the second one waits here.
  #spareNormal = 0;
  #hasSpare = false;

  /** `seed` is any safe integer; its low and high 32 bits both feed the state. */
  constructor(seed: number) {
    if (!Number.isSafeInteger(seed)) {
      throw new RangeError(`Random: seed must be a safe integer, got ${seed}`);
    }
    this.#keyLow = seed >>> 0;
    this.#keyHigh = Math.floor(seed / TWO_TO_THE_32) >>> 0;
    this.#seedState();
  }

  #seedState(): void {
    // splitmix32 from each half of the key, two outputs each: distinct keys give distinct states.
    const highStart = (this.#keyHigh ^ 0x6a09e667) >>> 0;
    const state = this.#state;
    state[0] = mix32(this.#keyLow + GOLDEN_GAMMA);
    state[1] = mix32(this.#keyLow + 2 * GOLDEN_GAMMA);
    state[2] = mix32(highStart + GOLDEN_GAMMA);
    state[3] = mix32(highStart + 2 * GOLDEN_GAMMA);
    // xoshiro's one forbidden state; unreachable in practice, but cheap to rule out.
    if ((state[0] | state[1] | state[2] | state[3]) === 0) state[0] = 1;
  }

  /** An independent generator for one purpose, e.g. `random.fork('noise')`; same seed and label, same stream. */
  fork(label: string): Random {
    const child = new Random(0);
    child.#keyLow = mix32(this.#keyLow ^ hashString(label, 0x811c9dc5));
    child.#keyHigh = mix32(this.#keyHigh + hashString(label, 0x050c5d1f));
    child.#seedState();
    return child;
  }

  /** The next raw output, an integer in [0, 2^32). */
  uint32(): number {
    const state = this.#state;
    const s0 = state[0] as number,
      s1 = state[1] as number;
    const s2 = (state[2] as number) ^ s0,
      s3 = (state[3] as number) ^ s1;
    state[0] = s0 ^ s3;
    state[1] = s1 ^ s2;
    state[2] = s2 ^ (s1 << 9);
    state[3] = rotateLeft(s3, 11);
    return Math.imul(rotateLeft(Math.imul(s1, 5), 7), 9) >>> 0;
  }

  /** Uniform in [0, 1), in steps of 2^-32. */
  next(): number {
    return this.uint32() / TWO_TO_THE_32;
  }

  /** Uniform integer in [0, n), without modulo bias. n must be an integer in 1..2^32. */
  integer(n: number): number {
    if (!Number.isInteger(n) || n < 1 || n > TWO_TO_THE_32) {
      throw new RangeError(`Random.integer: n must be an integer in 1..2^32, got ${n}`);
    }
    // Reject the top partial block of 2^32 so every residue is equally likely.
    const limit = TWO_TO_THE_32 - (TWO_TO_THE_32 % n);
    let value = this.uint32();
    while (value >= limit) value = this.uint32();
    return value % n;
  }

  /** Standard normal N(0, 1), by the Box–Muller transform. */
  normal(): number {
    if (this.#hasSpare) {
      this.#hasSpare = false;
      return this.#spareNormal;
    }
    // 1 - next() is in (0, 1], so the logarithm is finite.
    const radius = Math.sqrt(-2 * Math.log(1 - this.next()));
    const angle = 2 * Math.PI * this.next();
    this.#spareNormal = radius * Math.sin(angle);
    this.#hasSpare = true;
    return radius * Math.cos(angle);
  }

  /** Shuffles in place (Fisher–Yates) and returns the same array. */
  shuffle<Container extends { length: number; [index: number]: unknown }>(array: Container): Container {
    for (let index = array.length - 1; index > 0; index -= 1) {
      const other = this.integer(index + 1);
      const held = array[index];
      array[index] = array[other];
      array[other] = held;
    }
    return array;
  }
}
