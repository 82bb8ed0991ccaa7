// Reporters for the terminal: a progress bar per epoch (loss and ETA) on a TTY, one line per epoch otherwise,
// or JSON lines for machines.
import cliProgress from 'cli-progress';

import type { Reporter, TrainingEvent } from '../train/events.js';

export function consoleReporter(options: { json: boolean; stream: NodeJS.WriteStream }): Reporter {
  const { stream } = options;
  const write = (line: string) => stream.write(`${line}\n`);
  if (options.json) return (event: TrainingEvent) => write(JSON.stringify(event));
  const interactive = stream.isTTY === true;
  let bar: cliProgress.SingleBar | null = null;
  return (event) => {
    switch (event.type) {
      case 'stage-start':
        write(`\n▸ ${event.stage}: ${event.description}`);
        break;
      case 'epoch-start':
        if (interactive) {
          bar = new cliProgress.SingleBar({
            format: `  epoch ${event.epoch}/${event.maxEpochs} {bar} {value}/{total} batches | loss {loss} | ETA {eta_formatted}`,
            stream, hideCursor: true, clearOnComplete: true, etaBuffer: 50,
          }, cliProgress.Presets.shades_classic);
          bar.start(event.batches, 0, { loss: '-' });
        }
        break;
      case 'batch-end':
        bar?.update(event.batch, { loss: event.loss.toFixed(4) });
        break;
      case 'epoch-end': {
        bar?.stop();
        bar = null;
        const r = event.record;
        const accuracy = r.validationAccuracy === undefined ? '' : `  val acc ${(100 * r.validationAccuracy).toFixed(2)}%`;
        write(`  epoch ${String(r.epoch).padStart(2)}  loss ${r.loss.toFixed(5)}  val loss ${r.validationLoss.toFixed(5)}${accuracy}  ${r.seconds.toFixed(1)} s${event.improved ? '  *' : ''}`);
        break;
      }
      case 'stage-end':
        bar?.stop();
        bar = null;
        write(`  done in ${event.seconds.toFixed(1)} s: ${event.summary}`);
        break;
      case 'message':
        write(`  ${event.text}`);
        break;
    }
  };
}
