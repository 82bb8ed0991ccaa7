import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Random } from '../src/data/random.js';
import { corrupt, NoiseSpecError } from '../src/data/noise.js';
import { countForFraction, splitTrainValidation, SplitError, stratifiedSubsets } from '../src/data/split.js';
import { floatPixels, subsetImageSet, type ImageSet } from '../src/data/dataset.js';
import { gatherImages } from '../src/train/batches.js';
import { augmentImages, noAugmentation, warpImage, warpImageReference } from '../src/data/augment.js';
import type { NoiseSpec } from '../src/data/noise.js';

const draws = (random: Random, count: number): number[] => Array.from({ length: count }, () => random.next());

test('Random is reproducible, seed-sensitive, and fork depends only on seed and label', () => {
  assert.deepEqual(draws(new Random(42), 5), draws(new Random(42), 5));
  assert.notDeepEqual(draws(new Random(42), 5), draws(new Random(43), 5));
  // Seeds past 2^32 must not collide with their low 32 bits.
  assert.notDeepEqual(draws(new Random(2 ** 32 + 5), 5), draws(new Random(5), 5));

  const fresh = new Random(42);
  const used = new Random(42);
  draws(used, 17);
  assert.deepEqual(draws(fresh.fork('noise'), 5), draws(used.fork('noise'), 5));
  assert.notDeepEqual(draws(fresh.fork('noise'), 5), draws(fresh.fork('split'), 5));
  assert.notDeepEqual(draws(fresh.fork('noise'), 5), draws(new Random(42), 5));
  assert.throws(() => new Random(1.5), RangeError);
});

test('Random draws the same streams as the generator the results in results/ were drawn with', () => {
  // Known answers, recorded from the four-field generator before its state moved into a typed array: a change to
  // the generator that keeps its tests passing must still keep every seed's stream.
  const raw = (random: Random, count: number) => Array.from({ length: count }, () => random.uint32());
  assert.deepEqual(raw(new Random(1), 6), [393288148, 3361432542, 3447757068, 3504627930, 2108931518, 3811588638]);
  assert.deepEqual(raw(new Random(2 ** 40 + 7).fork('noise'), 4), [3722902712, 2495801144, 1804223223, 1102761716]);
  const normals = new Random(3);
  assert.deepEqual(
    Array.from({ length: 3 }, () => normals.normal()),
    [0.6927834434660649, 0.8243273000032583, -0.5409331168754925],
  );
});

test('Random draws have the right ranges and moments', () => {
  const random = new Random(1);
  const samples = 200_000;
  let sum = 0;
  let normalSum = 0;
  let normalSquares = 0;
  const buckets = new Array<number>(7).fill(0);
  for (let index = 0; index < samples; index += 1) {
    const uniform = random.next();
    assert.ok(uniform >= 0 && uniform < 1);
    sum += uniform;
    const bucket = random.integer(7);
    buckets[bucket] = (buckets[bucket] ?? 0) + 1;
    const normal = random.normal();
    normalSum += normal;
    normalSquares += normal * normal;
  }
  // Tolerances are about 5 standard errors of each estimate at 200,000 samples.
  assert.ok(Math.abs(sum / samples - 0.5) < 0.004, `uniform mean ${sum / samples}`);
  for (const count of buckets) assert.ok(Math.abs(count / samples - 1 / 7) < 0.004, `bucket ${count}`);
  assert.ok(Math.abs(normalSum / samples) < 0.012, `normal mean ${normalSum / samples}`);
  assert.ok(Math.abs(normalSquares / samples - 1) < 0.02, `normal variance ${normalSquares / samples}`);
});

test('Random.shuffle permutes typed and plain arrays in place', () => {
  const random = new Random(3);
  const numbers = Int32Array.from({ length: 100 }, (_, index) => index);
  assert.equal(random.shuffle(numbers), numbers);
  assert.notDeepEqual([...numbers], [...Array(100).keys()]);
  assert.deepEqual(
    [...numbers].sort((a, b) => a - b),
    [...Array(100).keys()],
  );
  const words = ['a', 'b', 'c', 'd'];
  random.shuffle(words);
  assert.deepEqual([...words].sort(), ['a', 'b', 'c', 'd']);
});

const grey = (length: number): Float32Array => new Float32Array(length).fill(0.5);
const fractionEqual = (values: Float32Array, target: number): number =>
  values.reduce((count, value) => count + (value === target ? 1 : 0), 0) / values.length;

