import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseIdx, readIdxFile, IdxFormatError } from '../src/data/idx.js';
import { floatPixels, loadDataset, DatasetError } from '../src/data/dataset.js';
import { Random } from '../src/data/random.js';
import { encodeIdx } from './support/toy-dataset.js';

const sequence = (length: number): Uint8Array => Uint8Array.from({ length }, (_, index) => (index * 37 + 11) % 256);

let temporary = '';
before(async () => {
  temporary = await mkdtemp(join(tmpdir(), 'dae-idx-test-'));
});
after(async () => {
  await rm(temporary, { recursive: true, force: true });
});

test('IDX files written to disk read back with the same dims and bytes', async () => {
  const cases: { dims: number[]; name: string }[] = [
    { dims: [7], name: 'labels-idx1-ubyte' },
    { dims: [3, 4, 5], name: 'images-idx3-ubyte' },
    { dims: [2, 3], name: 'matrix-idx2-ubyte' },
    { dims: [2, 1, 3, 2], name: 'tensor-idx4-ubyte' },
  ];
  for (const { dims, name } of cases) {
    const data = sequence(dims.reduce((product, size) => product * size, 1));
    const path = join(temporary, name);
    await writeFile(path, encodeIdx(dims, data));
    const parsed = await readIdxFile(path);
    assert.deepEqual(parsed.dims, dims);
    assert.deepEqual([...parsed.data], [...data]);
  }
});

test('a truncated file names itself, the declared shape and what to do, on one line', () => {
  const bytes = encodeIdx([60000, 28, 28], new Uint8Array(1000));
  assert.throws(
    () => parseIdx(bytes, 'train-images-idx3-ubyte'),
    (error: unknown) => {
      assert.ok(error instanceof IdxFormatError);
      assert.equal(error.file, 'train-images-idx3-ubyte');
      assert.match(
        error.message,
        /^train-images-idx3-ubyte: declared 60000x28x28 = 47040000 bytes of data but the file holds 1000 \(truncated\?\) — re-download/,
      );
      assert.ok(!error.message.includes('\n'));
      assert.ok(error.hint.length > 0);
      return true;
    },
  );
});

test('unsupported element types, bad magic bytes, gzip and bad ranks are refused with specific messages', () => {
  assert.throws(() => parseIdx(encodeIdx([2], new Uint8Array(8), 0x0d), 'f'), /holds float32 data \(type code 0x0d\)/);
  assert.throws(() => parseIdx(encodeIdx([2], new Uint8Array(2), 0x07), 'f'), /unknown IDX data type code 0x07/);
  assert.throws(() => parseIdx(Uint8Array.of(0x1f, 0x8b, 8, 0, 0), 'f.gz'), /gzip-compressed.*gunzip/);
  assert.throws(() => parseIdx(Uint8Array.of(0, 1, 8, 1, 0, 0, 0, 0), 'f'), /magic number 0x00010801/);
  assert.throws(() => parseIdx(Uint8Array.of(0, 0, 8, 0), 'f'), /declares 0 dimensions/);
  assert.throws(() => parseIdx(encodeIdx([1, 1, 1, 1, 1], new Uint8Array(1)), 'f'), /declares 5 dimensions/);
  assert.throws(() => parseIdx(encodeIdx([3], new Uint8Array(5)), 'f'), /2 more than declared/);
});

test('declared sizes whose product wraps around in 32-bit or double arithmetic never pass', () => {
  // 65536 x 65539 = 2^32 + 196608: a uint32 product would wrap to exactly the 196608 bytes present.
  assert.throws(() => parseIdx(encodeIdx([65536, 65539], new Uint8Array(196608)), 'f'), IdxFormatError);
  // 2^31 x 2 x 3 = 3 x 2^32 wraps to 0 in uint32 and would "match" an empty data section.
  assert.throws(() => parseIdx(encodeIdx([2 ** 31, 2, 3], new Uint8Array(0)), 'f'), IdxFormatError);
  // (2^32-1)^4 is far past 2^53, where doubles stop counting exactly.
  const maximum = 2 ** 32 - 1;
  assert.throws(
    () => parseIdx(encodeIdx([maximum, maximum, maximum, maximum], new Uint8Array(16)), 'f'),
    IdxFormatError,
  );
  // A zero dimension makes an empty array, which is well-formed.
  assert.deepEqual(parseIdx(encodeIdx([maximum, 0], new Uint8Array(0)), 'f').dims, [maximum, 0]);
});

