// How long a study or a sweep has left, from its plan (the most work each stage and run may do) and the measured
// speed of the work done so far. Pure: fed events and the time they arrived, it never reads a clock itself.
//
// Speed is measured per kind of epoch (autoencoder, whole classifier, head alone on codes) and for work outside
// epochs (images passed forward through the encoder or the autoencoder), in multiply-adds per second of one run
// alone on the machine (the layers' arithmetic, model/arithmetic.ts, plus a step's fixed cost): a run of the worker
// pool beside k - 1 others goes at `poolShare(k)` of that. A kind not measured yet goes at the machine's arithmetic
// speed on the kinds that are, times its efficiency (arithmeticEfficiency), so the plan's arithmetic, not a ratio of
// images a second fixed on one machine, relates them. A run in
// progress uses its own epochs' times for the rest of its phase. The machine's pace of the last minute against
// those long-run speeds is expected to fade back to them (pace.ts), so that the estimate follows a machine whose
// other jobs come and go. How many epochs a run will take comes from early stopping: a prior on the best epoch fitted
// on finished runs offline, corrected by the runs that finished here (stopping.ts), and bounded by the run's own
// patience once it trains. The pool's runs are played out on its workers, in the order the pool hands them out,
// each going faster when fewer run at once; the other stages run in turn.
import { epochKinds } from '../train/events.js';
import type { EpochKind, PlannedEpochs, PlannedRun, TrainingEvent } from '../train/events.js';
import { machinePace, wallSeconds } from './pace.js';
import { canStopEarly, expectedBestEpoch, maxEpochsOf, sum } from './stopping.js';
import { referenceShape, workArithmetic } from '../model/arithmetic.js';

/** Epochs of each kind, and images passed forward through the encoder or the whole autoencoder outside epochs. */
type WorkKind = EpochKind | 'encoder-forward' | 'autoencoder-forward';

/**
 * Multiply-adds of one image of each kind of work (model/arithmetic.ts, the reference models on 28x28 images and 10
 * classes, the only shape the plan's commands train): 20.4 M to train the autoencoder on an image, 6.8 M to pass one
 * through it, 3.1 M to train the whole classifier, 1.06 M to pass an image through the encoder, 2,272 to train the
 * head on a code.
 */
const perImage = workArithmetic(referenceShape, 10);

/**
 * A training step's fixed cost, in multiply-adds' worth of time: the optimizer's update over every weight, the
 * step's dispatch into the kernels and its batch's gathering, which do not grow with the batch. Fitted by
 * scripts/fit-work-speeds.mjs as seconds = multiply-adds / speed + steps x a step's seconds, over the epochs of the
 * three recordings made under a light load (two sweeps on the seed-2 study and the ablation, batches of 16 to 128),
 * a step's seconds times that recording's speed: the whole classifier's step 21 M, 31 M and 41 M (about 10 of its
 * images at batch 128, 8% of such a step; 40% of a step of 16 images), the head's 3.4 M, 4.3 M and 4.0 M (a step of
 * 128 codes is 0.3 M of arithmetic: the head's time is almost all fixed cost). In the three recordings under a load of
 * 6 to 10, the load's swings swamp it (the fit came out negative for the classifier in two of them). The
 * autoencoder's batches never vary in the recordings, which therefore cannot tell its step's fixed cost; it is
 * taken as the classifier's (it is about 1% of a step of 128 images).
 */
export const stepMultiplyAdds: Record<EpochKind, number> = { autoencoder: 30e6, classifier: 30e6, head: 4e6 };

/**
 * Cost units of one epoch of a kind: multiply-adds. A training image costs its kind's training arithmetic, a
 * validation image its forward pass, and each step its fixed cost.
 */
export function epochCost(epochs: Pick<PlannedEpochs, 'kind' | 'images' | 'batches' | 'validationImages'>): number {
  const perKind: Record<EpochKind, [training: number, forward: number]> = {
    autoencoder: [perImage.autoencoderTraining, perImage.autoencoderForward],
    classifier: [perImage.classifierTraining, perImage.classifierForward],
    head: [perImage.headTraining, perImage.headForward],
  };
  const [training, forward] = perKind[epochs.kind];
  return epochs.images * training + epochs.validationImages * forward + epochs.batches * stepMultiplyAdds[epochs.kind];
}

