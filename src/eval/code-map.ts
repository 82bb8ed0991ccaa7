// A map of the codes: the test images' 32-number codes projected to 2-D with UMAP (umap-js, PAIR-code's
// implementation of McInnes et al.), seeded so that the map repeats. The page places a new image's code on the
// saved map with umap-js's own transform: its nearest mapped codes, their positions, and a short optimisation of
// the new point alone. No Node imports here: the page's bundle uses this file too.
import { UMAP } from 'umap-js';

import { Random } from '../data/random.js';

/**
 * umap-js's defaults for the neighbourhood, written out because the map and the page's placements must agree on them;
 * 300 optimisation epochs instead of its 500 for fewer than 10,000 points (the map took 42 s with 500 on a busy
 * 2-core machine). A multiple of 3: transform optimises a new point for nEpochs / 3 epochs and loops until its epoch
 * count equals that exactly, so any other number never ends.
 */
export const codeMapSettings = { nNeighbors: 15, minDist: 0.1, nComponents: 2, nEpochs: 300 } as const;

/** Test images on the map: the first ones of the test set (UMAP's cost grows with the count; 2,000 take seconds). */
export const codeMapImages = 2000;

/** How many of a test set's `testImages` images the map places: the first codeMapImages, or all of a smaller set. */
export const mappedImages = (testImages: number) => Math.min(codeMapImages, testImages);

export interface CodeMap {
  method: string;
  seed: number;
  nNeighbors: number;
  minDist: number;
  nEpochs: number;
  /** The mapped test images, their labels, codes (rounded to 5 decimals) and 2-D positions, in the same order. */
  testIndices: number[];
  labels: number[];
  codes: number[][];
  positions: [number, number][];
}

const rows = (codes: Float32Array, count: number): number[][] => {
  const units = codes.length / count;
  return Array.from({ length: count }, (_, row) =>
    Array.from(codes.subarray(row * units, (row + 1) * units), (value) => Math.round(value * 1e5) / 1e5),
  );
};

/** Fits the map to [count, units] codes; every random draw comes from `seed`. */
export function fitCodeMap(codes: Float32Array, count: number, labels: ArrayLike<number>, seed: number): CodeMap {
  const random = new Random(seed).fork('code-map');
  const umap = new UMAP({ ...codeMapSettings, random: () => random.next() });
  const vectors = rows(codes, count);
  const positions = umap.fit(vectors).map((point): [number, number] => [point[0] ?? 0, point[1] ?? 0]);
  return {
    method: 'UMAP (umap-js)',
    seed,
    nNeighbors: codeMapSettings.nNeighbors,
    minDist: codeMapSettings.minDist,
    nEpochs: codeMapSettings.nEpochs,
    testIndices: Array.from({ length: count }, (_, index) => index),
    labels: Array.from({ length: count }, (_, index) => labels[index] ?? 0),
    codes: vectors,
    positions,
  };
}

/**
 * Places new codes on a saved map. umap-js has no way to load a fitted model, so this rebuilds the neighbour
 * graph of the saved codes (initializeFit, deterministic for a seed) and puts the saved positions in place of the
 * fresh layout before transforming; the same code always lands on the same spot (the generator restarts each time).
 */
export class CodeMapPlacer {
  private readonly umap: UMAP;
  private random: Random;

  constructor(private readonly map: CodeMap) {
    if (!Number.isInteger(map.nEpochs / 3))
      throw new RangeError(
        `CodeMapPlacer: nEpochs must be a multiple of 3 (umap-js's transform runs nEpochs / 3), got ${map.nEpochs}`,
      );
    this.random = new Random(map.seed).fork('code-map-placement');
    this.umap = new UMAP({
      nNeighbors: map.nNeighbors,
      minDist: map.minDist,
      nEpochs: map.nEpochs,
      nComponents: 2,
      random: () => this.random.next(),
    });
    this.umap.initializeFit(map.codes);
    // umap-js keeps the layout in a private field that transform reads; the saved map takes the fresh layout's place.
    (this.umap as unknown as { embedding: number[][] }).embedding = map.positions.map(([x, y]) => [x, y]);
  }

  place(code: ArrayLike<number>): [number, number] {
    this.random = new Random(this.map.seed).fork('code-map-placement');
    const [point] = this.umap.transform([Array.from(code)]);
    return [point?.[0] ?? Number.NaN, point?.[1] ?? Number.NaN];
  }
}
