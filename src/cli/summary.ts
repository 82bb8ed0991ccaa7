// What a finished command says last: a short table of the results (denoising PSNR, each classifier's test
// accuracy and macro-F1, time, peak memory) and where to look next (report.html, `dae serve`).
import type { Metrics, SweepResult } from '../io/metrics.js';
import type { EstimateRecord } from './estimate-log.js';
import { formatDuration, formatSeconds } from './lines.js';

export interface RunTotals {
  /** Wall time of this command, in seconds. */
  seconds: number;
  peakMemoryMiB: number;
  directory: string;
  reportPath: string;
  /** Lines on how the time-left estimates held (estimateCheckLines), above the paths. */
  estimateLines?: string[];
}

const percent = (value: number) => `${(100 * value).toFixed(2)}%`;
const memory = (mebibytes: number) =>
  mebibytes >= 1024 ? `${(mebibytes / 1024).toFixed(2)} GiB` : `${Math.round(mebibytes)} MiB`;
/** Columns padded to their widest cell; the first left-aligned, the others right-aligned. */
function table(rows: string[][]): string[] {
  const widths = rows[0]!.map((_, column) => Math.max(...rows.map((row) => (row[column] ?? '').length)));
  return rows.map((row) =>
    `  ${row.map((cell, column) => (column === 0 ? cell.padEnd(widths[column]!) : cell.padStart(widths[column]!))).join('   ')}`.trimEnd(),
  );
}

/** The study's last words: the numbers that answer its question, then the paths. */
export function studySummary(metrics: Pick<Metrics, 'autoencoder' | 'classifiers'>, totals: RunTotals): string[] {
  const { test } = metrics.autoencoder;
  return [
    '',
    `Done in ${formatDuration(totals.seconds)}, peak memory ${memory(totals.peakMemoryMiB)}.`,
    `Denoising (test set, training noise): PSNR ${test.noisy.psnr.toFixed(2)} dB noisy -> ${test.denoised.psnr.toFixed(2)} dB denoised` +
      ` (clean input ${test.clean.psnr.toFixed(2)} dB).`,
    ...table([
      ['classifier', 'labels', 'test accuracy', 'macro-F1', 'epochs', 'time'],
      ...metrics.classifiers.map((c) => [
        c.encoder,
        c.labels.toLocaleString('en-US'),
        percent(c.test.accuracy),
        c.test.macroF1.toFixed(4),
        String(c.epochs),
        formatSeconds(c.trainSeconds),
      ]),
    ]),
    ...(totals.estimateLines ?? []),
    `Report:  ${totals.reportPath}`,
    `Explore: dae serve ${totals.directory}`,
  ];
}

/** The sweep's last words: mean ± spread over seeds per variant and label count, then the paths. */
export function sweepSummary(
  result: SweepResult,
  totals: RunTotals & { sweepPath: string; reportWritten: boolean },
): string[] {
  const variants = [...new Set(result.summary.map((entry) => entry.encoder))];
  const cell = (labels: number, encoder: string) => {
    const entry = result.summary.find((candidate) => candidate.labels === labels && candidate.encoder === encoder);
    return entry ? `${percent(entry.accuracy.mean)} ± ${(100 * entry.accuracy.std).toFixed(2)}` : '';
  };
  return [
    '',
    `Done in ${formatDuration(totals.seconds)}, peak memory ${memory(totals.peakMemoryMiB)}; test accuracy, mean ± std over ${result.seeds.length} seed${result.seeds.length === 1 ? '' : 's'}:`,
    ...table([
      ['labels', ...variants],
      ...result.labelCounts.map((labels) => [
        labels.toLocaleString('en-US'),
        ...variants.map((variant) => cell(labels, variant)),
      ]),
    ]),
    ...(totals.estimateLines ?? []),
    `Sweep:   ${totals.sweepPath}`,
    ...(totals.reportWritten ? [`Report:  ${totals.reportPath}`, `Explore: dae serve ${totals.directory}`] : []),
  ];
}

/** Commands shorter than this (seconds) do not print how their estimates held: their fixed costs swamp them. */
export const estimateCheckMinimumSeconds = 60;

/**
 * How the time-left estimates held: at 10%, 25%, 50% and 75% of the command's time, what was estimated against what
 * was left. Nothing for a command under a minute (starting the worker threads, compiling the kernels' shapes, writing
 * files: the fixed costs the estimates leave out are most of its time), or over before its plan's first estimate.
 */
export function estimateCheckLines(record: EstimateRecord | null): string[] {
  if (record === null || record.checks.length === 0 || record.totalSeconds < estimateCheckMinimumSeconds) return [];
  const signed = (error: number) => `${error >= 0 ? '+' : '−'}${Math.abs(100 * error).toFixed(1)}%`;
  return [
    'Time left as estimated while it ran, against the time it took:',
    ...table([
      ['at', 'elapsed', 'estimated', 'actual', 'error'],
      ...record.checks.map((check) => [
        `${100 * check.fraction}%`,
        formatDuration(check.atSeconds),
        formatDuration(check.estimatedSeconds),
        formatDuration(check.actualSeconds),
        signed(check.error),
      ]),
    ]),
  ];
}