test('salt-and-pepper and masking hit the requested fraction of pixels', () => {
  const pixels = 100_000;
  // Standard error of a fraction near 0.15 over 100,000 pixels is about 0.0011; allow 5 of them.
  const saltAndPepper = corrupt(grey(pixels), { kind: 'salt-and-pepper', amount: 0.3 }, new Random(5));
  assert.ok(Math.abs(fractionEqual(saltAndPepper, 0) - 0.15) < 0.006);
  assert.ok(Math.abs(fractionEqual(saltAndPepper, 1) - 0.15) < 0.006);
  assert.ok(Math.abs(fractionEqual(saltAndPepper, 0.5) - 0.7) < 0.008);

  const masked = corrupt(grey(pixels), { kind: 'masking', amount: 0.25 }, new Random(5));
  assert.ok(Math.abs(fractionEqual(masked, 0) - 0.25) < 0.007);
  assert.ok(Math.abs(fractionEqual(masked, 0.5) - 0.75) < 0.007);
});

test('gaussian noise has the requested standard deviation and stays in [0, 1]', () => {
  const pixels = 100_000;
  const noisy = corrupt(grey(pixels), { kind: 'gaussian', amount: 0.1 }, new Random(6));
  let sum = 0;
  let squares = 0;
  for (const value of noisy) {
    assert.ok(value >= 0 && value <= 1);
    sum += value - 0.5;
    squares += (value - 0.5) ** 2;
  }
  // Clipping at 0 and 1 is 5 standard deviations away, so it barely changes the moments.
  assert.ok(Math.abs(sum / pixels) < 0.002);
  assert.ok(Math.abs(Math.sqrt(squares / pixels) - 0.1) < 0.002);

  // White pixels at the largest deviation the table allows: about half are pushed past 1 and clipped.
  const clipped = corrupt(new Float32Array(1000).fill(1), { kind: 'gaussian', amount: 1 }, new Random(6));
  assert.ok(clipped.every((value) => value === 0 || value === 1 || (value > 0 && value < 1)));
  assert.throws(() => corrupt(grey(10), { kind: 'gaussian', amount: 5 }, new Random(6)), /must be in \[0, 1\], got 5/);
});

test('corruption is deterministic for a seed, leaves its input alone, and amount 0 changes nothing', () => {
  const images = Float32Array.from({ length: 5000 }, (_, index) => (index % 256) / 255);
  const before = images.slice();
  for (const kind of ['salt-and-pepper', 'gaussian', 'masking'] as const) {
    const noise: NoiseSpec = { kind, amount: 0.2 };
    const first = corrupt(images, noise, new Random(9));
    assert.deepEqual(first, corrupt(images, noise, new Random(9)), kind);
    assert.notDeepEqual(first, corrupt(images, noise, new Random(10)), kind);
    assert.deepEqual(corrupt(images, { kind, amount: 0 }, new Random(9)), images, kind);
  }
  assert.deepEqual(images, before);
});

test('invalid noise settings are refused with NoiseSpecError', () => {
  const images = grey(10);
  const random = new Random(1);
  const invalid: NoiseSpec[] = [
    { kind: 'salt-and-pepper', amount: 1.5 },
    { kind: 'masking', amount: -0.1 },
    { kind: 'gaussian', amount: -1 },
    { kind: 'gaussian', amount: Number.NaN },
    { kind: 'speckle' as NoiseSpec['kind'], amount: 0.1 },
  ];
  for (const noise of invalid) {
    assert.throws(() => corrupt(images, noise, random), NoiseSpecError, JSON.stringify(noise));
  }
  assert.throws(() => corrupt(images, { kind: 'masking', amount: 2 }, random), /must be in \[0, 1\], got 2/);
});

/** Labels with unequal classes: class c has 40 + 23c examples, interleaved. */
function imbalancedLabels(classes: number): Uint8Array {
  const labels: number[] = [];
  for (let c = 0; c < classes; c += 1) for (let k = 0; k < 40 + 23 * c; k += 1) labels.push(c);
  new Random(99).shuffle(labels);
  return Uint8Array.from(labels);
}

function classCounts(labels: Uint8Array, indices: Int32Array, classes: number): number[] {
  const counts = new Array<number>(classes).fill(0);
  for (const index of indices) counts[labels[index] ?? 0] = (counts[labels[index] ?? 0] ?? 0) + 1;
  return counts;
}

const isSorted = (indices: Int32Array): boolean =>
  indices.every((value, at) => at === 0 || (indices[at - 1] ?? -1) < value);

