// The figures of each stage: drawn by viz/, written to the run folder's figures/, and listed with a title and a
// full-sentence caption in figures/<stage>.json for the report.
import type { ExperimentConfig } from '../config.js';
import { floatPixels } from '../data/dataset.js';
import type { PreparedData } from '../data/prepare.js';
import type { DenoisingResult } from '../eval/denoising.js';
import type { Inspection } from '../eval/inspection.js';
import type { RunFolder } from '../io/run-folder.js';
import type { ClassifierResult, Metrics } from '../io/metrics.js';
import type { EpochRecord } from '../train/events.js';
import type { ReportFigure } from '../report/types.js';
import { ENCODER_NAMES, itemNoun } from '../report/format.js';
import { describeNoise } from '../data/noise.js';
import { trainingCurvesChart } from '../viz/charts.js';
import {
  confusionMatrixFigure,
  convFiltersFigure,
  featureMapsFigure,
  receptiveFieldFigure,
  reconstructionFigure,
  topActivatingFigure,
} from '../viz/figures.js';

export type FigureEntry = Omit<ReportFigure, 'data'> & { file: string };

async function save(run: RunFolder, figure: Omit<FigureEntry, 'file' | 'mime'>, svg: string): Promise<FigureEntry> {
  const file = `figures/${figure.id}.svg`;
  await run.writeFile(file, svg);
  return { ...figure, mime: 'image/svg+xml', file };
}

export async function pretrainFigures(run: RunFolder, history: EpochRecord[]): Promise<FigureEntry[]> {
  const chart = await trainingCurvesChart([{ name: 'autoencoder', history }], {
    title: 'Denoising autoencoder',
    yTitle: 'mean squared error',
    logY: true,
  });
  return [
    await save(
      run,
      {
        id: 'autoencoder-training',
        section: 'training',
        title: 'Autoencoder training curve',
        caption:
          'Training loss (solid) and validation loss (dashed) of the denoising autoencoder per epoch; the weights of the epoch with the lowest validation loss are kept.',
      },
      chart,
    ),
  ];
}

export async function denoisingFigures(
  run: RunFolder,
  result: DenoisingResult,
  data: PreparedData,
  config: ExperimentConfig,
): Promise<FigureEntry[]> {
  const { test } = data;
  const items = itemNoun(data.name).plural;
  const svg = reconstructionFigure({ ...result.examples, height: test.height, width: test.width });
  return [
    await save(
      run,
      {
        id: 'reconstructions',
        section: 'reconstruction',
        title: `Denoising test ${items}`,
        caption: `The first ${result.examples.count} test ${items} (top row), the same ${items} with ${describeNoise(config.autoencoder.noise)} (middle row), and what the autoencoder makes of the corrupted ${items} (bottom row); none of these images was seen in training.`,
      },
      svg,
    ),
  ];
}

export async function inspectionFigures(
  run: RunFolder,
  inspection: Inspection,
  data: PreparedData,
): Promise<FigureEntry[]> {
  const { test } = data;
  const testImages = floatPixels(test.images);
  const entries: FigureEntry[] = [];
  const [conv1, conv2] = inspection.filters;
  if (conv1) {
    entries.push(
      await save(
        run,
        {
          id: 'filters-conv1',
          section: 'representation',
          title: 'First-layer filters',
          caption:
            'The 32 learned 3×3 filters of the first convolution (red positive, blue negative, one shared scale); most are small edge and stroke detectors at different orientations.',
        },
        convFiltersFigure(conv1.kernel, conv1.shape),
      ),
    );
  }
  if (conv2) {
    entries.push(
      await save(
        run,
        {
          id: 'filters-conv2',
          section: 'representation',
          title: 'Second-layer filters',
          caption:
            'The 3×3 weights of the second convolution: one row per input channel (32) and one column per filter (64), on one shared blue-white-red scale.',
        },
        convFiltersFigure(conv2.kernel, conv2.shape),
      ),
    );
  }
  entries.push(
    await save(
      run,
      {
        id: 'feature-maps',
        section: 'representation',
        title: 'Feature maps',
        caption: `For ${inspection.featureMaps.count} test ${itemNoun(data.name).plural}, the 32 feature maps of the first convolution (14×14) and the 64 of the second (7×7), bright where a filter responds.`,
      },
      featureMapsFigure({
        images: inspection.featureMaps.images,
        count: inspection.featureMaps.count,
        height: test.height,
        width: test.width,
        layers: inspection.featureMaps.layers,
      }),
    ),
  );
  entries.push(
    await save(
      run,
      {
        id: 'coding-units',
        section: 'representation',
        title: 'What each coding unit responds to',
        caption: `One row per unit of the 32-unit coding layer: the ${inspection.codingUnits[0]?.indices.length ?? 0} test images that drive the unit highest, and at the end of the row (outlined) what the decoder draws when only that unit is active.`,
      },
      topActivatingFigure({
        images: testImages,
        height: test.height,
        width: test.width,
        units: inspection.codingUnits,
        unitLabel: 'Unit',
      }),
    ),
  );
  for (const layer of inspection.convChannels) {
    const size = layer.receptiveField.size;
    entries.push(
      await save(
        run,
        {
          id: `channels-${layer.name}`,
          section: 'representation',
          title: `Top images per channel of ${layer.name}`,
          caption: `One row per channel of ${layer.name}: the test images with the strongest response of that channel anywhere in the image, with the ${size}×${size} pixels that response sees outlined on each; then those patches magnified, and at the end of the row (outlined) their pixel-wise mean, the stroke the channel detects.`,
        },
        receptiveFieldFigure({
          images: testImages,
          height: test.height,
          width: test.width,
          fieldSize: size,
          units: layer.units,
        }),
      ),
    );
  }
  return entries;
}

export async function classifierFigures(
  run: RunFolder,
  result: ClassifierResult,
  name: string,
  classNames: readonly string[],
): Promise<FigureEntry[]> {
  const title = `${ENCODER_NAMES[result.encoder]}, ${result.labels.toLocaleString('en-US')} labels`;
  return [
    await save(
      run,
      {
        id: `confusion-${name}`,
        section: 'classification',
        title: `Confusion matrix: ${title}`,
        caption: `Test-set confusion matrix of the classifier with the ${ENCODER_NAMES[result.encoder].toLowerCase()} trained on ${result.labels.toLocaleString('en-US')} labels (rows: true class, columns: predicted); accuracy ${(100 * result.test.accuracy).toFixed(2)}%.`,
      },
      await confusionMatrixFigure(result.test.confusion, { title, classNames }),
    ),
  ];
}

export async function trainingFigures(run: RunFolder, metrics: Metrics): Promise<FigureEntry[]> {
  const series = metrics.classifiers.map((c) => ({ name: `${c.encoder}, ${c.labels}`, history: c.history }));
  if (series.length === 0) return [];
  const chart = await trainingCurvesChart(series, { title: 'Classifiers', yTitle: 'cross-entropy', logY: true });
  return [
    await save(
      run,
      {
        id: 'classifier-training',
        section: 'training',
        title: 'Classifier training curves',
        caption:
          'Training loss (solid) and validation loss (dashed) per epoch of every classifier run; each run keeps the weights of its epoch with the best validation accuracy.',
      },
      chart,
    ),
  ];
}
