// Small datasets in MNIST's layout, made by the tests that need one: the IDX encoding, and a three-class toy set.
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

/** An IDX file: magic [0, 0, dtype, rank], big-endian uint32 dims, then the raw data (dtype 0x08: unsigned bytes). */
export function encodeIdx(dims: readonly number[], data: Uint8Array, dtype = 0x08): Uint8Array {
  const bytes = new Uint8Array(4 + 4 * dims.length + data.length);
  const view = new DataView(bytes.buffer);
  bytes[2] = dtype;
  bytes[3] = dims.length;
  dims.forEach((size, axis) => view.setUint32(4 + 4 * axis, size, false));
  bytes.set(data, 4 + 4 * dims.length);
  return bytes;
}

export const toyClassNames = ['row', 'column', 'diagonal'];

/**
 * A small three-class dataset in MNIST's layout, `side`×`side` (28 unless given): a bright row, column or diagonal
 * stroke at a random place on faint noise (a seeded linear congruential generator, so every run of a test sees the
 * same images).
 */
export async function writeToyDataset(folder: string, trainCount: number, testCount: number, side = 28): Promise<void> {
  let state = 12345;
  const random = () => (state = (state * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  const images = (count: number) => {
    const labels = new Uint8Array(count);
    const pixels = new Uint8Array(count * side * side);
    for (let image = 0; image < count; image += 1) {
      const label = image % 3;
      labels[image] = label;
      const offset = Math.floor(side / 4) + Math.floor(random() * Math.ceil(side / 2));
      for (let y = 0; y < side; y += 1) {
        for (let x = 0; x < side; x += 1) {
          const stroke =
            label === 0 ? Math.abs(y - offset) < 2 : label === 1 ? Math.abs(x - offset) < 2 : Math.abs(x - y) < 2;
          pixels[image * side * side + y * side + x] = stroke ? 255 : Math.floor(random() * 40);
        }
      }
    }
    return { labels, pixels };
  };
  await mkdir(folder, { recursive: true });
  const train = images(trainCount);
  const test = images(testCount);
  await writeFile(join(folder, 'train-images-idx3-ubyte'), encodeIdx([trainCount, side, side], train.pixels));
  await writeFile(join(folder, 'train-labels-idx1-ubyte'), encodeIdx([trainCount], train.labels));
  await writeFile(join(folder, 't10k-images-idx3-ubyte'), encodeIdx([testCount, side, side], test.pixels));
  await writeFile(join(folder, 't10k-labels-idx1-ubyte'), encodeIdx([testCount], test.labels));
}
