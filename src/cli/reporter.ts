// Reporters for the terminal: a progress bar per epoch (loss and ETA) on a TTY, one line per epoch otherwise,
// or JSON lines for machines. Stages may interleave (classifier runs trained side by side): a line from another
// stage than the previous line is headed by that stage's name, and only one stage at a time has a bar.
import cliProgress from 'cli-progress';

import type { Reporter, TrainingEvent } from '../train/events.js';

interface BarOwner { stage: string; epoch: number; maxEpochs: number; batches: number }

export function consoleReporter(options: { json: boolean; stream: NodeJS.WritableStream & { isTTY?: boolean } }): Reporter {
  const { stream } = options;
  const write = (line: string) => stream.write(`${line}\n`);
  if (options.json) return (event: TrainingEvent) => write(JSON.stringify(event));
  const interactive = stream.isTTY === true;
  let bar: cliProgress.SingleBar | null = null;
  let owner: BarOwner | null = null;
  let lastStage: string | null = null;

  const hideBar = () => {
    bar?.stop();
    bar = null;
  };
  /** A line of `stage`: the bar steps aside (it is redrawn at its stage's next batch). */
  const line = (stage: string, text: string) => {
    hideBar();
    if (stage !== lastStage) write(`▸ ${stage}`);
    lastStage = stage;
    write(text);
  };
  const showBar = (current: BarOwner, batch: number, loss: string) => {
    if (!bar) {
      bar = new cliProgress.SingleBar({
        format: `  ${lastStage === current.stage ? '' : `${current.stage} · `}epoch ${current.epoch}/${current.maxEpochs} {bar} {value}/{total} batches | loss {loss} | ETA {eta_formatted}`,
        stream, hideCursor: true, clearOnComplete: true, etaBuffer: 50,
      }, cliProgress.Presets.shades_classic);
      bar.start(current.batches, batch, { loss });
    } else {
      bar.update(batch, { loss });
    }
  };

  return (event) => {
    switch (event.type) {
      case 'stage-start':
        hideBar();
        write(`\n▸ ${event.stage}: ${event.description}`);
        lastStage = event.stage;
        break;
      case 'epoch-start':
        if (interactive && (owner === null || owner.stage === event.stage)) {
          hideBar();
          owner = { stage: event.stage, epoch: event.epoch, maxEpochs: event.maxEpochs, batches: event.batches };
          showBar(owner, 0, '-');
        }
        break;
      case 'batch-end':
        if (owner?.stage === event.stage) showBar(owner, event.batch, event.loss.toFixed(4));
        break;
      case 'epoch-end': {
        if (owner?.stage === event.stage) {
          hideBar();
          owner = null;
        }
        const r = event.record;
        const accuracy = r.validationAccuracy === undefined ? '' : `  val acc ${(100 * r.validationAccuracy).toFixed(2)}%`;
        line(event.stage, `  epoch ${String(r.epoch).padStart(2)}  loss ${r.loss.toFixed(5)}  val loss ${r.validationLoss.toFixed(5)}${accuracy}  ${r.seconds.toFixed(1)} s${event.improved ? '  *' : ''}`);
        break;
      }
      case 'stage-end':
        if (owner?.stage === event.stage) owner = null;
        line(event.stage, `  done in ${event.seconds.toFixed(1)} s: ${event.summary}`);
        break;
      case 'message':
        line(event.stage, `  ${event.text}`);
        break;
    }
  };
}
