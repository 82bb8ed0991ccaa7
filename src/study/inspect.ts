// The study's third stage: what the autoencoder learned. Its first-layer filters and feature maps, and for every
// unit of the coding layer (and channel of each convolution) the test images that drive it highest.
import type { PreparedData } from '../data/prepare.js';
import { inspect } from '../eval/inspection.js';
import type { Autoencoder } from '../model/autoencoder.js';
import { stageFile } from './context.js';
import type { ExperimentContext } from './context.js';
import { inspectionFigures } from './figures.js';

export async function inspectRepresentation(
  context: ExperimentContext,
  data: PreparedData,
  autoencoder: Autoencoder,
): Promise<void> {
  const { run, config, reporter } = context;
  if (run.isStageDone('inspect')) return;
  reporter({
    type: 'stage-start',
    stage: 'inspect',
    description: 'filters, feature maps and top-activating test images',
  });
  const started = performance.now();
  const inspection = inspect(autoencoder.encoder, autoencoder.decoder, data.test, config.inspection);
  await run.writeJson(stageFile('inspect'), {
    codingUnits: inspection.codingUnits.map(({ unit, indices, values }) => ({ unit, indices, values })),
    convChannels: inspection.convChannels,
  });
  reporter({ type: 'saved', stage: 'inspect', file: stageFile('inspect') });
  await run.writeJson('figures/inspect.json', await inspectionFigures(run, inspection, data));
  await run.markStageDone('inspect');
  reporter({
    type: 'stage-end',
    stage: 'inspect',
    seconds: (performance.now() - started) / 1000,
    summary: `${inspection.codingUnits.length} coding units inspected`,
  });
}
