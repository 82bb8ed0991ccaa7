// Saving and loading a LayersModel as a folder in the standard tfjs layers format, without tfjs-node:
//   <directory>/model.json   { modelTopology, weightsManifest: [{ paths: ['weights.bin'], weights }], format,
//                              generatedBy, convertedBy, userDefinedMetadata: { daePretrain: { formatVersion, ... } } }
//   <directory>/weights.bin  every weight as little-endian float32, in manifest order
// Any stock tfjs loader (tf.loadLayersModel over http, tfjs-node's file://) can read the folder; our own loader
// also checks the format version and that the weight bytes match the manifest before handing them to tfjs.
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import type { LayersModel } from '@tensorflow/tfjs-layers';

import { ensureDirectory, FileWriteError, writeFileAtomic, writeJsonAtomic } from './atomic.js';

import { printable } from '../quote.js';

export const modelFormatVersion = 1;
export const supportedModelFormatVersions: readonly number[] = [1];
export const modelJsonName = 'model.json';
export const weightsName = 'weights.bin';

const RESAVE_HINT = 're-run `dae pretrain`';
const NON_FINITE_HINT =
  'the training that saved it diverged, or the file is damaged; train it again in a new run folder (`dae experiment --out NEW_DIR`, with a lower --learning-rate if it diverged)';

export class ModelFileError extends Error {
  override readonly name = 'ModelFileError';
  readonly file: string;
  /** What the user can do about it. */
  readonly hint: string;

  constructor(file: string, problem: string, hint: string = RESAVE_HINT, options?: ErrorOptions) {
    super(`${printable(file)}: ${problem} — ${hint}`, options);
    this.file = file;
    this.hint = hint;
  }
}

/** What we store under userDefinedMetadata.daePretrain: the format version plus whatever the caller passed. */
export interface ModelMetadata {
  formatVersion: number;
  [key: string]: unknown;
}

/**
 * Saves `model` into `directory` (created if missing). weights.bin is written before model.json, each atomically,
 * and any old model.json is removed first: a folder that has a model.json is always complete.
 */
export async function saveModel(
  model: LayersModel,
  directory: string,
  metadata: Record<string, unknown> = {},
): Promise<void> {
  let captured: tf.io.ModelArtifacts | undefined;
  await model.save(
    tf.io.withSaveHandler(async (artifacts) => {
      captured = artifacts;
      return { modelArtifactsInfo: tf.io.getModelArtifactsInfoForJSON(artifacts) };
    }),
  );
  if (captured?.modelTopology === undefined || captured.weightSpecs === undefined) {
    throw new Error(`saveModel: tfjs produced no topology or weight specs for model '${model.name}'`);
  }
  const weightBytes =
    captured.weightData === undefined
      ? new Uint8Array(0)
      : new Uint8Array(tf.io.CompositeArrayBuffer.join(captured.weightData));

  // Object.assign keeps formatVersion as the first key yet lets no caller key overwrite it.
  const daePretrain: ModelMetadata = Object.assign({ formatVersion: modelFormatVersion }, metadata, {
    formatVersion: modelFormatVersion,
  });
  const modelJson: tf.io.ModelJSON = {
    modelTopology: captured.modelTopology,
    format: captured.format ?? 'layers-model',
    generatedBy: captured.generatedBy ?? `TensorFlow.js tfjs-layers v${tfl.version_layers}`,
    convertedBy: captured.convertedBy ?? null,
    weightsManifest: [{ paths: [weightsName], weights: captured.weightSpecs }],
    userDefinedMetadata: { ...captured.userDefinedMetadata, daePretrain },
  };
  if (captured.trainingConfig !== undefined) modelJson.trainingConfig = captured.trainingConfig;

  await ensureDirectory(directory);
  const modelJsonFile = join(directory, modelJsonName);
  await rm(modelJsonFile, { force: true }).catch((error: unknown) => {
    throw new FileWriteError(modelJsonFile, error);
  });
  await writeFileAtomic(join(directory, weightsName), weightBytes);
  await writeJsonAtomic(modelJsonFile, modelJson);
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function errorText(error: unknown): string {
  if (typeof error === 'object' && error !== null && 'code' in error && error.code === 'ENOENT')
    return 'file not found';
  return error instanceof Error ? error.message : String(error);
}

/** Reads and checks model.json: parses, is a layers model, carries a supported daePretrain format version. */
async function readModelJson(directory: string): Promise<{ modelJson: tf.io.ModelJSON; metadata: ModelMetadata }> {
  const file = join(directory, modelJsonName);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    throw new ModelFileError(
      file,
      `cannot read (${errorText(error)}); not a saved model folder, or its save was interrupted`,
      RESAVE_HINT,
      { cause: error },
    );
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new ModelFileError(file, `is not valid JSON (${errorText(error)}); the file is corrupted`, RESAVE_HINT, {
      cause: error,
    });
  }
  if (!isRecord(parsed) || !isRecord(parsed['modelTopology']) || !Array.isArray(parsed['weightsManifest'])) {
    throw new ModelFileError(
      file,
      'is not a tfjs model.json (needs an object modelTopology and an array weightsManifest)',
    );
  }
  if (parsed['format'] !== 'layers-model') {
    throw new ModelFileError(file, `format is ${JSON.stringify(parsed['format'])}, expected "layers-model"`);
  }
  const userDefined = parsed['userDefinedMetadata'];
  const metadata = isRecord(userDefined) ? userDefined['daePretrain'] : undefined;
  if (!isRecord(metadata) || typeof metadata['formatVersion'] !== 'number') {
    throw new ModelFileError(file, 'has no userDefinedMetadata.daePretrain.formatVersion; it was not saved by dae');
  }
  const version = metadata['formatVersion'];
  if (!supportedModelFormatVersions.includes(version)) {
    throw new ModelFileError(
      file,
      `daePretrain format version ${version} is not supported (this dae reads ${supportedModelFormatVersions.join(', ')})`,
      `upgrade dae, or ${RESAVE_HINT}`,
    );
  }
  return { modelJson: parsed as unknown as tf.io.ModelJSON, metadata: metadata as ModelMetadata };
}

