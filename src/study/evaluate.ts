// The study's evaluation stage, after the classifiers are trained: with the saved models, where each classifier
// fails (its most confident test mistakes), how it does on corrupted test images (the denoising check's seven
// corruptions, on the corrupted images and denoised first), and a 2-D map of the test images' codes (codemap.json, read
// by the
// report and the page). Run folders trained before this stage existed get it from `dae report`.
import { floatPixels } from '../data/dataset.js';
import type { ImageSet } from '../data/dataset.js';
import type { PreparedData } from '../data/prepare.js';
import { fitCodeMap, mappedImages } from '../eval/code-map.js';
import type { CodeMap } from '../eval/code-map.js';
import { confidentMistakes } from '../eval/mistakes.js';
import { robustnessOfEach } from '../eval/robustness.js';
import type { ExperimentContext } from './context.js';
import { removeDenoisedSets, savedDenoisedSets } from './denoised-sets.js';
import { loadModel } from '../io/model-files.js';
import type { RunFolder } from '../io/run-folder.js';
import type { ClassifierResult } from '../io/metrics.js';
import type { Mistake } from '../eval/mistakes.js';
import type { NoiseSpec } from '../data/noise.js';
import type { Robustness } from '../eval/robustness.js';
import type { Autoencoder } from '../model/autoencoder.js';
import { ENCODER_NAMES } from '../report/format.js';
import { predictInBatches } from '../train/batches.js';
import { codeMapChart } from '../viz/charts.js';
import { mistakesFigure } from '../viz/figures.js';

/** Mistakes kept per classifier: one row of the report's figure, and the page's list. */
export const mistakesPerClassifier = 12;

export interface ClassifierEvaluation {
  encoder: ClassifierResult['encoder'];
  labels: number;
  mistakes: Mistake[];
  robustness: Robustness;
}

/** The corruptions every classifier is scored on: the training noise, then the denoising check's others. */
export function robustnessCorruptions(config: ExperimentContext['config']): NoiseSpec[] {
  return [config.autoencoder.noise, ...config.autoencoder.evaluationNoise];
}

/** What the denoising check's saved sets are made of: the corruptions, the seed and the test images. */
export const denoisedSetsOf = (config: ExperimentContext['config'], test: ImageSet) => ({
  noise: robustnessCorruptions(config),
  seed: config.seed,
  count: test.count,
  height: test.height,
  width: test.width,
});

export interface StudyEvaluation {
  classifiers: ClassifierEvaluation[];
}

const evaluationFile = 'stages/evaluate.json';
export const codeMapFile = 'codemap.json';

/**
 * The classifiers' results with what the evaluation stage measured added; runs the stage if the folder lacks it. The
 * autoencoder's outputs on the corrupted test sets come from the denoising check's files where they are there.
 */
export async function evaluateClassifiers(
  context: ExperimentContext,
  data: PreparedData,
  autoencoder: Autoencoder,
  classifiers: ClassifierResult[],
): Promise<ClassifierResult[]> {
  const { run, config, reporter } = context;
  let evaluation: StudyEvaluation;
  if (run.isStageDone('evaluate')) {
    evaluation = await run.readJson<StudyEvaluation>(evaluationFile);
  } else {
    reporter({
      type: 'stage-start',
      stage: 'evaluate',
      description: `mistakes and robustness of ${classifiers.length} classifiers on ${data.test.count} test images, a map of the codes`,
    });
    const started = performance.now();
    const { test } = data;
    // Every classifier at once, so that each corruption's images are made (and denoised) once and let go before
    // the next: the models are small, the corrupted test sets are not.
    const scored = [];
    for (const result of classifiers) {
      const model = await loadModel(run.path('models', `classifier-${result.encoder}-${result.labels}`));
      const cleanProbabilities = predictInBatches(model, test.images, test.count, test.height, test.width);
      scored.push({ result, model, cleanProbabilities });
    }
    const corruptions = robustnessCorruptions(config);
    const robustness = await robustnessOfEach(
      scored,
      test,
      corruptions,
      config.seed,
      test.count,
      autoencoder.autoencoder,
      await savedDenoisedSets(run, denoisedSetsOf(config, test)),
    );
    const evaluated: ClassifierEvaluation[] = scored.map(({ result, model, cleanProbabilities }, index) => {
      model.dispose();
      return {
        encoder: result.encoder,
        labels: result.labels,
        mistakes: confidentMistakes(cleanProbabilities, test.labels, test.classes, mistakesPerClassifier),
        robustness: robustness[index]!,
      };
    });
    evaluation = { classifiers: evaluated };
    await run.writeJson(evaluationFile, evaluation);
    reporter({ type: 'saved', stage: 'evaluate', file: evaluationFile });
    const mapped = mappedImages(test.count);
    const codes = predictInBatches(
      autoencoder.encoder,
      floatPixels(test.images, 0, mapped * test.height * test.width),
      mapped,
      test.height,
      test.width,
    );
    const codeMap = fitCodeMap(codes, mapped, test.labels, config.seed);
    await run.writeJson(codeMapFile, codeMap);
    reporter({ type: 'saved', stage: 'evaluate', file: codeMapFile });
    await run.writeJson('figures/evaluate.json', await evaluationFigures(run, evaluation, codeMap, data));
    await run.markStageDone('evaluate');
    await removeDenoisedSets(run);
    reporter({
      type: 'stage-end',
      stage: 'evaluate',
      seconds: (performance.now() - started) / 1000,
      summary: `${evaluated.length} classifiers evaluated`,
    });
  }
  return classifiers.map((result) => {
    const found = evaluation.classifiers.find(
      (entry) => entry.encoder === result.encoder && entry.labels === result.labels,
    );
    return found ? { ...result, mistakes: found.mistakes, robustness: found.robustness } : result;
  });
}

const capitalised = (text: string) => text.charAt(0).toUpperCase() + text.slice(1);

async function evaluationFigures(run: RunFolder, evaluation: StudyEvaluation, codeMap: CodeMap, data: PreparedData) {
  const { test } = data;
  await run.writeFile(
    'figures/code-map.svg',
    await codeMapChart(
      codeMap.positions.map(([x, y], index) => ({ x, y, label: codeMap.labels[index] ?? 0 })),
      data.classNames,
    ),
  );
  const file = 'figures/mistakes.svg';
  await run.writeFile(
    file,
    mistakesFigure({
      images: floatPixels(test.images),
      height: test.height,
      width: test.width,
      classNames: data.classNames,
      rows: evaluation.classifiers.map((entry) => ({
        title: `${capitalised(ENCODER_NAMES[entry.encoder])}, ${entry.labels.toLocaleString('en-US')} labels`,
        mistakes: entry.mistakes,
      })),
    }),
  );
  return [
    {
      id: 'code-map',
      section: 'representation',
      title: 'A map of the codes',
      mime: 'image/svg+xml',
      file: 'figures/code-map.svg',
      caption: `The 32-number codes of the first ${codeMap.positions.length.toLocaleString('en-US')} test images, projected to two dimensions with UMAP (umap-js, ${codeMap.nNeighbors} neighbours, minimum distance ${codeMap.minDist}, seed ${codeMap.seed}) and coloured by true class; the autoencoder never saw a label, so classes that form their own islands are ones its codes already separate. The axes have no units.`,
    },
    {
      id: 'mistakes',
      section: 'classification',
      title: 'The most confident mistakes',
      mime: 'image/svg+xml',
      file,
      caption: `For each classifier, the ${mistakesPerClassifier} test images it got wrong with the highest probability on its wrong answer, most confident first, each captioned with its true class → the predicted class and that probability.`,
    },
  ];
}