/** Multiply-adds of one image passed forward outside epochs. */
const forwardCost: Record<'encoder-forward' | 'autoencoder-forward', number> = { 'encoder-forward': perImage.encoderForward, 'autoencoder-forward': perImage.autoencoderForward };

/**
 * Before anything is measured at all: multiply-adds per second on a 2-core machine, one run alone. The autoencoder
 * trained at 1,500 images a second (30 G/s) on a lightly loaded one; the first recorded ablation measured 25 G/s for
 * its autoencoders and 34 G/s for its cells' whole-network epochs (steps included).
 */
const priorArithmeticSpeed = 30e9;

/**
 * A run's own last epochs (up to three) say how long its next ones take, but one epoch scatters about its run's
 * mean: its kind's speed times the epoch's cost counts as this many of the run's own epochs, and the two are averaged
 * in log. The weight is the ratio of two variances in the recordings (scripts/fit-work-speeds.mjs on the six made
 * before it was chosen): the squared scatter of a run's first whole-network epoch about the mean of its later ones
 * (0.32 rms in log, pooled; 0.28 without the sweep whose machine sped up) over that of the runs' means about their
 * cost at the recording's speed (0.31; 0.19 without it), 1.1 (2.2 without it); with the ablation recorded since,
 * 1.4 (3.2). Replayed, any weight from 1 to 3 moves an estimate by at most 3 points.
 */
export const kindEpochsWeight = 2;

/**
 * How fast a kind of work gets through its multiply-adds against the autoencoder's training, for kinds not measured
 * yet. Whole-network classifier epochs: 0.85, the geometric mean of what the recordings that measured both gave (0.70
 * in the loaded study, 1.36 and 0.89 in the two ablations, about 0.78 in this round's three quiet studies, one run of
 * the pool counted as alone); the small tensors of a 3.1 M multiply-add step keep the kernels further from their peak
 * than the autoencoder's. Chosen after those recordings were seen: none of them is held out from it. Other kinds: 1
 * (too few recordings measured them before their first epochs).
 */
export const arithmeticEfficiency: Partial<Record<WorkKind, number>> = { classifier: 0.85 };
const efficiencyOf = (kind: WorkKind) => arithmeticEfficiency[kind] ?? 1;

/**
 * The speed of one of `running` runs side by side, relative to a run alone: two runs side by side train 1.16
 * times as fast as one on both threads (README, Training speed).
 */
export const poolShare = (running: number) => (running <= 1 ? 1 : 1.16 / running);

/** Batches past an epoch's first that its speed is measured on, before any epoch of its kind has finished. */
const partialBatches = 3;

type RunState = 'pending' | 'running' | 'done';

interface TrackedRun {
  plan: PlannedRun;
  state: RunState;
  startedAt: number;
  /** Each finished epoch: its kind and its time as if the run had been alone on the machine. */
  epochs: { epoch: number; kind: EpochKind; aloneSeconds: number }[];
  /**
   * The epoch in progress: its number, when it started, how many of its batches are done, and its first batch's
   * end (the first batch of a run also pays for its start: buffers allocated, a worker's kernels warmed).
   */
  current: { epoch: number; startedAt: number; batch: number; batches: number; firstBatch: { batch: number; at: number } | null } | null;
  /** Seconds of the run's wall time spent in its epochs. */
  epochSeconds: number;
  /** Epochs done before this process (a resumed autoencoder). */
  epochsBefore: number;
  lastImproved: number;
  trainingEndedAt: number | null;
  /** Epochs the run trained, and its best one, once it stopped. */
  finalEpochs: number | null;
  bestEpoch: number | null;
  endedAt: number | null;
}

export interface RunEstimate {
  stage: string;
  label: string;
  step: string;
  /** Classifier runs and sweep cells: their encoder variant. */
  variant?: string;
  state: RunState;
  /** The epoch in progress (or the last one), 0 before the first. */
  epoch: number;
  maxEpochs: number;
  expectedEpochs: number;
  remainingSeconds: number;
}

