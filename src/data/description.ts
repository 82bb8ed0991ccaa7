// What a dataset is called and what its classes are called. A folder given with --data may hold a dataset.json
// beside its four IDX files:
//   { "name": "Fashion-MNIST", "classNames": ["T-shirt/top", "Trouser", ...] }
// Both fields are optional; --dataset-name and --class-names override them. Without either, the dataset is named
// after its folder and its classes after their label numbers; the embedded MNIST is "MNIST" with classes "0".."9".
import { readFile } from 'node:fs/promises';
import { basename, join } from 'node:path';

import { printable, quote } from '../quote.js';

export const maxDatasetNameLength = 100;
/** Labels are bytes (IDX ubyte files), so a dataset has at most 256 classes. */
export const maxClasses = 256;

/** What a dataset's or a class's name must be, for error messages. */
export const nameRule = `1..${maxDatasetNameLength} characters, none of them control characters`;

/**
 * Whether `name` can name a dataset or a class: it is shown in the terminal, the report and the page, so it has
 * something to show, is short enough for a title, and holds no control characters (a line break, a terminal escape).
 */
export function isUsableName(name: unknown): name is string {
  // eslint-disable-next-line no-control-regex
  const control = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/;
  return typeof name === 'string' && name.trim() !== '' && name.length <= maxDatasetNameLength && !control.test(name);
}

/** What is wrong with a list of class names (from a flag or dataset.json), or null when it can be used. */
export function classNamesProblem(names: unknown): string | null {
  if (!Array.isArray(names)) return `needs a list of names, got ${quote(names)}`;
  if (names.length < 2 || names.length > maxClasses) return `needs 2..${maxClasses} names, got ${names.length}`;
  const blank = names.findIndex((name) => !isUsableName(name));
  if (blank >= 0) return `name ${blank} (for label ${blank}) must be ${nameRule}, got ${quote(names[blank])}`;
  const repeated = names.findIndex((name, index) => names.indexOf(name) !== index);
  if (repeated >= 0)
    return `${quote(names[repeated])} names two classes (labels ${names.indexOf(names[repeated])} and ${repeated})`;
  return null;
}

export const datasetDescriptionName = 'dataset.json';
export const embeddedDatasetName = 'MNIST';

/** The optional fields of dataset.json. */
export interface DatasetDescription {
  name?: string;
  classNames?: string[];
}

/** A dataset.json that cannot be used: the message names the file and the field. */
export class DatasetDescriptionError extends Error {
  override readonly name = 'DatasetDescriptionError';
  readonly file: string;
  /** What the user can do about it. */
  readonly hint: string;

  constructor(file: string, problem: string, hint: string) {
    super(`${printable(file)}: ${problem} — ${hint}`);
    this.file = file;
    this.hint = hint;
  }
}

const knownFields = ['name', 'classNames'];
const FIX_HINT = `fix the field, or remove ${datasetDescriptionName} to name the dataset after its folder and its classes by number`;

/** Checks dataset.json's text; throws DatasetDescriptionError naming the file and the field. Pure, for tests. */
export function parseDatasetDescription(text: string, file: string): DatasetDescription {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new DatasetDescriptionError(
      file,
      `is not valid JSON (${printable(error instanceof Error ? error.message : String(error), 100)})`,
      FIX_HINT,
    );
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new DatasetDescriptionError(
      file,
      'must hold a JSON object such as {"name": "Fashion-MNIST", "classNames": ["T-shirt/top", ...]}',
      FIX_HINT,
    );
  }
  const fields = parsed as Record<string, unknown>;
  const unknown = Object.keys(fields).find((key) => !knownFields.includes(key));
  if (unknown !== undefined)
    throw new DatasetDescriptionError(
      file,
      `unknown field ${quote(unknown)} (known: ${knownFields.join(', ')})`,
      FIX_HINT,
    );
  const description: DatasetDescription = {};
  if ('name' in fields) {
    const name = fields['name'];
    if (!isUsableName(name)) {
      throw new DatasetDescriptionError(
        file,
        `field 'name' must be a string of ${nameRule}, got ${quote(name)}`,
        FIX_HINT,
      );
    }
    description.name = name;
  }
  if ('classNames' in fields) {
    const problem = classNamesProblem(fields['classNames']);
    if (problem !== null) throw new DatasetDescriptionError(file, `field 'classNames' ${problem}`, FIX_HINT);
    description.classNames = [...(fields['classNames'] as string[])];
  }
  return description;
}

/** dataset.json of a dataset folder, or an empty description when there is none. */
export async function readDatasetDescription(directory: string): Promise<DatasetDescription> {
  const file = join(directory, datasetDescriptionName);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    if (typeof error === 'object' && error !== null && 'code' in error && error.code === 'ENOENT') return {};
    throw new DatasetDescriptionError(file, `cannot read (${printable(String(error))})`, FIX_HINT);
  }
  return parseDatasetDescription(text, file);
}

/** Where a dataset's names come from, strongest first: the flags, then dataset.json, then the defaults. */
export interface DatasetNaming {
  /** The dataset folder; undefined = the embedded MNIST. */
  directory?: string;
  /** From --dataset-name / --class-names (config.data.name / classNames). */
  name?: string | null;
  classNames?: readonly string[] | null;
}

export interface DatasetNames {
  name: string;
  /** null = number the classes by label once their count is known. */
  classNames: string[] | null;
  /** Where classNames came from, for error messages about them. */
  classNamesSource: string;
}

/** Resolves the dataset's name and class names (flags > dataset.json > folder name and label numbers). */
export async function datasetNames(naming: DatasetNaming): Promise<DatasetNames> {
  const description = naming.directory === undefined ? {} : await readDatasetDescription(naming.directory);
  const fromFlag = naming.classNames !== undefined && naming.classNames !== null;
  const classNames = fromFlag ? [...naming.classNames!] : (description.classNames ?? null);
  return {
    name:
      naming.name ??
      description.name ??
      (naming.directory === undefined ? embeddedDatasetName : basename(naming.directory)),
    classNames,
    classNamesSource: fromFlag
      ? '--class-names'
      : `${join(naming.directory ?? '.', datasetDescriptionName)} field 'classNames'`,
  };
}
