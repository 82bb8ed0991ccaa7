// Minimal SVG assembly for figures that put text beside pixel pictures: PNG tiles embedded as data URIs.

import { encodeImagePng } from './png.js';
import type { RgbImage } from './png.js';

export const FONT_FAMILY = 'system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif';

export function escapeXml(text: string): string {
  return text
    .replaceAll('&', '&amp;')
    .replaceAll('<', '&lt;')
    .replaceAll('>', '&gt;')
    .replaceAll('"', '&quot;')
    .replaceAll("'", '&#39;');
}

/** A standalone SVG document of the given pixel size on a white background. */
export function svgDocument(width: number, height: number, body: readonly string[]): string {
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}"`,
    ` font-family="${escapeXml(FONT_FAMILY)}">`,
    `<rect width="${width}" height="${height}" fill="white"/>`,
    ...body,
    '</svg>',
  ].join('');
}

/** A picture placed at (x, y) at its own pixel size; crisp edges keep upscaled pixels square. */
export function svgImage(x: number, y: number, image: RgbImage): string {
  const base64 = encodeImagePng(image).toString('base64');
  return (
    `<image x="${x}" y="${y}" width="${image.width}" height="${image.height}" ` +
    `image-rendering="pixelated" style="image-rendering:pixelated" href="data:image/png;base64,${base64}"/>`
  );
}

export interface TextOptions {
  anchor?: 'start' | 'middle' | 'end';
  size?: number;
  weight?: 'normal' | 'bold' | '600';
  fill?: string;
  /** Vertical centring on y instead of sitting on the baseline. */
  middle?: boolean;
}

export function svgText(x: number, y: number, text: string, options: TextOptions = {}): string {
  const attributes = [
    `x="${x}"`,
    `y="${y}"`,
    `font-size="${options.size ?? 13}"`,
    `fill="${options.fill ?? '#333'}"`,
    `text-anchor="${options.anchor ?? 'start'}"`,
  ];
  if (options.weight !== undefined) attributes.push(`font-weight="${options.weight}"`);
  if (options.middle === true) attributes.push('dominant-baseline="central"');
  return `<text ${attributes.join(' ')}>${escapeXml(text)}</text>`;
}

export function svgRect(x: number, y: number, width: number, height: number, stroke: string, strokeWidth = 2): string {
  return `<rect x="${x}" y="${y}" width="${width}" height="${height}" fill="none" stroke="${stroke}" stroke-width="${strokeWidth}"/>`;
}
