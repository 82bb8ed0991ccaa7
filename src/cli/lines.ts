// The words of the progress display, shared by the live terminal view and the plain lines written to pipes and
// files: the command's line (step k of n, elapsed, time left), a run's line, an epoch's line, a finished run's.
import type { Estimate, RunEstimate } from './eta.js';
import type { EpochRecord } from '../train/events.js';

/** `42 s`, `3:07`, `1:02:03`: seconds as a reader says them. */
export function formatDuration(seconds: number): string {
  const whole = Math.max(0, Math.round(seconds));
  if (whole < 60) return `${whole} s`;
  const hours = Math.floor(whole / 3600),
    minutes = Math.floor((whole % 3600) / 60),
    rest = whole % 60;
  const twoDigits = (value: number) => String(value).padStart(2, '0');
  return hours > 0 ? `${hours}:${twoDigits(minutes)}:${twoDigits(rest)}` : `${minutes}:${twoDigits(rest)}`;
}

/** A time left: rounded to 5 s under two minutes, to 10 s under ten, to the minute beyond, since it is an estimate. */
export function formatTimeLeft(seconds: number): string {
  const step = seconds < 120 ? 5 : seconds < 600 ? 10 : 60;
  return `~${formatDuration(Math.round(seconds / step) * step)} left`;
}

/** `study · step 4/5 classify · 2 of 6 runs done · 6:12 elapsed · ~3:40 left`. */
export function commandLine(estimate: Estimate): string {
  const parts = [estimate.title || 'run'];
  if (estimate.step) parts.push(`step ${estimate.step.index}/${estimate.step.count} ${estimate.step.name}`);
  const runs = estimate.runs.filter((run) => run.group !== undefined);
  if (runs.length > 0)
    parts.push(
      `${runs.filter((run) => run.state === 'done').length} of ${runs.length} ${estimate.title === 'study' ? 'runs' : 'cells'} done`,
    );
  parts.push(`${formatDuration(estimate.elapsedSeconds)} elapsed`);
  if (estimate.runs.length > 0 && estimate.runs.every((run) => run.state === 'done')) parts.push('done');
  else if (estimate.remainingSeconds !== null) {
    const atMost = estimate.atMostSeconds ?? estimate.remainingSeconds;
    // Early stopping may end runs sooner than their budget: say how long they could take at most, when it differs.
    parts.push(
      atMost > 1.1 * estimate.remainingSeconds + 5
        ? `${formatTimeLeft(estimate.remainingSeconds)}, at most ${formatDuration(atMost)}`
        : formatTimeLeft(estimate.remainingSeconds),
    );
  }
  return parts.join(' · ');
}

/** What a run in progress shows beside its bar: its epoch, its last validation score, its time left. */
export interface RunProgress {
  label: string;
  epoch: number;
  maxEpochs: number;
  batch: number;
  batches: number;
  /** The last finished epoch's validation score, already worded (`val 98.12%`, `val loss 0.00712`). */
  score: string | null;
}

export function runLine(
  progress: RunProgress,
  bar: string | null,
  run: RunEstimate | undefined,
  labelWidth: number,
): string {
  const parts = [progress.label.padEnd(labelWidth)];
  if (progress.maxEpochs > 0 && progress.epoch === 0) {
    parts.push(`starting, ${progress.maxEpochs} epochs at most`);
  } else if (progress.maxEpochs > 0) {
    const width = String(progress.maxEpochs).length;
    parts.push(
      `epoch ${String(progress.epoch).padStart(width)}/${progress.maxEpochs}${bar === null ? '' : ` ${bar}`} ${String(progress.batch).padStart(String(progress.batches).length)}/${progress.batches}`,
    );
  }
  if (progress.score !== null) parts.push(progress.score);
  if (run && run.state !== 'done' && run.remainingSeconds !== null) parts.push(formatTimeLeft(run.remainingSeconds));
  return `  ${parts.join(' · ')}`;
}

/** An epoch's validation score as the run lines show it. */
export function scoreOf(record: EpochRecord): string {
  return record.validationAccuracy === undefined
    ? `val loss ${record.validationLoss.toFixed(5)}`
    : `val ${(100 * record.validationAccuracy).toFixed(2)}%`;
}

/** `  scratch 10% · epoch 3/40 · loss 0.12345 · val loss 0.09876 · val acc 97.12% · 1.2 s *` (* = best so far). */
export function epochLine(label: string, record: EpochRecord, maxEpochs: number, improved: boolean): string {
  const accuracy =
    record.validationAccuracy === undefined ? '' : ` · val acc ${(100 * record.validationAccuracy).toFixed(2)}%`;
  return (
    `  ${label} · epoch ${record.epoch}/${maxEpochs} · loss ${record.loss.toFixed(5)} · val loss ${record.validationLoss.toFixed(5)}${accuracy}` +
    ` · ${record.seconds.toFixed(1)} s${improved ? ' *' : ''}`
  );
}

/** A finished classifier run: `✓ scratch 10% · best epoch 25 of 35 · test 98.21% · macro-F1 0.9820 · 44.8 s`. */
export function finishedRunLine(
  label: string,
  result: { bestEpoch: number; epochs: number; testAccuracy: number; macroF1: number; seconds: number },
): string {
  return (
    `✓ ${label} · best epoch ${result.bestEpoch} of ${result.epochs} · test ${(100 * result.testAccuracy).toFixed(2)}% · macro-F1 ${result.macroF1.toFixed(4)}` +
    ` · ${formatSeconds(result.seconds)}`
  );
}

/** A finished stage: `✓ denoise · PSNR noisy 10.19 dB -> denoised 22.34 dB · 25.5 s`. */
export function finishedStageLine(label: string, summary: string, seconds: number): string {
  return `✓ ${label} · ${summary} · ${formatSeconds(seconds)}`;
}

/** Durations of finished work: tenths of a second under a minute. */
export const formatSeconds = (seconds: number) => (seconds < 60 ? `${seconds.toFixed(1)} s` : formatDuration(seconds));
