// Markdown for the generated regions: tables over the report's own column type, the report's HTML sentences turned
// into Markdown, and the number formats the docs share.
import type { MeanAndSpread } from '../../src/io/metrics.js';
import type { Column } from '../../src/report/format.js';
import { formatFixed, formatSeconds } from '../../src/report/format.js';

const escapeCell = (text: string) => text.replace(/\|/g, '\\|');

/** A Markdown table; numeric columns are right-aligned, and a `strong` cell is bold. */
export function markdownTable<Row>(columns: readonly Column<Row>[], rows: readonly Row[]): string {
  const line = (cells: string[]) => `| ${cells.join(' | ')} |`;
  const body = rows.map((row) =>
    line(
      columns.map((column) => {
        const text = escapeCell(column.cell(row));
        return column.strong?.(row) === true && text !== '' ? `**${text}**` : text;
      }),
    ),
  );
  return [
    line(columns.map((column) => escapeCell(column.header))),
    line(columns.map((column) => (column.numeric === true ? '---:' : '---'))),
    ...body,
  ].join('\n');
}

/** The report's HTML paragraphs (plain text, <p> and <strong>) as Markdown. */
export function htmlToMarkdown(html: string): string {
  return html
    .replace(/<\/?p>/g, '')
    .replace(/<\/?strong>/g, '**')
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&amp;/g, '&')
    .trim();
}

/** An accuracy's mean ± standard deviation in percent: '98.27 ± 0.13'. */
export const percentSpread = (value: MeanAndSpread) =>
  `${formatFixed(100 * value.mean, 2)} ± ${formatFixed(100 * value.std, 2)}`;

/** A difference in points with its sign: '+0.30 ± 0.10', '−0.36 ± 1.44'. */
export const signedPoints = (value: MeanAndSpread) =>
  `${value.mean >= 0 ? '+' : '−'}${formatFixed(Math.abs(100 * value.mean), 2)} ± ${formatFixed(100 * value.std, 2)}`;

/** A duration: '12.3 s', '4 min 33 s'. */
export const duration = formatSeconds;

/** A duration for a reader planning their time: 'about 5 minutes', 'under a minute'. */
export function roughDuration(seconds: number): string {
  if (seconds < 60) return 'under a minute';
  const minutes = Math.round(seconds / 60);
  if (minutes < 90) return `about ${minutes} minute${minutes === 1 ? '' : 's'}`;
  return `about ${formatFixed(seconds / 3600, 1)} hours`;
}

/** Memory in GiB from MiB: '1.89 GiB'. */
export const gibibytes = (mebibytes: number) => `${formatFixed(mebibytes / 1024, 2)} GiB`;

/** The day of an ISO 8601 time. */
export const day = (iso: string) => iso.slice(0, 10);

/** The text a region shows when its data is not in results/ yet. */
export const notMeasured = (file: string) =>
  `*Not measured yet: \`results/${file}\` is missing (docs/reproducibility.md says how to make it).*`;
