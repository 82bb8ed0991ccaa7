// Reader for the IDX format the MNIST files use (http://yann.lecun.com/exdb/mnist/, "FILE FORMATS").
//
// Layout: a 4-byte magic number [0x00, 0x00, dtype, rank], then `rank` big-endian uint32 dimension
// sizes, then the data in row-major order. MNIST images are 0x00000803 (ubyte, rank 3:
// count x rows x columns) and labels 0x00000801 (ubyte, rank 1: count).
//
// Every declared size is checked against the bytes actually present before anything is used, so a
// corrupt or hostile header can make us throw IdxFormatError but never allocate from its numbers.

import { readFile } from 'node:fs/promises';

import { printable } from '../quote.js';

/** An IDX array of unsigned bytes. `data` is a view into the bytes that were parsed, not a copy. */
export interface IdxArray {
  dims: number[];
  data: Uint8Array;
}

const REDOWNLOAD_HINT = 're-download the file, or point --data at a folder with the four MNIST IDX files';

/** A file that is not a well-formed unsigned-byte IDX file. The message is one line naming the file. */
export class IdxFormatError extends Error {
  override readonly name = 'IdxFormatError';
  readonly file: string;
  /** What the user can do about it. */
  readonly hint: string;

  constructor(file: string, problem: string, hint: string = REDOWNLOAD_HINT) {
    super(`${printable(file)}: ${problem} — ${hint}`);
    this.file = file;
    this.hint = hint;
  }
}

const UNSIGNED_BYTE = 0x08;

// The other element types the format defines; we name them so the error says what the file holds.
const OTHER_DTYPES: ReadonlyMap<number, string> = new Map([
  [0x09, 'signed byte'],
  [0x0b, 'int16'],
  [0x0c, 'int32'],
  [0x0d, 'float32'],
  [0x0e, 'float64'],
]);

const MAGIC_BYTES = 4;
const DIMENSION_BYTES = 4;
const MAX_RANK = 4;

const hex = (value: number, digits: number): string => `0x${value.toString(16).padStart(digits, '0')}`;

/**
 * Parses an unsigned-byte IDX file held in memory. `source` names the file in error messages.
 * Throws IdxFormatError for anything malformed; never throws another error type for any input bytes.
 */
export function parseIdx(bytes: Uint8Array, source: string): IdxArray {
  if (bytes.length < MAGIC_BYTES) {
    throw new IdxFormatError(
      source,
      `file is ${bytes.length} bytes, too short to hold the 4-byte IDX magic number (empty or truncated?)`,
    );
  }
  // The length check above guarantees these four bytes exist; `?? 0` only satisfies the type checker.
  const zero0 = bytes[0] ?? 0;
  const zero1 = bytes[1] ?? 0;
  const dtype = bytes[2] ?? 0;
  const rank = bytes[3] ?? 0;
  if (zero0 !== 0 || zero1 !== 0) {
    const magic = hex(((zero0 << 24) | (zero1 << 16) | (dtype << 8) | rank) >>> 0, 8);
    // gzip streams start with 1f 8b: the most common way to get here is forgetting to decompress.
    const gzipped = zero0 === 0x1f && zero1 === 0x8b;
    throw new IdxFormatError(
      source,
      gzipped
        ? 'file is gzip-compressed, not a raw IDX file'
        : `magic number ${magic} does not start with two zero bytes, so this is not an IDX file`,
      gzipped ? 'decompress it first (gunzip)' : REDOWNLOAD_HINT,
    );
  }
  if (dtype !== UNSIGNED_BYTE) {
    const known = OTHER_DTYPES.get(dtype);
    throw new IdxFormatError(
      source,
      known === undefined
        ? `unknown IDX data type code ${hex(dtype, 2)} (the format defines 0x08, 0x09, 0x0b..0x0e)`
        : `holds ${known} data (type code ${hex(dtype, 2)}); only unsigned-byte (0x08) IDX files are supported`,
    );
  }
  if (rank < 1 || rank > MAX_RANK) {
    throw new IdxFormatError(source, `declares ${rank} dimensions; expected 1 to ${MAX_RANK}`);
  }
  const headerLength = MAGIC_BYTES + DIMENSION_BYTES * rank;
  if (bytes.length < headerLength) {
    throw new IdxFormatError(
      source,
      `file is ${bytes.length} bytes but its header alone needs ${headerLength} for ${rank} dimensions (truncated?)`,
    );
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const dims: number[] = [];
  for (let axis = 0; axis < rank; axis += 1) {
    dims.push(view.getUint32(MAGIC_BYTES + DIMENSION_BYTES * axis, false));
  }
  // BigInt because four uint32 sizes can multiply to 2^128, far past exact double arithmetic:
  // a wrapped or rounded product could otherwise match the real length by accident.
  const declared = dims.reduce((product, size) => product * BigInt(size), 1n);
  const actual = bytes.length - headerLength;
  if (declared !== BigInt(actual)) {
    const shape = dims.join('x');
    const problem =
      declared > BigInt(actual)
        ? `declared ${shape} = ${declared} bytes of data but the file holds ${actual} (truncated?)`
        : `declared ${shape} = ${declared} bytes of data but the file holds ${actual}, ${BigInt(actual) - declared} more than declared (trailing garbage or wrong header?)`;
    throw new IdxFormatError(source, problem);
  }
  return { dims, data: new Uint8Array(bytes.buffer, bytes.byteOffset + headerLength, actual) };
}

/**
 * Reads and parses an IDX file. File-system errors (missing file, permissions) propagate unchanged;
 * callers that know what the file should be (loadDataset) check for it first and explain.
 */
export async function readIdxFile(path: string): Promise<IdxArray> {
  const bytes = await readFile(path);
  return parseIdx(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength), path);
}
