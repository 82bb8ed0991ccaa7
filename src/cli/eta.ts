// How long a study or a grid has left. Pure: fed the plan, the events and the time they arrived, and this machine's
// measured speeds (calibration.ts), it never reads a clock itself.
//
// Work is priced in the calibration's seconds (one run on one kernel thread), then corrected by how fast the real
// work goes: an exponential moving average, per kind of work and per way it runs (in turn, or in the pool beside
// others), of the seconds taken against the seconds priced, as tqdm smooths its rate. How many epochs a run takes
// is not known before it stops early: a run is planned at its budget until runs of its group (the same variant on
// the same labels, another seed) have finished, and then at their mean; a run in progress at least until its
// patience runs out. The pool's runs are played out on its threads in the order they are handed out.
import type { EpochKind, PlannedEpochs, PlannedRun, TrainingEvent } from '../train/events.js';
import type { MachineSpeeds } from './calibration.js';

export interface RunEstimate {
  stage: string;
  group?: string;
  state: 'pending' | 'running' | 'done';
  /** Its own time left (waiting for a thread aside); null without the machine's speeds. */
  remainingSeconds: number | null;
}

export interface Estimate {
  title: string;
  /** The step in progress, 1-based, of `count` (pretrain, denoise, ...). */
  step: { index: number; count: number; name: string } | null;
  elapsedSeconds: number;
  /** The expected time left, and the time left if every run used its whole budget; null before they can be priced. */
  remainingSeconds: number | null;
  atMostSeconds: number | null;
  runs: RunEstimate[];
}

/** How much a new measurement of a speed counts against the ones before (tqdm's default smoothing). */
const smoothing = 0.3;

interface TrackedRun {
  plan: PlannedRun;
  state: RunEstimate['state'];
  startedAt: number;
  epochsDone: number;
  bestEpoch: number;
  /** The epoch in progress: when it and its first batch ended, and how many of its batches are done. */
  current: { epoch: number; startedAt: number; firstBatchAt: number | null; batch: number } | null;
}

const phaseOf = (plan: PlannedRun, epoch: number): PlannedEpochs | undefined => {
  let last = 0;
  return plan.epochs.find((phase) => (last += phase.count) >= epoch);
};
const budgetOf = (plan: PlannedRun) => plan.epochs.reduce((total, phase) => total + phase.count, 0);

export class EtaModel {
  private title = '';
  private workers = 1;
  private order: TrackedRun[] = [];
  private readonly runs = new Map<string, TrackedRun>();
  private readonly steps: string[] = [];
  /**
   * Seconds taken per second priced, by `${way}:${kind}`: way is `pool` or `turn`, kind an epoch kind. Work outside
   * epochs goes at the mean of its way's kinds: the stages that do it also draw figures, which are not priced.
   */
  private readonly ratios = new Map<string, number>();
  private readonly groupEpochs = new Map<string, number[]>();

  constructor(
    private readonly startedAt: number,
    private readonly speeds: MachineSpeeds | null = null,
  ) {}

  get hasPlan(): boolean {
    return this.order.length > 0;
  }

  elapsedSeconds(now: number): number {
    return now - this.startedAt;
  }

