// The study's first stage: the denoising autoencoder, trained on every training image without its label. The
// ablation pretrains its autoencoders through the same function (trainNewAutoencoder), so a pretraining method is
// defined once.
import type { ImageSet } from '../data/dataset.js';
import type { PreparedData } from '../data/prepare.js';
import { Random } from '../data/random.js';
import { fileCheckpointStore } from '../io/checkpoint-files.js';
import type { Metrics } from '../io/metrics.js';
import { loadModel, saveModel } from '../io/model-files.js';
import { buildAutoencoder, joinAutoencoder, shapeOf } from '../model/autoencoder.js';
import type { Autoencoder } from '../model/autoencoder.js';
import { modelSummary } from '../model/summary.js';
import { trainAutoencoder } from '../train/autoencoder.js';
import type { AutoencoderConfig, AutoencoderTrainingResult } from '../train/autoencoder.js';
import { initializeWeights } from '../train/weights.js';
import { stageFile } from './context.js';
import type { ExperimentContext } from './context.js';
import { pretrainFigures } from './figures.js';

export interface PretrainResult {
  autoencoder: Autoencoder;
  summary: Pick<Metrics['autoencoder'], 'encoderParams' | 'decoderParams' | 'epochs' | 'trainSeconds' | 'history'>;
}

/**
 * A new autoencoder of the reference architecture, trained on `train` (its labels unused) with `config`. Every
 * pretraining starts from the same initial weights for a seed, so two pretrainings differ only in their config.
 * Checkpointed per epoch under `checkpoint`, so a killed run resumes mid-training.
 */
export async function trainNewAutoencoder(
  context: ExperimentContext,
  train: ImageSet,
  validation: ImageSet,
  config: AutoencoderConfig,
  options: { checkpoint: string; stage?: string },
): Promise<{ autoencoder: Autoencoder; training: AutoencoderTrainingResult }> {
  const { run, reporter } = context;
  const autoencoder = buildAutoencoder(shapeOf(train));
  initializeWeights(autoencoder.autoencoder, new Random(context.config.seed).fork('autoencoder-weights'));
  const training = await trainAutoencoder({
    autoencoder,
    train,
    validation,
    config,
    seed: context.config.seed,
    reporter,
    checkpoint: fileCheckpointStore(run.checkpointPath(options.checkpoint)),
    ...(options.stage !== undefined ? { stage: options.stage } : {}),
    ...(context.shouldStop ? { shouldStop: context.shouldStop } : {}),
  });
  return { autoencoder, training };
}

export async function pretrain(context: ExperimentContext, data: PreparedData): Promise<PretrainResult> {
  const { run, config, reporter } = context;
  if (run.isStageDone('pretrain')) {
    const autoencoder = joinAutoencoder(
      await loadModel(run.path('models', 'encoder')),
      await loadModel(run.path('models', 'decoder')),
    );
    return { autoencoder, summary: await run.readJson(stageFile('pretrain')) };
  }
  reporter({
    type: 'stage-start',
    stage: 'pretrain',
    description: `denoising autoencoder on ${data.train.count} unlabelled images`,
  });
  const { autoencoder, training: result } = await trainNewAutoencoder(
    context,
    data.train,
    data.validation,
    config.autoencoder,
    { checkpoint: 'autoencoder' },
  );
  const summary = {
    encoderParams: autoencoder.encoder.countParams(),
    decoderParams: autoencoder.decoder.countParams(),
    epochs: result.epochs,
    trainSeconds: result.seconds,
    history: result.history,
  };
  const metadata = { seed: config.seed, noise: config.autoencoder.noise, dataset: data.name };
  await saveModel(autoencoder.encoder, run.path('models', 'encoder'), { ...metadata, role: 'encoder' });
  await saveModel(autoencoder.decoder, run.path('models', 'decoder'), { ...metadata, role: 'decoder' });
  await saveModel(autoencoder.autoencoder, run.path('models', 'autoencoder'), { ...metadata, role: 'autoencoder' });
  reporter({ type: 'saved', stage: 'pretrain', file: 'models/autoencoder' });
  await run.writeJson('models/summaries.json', [
    { name: 'Encoder', text: modelSummary(autoencoder.encoder) },
    { name: 'Decoder', text: modelSummary(autoencoder.decoder) },
  ]);
  await run.writeJson(stageFile('pretrain'), summary);
  await run.writeJson('figures/pretrain.json', await pretrainFigures(run, summary.history));
  await run.markStageDone('pretrain', { epochs: result.epochs, bestEpoch: result.bestEpoch });
  return { autoencoder, summary };
}
