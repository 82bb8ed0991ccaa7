// Reporters for the terminal. In a terminal: a live view of one line for the command (step k of n, elapsed, time
// left) and one line per run in progress (epoch, batch bar, validation score, time left), redrawn in place; a
// finished run leaves one summary line above it. Elsewhere (a pipe, a file, CI): no bars and no cursor movement,
// one line per finished epoch and per finished run, and the command's line at intervals. Or JSON lines for
// machines, every event. The time left comes from the ETA model (eta.ts), fed the same events; in every mode the
// estimates are kept (estimate-log.ts), so that the command can check them against the time it took once it ends.
import cliProgress from 'cli-progress';

import type { Reporter, TrainingEvent } from '../train/events.js';
import { EstimateLog } from './estimate-log.js';
import type { EstimateRecord } from './estimate-log.js';
import type { MachineSpeeds } from './calibration.js';
import { EtaModel } from './eta.js';
import { commandLine, epochLine, finishedRunLine, finishedStageLine, runLine, scoreOf } from './lines.js';
import type { RunProgress } from './lines.js';

export type ProgressStream = NodeJS.WritableStream & { isTTY?: boolean };

export interface ConsoleReporterOptions {
  json: boolean;
  stream: ProgressStream;
  /** In a terminal, also a line per finished epoch (always written where output is not a terminal). */
  verbose?: boolean;
  /** The clock, in seconds: injected so that tests render the same lines every time. */
  now?: () => number;
  /** This machine's speeds, measured as the command started: without them no time left is shown. */
  speeds?: MachineSpeeds;
  /** Where output is not a terminal: the command's line at most this often (seconds), and at every new step. */
  estimateInterval?: number;
}

/**
 * A reporter that may hold the terminal: `close` redraws the view a last time and gives the cursor back.
 * `estimateRecord` checks the time-left estimates made so far against the time taken until now (null before a plan).
 */
export type ConsoleReporter = Reporter & { close: () => void; estimateRecord: () => EstimateRecord | null };

const wallClock = () => performance.now() / 1000;

export function consoleReporter(options: ConsoleReporterOptions): ConsoleReporter {
  const { stream } = options;
  const now = options.now ?? wallClock;
  const eta = new EtaModel(now(), options.speeds ?? null);
  const estimates = new EstimateLog();
  let title: string | null = null;
  /** Feeds the model, and keeps its estimate when one is due. */
  const observe = (event: TrainingEvent, time: number) => {
    eta.observe(event, time);
    if (event.type === 'plan') title = event.title;
    const elapsed = eta.elapsedSeconds(time);
    if (!eta.hasPlan || !estimates.due(elapsed)) return;
    const { remainingSeconds } = eta.estimate(time);
    if (remainingSeconds !== null) estimates.record(elapsed, remainingSeconds);
  };
  const estimateRecord = (): EstimateRecord | null => {
    if (title === null) return null;
    const totalSeconds = eta.elapsedSeconds(now());
    return {
      command: title,
      totalSeconds,
      checks: estimates.check(totalSeconds),
      ...(options.speeds ? { speeds: options.speeds } : {}),
    };
  };
  if (options.json) {
    return Object.assign(
      (event: TrainingEvent) => {
        stream.write(`${JSON.stringify(event)}\n`);
        observe(event, now());
      },
      { close: () => {}, estimateRecord },
    );
  }
  const view = stream.isTTY === true ? liveView(stream) : plainView(stream);
  const verbose = options.verbose === true || stream.isTTY !== true;
  const interval = options.estimateInterval ?? 30;
  const progress = new Map<string, RunProgress>();
  const labels = new Map<string, string>();
  const maxEpochs = new Map<string, number>();
  /** Classifier runs and sweep cells: they come and go on their own lines. */
  const runStages = new Set<string>();
  const isRun = (stage: string) => runStages.has(stage) || (!eta.hasPlan && /^(classify|sweep) /.test(stage));
  let lastEstimateAt = -Infinity;
  let lastRedrawAt = -Infinity;
  let lastStep: string | null = null;

  const labelOf = (stage: string) => labels.get(stage) ?? stage;
  const labelWidth = () => Math.max(8, ...[...progress.keys()].map((stage) => labelOf(stage).length));
  const redraw = (time: number) => {
    const estimate = eta.estimate(time);
    const byStage = new Map(estimate.runs.map((run) => [run.stage, run]));
    view.draw(
      eta.hasPlan ? commandLine(estimate) : null,
      [...progress.entries()].map(([stage, run]) => ({
        stage,
        progress: run,
        line: (bar: string | null) => runLine(run, bar, byStage.get(stage), labelWidth()),
      })),
    );
  };
  /** Where output is not a terminal: the command's line when a new step starts, else every `interval` seconds. */
  const maybeEstimateLine = (time: number, event: TrainingEvent) => {
    if (!eta.hasPlan || view.live || (event.type !== 'stage-start' && time - lastEstimateAt < interval)) return;
    const estimate = eta.estimate(time);
    const step = estimate.step?.name ?? null;
    if (step !== lastStep || time - lastEstimateAt >= interval) {
      view.log(`⏱ ${commandLine(estimate)}`);
      lastEstimateAt = time;
      lastStep = step;
    }
  };

  const reporter = (event: TrainingEvent) => {
    const time = now();
    observe(event, time);
    switch (event.type) {
      case 'plan':
        for (const run of event.runs) {
          labels.set(run.stage, run.label);
          maxEpochs.set(
            run.stage,
            run.epochs.reduce((total, phase) => total + phase.count, 0),
          );
          if (run.group !== undefined) runStages.add(run.stage);
        }
        break;
      case 'stage-start':
        progress.set(event.stage, {
          label: labelOf(event.stage),
          epoch: 0,
          maxEpochs: maxEpochs.get(event.stage) ?? 0,
          batch: 0,
          batches: 0,
          score: null,
        });
        // Runs of the pool come and go on their own lines; a step of the study says what it does.
        if (!isRun(event.stage)) view.log(`▸ ${event.stage}: ${event.description}`);
        break;
      case 'epoch-start': {
        const run = progress.get(event.stage) ?? {
          label: labelOf(event.stage),
          epoch: 0,
          maxEpochs: 0,
          batch: 0,
          batches: 0,
          score: null,
        };
        progress.set(event.stage, {
          ...run,
          epoch: event.epoch,
          maxEpochs: event.maxEpochs,
          batch: 0,
          batches: event.batches,
        });
        break;
      }
      case 'batch-end': {
        const run = progress.get(event.stage);
        if (run) run.batch = event.batch;
        break;
      }
      case 'epoch-end': {
        const run = progress.get(event.stage);
        if (run) run.score = scoreOf(event.record);
        if (verbose)
          view.log(epochLine(labelOf(event.stage), event.record, run?.maxEpochs || event.record.epoch, event.improved));
        break;
      }
      case 'stage-end':
        // A classifier run still scores the test set: its line stays until its run-end.
        if (!isRun(event.stage)) {
          progress.delete(event.stage);
          view.log(finishedStageLine(labelOf(event.stage), event.summary, event.seconds));
        }
        break;
      case 'run-end':
        progress.delete(event.stage);
        view.log(finishedRunLine(labelOf(event.stage), event));
        break;
      case 'message':
        // A run's messages (its learning rate halved) are epoch-level detail; a step's (a checkpoint resumed) are not.
        if (verbose || !isRun(event.stage)) view.log(`  ${labelOf(event.stage)} · ${event.text}`);
        break;
      // A queued cell's line is the coordinator's message that follows; the command's line counts it done.
      case 'cell-done':
      case 'saved':
        break;
    }
    maybeEstimateLine(time, event);
    // Batches come fast: the view is redrawn at most 5 times a second for them, at once for anything else.
    if (view.live && (event.type !== 'batch-end' || time - lastRedrawAt >= 0.2)) {
      redraw(time);
      lastRedrawAt = time;
    }
  };
  return Object.assign(reporter, {
    close: () => {
      if (view.live) redraw(now());
      view.close();
    },
    estimateRecord,
  });
}

