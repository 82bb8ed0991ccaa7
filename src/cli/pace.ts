// The machine's pace: how fast it goes now against the long-run speeds the ETA measured, and how that turns work
// into wall time if the pace fades back to the long-run one. Pure.

/**
 * How the model follows a machine whose other jobs come and go (the recorded second sweep's classifier epochs ran
 * 2.8-5 times slower for 250 s, then sped up): the machine's pace now, against the long-run speeds, is measured over
 * the last minute or so (`halfLife` seconds); `anchorSeconds` of the long-run pace draw it back to 1 when nothing
 * finished lately; and it is expected to return to the long-run pace with time constant `persistence` seconds.
 * Chosen on the three recordings that existed (the study and two sweeps): no choice is best on all of them, since a
 * slow stretch that ends soon after an estimate is made misleads any estimate from the past. Against the long-run
 * speeds alone (with a run's own last epochs as they are), 60 s and 150 s moved the study's 25/50/75% estimates
 * by at most 4 points (-1.4/-2.2/+13.0% to -5.1/-3.7/+10.9%), the first sweep's by at most 2.3, and the second
 * sweep's 75% estimate from +28% to +16% (its 50% one from +51% to +56%).
 */
export const pace = { halfLife: 60, anchorSeconds: 10, persistence: 150 };

/**
 * Wall seconds to do `work` seconds of work at the long-run pace, when the machine goes at `machine` times that
 * pace now and its pace returns to the long-run one exponentially (time constant `pace.persistence`): the t that
 * solves work = t + (machine - 1) T (1 - e^(-t/T)), by Newton's method (the left side grows with t).
 */
export function wallSeconds(work: number, machine: number): number {
  const T = pace.persistence;
  if (work <= 0 || Math.abs(machine - 1) < 1e-9 || !(T > 0)) return Math.max(0, work);
  let t = work;
  for (let step = 0; step < 50; step += 1) {
    const decay = Math.exp(-t / T);
    const next = t - (t + (machine - 1) * T * (1 - decay) - work) / (1 + (machine - 1) * decay);
    if (Math.abs(next - t) < 1e-9 * Math.max(1, work)) return Math.max(0, next);
    t = Math.max(0, next);
  }
  return t;
}

/** A measured stretch of work: its cost units and seconds (alone on the machine), when it ended, and its kind's long-run speed. */
export interface PaceSample { cost: number; seconds: number; at: number; longRun: number }

/**
 * The machine's pace at `now` against the long-run speeds: each sample's speed over its kind's, averaged in log,
 * weighted by its seconds and halved every `pace.halfLife` seconds of age, and drawn towards 1 by
 * `pace.anchorSeconds` seconds at the long-run pace, so that it returns to 1 as its samples grow old.
 */
export function machinePace(samples: readonly PaceSample[], now: number): number {
  let weightedLog = 0, weights = pace.anchorSeconds;
  for (const sample of samples) {
    if (!(sample.seconds > 0 && sample.cost > 0 && sample.longRun > 0)) continue;
    const weight = sample.seconds * 2 ** (Math.min(0, sample.at - now) / pace.halfLife);
    weightedLog += weight * Math.log(sample.cost / sample.seconds / sample.longRun);
    weights += weight;
  }
  return Math.exp(weightedLog / weights);
}