/** What every fuzz case must satisfy: a consistent parse, or an IdxFormatError naming the file. */
function checkParse(bytes: Uint8Array, caseNumber: number): 'parsed' | 'refused' {
  const source = `case-${caseNumber}`;
  let parsed;
  try {
    parsed = parseIdx(bytes, source);
  } catch (error) {
    assert.ok(error instanceof IdxFormatError, `case ${caseNumber}: unexpected ${String(error)}`);
    assert.equal(error.file, source);
    assert.ok(error.message.startsWith(`${source}: `) && !error.message.includes('\n'), `case ${caseNumber}`);
    return 'refused';
  }
  const headerLength = 4 + 4 * parsed.dims.length;
  assert.equal(bytes[2], 0x08, `case ${caseNumber}: accepted dtype ${bytes[2]}`);
  assert.ok(parsed.dims.length >= 1 && parsed.dims.length <= 4, `case ${caseNumber}`);
  assert.equal(
    parsed.dims.reduce((product, size) => product * size, 1),
    parsed.data.length,
    `case ${caseNumber}`,
  );
  assert.equal(parsed.data.length, bytes.length - headerLength, `case ${caseNumber}`);
  // A view into the input: parsing allocated nothing from the declared sizes.
  assert.equal(parsed.data.buffer, bytes.buffer, `case ${caseNumber}`);
  assert.equal(parsed.data.byteOffset, bytes.byteOffset + headerLength, `case ${caseNumber}`);
  return 'parsed';
}

// The work is bounded by the case count (every truncation of two small files, then 12,000 inputs of at most a few
// hundred bytes), not by a clock: a parser that looped over or allocated a huge declared size would show up as a
// RangeError or a failed view check here, or as a test that does not end.
test('fuzz: 12,000 seeded malformed and well-formed inputs either parse consistently or throw IdxFormatError', () => {
  const random = new Random(20240611);
  const outcomes = { parsed: 0, refused: 0 };
  const record = (bytes: Uint8Array, caseNumber: number): void => {
    outcomes[checkParse(bytes, caseNumber)] += 1;
  };
  let caseNumber = 0;

  // Every truncation of two valid files: inside the magic, at each header boundary, inside the data.
  for (const dims of [[3, 4, 5], [9]]) {
    const whole = encodeIdx(dims, sequence(dims.reduce((product, size) => product * size, 1)));
    for (let length = 0; length <= whole.length; length += 1) {
      const outcome = checkParse(whole.subarray(0, length), caseNumber);
      assert.equal(outcome, length === whole.length ? 'parsed' : 'refused', `truncated to ${length}`);
      caseNumber += 1;
    }
  }

  const randomBytes = (length: number): Uint8Array => Uint8Array.from({ length }, () => random.integer(256));
  const smallDims = (): number[] => Array.from({ length: 1 + random.integer(4) }, () => random.integer(5));
  const product = (dims: readonly number[]): number => dims.reduce((total, size) => total * size, 1);
  const strategies: (() => Uint8Array)[] = [
    // Pure noise, mostly rejected at the magic number.
    () => randomBytes(random.integer(40)),
    // Noise behind a plausible magic, so the rank and size checks see random dims.
    () => {
      const bytes = randomBytes(4 + random.integer(40));
      bytes[0] = 0;
      bytes[1] = 0;
      bytes[2] = 0x08;
      bytes[3] = random.integer(6);
      return bytes;
    },
    // A valid file, sometimes with a byte or two of the header flipped.
    () => {
      const dims = smallDims();
      const bytes = encodeIdx(dims, randomBytes(product(dims)));
      for (let flips = random.integer(3); flips > 0; flips -= 1) {
        const position = random.integer(Math.min(bytes.length, 4 + 4 * dims.length));
        bytes[position] = random.integer(256);
      }
      return bytes;
    },
    // A valid file cut short or padded by a few bytes.
    () => {
      const dims = smallDims();
      const bytes = encodeIdx(dims, randomBytes(product(dims) + random.integer(4)));
      return bytes.subarray(0, Math.max(0, bytes.length - random.integer(8)));
    },
    // Huge declared dimensions over little data: must be refused without allocating them.
    () => {
      const dims = Array.from({ length: 1 + random.integer(4) }, () =>
        random.integer(2) === 0 ? random.uint32() : 2 ** 32 - 1 - random.integer(3),
      );
      return encodeIdx(dims, randomBytes(random.integer(64)));
    },
    // Wrong element type or wrong magic bytes on an otherwise valid file.
    () => {
      const dims = smallDims();
      const bytes = encodeIdx(dims, randomBytes(product(dims)), 0x08 + 1 + random.integer(7));
      if (random.integer(2) === 0) bytes[random.integer(2)] = 1 + random.integer(255);
      return bytes;
    },
  ];
  for (let round = 0; round < 12_000; round += 1) {
    const strategy = strategies[round % strategies.length];
    assert.ok(strategy);
    record(strategy(), caseNumber);
    caseNumber += 1;
  }
  // Both outcomes must actually occur, or the fuzzer is not exercising the parser.
  assert.ok(outcomes.parsed > 1000 && outcomes.refused > 5000, JSON.stringify(outcomes));
});

