// The study's second stage: how well the pretrained autoencoder undoes the corruption it was trained on, and
// others, scored image by image on the test set, with a figure of a few reconstructions.
import { imageScorer } from '../eval/reconstruction.js';
import type { PreparedData } from '../data/prepare.js';
import { evaluateDenoising } from '../eval/denoising.js';
import type { Autoencoder } from '../model/autoencoder.js';
import { stageFile } from './context.js';
import type { ExperimentContext } from './context.js';
import { denoisedSetWriter } from './denoised-sets.js';
import { denoisedSetsOf } from './evaluate.js';
import { denoisingFigures } from './figures.js';

/**
 * Scores the denoising and draws its figure, unless the folder has them. The autoencoder's outputs on the corrupted
 * test sets wait in the run folder for the evaluation stage, unless it is done (denoised-sets.ts).
 */
export async function checkDenoising(
  context: ExperimentContext,
  data: PreparedData,
  autoencoder: Autoencoder,
): Promise<void> {
  const { run, config, reporter } = context;
  // Done, unless its scores were deleted (as the report's hint for a corrupted copy says to): then scored again.
  if (run.isStageDone('denoise') && (await run.exists(stageFile('denoise')))) return;
  reporter({
    type: 'stage-start',
    stage: 'denoise',
    description: `reconstruction scores on ${data.test.count} test images`,
  });
  const started = performance.now();
  // Each denoised set goes to the run folder as soon as it is made, for the evaluation (denoised-sets.ts).
  const writer = run.isStageDone('evaluate') ? null : await denoisedSetWriter(run, denoisedSetsOf(config, data.test));
  const result = evaluateDenoising(
    autoencoder.autoencoder,
    data.test,
    config.autoencoder.noise,
    config.autoencoder.evaluationNoise,
    config.seed,
    config.inspection.reconstructionDigits,
    imageScorer(),
    writer?.add ?? (() => {}),
  );
  await run.writeJson(stageFile('denoise'), { test: result.test, noiseLevels: result.noiseLevels });
  reporter({ type: 'saved', stage: 'denoise', file: stageFile('denoise') });
  await run.writeJson('figures/denoise.json', await denoisingFigures(run, result, data, config));
  await writer?.finish();
  await run.markStageDone('denoise');
  reporter({
    type: 'stage-end',
    stage: 'denoise',
    seconds: (performance.now() - started) / 1000,
    summary: `PSNR noisy ${result.test.noisy.psnr.toFixed(2)} dB -> denoised ${result.test.denoised.psnr.toFixed(2)} dB`,
  });
}