interface LiveLine {
  stage: string;
  progress: RunProgress;
  line: (bar: string | null) => string;
}

interface View {
  /** Redraws the view in place (a no-op where output is not a terminal). */
  live: boolean;
  draw: (command: string | null, runs: LiveLine[]) => void;
  /** A permanent line, above the live view. */
  log: (line: string) => void;
  close: () => void;
}

function plainView(stream: ProgressStream): View {
  return {
    live: false,
    draw: () => {},
    log: (line) => {
      stream.write(`${line}\n`);
    },
    close: () => {},
  };
}

/**
 * The live view on cli-progress's MultiBar: its first bar is the command's line, then one bar per run in
 * progress; lines logged go above them. MultiBar redraws on its own timer (at most 5 times a second).
 */
function liveView(stream: ProgressStream): View {
  const multibar = new cliProgress.MultiBar(
    {
      stream,
      hideCursor: true,
      fps: 5,
      clearOnComplete: false,
      linewrap: false,
      autopadding: false,
      barsize: 16,
      // Every redraw draws every line: a logged line takes the place of the first, which must then be drawn again.
      forceRedraw: true,
      format: (options, params, payload: { line?: (bar: string | null) => string; text?: string }) =>
        payload.line ? payload.line(cliProgress.Format.BarFormat(params.progress, options)) : (payload.text ?? ''),
    },
    cliProgress.Presets.shades_classic,
  );
  let header: cliProgress.SingleBar | null = null;
  const bars = new Map<string, cliProgress.SingleBar>();
  // MultiBar prints logged lines at its next redraw, and redraws only while it has bars: until the first one, and
  // after the last redraw, lines go straight to the stream.
  let active = false;
  return {
    live: true,
    draw: (command, runs) => {
      if (command !== null) {
        header ??= multibar.create(1, 0, { text: command });
        header.update(0, { text: command });
        active = true;
      }
      for (const [stage, bar] of bars) {
        if (!runs.some((run) => run.stage === stage)) {
          multibar.remove(bar);
          bars.delete(stage);
        }
      }
      for (const run of runs) {
        const total = Math.max(1, run.progress.batches);
        const bar = bars.get(run.stage) ?? multibar.create(total, 0, { line: run.line });
        active = true;
        bars.set(run.stage, bar);
        bar.setTotal(total);
        bar.update(run.progress.batch, { line: run.line });
      }
    },
    log: (line) => {
      if (active) multibar.log(`${line}\n`);
      else stream.write(`${line}\n`);
    },
    close: () => {
      if (!active) return;
      // The runs' lines go; the command's line stays, as it was last.
      for (const bar of bars.values()) multibar.remove(bar);
      bars.clear();
      multibar.update();
      multibar.stop();
      active = false;
    },
  };
}
