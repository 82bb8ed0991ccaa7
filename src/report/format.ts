// Escaping, number formats and the table builder the report's sections share.

import { encoderModes, variants } from '../model/classifier.js';
import type { EncoderMode } from '../model/classifier.js';
import { escapeXml } from '../viz/svg.js';

/** Escapes text for HTML element content and double- or single-quoted attribute values (XML's rules suffice). */
export const escapeHtml = escapeXml;

export const ENCODER_NAMES = Object.fromEntries(encoderModes.map((mode) => [mode, variants[mode].title])) as Record<
  EncoderMode,
  string
>;

/** For column headers, where the long names would make a wide table. */
export const ENCODER_SHORT_NAMES = Object.fromEntries(
  encoderModes.map((mode) => [mode, variants[mode].shortName]),
) as Record<EncoderMode, string>;

/** The order variants are listed in: the table's (the pretrained ones, the baseline, then the semi-supervised). */
export const ENCODER_ORDER: readonly EncoderMode[] = encoderModes;

/** What one image of a dataset is called in prose: MNIST's are digits, other datasets' images. */
export function itemNoun(datasetName: string): { singular: string; plural: string } {
  return datasetName === 'MNIST' ? { singular: 'digit', plural: 'digits' } : { singular: 'image', plural: 'images' };
}

/**
 * "a" or "an" before a dataset's name, by how it is read: an acronym by its first letter's name ("an MNIST", "an
 * SVHN", "a CIFAR-10"), a word by its first letter ("a Fashion-MNIST", "an Omniglot").
 */
export function articleFor(name: string): 'a' | 'an' {
  const first = name.charAt(0);
  const acronym = /^[A-Z0-9]{2,}\b/.test(name) || /^[A-Z]{2}/.test(name);
  return (acronym ? 'AEFHILMNORSX8' : 'AEIOUaeiou8').includes(first) ? 'an' : 'a';
}

export function formatInteger(value: number): string {
  return Math.round(value).toLocaleString('en-US');
}

/** 0.9876 -> '98.76%'. */
export function formatPercent(fraction: number, digits = 2): string {
  return `${(fraction * 100).toFixed(digits)}%`;
}

/** A label fraction without trailing zeros: 0.1 -> '10%', 0.005 -> '0.5%'. */
export function formatFraction(fraction: number): string {
  return `${Number((fraction * 100).toPrecision(3))}%`;
}

/** Difference of two accuracies in percentage points, unsigned: 0.981 vs 0.975 -> '0.60'. */
export function formatPoints(difference: number): string {
  return Math.abs(difference * 100).toFixed(2);
}

export function formatSeconds(seconds: number): string {
  if (seconds < 60) return `${seconds.toFixed(1)} s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes} min ${Math.round(seconds - minutes * 60)} s`;
  return `${Math.floor(minutes / 60)} h ${minutes % 60} min`;
}

export function formatFixed(value: number, digits: number): string {
  return Number.isFinite(value) ? value.toFixed(digits) : String(value);
}

export interface Column<Row> {
  header: string;
  /** Right-aligned, tabular figures. */
  numeric?: boolean;
  /** Plain text; it is escaped. */
  cell: (row: Row) => string;
  /** Bold this cell, e.g. the best value in its group. */
  strong?: (row: Row) => boolean;
}

/** A table wrapped so that it scrolls sideways on narrow screens instead of overflowing the page. */
export function htmlTable<Row>(columns: readonly Column<Row>[], rows: readonly Row[], caption?: string): string {
  const head = columns
    .map(
      (column) => `<th scope="col"${column.numeric === true ? ' class="num"' : ''}>${escapeHtml(column.header)}</th>`,
    )
    .join('');
  const body = rows
    .map((row) => {
      const cells = columns.map((column, index) => {
        const text = escapeHtml(column.cell(row));
        const content = column.strong?.(row) === true ? `<strong>${text}</strong>` : text;
        const tag = index === 0 ? 'th scope="row"' : 'td';
        const close = index === 0 ? 'th' : 'td';
        return `<${tag}${column.numeric === true ? ' class="num"' : ''}>${content}</${close}>`;
      });
      return `<tr>${cells.join('')}</tr>`;
    })
    .join('\n');
  const captionHtml = caption === undefined ? '' : `<caption>${escapeHtml(caption)}</caption>`;
  return `<div class="table-wrap"><table>${captionHtml}<thead><tr>${head}</tr></thead>\n<tbody>\n${body}\n</tbody></table></div>`;
}