export interface Estimate {
  title: string;
  elapsedSeconds: number;
  /** Seconds left; null before a plan arrived. */
  remainingSeconds: number | null;
  /** The step in progress, 1-based, of `steps` (pretrain, denoise, ...). */
  step: { index: number; count: number; name: string } | null;
  runs: RunEstimate[];
}


/** The planned phase of epoch `epoch` (1-based). */
function phaseOf(plan: PlannedRun, epoch: number): PlannedEpochs | undefined {
  let last = 0;
  for (const phase of plan.epochs) {
    last += phase.count;
    if (epoch <= last) return phase;
  }
  return undefined;
}

/** A run's work outside epochs: its kind and its images. */
function forwardWork(plan: PlannedRun): ['encoder-forward' | 'autoencoder-forward', number] {
  return plan.epochs.length === 0 ? ['autoencoder-forward', plan.autoencoderImages] : ['encoder-forward', plan.encoderImages.before + plan.encoderImages.after];
}


export class EtaModel {
  private title = '';
  private workers = 1;
  private readonly runs = new Map<string, TrackedRun>();
  private readonly order: TrackedRun[] = [];
  private readonly steps: string[] = [];
  /** Measured work: cost units and seconds alone per kind, summed over finished epochs and finished runs. */
  private readonly measured = new Map<WorkKind, { cost: number; seconds: number; at: number }[]>();

  constructor(private readonly startedAt: number) {}

  get hasPlan(): boolean {
    return this.order.length > 0;
  }

  /** Seconds since the model began, at `now`. */
  elapsedSeconds(now: number): number {
    return now - this.startedAt;
  }

  /** Takes in one event that arrived at `now` (seconds, any origin shared with the constructor's). */
  observe(event: TrainingEvent, now: number): void {
    if (event.type === 'plan') {
      this.title = event.title;
      this.workers = Math.max(1, event.workers);
      this.runs.clear();
      this.order.length = 0;
      this.steps.length = 0;
      for (const plan of event.runs) {
        const run: TrackedRun = {
          plan, state: plan.done ? 'done' : 'pending', startedAt: now, epochs: [], current: null, epochSeconds: 0, epochsBefore: 0, lastImproved: 0,
          trainingEndedAt: plan.done ? now : null, finalEpochs: plan.done ? maxEpochsOf(plan) : null, bestEpoch: null, endedAt: plan.done ? now : null,
        };
        this.runs.set(plan.stage, run);
        this.order.push(run);
        if (!this.steps.includes(plan.step)) this.steps.push(plan.step);
      }
      return;
    }
    const run = this.runs.get(event.stage);
    if (!run) return;
    switch (event.type) {
      case 'stage-start':
        run.state = 'running';
        run.startedAt = now;
        break;
      case 'epoch-start':
        if (run.state !== 'running') {
          run.state = 'running';
          run.startedAt = now;
        }
        if (run.epochs.length === 0 && run.current === null) {
          run.epochsBefore = event.epoch - 1;
          run.lastImproved = event.epoch - 1;
        }
        run.current = { epoch: event.epoch, startedAt: now, batch: 0, batches: event.batches, firstBatch: null };
        break;
      case 'batch-end':
        if (run.current) {
          run.current.firstBatch ??= { batch: event.batch, at: now };
          run.current.batch = event.batch;
        }
        break;
      case 'epoch-end': {
        const phase = phaseOf(run.plan, event.record.epoch);
        const aloneSeconds = event.record.seconds * this.shareOf(run);
        run.epochSeconds += event.record.seconds;
        if (phase) {
          run.epochs.push({ epoch: event.record.epoch, kind: phase.kind, aloneSeconds });
          this.add(phase.kind, epochCost(phase), aloneSeconds, now);
        }
        if (event.improved) run.lastImproved = event.record.epoch;
        run.current = null;
        break;
      }
      case 'stage-end':
        run.trainingEndedAt = now;
        run.finalEpochs = run.epochsBefore + run.epochs.length;
        run.bestEpoch = run.lastImproved;
        // Classifier runs still score the test set (their run-end follows); the other stages are done.
        if (run.plan.variant === undefined) this.finish(run, now);
        break;
      case 'run-end':
        run.trainingEndedAt ??= now;
        run.finalEpochs = event.epochs;
        run.bestEpoch = event.bestEpoch;
        this.finish(run, now);
        break;
      case 'cell-done':
        // Trained elsewhere: done, but its time was not spent on this machine, so it measures nothing here.
        run.state = 'done';
        run.finalEpochs = event.epochs;
        run.endedAt = now;
        run.current = null;
        break;
      default:
        break;
    }
  }