/** The caller metadata saved with the model, plus its formatVersion. Checks model.json but not the weights. */
export async function readModelMetadata(directory: string): Promise<ModelMetadata> {
  return (await readModelJson(directory)).metadata;
}

/** Byte length of one float32 weight, after checking the manifest entry describes one. */
function weightByteLength(entry: unknown, file: string): number {
  if (
    !isRecord(entry) ||
    typeof entry['name'] !== 'string' ||
    !Array.isArray(entry['shape']) ||
    !entry['shape'].every((side) => Number.isInteger(side) && (side as number) >= 0)
  ) {
    throw new ModelFileError(file, `weightsManifest has a malformed entry ${JSON.stringify(entry)}`);
  }
  if (entry['dtype'] !== 'float32') {
    throw new ModelFileError(
      file,
      `weight '${entry['name']}' has dtype ${JSON.stringify(entry['dtype'])}; only float32 is supported`,
    );
  }
  if (entry['quantization'] !== undefined) {
    throw new ModelFileError(file, `weight '${entry['name']}' is quantized; quantized weights are not supported`);
  }
  return 4 * (entry['shape'] as number[]).reduce((product, side) => product * side, 1);
}

/** A weights path must name a file inside the model folder: no directories, no `..`. */
function checkWeightsPath(path: unknown, file: string): string {
  if (
    typeof path !== 'string' ||
    path === '' ||
    path === '.' ||
    path === '..' ||
    /[/\\]/.test(path.replace(/^\.\//, ''))
  ) {
    throw new ModelFileError(
      file,
      `weightsManifest path ${JSON.stringify(path)} is not a file name inside the model folder`,
    );
  }
  return path.replace(/^\.\//, '');
}

const withCommas = (count: number): string => count.toLocaleString('en-US');

/**
 * Every weight must be finite. A NaN or an infinity is refused here, naming its layer,
 * rather than passed on to a classifier that would then diverge and blame its learning rate, or to an export.
 */
function checkFinite(weightSpecs: readonly tf.io.WeightsManifestEntry[], values: Float32Array, file: string): void {
  let offset = 0;
  for (const spec of weightSpecs) {
    const size = spec.shape.reduce((product, side) => product * side, 1);
    let notANumber = 0;
    let infinite = 0;
    for (let index = offset; index < offset + size; index += 1) {
      const value = values[index] ?? 0;
      if (Number.isNaN(value)) notANumber += 1;
      else if (!Number.isFinite(value)) infinite += 1;
    }
    if (notANumber + infinite > 0) {
      const counts = [
        notANumber > 0 ? `${withCommas(notANumber)} NaN` : '',
        infinite > 0 ? `${withCommas(infinite)} infinite` : '',
      ]
        .filter((part) => part !== '')
        .join(' and ');
      // tfjs names weights <layer>/<kernel|bias>.
      const layer = spec.name.includes('/') ? spec.name.slice(0, spec.name.lastIndexOf('/')) : spec.name;
      throw new ModelFileError(
        file,
        `layer '${layer}' holds ${counts} among the ${withCommas(size)} values of its weight '${spec.name}'`,
        NON_FINITE_HINT,
      );
    }
    offset += size;
  }
}

/**
 * The checked artifacts of a folder written by saveModel: format, version, dtypes, weight sizes, and finite weights.
 * Everything that reads a saved model goes through here (loadModel, checkSavedModel), so every reader refuses the same
 * folders with the same one-line ModelFileError.
 */
async function readCheckedArtifacts(directory: string): Promise<tf.io.ModelArtifacts> {
  const modelJsonFile = join(directory, modelJsonName);
  const { modelJson } = await readModelJson(directory);

  const weightSpecs: tf.io.WeightsManifestEntry[] = [];
  const weightFiles: string[] = [];
  let declaredBytes = 0;
  for (const group of modelJson.weightsManifest as unknown[]) {
    if (!isRecord(group) || !Array.isArray(group['paths']) || !Array.isArray(group['weights'])) {
      throw new ModelFileError(modelJsonFile, 'weightsManifest has a group without paths and weights arrays');
    }
    for (const entry of group['weights']) declaredBytes += weightByteLength(entry, modelJsonFile);
    weightSpecs.push(...(group['weights'] as tf.io.WeightsManifestEntry[]));
    for (const path of group['paths']) weightFiles.push(join(directory, checkWeightsPath(path, modelJsonFile)));
  }

  const chunks: Uint8Array[] = [];
  for (const file of weightFiles) {
    try {
      chunks.push(await readFile(file));
    } catch (error) {
      throw new ModelFileError(file, `cannot read (${errorText(error)}); model.json refers to it`, RESAVE_HINT, {
        cause: error,
      });
    }
  }
  const actualBytes = chunks.reduce((total, chunk) => total + chunk.byteLength, 0);
  const [onlyFile] = weightFiles;
  if (actualBytes !== declaredBytes) {
    const hint = `the file is truncated or from another model; ${RESAVE_HINT}`;
    throw weightFiles.length === 1 && onlyFile !== undefined
      ? new ModelFileError(
          onlyFile,
          `${withCommas(actualBytes)} bytes but model.json declares ${withCommas(declaredBytes)}`,
          hint,
        )
      : new ModelFileError(
          modelJsonFile,
          `weight files ${weightFiles.join(', ')} hold ${withCommas(actualBytes)} bytes but the manifest declares ${withCommas(declaredBytes)}`,
          hint,
        );
  }
  const weightData = new Uint8Array(actualBytes);
  let offset = 0;
  for (const chunk of chunks) {
    weightData.set(chunk, offset);
    offset += chunk.byteLength;
  }
  // float32 in the platform's byte order, as tfjs reads them (weightData starts at offset 0, so it is aligned).
  checkFinite(
    weightSpecs,
    new Float32Array(weightData.buffer, 0, actualBytes / 4),
    weightFiles.length === 1 && onlyFile !== undefined ? onlyFile : modelJsonFile,
  );

  const artifacts: tf.io.ModelArtifacts = {
    modelTopology: modelJson.modelTopology,
    weightSpecs,
    weightData: weightData.buffer,
  };
  if (modelJson.format !== undefined) artifacts.format = modelJson.format;
  if (modelJson.generatedBy !== undefined) artifacts.generatedBy = modelJson.generatedBy;
  if (modelJson.convertedBy !== undefined) artifacts.convertedBy = modelJson.convertedBy;
  if (modelJson.trainingConfig !== undefined) artifacts.trainingConfig = modelJson.trainingConfig;
  if (modelJson.userDefinedMetadata !== undefined) artifacts.userDefinedMetadata = modelJson.userDefinedMetadata;
  return artifacts;
}

/** Loads a folder written by saveModel, after readCheckedArtifacts's checks. Needs a tfjs backend (any). */
export async function loadModel(directory: string): Promise<LayersModel> {
  const artifacts = await readCheckedArtifacts(directory);
  try {
    return await tfl.loadLayersModel(tf.io.fromMemory(artifacts));
  } catch (error) {
    throw new ModelFileError(
      join(directory, modelJsonName),
      `tfjs could not rebuild the model from it (${errorText(error)})`,
      RESAVE_HINT,
      { cause: error },
    );
  }
}

/**
 * Checks a saved model folder as loadModel would, and lets the model go: for readers that hand the files on rather
 * than load them (`dae serve`, whose page loads them in the browser). Throws ModelFileError.
 */
export async function checkSavedModel(directory: string): Promise<void> {
  (await loadModel(directory)).dispose();
}
