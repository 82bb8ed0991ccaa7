// The map of the codes on the page: the run's mapped test images as dots coloured by class (the report's colours),
// and the current input's code placed on it live with umap-js's transform (src/eval/code-map.ts).
import { CodeMapPlacer } from '../src/eval/code-map.js';
import type { CodeMap } from '../src/eval/code-map.js';
import { element } from './render.js';

/** Vega's tableau10, the report's class colours, label 0 first. */
const classColours = [
  '#4c78a8',
  '#f58518',
  '#e45756',
  '#72b7b2',
  '#54a24b',
  '#eeca3b',
  '#b279a2',
  '#ff9da6',
  '#9d755d',
  '#bab0ac',
];
const side = 480;

export class CodeMapView {
  private readonly canvas: HTMLCanvasElement;
  private readonly base: HTMLCanvasElement;
  private readonly placer: CodeMapPlacer;
  private readonly toPixels: (point: readonly [number, number]) => [number, number];

  constructor(
    private readonly container: HTMLElement,
    map: CodeMap,
    classNames: readonly string[],
  ) {
    this.placer = new CodeMapPlacer(map);
    const xs = map.positions.map(([x]) => x),
      ys = map.positions.map(([, y]) => y);
    const [minX, maxX, minY, maxY] = [Math.min(...xs), Math.max(...xs), Math.min(...ys), Math.max(...ys)];
    const span = Math.max(maxX - minX, maxY - minY, 1e-9);
    const margin = 12;
    // Same scale on both axes; y grows upwards, as on the report's map.
    this.toPixels = ([x, y]) => [
      margin + ((x - minX) / span) * (side - 2 * margin),
      side - margin - ((y - minY) / span) * (side - 2 * margin),
    ];
    this.base = element('canvas');
    this.base.width = this.base.height = side;
    const context = this.base.getContext('2d');
    if (context) {
      context.fillStyle = '#fff';
      context.fillRect(0, 0, side, side);
      context.globalAlpha = 0.7;
      map.positions.forEach((point, index) => {
        const [px, py] = this.toPixels(point);
        context.fillStyle = classColours[(map.labels[index] ?? 0) % classColours.length] ?? '#888';
        context.beginPath();
        context.arc(px, py, 2.2, 0, 2 * Math.PI);
        context.fill();
      });
    }
    this.canvas = element('canvas', 'code-map-canvas');
    this.canvas.width = this.canvas.height = side;
    this.canvas.setAttribute('role', 'img');
    this.canvas.setAttribute(
      'aria-label',
      `map of ${map.positions.length} test images' codes, coloured by class, with the current input as a black dot`,
    );
    const legend = element('ul', 'code-map-legend');
    classNames.forEach((name, label) => {
      const item = element('li', '', name);
      item.style.setProperty('--swatch', classColours[label % classColours.length] ?? '#888');
      legend.append(item);
    });
    container.dataset['points'] = String(map.positions.length);
    container.replaceChildren(this.canvas, legend);
  }

  /** Places `code` on the map and redraws the marker; its map position goes into data-x / data-y. */
  update(code: Float32Array): void {
    const point = this.placer.place(code);
    const context = this.canvas.getContext('2d');
    if (!context) return;
    context.drawImage(this.base, 0, 0);
    const [px, py] = this.toPixels(point);
    context.beginPath();
    context.arc(px, py, 7, 0, 2 * Math.PI);
    context.fillStyle = '#111';
    context.fill();
    context.lineWidth = 3;
    context.strokeStyle = '#fff';
    context.stroke();
    this.container.dataset['x'] = point[0].toFixed(4);
    this.container.dataset['y'] = point[1].toFixed(4);
  }
}