  /** How fast `run` goes now relative to alone: the pool's runs share the machine. */
  private shareOf(run: TrackedRun): number {
    return run.plan.parallel ? poolShare(this.order.filter((other) => other.plan.parallel && other.state === 'running').length) : 1;
  }

  private finish(run: TrackedRun, now: number): void {
    if (run.state === 'done') return;
    // Time outside the epochs measures the forward work (codes, test predictions, scores, figures).
    const outside = now - run.startedAt - run.epochSeconds;
    const [kind, images] = forwardWork(run.plan);
    if (images > 0 && outside > 0) this.add(kind, images * forwardCost[kind], outside * this.shareOf(run), now);
    run.state = 'done';
    run.endedAt = now;
    run.current = null;
  }

  private add(kind: WorkKind, cost: number, aloneSeconds: number, now: number): void {
    const samples = this.measured.get(kind) ?? [];
    samples.push({ cost, seconds: aloneSeconds, at: now });
    this.measured.set(kind, samples);
  }

  /**
   * Multiply-adds per second of one run of `kind` alone on the machine over the long run: measured over all finished
   * epochs (and finished runs, for forward work); before the first, from the batches of an epoch in progress; before
   * any, the machine's arithmetic speed on the other kinds of work.
   */
  private speed(kind: WorkKind, now: number): number {
    return this.measuredSpeed([kind]) ?? this.partialSpeed(kind, now) ?? this.arithmeticSpeed(now) * efficiencyOf(kind);
  }

  /** Multiply-adds per second over the finished work of `kinds` (null before any). */
  private measuredSpeed(kinds: readonly WorkKind[]): number | null {
    const samples = kinds.flatMap((kind) => this.measured.get(kind) ?? []);
    const seconds = sum(samples.map((sample) => sample.seconds));
    return seconds > 0 ? sum(samples.map((sample) => sample.cost)) / seconds : null;
  }

  /**
   * The machine's speed at arithmetic, for a kind of work not measured yet: the multiply-adds per second of all the
   * work measured so far (an epoch in progress before that; the prior before anything), in the autoencoder's terms
   * (arithmeticEfficiency); a kind then goes at its efficiency times that. Against the recordings (scripts/fit-work-speeds.mjs), whole-
   * network epochs went at 0.70 times the autoencoder's multiply-adds a second in the study (under a load of 6 to
   * 10), 1.36 in the first ablation (load 2 to 4) and 0.89 in the second (load 4 to 6); the encoder's passes outside
   * epochs at 0.87 and 1.30 in the study and the first ablation, the autoencoder's passes (denoising scores) at 1.17
   * in the study.
   */
  private arithmeticSpeed(now: number): number {
    // Each kind's multiply-adds counted as the autoencoder's that take as long (arithmeticEfficiency).
    const samples = [...this.measured].flatMap(([kind, list]) => list.map((sample) => ({ ...sample, cost: sample.cost / efficiencyOf(kind) })));
    const seconds = sum(samples.map((sample) => sample.seconds));
    if (seconds > 0) return sum(samples.map((sample) => sample.cost)) / seconds;
    for (const kind of epochKinds) {
      const partial = this.partialSpeed(kind, now);
      if (partial !== null) return partial / efficiencyOf(kind);
    }
    return priorArithmeticSpeed;
  }

  /** How fast the machine goes now against the long-run speeds of its kinds of work (pace.ts). */
  private machinePace(now: number): number {
    const samples = [...this.measured].flatMap(([kind, list]) => {
      const longRun = this.speed(kind, now);
      return list.map((sample) => ({ ...sample, longRun }));
    });
    return machinePace(samples, now);
  }

