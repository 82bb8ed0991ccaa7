// Colour maps as 256-entry lookup tables, built once from d3-scale-chromatic's interpolators.

import { rgb } from 'd3-color';
import { interpolateMagma, interpolateRdBu, interpolateViridis } from 'd3-scale-chromatic';

/** An 8-bit colour: [red, green, blue]. */
export type Rgb = readonly [number, number, number];

/**
 * gray: black → white, for images (MNIST digits are white on black).
 * viridis, magma: perceptually uniform, for activations (dark = inactive).
 * diverging: blue → white → red, for signed weights (0 maps to white).
 */
export type ColormapName = 'gray' | 'viridis' | 'magma' | 'diverging';

/** A lookup table: 256 colours, index 0 for the value 0 and index 255 for the value 1. */
export type Colormap = readonly Rgb[];

const interpolators: Record<Exclude<ColormapName, 'gray'>, (t: number) => string> = {
  viridis: interpolateViridis,
  magma: interpolateMagma,
  // RdBu runs red → blue; reversed so that negative weights are blue and positive ones red.
  diverging: (t) => interpolateRdBu(1 - t),
};

const cache = new Map<ColormapName, Colormap>();

export function colormap(name: ColormapName): Colormap {
  const cached = cache.get(name);
  if (cached !== undefined) return cached;
  const table: Rgb[] = [];
  for (let i = 0; i < 256; i++) {
    if (name === 'gray') {
      table.push([i, i, i]);
    } else {
      const colour = rgb(interpolators[name](i / 255));
      table.push([Math.round(colour.r), Math.round(colour.g), Math.round(colour.b)]);
    }
  }
  cache.set(name, table);
  return table;
}

/** The colour of a value in [0, 1]; values outside are clamped and NaN maps to 0. */
export function colourAt(table: Colormap, value: number): Rgb {
  const index = Number.isNaN(value) ? 0 : Math.round(Math.min(1, Math.max(0, value)) * 255);
  return table[index] ?? [0, 0, 0];
}

/** A CSS colour string for SVG fills. */
export function cssColour([red, green, blue]: Rgb): string {
  return `rgb(${red},${green},${blue})`;
}
