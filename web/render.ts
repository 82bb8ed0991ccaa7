// DOM for the page's read-outs: digit canvases, the coding-unit bars, the class-probability bars and the unit gallery.
// Every element carries data- attributes with the numbers it shows, for people inspecting the page and for the e2e
// test.
import type { ServedClassifier } from '../src/serve/api.js';

type Tag = keyof HTMLElementTagNameMap;

export function element<K extends Tag>(tag: K, className = '', text = ''): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text) node.textContent = text;
  return node;
}

/** Paints [height*width] intensities in [0, 1] as white on black, one canvas pixel per image pixel (CSS magnifies). */
export function drawDigit(canvas: HTMLCanvasElement, pixels: Float32Array, width: number, height: number): void {
  canvas.width = width;
  canvas.height = height;
  const context = canvas.getContext('2d');
  if (!context) return;
  const image = context.createImageData(width, height);
  for (let index = 0; index < width * height; index += 1) {
    const level = Math.round(255 * Math.min(1, Math.max(0, pixels[index] ?? 0)));
    image.data.set([level, level, level, 255], 4 * index);
  }
  context.putImageData(image, 0, 0);
}

export function digitCanvas(pixels: Float32Array, width: number, height: number): HTMLCanvasElement {
  const canvas = element('canvas', 'digit');
  drawDigit(canvas, pixels, width, height);
  return canvas;
}

/** 32 vertical bars around a zero line; a bar is a button that selects its unit. */
export class CodingBars {
  private readonly bars: { button: HTMLButtonElement; fill: HTMLElement }[] = [];

  /** `scale` is the activation drawn at full half-height; larger ones are clipped (and marked). */
  constructor(
    container: HTMLElement,
    units: number,
    private readonly scale: number,
    onSelect: (unit: number) => void,
  ) {
    container.replaceChildren();
    for (let unit = 0; unit < units; unit += 1) {
      const button = element('button', 'unit-bar');
      button.type = 'button';
      button.dataset['unit'] = String(unit);
      const track = element('span', 'track');
      const fill = element('span', 'fill');
      track.append(fill);
      button.append(track, element('span', 'unit-label', String(unit)));
      button.addEventListener('click', () => onSelect(unit));
      container.append(button);
      this.bars.push({ button, fill });
    }
  }

  update(code: Float32Array): void {
    this.bars.forEach(({ button, fill }, unit) => {
      const value = code[unit] ?? 0;
      const share = Math.min(1, Math.abs(value) / this.scale);
      fill.style.height = `${50 * share}%`;
      fill.style.top = value >= 0 ? `${50 - 50 * share}%` : '50%';
      fill.classList.toggle('negative', value < 0);
      fill.classList.toggle('clipped', Math.abs(value) > this.scale);
      button.dataset['value'] = value.toFixed(4);
      button.title = `unit ${unit}: ${value.toFixed(2)}`;
      button.setAttribute('aria-label', `coding unit ${unit}, activation ${value.toFixed(2)}`);
    });
  }

  select(unit: number): void {
    this.bars.forEach(({ button }, index) => button.classList.toggle('selected', index === unit));
  }
}

/** One block per classifier: a bar per class (by name), the top class highlighted. */
export class ProbabilityPanel {
  private readonly blocks: {
    block: HTMLElement;
    rows: { row: HTMLElement; fill: HTMLElement; value: HTMLElement }[];
  }[] = [];

  constructor(
    container: HTMLElement,
    classifiers: readonly ServedClassifier[],
    private readonly classNames: readonly string[],
  ) {
    container.replaceChildren();
    classifiers.forEach((classifier, index) => {
      const block = element('div', 'classifier');
      block.dataset['classifier'] = String(index);
      block.dataset['encoder'] = classifier.encoder;
      block.dataset['labelFraction'] = String(classifier.labelFraction);
      const heading = element('h3', '', classifier.title);
      const meta = element(
        'p',
        'muted small',
        `${classifier.labels.toLocaleString('en-US')} labels · test accuracy ${(100 * classifier.testAccuracy).toFixed(1)}%`,
      );
      const list = element('ol', 'bars');
      const rows = classNames.map((className, digit) => {
        const row = element('li', 'row');
        row.dataset['class'] = String(digit);
        row.dataset['className'] = className;
        const track = element('span', 'track');
        const fill = element('span', 'fill');
        track.append(fill);
        const value = element('span', 'value');
        row.append(element('span', 'class-label', className), track, value);
        list.append(row);
        return { row, fill, value };
      });
      const prediction = element('p', 'prediction');
      block.append(heading, meta, prediction, list);
      container.append(block);
      this.blocks.push({ block, rows });
    });
  }

  update(probabilities: readonly Float32Array[]): void {
    this.blocks.forEach(({ block, rows }, index) => {
      const values = probabilities[index] ?? new Float32Array(rows.length);
      let top = 0;
      values.forEach((value, digit) => (top = value > (values[top] ?? 0) ? digit : top));
      block.dataset['topClass'] = String(top);
      const prediction = block.querySelector('.prediction');
      if (prediction)
        prediction.textContent = `says ${this.classNames[top] ?? top} (${(100 * (values[top] ?? 0)).toFixed(0)}%)`;
      rows.forEach(({ row, fill, value }, digit) => {
        const probability = values[digit] ?? 0;
        fill.style.width = `${100 * probability}%`;
        value.textContent = `${(100 * probability).toFixed(probability < 0.095 ? 1 : 0)}%`;
        row.dataset['probability'] = probability.toFixed(6);
        row.classList.toggle('is-top', digit === top);
      });
    });
  }
}