  /**
   * The speed of the first epoch of `kind` in progress, from its batches since its first one (null before
   * `partialBatches` more have ended): the first batch is left out, since it also pays for the run's start.
   */
  private partialSpeed(kind: WorkKind, now: number): number | null {
    for (const run of this.order) {
      const phase = run.current ? phaseOf(run.plan, run.current.epoch) : undefined;
      const first = run.current?.firstBatch;
      if (!run.current || !first || phase?.kind !== kind || run.current.batch - first.batch < partialBatches || now <= first.at) continue;
      const trained = epochCost({ ...phase, validationImages: 0 }) * (run.current.batch - first.batch) / run.current.batches;
      return trained / ((now - first.at) * this.shareOf(run));
    }
    return null;
  }

    /**
   * Epochs a run is expected to train: early stopping ends it `patience` epochs after its best one, which is
   * expected where similar runs had theirs, and is no sooner than its last improvement so far.
   */
  private expectedEpochs(run: TrackedRun): number {
    const maxEpochs = maxEpochsOf(run.plan);
    if (run.finalEpochs !== null) return run.finalEpochs;
    const done = run.epochsBefore + run.epochs.length;
    const inProgress = run.current ? run.current.epoch : done;
    const { patience } = run.plan;
    if (patience === null || !canStopEarly(run.plan)) return maxEpochs;
    const finished = this.order.filter((other) => other.state === 'done' && other.bestEpoch !== null && other.finalEpochs !== null)
      .map((other) => ({ plan: other.plan, bestEpoch: other.bestEpoch!, epochs: other.finalEpochs! }));
    // The autoencoder (null) is one run with nothing like it to learn from, and its budget is what it is meant to
    // train (the full preset's 8 epochs improve to the last): expected to use it all.
    const expectedBest = expectedBestEpoch(run.plan, finished) ?? maxEpochs;
    const best = Math.max(Math.round(expectedBest), run.lastImproved, run.plan.firstStoppingEpoch - 1);
    return Math.min(maxEpochs, Math.max(best + patience, inProgress, 1));
  }

  /** Seconds a run has left if it were alone on the machine: its remaining epochs at its own pace (or its kind's), and its forward work. */
  private remainingAloneSeconds(run: TrackedRun, now: number, machine: number): number {
    if (run.state === 'done') return 0;
    const expected = this.expectedEpochs(run);
    const share = this.shareOf(run);
    let seconds = 0;
    const doneEpochs = run.epochsBefore + run.epochs.length;
    for (let epoch = doneEpochs + 1; epoch <= expected; epoch += 1) {
      const phase = phaseOf(run.plan, epoch);
      if (!phase) break;
      const own = run.epochs.filter((record) => record.kind === phase.kind).slice(-3);
      const modelled = epochCost(phase) / this.speed(phase.kind, now);
      // The run's own pace is the machine's of now; in long-run terms it is `machine` times that. Its few epochs
      // are drawn towards its kind's speed (kindEpochsWeight).
      const perEpoch = own.length === 0 ? modelled
        : Math.exp((own.length * Math.log(machine * sum(own.map((record) => record.aloneSeconds)) / own.length) + kindEpochsWeight * Math.log(modelled)) / (own.length + kindEpochsWeight));
      if (run.current && epoch === run.current.epoch) {
        const elapsed = (now - run.current.startedAt) * share * machine;
        const fraction = run.current.batch / Math.max(1, run.current.batches);
        // Past the predicted time, extrapolate from the batches done.
        seconds += elapsed < perEpoch ? perEpoch - elapsed : fraction > 0 ? elapsed * (1 - fraction) / fraction : perEpoch;
      } else {
        seconds += perEpoch;
      }
    }
    // Forward work: codes before the first epoch, test predictions (or a stage's whole work) after the last.
    const [kind, images] = forwardWork(run.plan);
    const forwardSeconds = (count: number) => count * forwardCost[kind] / this.speed(kind, now);
    const { before, after } = run.plan.epochs.length === 0 ? { before: 0, after: images } : run.plan.encoderImages;
    if (run.state === 'pending') {
      seconds += forwardSeconds(before + after);
    } else if (run.trainingEndedAt !== null) {
      seconds += Math.max(0, forwardSeconds(after) - (now - run.trainingEndedAt) * share * machine);
    } else if (run.epochs.length === 0 && run.current === null) {
      seconds += Math.max(0, forwardSeconds(before + after) - (now - run.startedAt) * share * machine);
    } else {
      seconds += forwardSeconds(after);
    }
    return seconds;
  }

