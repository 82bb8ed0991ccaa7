// The coding-unit gallery: one tile per unit with its decoded prototype, and for the selected unit the prototype
// magnified beside the test images that activate it most (clicking one loads it into the drawing canvas).
import type { ServedCodingUnit } from '../src/serve/api.js';
import { digitCanvas, element } from './render.js';

export interface TestDigit {
  testIndex: number;
  label: number;
  pixels: Float32Array;
}

export interface GalleryOptions {
  units: readonly ServedCodingUnit[];
  /** [H*W] decoded prototype per unit, same order as `units`. */
  prototypes: readonly Float32Array[];
  width: number;
  height: number;
  digit: (testIndex: number) => TestDigit | undefined;
  /** One per class, label 0 first. */
  classNames: readonly string[];
  onSelect: (unit: number) => void;
  onPickDigit: (testIndex: number) => void;
}

export class UnitGallery {
  private readonly tiles: HTMLButtonElement[];

  constructor(
    private readonly tileContainer: HTMLElement,
    private readonly detail: HTMLElement,
    private readonly options: GalleryOptions,
  ) {
    const { units, prototypes, width, height } = options;
    this.tiles = units.map(({ unit }, position) => {
      const tile = element('button', 'prototype');
      tile.type = 'button';
      tile.dataset['unit'] = String(unit);
      tile.setAttribute('aria-label', `coding unit ${unit}`);
      tile.append(
        digitCanvas(prototypes[position] ?? new Float32Array(width * height), width, height),
        element('span', '', String(unit)),
      );
      tile.addEventListener('click', () => options.onSelect(unit));
      return tile;
    });
    tileContainer.replaceChildren(...this.tiles);
  }

  select(unit: number): void {
    const { units, prototypes, width, height } = this.options;
    const position = units.findIndex((entry) => entry.unit === unit);
    const entry = units[position];
    this.tiles.forEach((tile) => tile.classList.toggle('selected', tile.dataset['unit'] === String(unit)));
    if (!entry) return;
    const mean = entry.values.reduce((total, value) => total + value, 0) / Math.max(1, entry.values.length);

    const prototype = element('figure', 'detail-prototype');
    prototype.append(
      digitCanvas(prototypes[position] ?? new Float32Array(width * height), width, height),
      element('figcaption', '', `prototype (unit ${unit} = ${mean.toFixed(2)})`),
    );

    const images = element('div', 'top-images');
    entry.indices.forEach((testIndex, rank) => {
      const digit = this.options.digit(testIndex);
      if (!digit) return;
      const button = element('button', 'top-image');
      button.type = 'button';
      button.dataset['testIndex'] = String(testIndex);
      const className = this.options.classNames[digit.label] ?? String(digit.label);
      button.dataset['label'] = String(digit.label);
      button.title = `test image #${testIndex}, label ${className}, activation ${(entry.values[rank] ?? 0).toFixed(2)}`;
      button.append(
        digitCanvas(digit.pixels, width, height),
        element('span', '', `${className} · ${(entry.values[rank] ?? 0).toFixed(1)}`),
      );
      button.addEventListener('click', () => this.options.onPickDigit(testIndex));
      images.append(button);
    });

    const text = element('div', 'detail-text');
    text.append(
      element('h3', '', `Unit ${unit}`),
      element(
        'p',
        'muted small',
        `Its ${entry.indices.length} strongest test images (label · activation); click one to load it.`,
      ),
      images,
    );
    this.detail.dataset['unit'] = String(unit);
    this.detail.replaceChildren(prototype, text);
  }
}