test('splitTrainValidation is stratified, disjoint, exhaustive, sorted and reproducible', () => {
  const labels = imbalancedLabels(5);
  const total = labels.length;
  const split = splitTrainValidation(labels, 101, 11);
  assert.equal(split.validationIndices.length, 101);
  assert.equal(split.trainIndices.length, total - 101);
  assert.ok(isSorted(split.trainIndices) && isSorted(split.validationIndices));
  const all = [...split.trainIndices, ...split.validationIndices].sort((a, b) => a - b);
  assert.deepEqual(all, [...Array(total).keys()]);

  const perClass = classCounts(labels, split.validationIndices, 5);
  const sizes = classCounts(labels, Int32Array.from(labels.keys()), 5);
  perClass.forEach((count, c) => {
    // Largest-remainder rounding keeps each class within one example of its exact share.
    assert.ok(Math.abs(count - (101 * (sizes[c] ?? 0)) / total) < 1, `class ${c}: ${count}`);
  });

  assert.deepEqual(splitTrainValidation(labels, 101, 11), split);
  assert.notDeepEqual(splitTrainValidation(labels, 101, 12).validationIndices, split.validationIndices);
  assert.throws(() => splitTrainValidation(labels, 0, 1), SplitError);
  assert.throws(() => splitTrainValidation(labels, total, 1), SplitError);
  assert.throws(() => splitTrainValidation(labels, 2.5, 1), SplitError);
});

test('stratifiedSubsets are nested, exact, proportional and cover every class', () => {
  const labels = imbalancedLabels(10);
  const { trainIndices: pool } = splitTrainValidation(labels, 200, 1);
  const counts = [pool.length, countForFraction(pool.length, 0.1), 10, 3, countForFraction(pool.length, 0.5)];
  const subsets = stratifiedSubsets(labels, pool, counts, 21);
  const inPool = new Set(pool);
  const poolSizes = classCounts(labels, pool, 10);

  subsets.forEach((subset, at) => {
    const count = counts[at] ?? 0;
    assert.equal(subset.length, count);
    assert.ok(isSorted(subset));
    assert.ok(subset.every((index) => inPool.has(index)));
    const perClass = classCounts(labels, subset, 10);
    if (count >= 10)
      assert.ok(
        perClass.every((classCount) => classCount >= 1),
        `count ${count}: ${perClass}`,
      );
    else
      assert.ok(
        perClass.every((classCount) => classCount <= 1),
        `count ${count}: ${perClass}`,
      );
    if (count >= 100) {
      perClass.forEach((classCount, c) => {
        assert.ok(Math.abs(classCount - (count * (poolSizes[c] ?? 0)) / pool.length) < 1, `count ${count} class ${c}`);
      });
    }
  });
  const bySize = [...subsets].sort((a, b) => a.length - b.length);
  for (let at = 1; at < bySize.length; at += 1) {
    const larger = new Set(bySize[at]);
    assert.ok(
      bySize[at - 1]?.every((index) => larger.has(index)),
      'subsets must be nested',
    );
  }
  assert.deepEqual(subsets[0], pool);
  assert.deepEqual(stratifiedSubsets(labels, pool, counts, 21), subsets);
  assert.notDeepEqual(stratifiedSubsets(labels, pool, counts, 22)[1], subsets[1]);
});

test('stratifiedSubsets stay nested and exact for many random class mixes and sizes', () => {
  const random = new Random(2024);
  for (let round = 0; round < 200; round += 1) {
    const classes = 2 + random.integer(6);
    const labels = Uint8Array.from({ length: 20 + random.integer(200) }, () =>
      // Squaring skews the mix so some classes are rare, which is where rounding goes wrong.
      Math.floor(classes * random.next() ** 2),
    );
    const pool = Int32Array.from(labels.keys());
    // A run of consecutive sizes, where rounding paradoxes show up, plus a few random ones.
    const start = 1 + random.integer(labels.length - 8);
    const counts = [
      ...Array.from({ length: 8 }, (_, step) => start + step),
      ...Array.from({ length: 1 + random.integer(4) }, () => 1 + random.integer(labels.length)),
    ];
    const subsets = stratifiedSubsets(labels, pool, counts, round);
    const ordered = subsets.map((subset, at) => ({ subset, count: counts[at] ?? 0 })).sort((a, b) => a.count - b.count);
    ordered.forEach(({ subset, count }, at) => {
      assert.equal(subset.length, count, `round ${round}`);
      const previous = ordered[at - 1];
      if (previous !== undefined) {
        const members = new Set(subset);
        assert.ok(
          previous.subset.every((index) => members.has(index)),
          `round ${round}: not nested`,
        );
      }
    });
  }
});