  /**
   * The pool played out: the runs in progress, then the pending ones in the order the plan lists them as workers
   * come free, each going at `poolShare` of the runs going at once. Returns when each run ends, from now.
   */
  private playPool(work: { run: TrackedRun; aloneSeconds: number }[]): Map<TrackedRun, number> {
    const ends = new Map<TrackedRun, number>();
    const queue = [...work.filter((entry) => entry.run.state === 'running'), ...work.filter((entry) => entry.run.state === 'pending')];
    const active: { run: TrackedRun; left: number }[] = [];
    let time = 0;
    while (queue.length > 0 || active.length > 0) {
      while (active.length < this.workers && queue.length > 0) {
        const next = queue.shift()!;
        active.push({ run: next.run, left: next.aloneSeconds });
      }
      const share = poolShare(active.length);
      const step = Math.min(...active.map((entry) => entry.left)) / share;
      time += step;
      for (const entry of active) entry.left -= step * share;
      for (let index = active.length - 1; index >= 0; index -= 1) {
        if (active[index]!.left <= 1e-9) {
          ends.set(active[index]!.run, time);
          active.splice(index, 1);
        }
      }
    }
    return ends;
  }

  estimate(now: number): Estimate {
    const elapsedSeconds = this.elapsedSeconds(now);
    if (this.order.length === 0) return { title: this.title, elapsedSeconds, remainingSeconds: null, step: null, runs: [] };
    const machine = this.machinePace(now);
    const alone = new Map(this.order.map((run) => [run, this.remainingAloneSeconds(run, now, machine)]));
    // Stages in turn add up, and the pool's runs start after those before them; a run's time left is when it ends.
    const pool = this.order.filter((run) => run.plan.parallel);
    const poolEnds = this.playPool(pool.filter((run) => run.state !== 'done').map((run) => ({ run, aloneSeconds: alone.get(run)! })));
    const poolSeconds = Math.max(0, ...poolEnds.values());
    const ends = new Map<TrackedRun, number>();
    let time = 0;
    let poolDone = false;
    for (const run of this.order) {
      if (run.plan.parallel) {
        if (!poolDone) time += poolSeconds;
        poolDone = true;
        ends.set(run, run.state === 'done' ? 0 : time - poolSeconds + (poolEnds.get(run) ?? 0));
      } else {
        time += alone.get(run)!;
        ends.set(run, run.state === 'done' ? 0 : time);
      }
    }
    // Long-run seconds to wall seconds: the machine goes at `machine` times its long-run pace now and returns to it.
    for (const [run, end] of ends) ends.set(run, wallSeconds(end, machine));
    time = wallSeconds(time, machine);
    const runs: RunEstimate[] = this.order.map((run) => ({
      stage: run.plan.stage, label: run.plan.label, step: run.plan.step, ...(run.plan.variant === undefined ? {} : { variant: run.plan.variant }), state: run.state,
      epoch: run.current?.epoch ?? run.epochsBefore + run.epochs.length,
      maxEpochs: maxEpochsOf(run.plan), expectedEpochs: this.expectedEpochs(run), remainingSeconds: ends.get(run) ?? 0,
    }));
    const current = runs.find((run) => run.state === 'running') ?? runs.find((run) => run.state === 'pending') ?? runs.at(-1)!;
    const stepIndex = this.steps.indexOf(current.step);
    return { title: this.title, elapsedSeconds, remainingSeconds: time, step: { index: stepIndex + 1, count: this.steps.length, name: current.step }, runs };
  }
}