  observe(event: TrainingEvent, now: number): void {
    if (event.type === 'plan') {
      this.title = event.title;
      this.workers = Math.max(1, event.workers);
      this.order = event.runs.map((plan) => ({
        plan,
        state: plan.done ? 'done' : 'pending',
        startedAt: now,
        epochsDone: 0,
        bestEpoch: 0,
        current: null,
      }));
      for (const run of this.order) this.runs.set(run.plan.stage, run);
      for (const { plan } of this.order) if (!this.steps.includes(plan.step)) this.steps.push(plan.step);
      return;
    }
    const run = 'stage' in event ? this.runs.get(event.stage) : undefined;
    if (!run || run.state === 'done') return;
    switch (event.type) {
      case 'stage-start':
        run.state = 'running';
        run.startedAt = now;
        break;
      case 'epoch-start':
        run.current = { epoch: event.epoch, startedAt: now, firstBatchAt: null, batch: 0 };
        break;
      case 'batch-end':
        if (run.current) {
          run.current.batch = event.batch;
          if (event.batch === 1) run.current.firstBatchAt = now;
        }
        break;
      case 'epoch-end': {
        const phase = phaseOf(run.plan, event.record.epoch);
        if (run.current && phase)
          this.measure(run.plan, phase.kind, now - run.current.startedAt, this.epochSeconds(phase));
        run.epochsDone = event.record.epoch;
        if (event.improved) run.bestEpoch = event.record.epoch;
        run.current = null;
        break;
      }
      case 'stage-end':
        // A classifier run still scores the test set after its training ends: it is done at its run-end.
        if (run.plan.group !== undefined) break;
        run.state = 'done';
        break;
      case 'run-end':
        this.finished(run, event.epochs);
        break;
      case 'cell-done':
        // Trained elsewhere (a queue's worker): its epochs tell its group's, but its time says nothing here.
        this.finished(run, event.epochs);
        break;
      default:
        break;
    }
  }

  /** A run ended after `epochs`: its group's runs are expected to take about as many. */
  private finished(run: TrackedRun, epochs: number): void {
    run.state = 'done';
    if (run.plan.group !== undefined)
      this.groupEpochs.set(run.plan.group, [...(this.groupEpochs.get(run.plan.group) ?? []), epochs]);
  }

  private measure(plan: PlannedRun, kind: EpochKind, seconds: number, priced: number): void {
    // Work priced under a tenth of a second says more about timer noise than about speed.
    if (priced < 0.1) return;
    const key = `${plan.parallel ? 'pool' : 'turn'}:${kind}`;
    const previous = this.ratios.get(key);
    this.ratios.set(
      key,
      previous === undefined ? seconds / priced : smoothing * (seconds / priced) + (1 - smoothing) * previous,
    );
  }

  /** Seconds taken per second priced for an epoch of `kind`: its own, else an epoch in progress, else its way's. */
  private ratio(plan: PlannedRun, kind: EpochKind, current: TrackedRun['current'], now: number): number {
    const own = this.ratios.get(`${plan.parallel ? 'pool' : 'turn'}:${kind}`);
    if (own !== undefined) return own;
    const phase = current ? phaseOf(plan, current.epoch) : undefined;
    // An epoch in progress, from its second batch on: the first also pays for the run's start.
    if (current?.firstBatchAt != null && current.batch >= 3 && phase) {
      return (now - current.firstBatchAt) / ((current.batch - 1) * this.batchSeconds(phase));
    }
    return this.wayRatio(plan);
  }

  /** The mean of the ratios measured for work run this way (in turn, or in the pool); 1 before any. */
  private wayRatio(plan: PlannedRun): number {
    const way = `${plan.parallel ? 'pool' : 'turn'}:`;
    const measured = [...this.ratios].filter(([key]) => key.startsWith(way)).map(([, value]) => value);
    return measured.length > 0 ? measured.reduce((a, b) => a + b, 0) / measured.length : 1;
  }

  private batchSeconds(phase: PlannedEpochs): number {
    const { perStep, perImage } = this.speeds!.epochs[phase.kind];
    return perStep + Math.min(phase.batchSize, phase.images) * perImage;
  }

  /** The calibration's seconds for one epoch of `phase`: its batches, then its validation pass. */
  private epochSeconds(phase: PlannedEpochs): number {
    if (!this.speeds) return 0;
    const { perStep, perImage } = this.speeds.epochs[phase.kind];
    const validation =
      phase.kind === 'autoencoder'
        ? this.speeds.forward.autoencoder
        : phase.kind === 'classifier'
          ? this.speeds.forward.classifier
          : 0;
    return (
      Math.ceil(phase.images / phase.batchSize) * perStep +
      phase.images * perImage +
      phase.validationImages * validation
    );
  }

