// A cell as a self-contained job: everything a worker on another machine needs, by value or by content hash. The
// pretrained autoencoder (its encoder, which frozen and fine-tuned cells start from, and its decoder, which every
// cell's "denoise first" robustness scores need) and the label subsets travel as blobs named by their SHA-256, stored
// once in the database
// however many cells share them; the dataset does not travel at all: the worker reads its own copy and checks it
// against the hash the job names. The job's id is derived from all of it, so the same cell is enqueued only once.
import { createHash } from 'node:crypto';

import { io } from '@tensorflow/tfjs-core';
import type { LayersModel } from '@tensorflow/tfjs-layers';
import { loadLayersModel } from '@tensorflow/tfjs-layers';

import type { ExperimentConfig } from '../config.js';
import { floatPixels } from '../data/dataset.js';
import type { ImageSet } from '../data/dataset.js';
import type { PreparedData } from '../data/prepare.js';
import type { CellJob } from '../study/jobs.js';
import { cellName } from '../study/jobs.js';

/**
 * Bumped when the payload's meaning changes; a worker refuses payloads of another format. 2: the decoder, the stage and
 * extra fields.
 */
export const payloadFormat = 2;

/** What a queued job holds (as JSON in the database). */
export interface CellPayload {
  format: number;
  /**
   * The grid and the cell, e.g. `sweep finetuned-300-seed2`, `ablation plain-frozen-100-seed1`: for people, and for the
   * worker's messages.
   */
  name: string;
  cell: Pick<CellJob, 'encoder' | 'labels' | 'seed' | 'stage' | 'extra'>;
  budget: CellJob['budget'];
  /** The resolved configuration of the run (its data section says which dataset; its seed, how it was split). */
  config: ExperimentConfig;
  /** SHA-256 of the prepared data's pixels, labels and split, which the worker's own copy must match. */
  dataHash: string;
  /**
   * The pretrained autoencoder's encoder and decoder (every cell has both: scratch cells denoise with it), and the
   * subsets.
   */
  blobs: { encoder: string; decoder: string; indices: string; validationIndices: string | null };
}

const sha256 = (...parts: (string | Uint8Array)[]) => {
  const hash = createHash('sha256');
  for (const part of parts) hash.update(part);
  return hash.digest('hex');
};

const bytesOf = (array: Float32Array | Uint8Array | Int32Array) =>
  new Uint8Array(array.buffer, array.byteOffset, array.byteLength);

/**
 * A fingerprint of the prepared data: every split's images and labels, their shapes, and where the training images came
 * from.
 */
export function dataFingerprint(data: PreparedData): string {
  const sets: [string, ImageSet][] = [
    ['train', data.train],
    ['validation', data.validation],
    ['test', data.test],
  ];
  const hash = createHash('sha256');
  for (const [name, set] of sets) {
    hash.update(`${name}:${set.count}x${set.height}x${set.width}:${set.classes};`);
    // The pixels as floats, whether the set holds bytes or floats, so that the same data has one fingerprint; a few
    // thousand images at a time.
    const chunk = 4096 * set.height * set.width;
    for (let start = 0; start < set.images.length; start += chunk)
      hash.update(bytesOf(floatPixels(set.images, start, Math.min(set.images.length, start + chunk))));
    hash.update(bytesOf(set.labels));
  }
  hash.update(bytesOf(data.trainSourceIndices));
  return hash.digest('hex');
}

export interface Blob {
  hash: string;
  bytes: Uint8Array;
}

export const blobOf = (bytes: Uint8Array): Blob => ({ hash: sha256(bytes), bytes });

/** Indices as little-endian int32 bytes. */
export const indicesBlob = (indices: Int32Array): Blob => blobOf(new Uint8Array(bytesOf(indices)));

export function indicesFromBlob(bytes: Uint8Array): Int32Array {
  const copy = new Uint8Array(bytes); // aligned
  return new Int32Array(copy.buffer, 0, copy.byteLength / 4);
}

/** A model as bytes: a 4-byte header length, the topology and weight specs as JSON, then the weights. */
export async function modelBlob(model: LayersModel): Promise<Blob> {
  let artifacts: io.ModelArtifacts | undefined;
  await model.save(
    io.withSaveHandler(async (saved) => {
      artifacts = saved;
      return { modelArtifactsInfo: { dateSaved: new Date(0), modelTopologyType: 'JSON' } };
    }),
  );
  if (artifacts?.weightData === undefined) throw new Error('modelBlob: the model saved no weights');
  const header = new TextEncoder().encode(
    JSON.stringify({ modelTopology: artifacts.modelTopology, weightSpecs: artifacts.weightSpecs }),
  );
  const weights = new Uint8Array(io.concatenateArrayBuffers(artifacts.weightData as ArrayBuffer | ArrayBuffer[]));
  const bytes = new Uint8Array(4 + header.byteLength + weights.byteLength);
  new DataView(bytes.buffer).setUint32(0, header.byteLength, true);
  bytes.set(header, 4);
  bytes.set(weights, 4 + header.byteLength);
  return blobOf(bytes);
}

export async function modelFromBlob(bytes: Uint8Array): Promise<LayersModel> {
  const headerLength = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(0, true);
  const header = JSON.parse(new TextDecoder().decode(bytes.subarray(4, 4 + headerLength))) as Pick<
    io.ModelArtifacts,
    'modelTopology' | 'weightSpecs'
  >;
  const weightData = bytes.slice(4 + headerLength).buffer;
  return loadLayersModel(io.fromMemory({ ...header, weightData }));
}

/**
 * The job id: a UUID made of the SHA-256 of the cell, its budget and every input (the config but for the backend
 * settings, which do not change results), so that enqueueing a cell twice cannot create a second job.
 */
export function jobId(payload: CellPayload): string {
  const hex = sha256(JSON.stringify({ ...payload, config: { ...payload.config, backend: null } }));
  // Shaped as a version-5-style UUID (name-based), which is what pg-boss's uuid column takes.
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-5${hex.slice(13, 16)}-${((parseInt(hex.slice(16, 18), 16) & 0x3f) | 0x80).toString(16)}${hex.slice(18, 20)}-${hex.slice(20, 32)}`;
}

export function payloadFor(
  grid: string,
  job: CellJob,
  config: ExperimentConfig,
  dataHash: string,
  blobs: CellPayload['blobs'],
): CellPayload {
  return {
    format: payloadFormat,
    name: `${grid} ${[...Object.values(job.extra ?? {}), cellName(job)].join('-')}`,
    cell: {
      encoder: job.encoder,
      labels: job.labels,
      seed: job.seed,
      stage: job.stage,
      ...(job.extra ? { extra: job.extra } : {}),
    },
    budget: job.budget,
    config,
    dataHash,
    blobs,
  };
}