/** Writes an MNIST-layout folder; `overrides` replaces individual files' bytes (undefined = omit). */
async function writeDatasetFolder(
  name: string,
  overrides: Partial<Record<string, Uint8Array | undefined>> = {},
): Promise<string> {
  const folder = join(temporary, name);
  await mkdir(folder, { recursive: true });
  const files: Record<string, Uint8Array | undefined> = {
    'train-images-idx3-ubyte': encodeIdx([6, 7, 7], sequence(6 * 49)),
    'train-labels-idx1-ubyte': encodeIdx([6], Uint8Array.of(0, 1, 2, 0, 1, 2)),
    't10k-images-idx3-ubyte': encodeIdx([3, 7, 7], sequence(3 * 49)),
    't10k-labels-idx1-ubyte': encodeIdx([3], Uint8Array.of(2, 1, 0)),
    ...overrides,
  };
  for (const [file, bytes] of Object.entries(files)) {
    if (bytes !== undefined) await writeFile(join(folder, file), bytes);
  }
  return folder;
}

test('a custom folder loads, and the dotted file spelling is accepted', async () => {
  const plain = await loadDataset({ directory: await writeDatasetFolder('plain') });
  assert.equal(plain.name, 'plain');
  assert.deepEqual([plain.train.count, plain.test.count, plain.train.height, plain.train.width], [6, 3, 7, 7]);
  assert.equal(plain.train.classes, 3);
  // The file's bytes, each read as the float byte / 255.
  assert.ok(plain.train.images instanceof Uint8Array);
  assert.equal(plain.train.images[1], 48);
  assert.equal(floatPixels(plain.train.images)[1], Math.fround(48 / 255));
  assert.deepEqual([...plain.test.labels], [2, 1, 0]);

  const dotted = await writeDatasetFolder('dotted', {
    'train-images-idx3-ubyte': undefined,
    'train-images.idx3-ubyte': encodeIdx([6, 7, 7], sequence(6 * 49)),
  });
  assert.equal((await loadDataset({ directory: dotted })).train.count, 6);
});