  private forwardSeconds(plan: PlannedRun): number {
    if (!this.speeds) return 0;
    const { forward } = this.speeds;
    return (
      plan.forward.autoencoder * forward.autoencoder +
      plan.forward.encoder * forward.encoder +
      plan.forward.classifier * forward.classifier +
      plan.forward.codeMap * forward.codeMap
    );
  }

  /** The epochs a run is expected to take: its group's mean once known, else its budget; `atMost`: its budget. */
  private expectedEpochs(run: TrackedRun, atMost: boolean): number {
    const budget = budgetOf(run.plan);
    const group = run.plan.group === undefined ? undefined : this.groupEpochs.get(run.plan.group);
    if (atMost || group === undefined || run.plan.patience === null) return budget;
    const mean = Math.round(group.reduce((a, b) => a + b, 0) / group.length);
    const patienceLeft = Math.min(budget, run.bestEpoch + run.plan.patience);
    return Math.min(budget, Math.max(mean, patienceLeft, run.current?.epoch ?? run.epochsDone));
  }

  /** A run's own time left, taking `epochs` epochs in all. */
  private remaining(run: TrackedRun, epochs: number, now: number): number {
    if (run.state === 'done') return 0;
    const { plan, current } = run;
    let seconds = 0;
    for (let epoch = run.epochsDone + 1; epoch <= epochs; epoch += 1) {
      const phase = phaseOf(plan, epoch);
      if (!phase) break;
      const left = current?.epoch === epoch ? 1 - current.batch / Math.ceil(phase.images / phase.batchSize) : 1;
      seconds += left * this.epochSeconds(phase) * this.ratio(plan, phase.kind, current, now);
    }
    const wayRatio = this.wayRatio(plan);
    const forward = this.forwardSeconds(plan) * wayRatio;
    if (plan.epochs.length === 0)
      return run.state === 'running' ? Math.max(0, forward - (now - run.startedAt)) : forward;
    // Codes come before the first epoch, the test set's predictions after the last.
    const after = plan.forward.classifier * this.speeds!.forward.classifier * wayRatio;
    return seconds + (run.state === 'pending' || (run.epochsDone === 0 && current === null) ? forward : after);
  }

  /** Time left with every run taking its expected epochs, or (`atMost`) its budget. */
  private total(now: number, atMost: boolean): { seconds: number; perRun: Map<TrackedRun, number> } {
    const perRun = new Map(this.order.map((run) => [run, this.remaining(run, this.expectedEpochs(run, atMost), now)]));
    let inTurn = 0;
    // The pool hands out runs in plan order to whichever of its threads is free first; one run runs on one thread.
    const threads = Array.from({ length: this.workers }, () => 0);
    for (const run of this.order) {
      const seconds = perRun.get(run)!;
      if (!run.plan.parallel) inTurn += seconds;
      else threads[threads.indexOf(Math.min(...threads))]! += seconds;
    }
    return { seconds: inTurn + Math.max(...threads), perRun };
  }

  estimate(now: number): Estimate {
    const elapsedSeconds = this.elapsedSeconds(now);
    const active = this.order.find((run) => run.state !== 'done') ?? this.order.at(-1);
    const step = active
      ? { index: this.steps.indexOf(active.plan.step) + 1, count: this.steps.length, name: active.plan.step }
      : null;
    // Without the machine's speeds nothing can be priced: the runs' states still count what is done.
    const expected = this.speeds ? this.total(now, false) : null;
    const runs = this.order.map((run) => ({
      stage: run.plan.stage,
      ...(run.plan.group !== undefined ? { group: run.plan.group } : {}),
      state: run.state,
      remainingSeconds: expected?.perRun.get(run) ?? null,
    }));
    return {
      title: this.title,
      step,
      elapsedSeconds,
      remainingSeconds: expected?.seconds ?? null,
      atMostSeconds: expected ? this.total(now, true).seconds : null,
      runs,
    };
  }
}
