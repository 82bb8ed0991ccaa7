// The drawing canvas: a 28x28 grid of pixel intensities in [0, 1] that pointer strokes (mouse, pen, touch) paint with
// a soft round brush, shown magnified with a faint pixel grid. What is drawn here is exactly what the models see.

/** Brush profile, in pixels: full intensity within `core` of the stroke's centre line, fading to 0 at `edge`. */
const brush = { core: 0.9, edge: 1.9 };
/** Stamps per pixel of stroke length, so fast strokes stay continuous. */
const stampsPerPixel = 4;

export class DrawingPad {
  readonly pixels: Float32Array;
  private readonly context: CanvasRenderingContext2D;
  private last: { x: number; y: number } | null = null;

  /** `onStroke` runs after every painted segment; `onStrokeStart` once when a stroke begins. */
  constructor(
    private readonly canvas: HTMLCanvasElement,
    readonly width: number,
    readonly height: number,
    private readonly onStroke: () => void,
    private readonly onStrokeStart: () => void,
  ) {
    const context = canvas.getContext('2d');
    if (!context) throw new Error('DrawingPad: the browser gave no 2D canvas context');
    this.context = context;
    this.pixels = new Float32Array(width * height);
    canvas.addEventListener('pointerdown', (event) => this.start(event));
    canvas.addEventListener('pointermove', (event) => this.move(event));
    for (const type of ['pointerup', 'pointercancel', 'lostpointercapture'] as const)
      canvas.addEventListener(type, () => (this.last = null));
    this.render();
  }

  /** Replaces the image (e.g. with a test digit). */
  set(pixels: Float32Array): void {
    this.pixels.set(pixels);
    this.render();
  }

  clear(): void {
    this.pixels.fill(0);
    this.render();
  }

  private toGrid(event: PointerEvent): { x: number; y: number } {
    const box = this.canvas.getBoundingClientRect();
    return {
      x: ((event.clientX - box.left) / box.width) * this.width,
      y: ((event.clientY - box.top) / box.height) * this.height,
    };
  }

  private start(event: PointerEvent): void {
    if (event.button !== 0) return;
    event.preventDefault();
    this.canvas.setPointerCapture(event.pointerId);
    this.onStrokeStart();
    this.last = this.toGrid(event);
    this.paintSegment(this.last, this.last);
  }

  private move(event: PointerEvent): void {
    if (!this.last) return;
    event.preventDefault();
    // Coalesced events keep the stroke smooth when the page is busy running the models.
    const events = typeof event.getCoalescedEvents === 'function' ? event.getCoalescedEvents() : [];
    for (const sample of events.length > 0 ? events : [event]) {
      const next = this.toGrid(sample);
      this.paintSegment(this.last, next);
      this.last = next;
    }
  }

  private paintSegment(from: { x: number; y: number }, to: { x: number; y: number }): void {
    const length = Math.hypot(to.x - from.x, to.y - from.y);
    const stamps = Math.max(1, Math.ceil(length * stampsPerPixel));
    for (let step = 0; step <= stamps; step += 1) {
      const t = step / stamps;
      this.stamp(from.x + t * (to.x - from.x), from.y + t * (to.y - from.y));
    }
    this.render();
    this.onStroke();
  }

  /** Paints the brush centred at (x, y) in grid units; pixel centres sit at (i + 0.5, j + 0.5). */
  private stamp(x: number, y: number): void {
    const reach = Math.ceil(brush.edge);
    for (let row = Math.floor(y) - reach; row <= Math.floor(y) + reach; row += 1) {
      if (row < 0 || row >= this.height) continue;
      for (let column = Math.floor(x) - reach; column <= Math.floor(x) + reach; column += 1) {
        if (column < 0 || column >= this.width) continue;
        const distance = Math.hypot(column + 0.5 - x, row + 0.5 - y);
        const intensity = Math.min(1, Math.max(0, (brush.edge - distance) / (brush.edge - brush.core)));
        const index = row * this.width + column;
        if (intensity > (this.pixels[index] ?? 0)) this.pixels[index] = intensity;
      }
    }
  }

  private render(): void {
    const { context, canvas } = this;
    const cell = canvas.width / this.width;
    context.fillStyle = '#000';
    context.fillRect(0, 0, canvas.width, canvas.height);
    for (let row = 0; row < this.height; row += 1) {
      for (let column = 0; column < this.width; column += 1) {
        const value = this.pixels[row * this.width + column] ?? 0;
        if (value <= 0) continue;
        const level = Math.round(255 * value);
        context.fillStyle = `rgb(${level} ${level} ${level})`;
        context.fillRect(column * cell, row * cell, cell, cell);
      }
    }
    context.strokeStyle = 'rgba(255 255 255 / 0.07)';
    context.lineWidth = 1;
    context.beginPath();
    for (let column = 1; column < this.width; column += 1) {
      context.moveTo(column * cell + 0.5, 0);
      context.lineTo(column * cell + 0.5, canvas.height);
    }
    for (let row = 1; row < this.height; row += 1) {
      context.moveTo(0, row * cell + 0.5);
      context.lineTo(canvas.width, row * cell + 0.5);
    }
    context.stroke();
  }
}
