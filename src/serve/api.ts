// What the `dae serve` page asks the server for. Types only: the server (Node) and the page (browser bundle) both
// import this file, so it must stay free of runtime imports.
//   GET /api/run.json     RunSummary
//   GET /api/digits.bin   uint8 pixels of the shipped test digits, [digits.count, height, width] row-major, 0..255
//   GET /models/<name>/model.json, /models/<name>/weights.bin   the run's saved models, for tf.loadLayersModel
import type { CodeMap } from '../eval/code-map.js';
import type { NoiseSpec } from '../data/noise.js';
import type { EncoderMode } from '../model/classifier.js';

/** 2: the run's class names and what one of its images is called. 3: the classifiers' mistakes, the code map. */
export const apiFormatVersion = 3;

/** One classifier the page runs, and what the run measured for it. */
export interface ServedClassifier {
  /** What the page calls it, e.g. "10% labels, fine-tuned". */
  title: string;
  encoder: EncoderMode;
  labelFraction: number;
  labels: number;
  testAccuracy: number;
  /** URL of its model.json, relative to the page. */
  modelUrl: string;
  /**
   * Its most confident test mistakes, most confident first (all in `digits`); empty for runs from before they were
   * kept.
   */
  mistakes: { testIndex: number; label: number; predicted: number; probability: number }[];
}

export interface ServedCodingUnit {
  unit: number;
  /** Top-activating test images, strongest first, as indices into the run's test set (all are in `digits`). */
  indices: number[];
  values: number[];
}

export interface RunSummary {
  formatVersion: typeof apiFormatVersion;
  /** The run folder's name (not its full path: the page needs no file-system layout). */
  name: string;
  preset: string;
  dataset: string;
  /** What the page calls one image of the dataset: "digit" for MNIST, else "image". */
  itemName: string;
  height: number;
  width: number;
  classes: number;
  /** One per class, label 0 first, as the run named them. */
  classNames: string[];
  /** The corruption the autoencoder was trained with: the page's default noise. */
  trainingNoise: NoiseSpec;
  encoderUrl: string;
  decoderUrl: string;
  /** In the order the page shows them: 10% fine-tuned, 10% frozen, then the best 100% classifier. */
  classifiers: ServedClassifier[];
  codingUnits: ServedCodingUnit[];
  /** The test images' codes on a 2-D map (the run's codemap.json), or null for runs from before it was made. */
  codeMap: CodeMap | null;
  /** The test digits shipped in /api/digits.bin, in that file's order. */
  digits: { count: number; testIndices: number[]; labels: number[] };
}