test('folders whose files are missing or disagree raise DatasetError or IdxFormatError', async () => {
  const cases: {
    name: string;
    overrides: Partial<Record<string, Uint8Array | undefined>>;
    expected: RegExp;
    type: typeof DatasetError | typeof IdxFormatError;
  }[] = [
    {
      name: 'missing',
      overrides: { 't10k-labels-idx1-ubyte': undefined },
      expected: /missing test labels \(expected t10k-labels-idx1-ubyte/,
      type: DatasetError,
    },
    {
      name: 'gzipped',
      overrides: { 't10k-labels-idx1-ubyte': undefined, 't10k-labels-idx1-ubyte.gz': Uint8Array.of(0x1f, 0x8b) },
      expected: /found t10k-labels-idx1-ubyte\.gz instead — decompress it first/,
      type: DatasetError,
    },
    {
      name: 'count-mismatch',
      overrides: { 'train-labels-idx1-ubyte': encodeIdx([5], sequence(5)) },
      expected: /holds 5 labels but train-images-idx3-ubyte holds 6 images/,
      type: DatasetError,
    },
    {
      name: 'rank',
      overrides: { 'train-images-idx3-ubyte': encodeIdx([6, 49], sequence(6 * 49)) },
      expected: /has 2 dimensions \(6x49\); expected 3/,
      type: DatasetError,
    },
    {
      name: 'sizes',
      overrides: { 't10k-images-idx3-ubyte': encodeIdx([3, 7, 8], sequence(3 * 56)) },
      expected: /test images are 7x8 but training images are 7x7/,
      type: DatasetError,
    },
    {
      name: 'classes',
      overrides: { 't10k-labels-idx1-ubyte': encodeIdx([3], Uint8Array.of(0, 3, 1)) },
      expected: /test label 3 is not among the 3 classes/,
      type: DatasetError,
    },
    {
      name: 'truncated',
      overrides: { 't10k-images-idx3-ubyte': encodeIdx([3, 7, 7], sequence(100)) },
      expected: /declared 3x7x7 = 147 bytes of data but the file holds 100/,
      type: IdxFormatError,
    },
    {
      name: 'swapped',
      overrides: { 'train-labels-idx1-ubyte': encodeIdx([6, 7, 7], sequence(6 * 49)) },
      expected: /label file has 3 dimensions/,
      type: DatasetError,
    },
  ];
  for (const { name, overrides, expected, type } of cases) {
    const folder = await writeDatasetFolder(name, overrides);
    await assert.rejects(loadDataset({ directory: folder }), (error: unknown) => {
      assert.ok(error instanceof type, `${name}: got ${String(error)}`);
      assert.match(error.message, expected, name);
      assert.ok(!error.message.includes('\n'), name);
      return true;
    });
  }
  await assert.rejects(loadDataset({ directory: join(temporary, 'does-not-exist') }), /data folder does not exist/);
});

test('fuzz: random damage to a dataset folder only ever raises DatasetError or IdxFormatError', async () => {
  const random = new Random(7);
  const names = [
    'train-images-idx3-ubyte',
    'train-labels-idx1-ubyte',
    't10k-images-idx3-ubyte',
    't10k-labels-idx1-ubyte',
  ];
  for (let round = 0; round < 24; round += 1) {
    const victim = names[random.integer(names.length)] ?? '';
    const dims = Array.from({ length: 1 + random.integer(3) }, () => 1 + random.integer(8));
    const dataLength = dims.reduce((product, size) => product * size, 1) + random.integer(3) - 1;
    const folder = await writeDatasetFolder(`damaged-${round}`, {
      [victim]: encodeIdx(
        dims,
        Uint8Array.from({ length: Math.max(0, dataLength) }, () => random.integer(256)),
      ),
    });
    try {
      const dataset = await loadDataset({ directory: folder });
      assert.equal(dataset.train.images.length, dataset.train.count * dataset.train.height * dataset.train.width);
      assert.equal(dataset.test.labels.length, dataset.test.count);
    } catch (error) {
      assert.ok(error instanceof DatasetError || error instanceof IdxFormatError, `round ${round}: ${String(error)}`);
    }
  }
});

test('the bundled MNIST loads with the canonical sizes and training class counts', async () => {
  const mnist = await loadDataset();
  assert.equal(mnist.name, 'MNIST');
  assert.deepEqual(
    [mnist.train.count, mnist.test.count, mnist.train.height, mnist.train.width, mnist.train.classes],
    [60000, 10000, 28, 28, 10],
  );
  assert.equal(mnist.train.images.length, 60000 * 28 * 28);
  const counts = new Array<number>(10).fill(0);
  for (const label of mnist.train.labels) counts[label] = (counts[label] ?? 0) + 1;
  assert.deepEqual(counts, [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]);
  let minimum = Infinity;
  let maximum = -Infinity;
  for (const pixel of floatPixels(mnist.test.images)) {
    if (pixel < minimum) minimum = pixel;
    if (pixel > maximum) maximum = pixel;
  }
  assert.deepEqual([minimum, maximum], [0, 1]);
});
