// The time-left estimates a command made while it ran, kept so that, once it has ended, each can be checked against
// the time that was actually left: the ETA's own measurement, at 10%, 25%, 50% and 75% of the command's time. The
// closing summary prints it, and the command saves it beside its results (time-estimates.json). Pure: fed times.

import type { MachineSpeeds } from './calibration.js';

/** The fractions of a command's time at which its estimates are checked. */
export const checkedFractions = [0.1, 0.25, 0.5, 0.75] as const;

export interface EstimateCheck {
  /** The fraction of the command's time this row checks. */
  fraction: number;
  /** When the estimate was made (the last one at or before that fraction), in seconds since the command began. */
  atSeconds: number;
  /** The time left it estimated, and the time that was actually left then. */
  estimatedSeconds: number;
  actualSeconds: number;
  /** (estimated - actual) / actual: positive when it said too long. */
  error: number;
}

/** What a finished command saves: its checks, and how long it took in all. */
export interface EstimateRecord {
  command: string;
  totalSeconds: number;
  checks: EstimateCheck[];
  /** The machine's speeds the estimates started from (calibration.ts). */
  speeds?: MachineSpeeds;
}

/** Samples at most this many times over a command's time, and at most once a second. */
const samplesOverTime = 400;

export class EstimateLog {
  private readonly samples: { elapsed: number; remaining: number }[] = [];

  /** Whether an estimate at `elapsed` seconds should be kept: every second early on, 1/400 of the time so far later. */
  due(elapsed: number): boolean {
    const last = this.samples.at(-1);
    return last === undefined || elapsed - last.elapsed >= Math.max(1, elapsed / samplesOverTime);
  }

  record(elapsed: number, remainingSeconds: number): void {
    this.samples.push({ elapsed, remaining: remainingSeconds });
  }

  /**
   * Each checked fraction of a command that took `totalSeconds`: the last estimate made at or before it, against
   * the time that was left when it was made. A fraction before the first estimate has no row.
   */
  check(totalSeconds: number): EstimateCheck[] {
    const checks: EstimateCheck[] = [];
    for (const fraction of checkedFractions) {
      const at = fraction * totalSeconds;
      let sample: { elapsed: number; remaining: number } | undefined;
      for (const candidate of this.samples) {
        if (candidate.elapsed > at) break;
        sample = candidate;
      }
      if (sample === undefined) continue;
      const actualSeconds = totalSeconds - sample.elapsed;
      if (actualSeconds <= 0) continue;
      checks.push({
        fraction,
        atSeconds: sample.elapsed,
        estimatedSeconds: sample.remaining,
        actualSeconds,
        error: (sample.remaining - actualSeconds) / actualSeconds,
      });
    }
    return checks;
  }
}