test('stratifiedSubsets keeps nesting where plain largest remainder hits the Alabama paradox', () => {
  // Classes of 2, 5 and 5 examples. Plain largest remainder gives 8 -> [2, 3, 3] (shares 1.33, 3.33,
  // 3.33, tie to the lowest class) but 9 -> [1, 4, 4] (shares 1.5, 3.75, 3.75): class 0 would shrink.
  const labels = Uint8Array.of(0, 0, 1, 1, 1, 1, 1, 2, 2, 2, 2, 2);
  const pool = Int32Array.from(labels.keys());
  const [eight, nine] = stratifiedSubsets(labels, pool, [8, 9], 5);
  assert.ok(eight && nine);
  assert.deepEqual(classCounts(labels, eight, 3), [2, 3, 3]);
  assert.deepEqual(classCounts(labels, nine, 3), [2, 4, 3]);
  const members = new Set(nine);
  assert.ok(eight.every((index) => members.has(index)));
});

test('subset and fraction helpers refuse impossible requests', () => {
  const labels = imbalancedLabels(3);
  const pool = Int32Array.of(0, 1, 2, 3, 4);
  assert.throws(() => stratifiedSubsets(labels, pool, [6], 1), /from 1 to 5/);
  assert.throws(() => stratifiedSubsets(labels, pool, [0], 1), SplitError);
  assert.throws(() => stratifiedSubsets(labels, Int32Array.of(0, 0), [1], 1), /twice/);
  assert.throws(() => stratifiedSubsets(labels, Int32Array.of(labels.length), [1], 1), /outside/);
  assert.equal(countForFraction(54_000, 0.1), 5400);
  assert.equal(countForFraction(54_000, 1), 54_000);
  assert.equal(countForFraction(5, 0.01), 1);
  assert.throws(() => countForFraction(100, 0), SplitError);
  assert.throws(() => countForFraction(100, 1.1), SplitError);
});

test('subsetImageSet copies the chosen images and labels in order', () => {
  const set: ImageSet = {
    images: Float32Array.from({ length: 3 * 4 }, (_, index) => index),
    labels: Uint8Array.of(7, 8, 9),
    count: 3,
    height: 2,
    width: 2,
    classes: 10,
  };
  const subset = subsetImageSet(set, [2, 0]);
  assert.deepEqual([...subset.images], [8, 9, 10, 11, 0, 1, 2, 3]);
  assert.deepEqual([...subset.labels], [9, 7]);
  assert.equal(subset.count, 2);
  assert.throws(() => subsetImageSet(set, [3]), RangeError);
});

test('subsetImageSet keeps bytes as bytes, returns the whole set uncopied, and copies into shared memory', () => {
  const set: ImageSet = {
    images: Uint8Array.from({ length: 3 * 4 }, (_, index) => 20 * index),
    labels: Uint8Array.of(7, 8, 9),
    count: 3,
    height: 2,
    width: 2,
    classes: 10,
  };
  const subset = subsetImageSet(set, [2, 0]);
  assert.ok(subset.images instanceof Uint8Array);
  assert.deepEqual([...subset.images], [160, 180, 200, 220, 0, 20, 40, 60]);
  assert.equal(subsetImageSet(set, [0, 1, 2]), set, 'the whole set in order is the set itself');
  const shared = subsetImageSet(set, [0, 1, 2], 'shared');
  assert.ok(shared.images.buffer instanceof SharedArrayBuffer && shared.labels.buffer instanceof SharedArrayBuffer);
  assert.deepEqual([...shared.images], [...set.images]);
  assert.equal(subsetImageSet(shared, [0, 1, 2], 'shared'), shared, 'already shared: not copied again');
});

test('floatPixels and gatherImages read every byte as the float32 of byte / 255, and floats as they are', () => {
  const bytes = Uint8Array.from({ length: 256 }, (_, byte) => byte);
  const floats = floatPixels(bytes);
  for (let byte = 0; byte < 256; byte += 1) {
    const scaled = new Float32Array(1);
    scaled[0] = byte / 255;
    assert.ok(Object.is(floats[byte], scaled[0]), `byte ${byte}`);
  }
  assert.deepEqual([...floatPixels(bytes, 2, 4)], [...floats.subarray(2, 4)]);
  // Four "images" of 64 pixels: the rows gathered from the bytes are the rows gathered from their floats.
  const indices = [3, 0, 2];
  assert.deepEqual(gatherImages(bytes, 64, indices), gatherImages(floats, 64, indices));
  assert.equal(floatPixels(floats).buffer, floats.buffer, 'floats come back as they are, not copied');
});

test('warpImage: the identity map, whole-pixel shifts and a half turn move pixels exactly', () => {
  const [height, width] = [5, 7];
  const source = Float32Array.from({ length: height * width }, (_, index) => index + 1);
  const target = new Float32Array(source.length);
  warpImage(source, target, height, width, { rotationRadians: 0, scale: 1, shiftX: 0, shiftY: 0 });
  assert.deepEqual(target, source);
  warpImage(source, target, height, width, { rotationRadians: 0, scale: 1, shiftX: 2, shiftY: -1 });
  for (let y = 0; y < height; y += 1) {
    for (let x = 0; x < width; x += 1) {
      const [sourceY, sourceX] = [y + 1, x - 2];
      const expected = sourceY < height && sourceX >= 0 ? source[sourceY * width + sourceX] : 0;
      assert.equal(target[y * width + x], expected, `pixel (${y}, ${x})`);
    }
  }
  warpImage(source, target, height, width, { rotationRadians: Math.PI, scale: 1, shiftX: 0, shiftY: 0 });
  target.forEach((value, index) =>
    assert.ok(Math.abs(value - (source[source.length - 1 - index] as number)) < 1e-4, `pixel ${index}`),
  );
});

test('warpImage: a half-pixel shift averages neighbours, and zooming in keeps the centre', () => {
  const source = new Float32Array(9);
  source[4] = 1;
  const target = new Float32Array(9);
  warpImage(source, target, 3, 3, { rotationRadians: 0, scale: 1, shiftX: 0.5, shiftY: 0 });
  assert.deepEqual(Array.from(target), [0, 0, 0, 0, 0.5, 0.5, 0, 0, 0]);
  warpImage(source, target, 3, 3, { rotationRadians: 0, scale: 2, shiftX: 0, shiftY: 0 });
  assert.equal(target[4], 1);
  assert.ok(Math.abs((target[1] as number) - 0.5) < 1e-6, `edge ${target[1]}`);
});

test('augmentImages: seeded, per-image maps, ink roughly kept, and the zero spec returns the input', () => {
  const images = new Float32Array(4 * 28 * 28);
  for (let n = 0; n < 4; n += 1) for (let y = 8; y < 20; y += 1) images[n * 784 + y * 28 + 12 + n] = 1;
  const spec = { maxShift: 2, maxRotationDegrees: 12, maxScale: 0.1 };
  const first = augmentImages(images, 4, 28, 28, spec, new Random(3));
  assert.deepEqual(first, augmentImages(images, 4, 28, 28, spec, new Random(3)));
  assert.notDeepEqual(first, augmentImages(images, 4, 28, 28, spec, new Random(4)));
  for (let n = 0; n < 4; n += 1) {
    const ink = (array: Float32Array) => array.subarray(n * 784, (n + 1) * 784).reduce((sum, value) => sum + value, 0);
    assert.ok(Math.abs(ink(first) / ink(images) - 1) < 0.25, `image ${n}: ink ${ink(first)} vs ${ink(images)}`);
  }
  assert.equal(augmentImages(images, 4, 28, 28, noAugmentation, new Random(3)), images);
});

test('warpImage equals its plain reference bit for bit on random maps', () => {
  const random = new Random(11);
  const [height, width] = [28, 28];
  const source = Float32Array.from({ length: height * width }, () => (random.next() < 0.3 ? random.next() : 0));
  const fast = new Float32Array(source.length),
    plain = new Float32Array(source.length);
  for (let trial = 0; trial < 200; trial += 1) {
    const map = {
      rotationRadians: (random.next() * 2 - 1) * (trial < 100 ? 0.3 : Math.PI),
      scale: 0.5 + random.next(),
      shiftX: (random.next() * 2 - 1) * (trial % 2 === 0 ? 3 : 30),
      shiftY: (random.next() * 2 - 1) * 3,
    };
    warpImage(source, fast, height, width, map);
    warpImageReference(source, plain, height, width, map);
    assert.deepEqual(fast, plain, `trial ${trial}: ${JSON.stringify(map)}`);
  }
});
