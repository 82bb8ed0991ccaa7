// The study's evaluation stage, after the classifiers are trained: with the saved models, where each classifier
// fails (its most confident test mistakes). Run folders trained before this stage existed get it from `dae report`.
import type { PreparedData } from './data/prepare.js';
import { confidentMistakes } from './eval/mistakes.js';
import type { ExperimentContext } from './experiment.js';
import { loadModel } from './io/model-files.js';
import type { RunFolder } from './io/run-folder.js';
import type { ClassifierResult, Mistake } from './metrics.js';
import type { Autoencoder } from './model/autoencoder.js';
import { ENCODER_NAMES } from './report/format.js';
import { predictInBatches } from './train/batches.js';
import { mistakesFigure } from './viz/figures.js';

/** Mistakes kept per classifier: one row of the report's figure, and the page's list. */
export const mistakesPerClassifier = 12;

export interface ClassifierEvaluation {
  encoder: ClassifierResult['encoder'];
  labels: number;
  mistakes: Mistake[];
}

export interface StudyEvaluation {
  classifiers: ClassifierEvaluation[];
}

const evaluationFile = 'stages/evaluate.json';

/** The classifiers' results with what the evaluation stage measured added; runs the stage if the folder lacks it. */
export async function evaluateClassifiers(context: ExperimentContext, data: PreparedData, autoencoder: Autoencoder,
  classifiers: ClassifierResult[]): Promise<ClassifierResult[]> {
  const { run, reporter } = context;
  void autoencoder;
  let evaluation: StudyEvaluation;
  if (run.isStageDone('evaluate')) {
    evaluation = await run.readJson<StudyEvaluation>(evaluationFile);
  } else {
    reporter({ type: 'stage-start', stage: 'evaluate', description: `mistakes of ${classifiers.length} classifiers on ${data.test.count} test images` });
    const started = performance.now();
    const { test } = data;
    const evaluated: ClassifierEvaluation[] = [];
    for (const result of classifiers) {
      const model = await loadModel(run.path('models', `classifier-${result.encoder}-${result.labels}`));
      const probabilities = predictInBatches(model, test.images, test.count, test.height, test.width);
      evaluated.push({ encoder: result.encoder, labels: result.labels, mistakes: confidentMistakes(probabilities, test.labels, test.classes, mistakesPerClassifier) });
      model.dispose();
    }
    evaluation = { classifiers: evaluated };
    await run.writeJson(evaluationFile, evaluation);
    reporter({ type: 'saved', stage: 'evaluate', file: evaluationFile });
    await run.writeJson('figures/evaluate.json', await evaluationFigures(run, evaluation, data));
    await run.markStageDone('evaluate');
    reporter({ type: 'stage-end', stage: 'evaluate', seconds: (performance.now() - started) / 1000, summary: `${evaluated.length} classifiers evaluated` });
  }
  return classifiers.map((result) => {
    const found = evaluation.classifiers.find((entry) => entry.encoder === result.encoder && entry.labels === result.labels);
    return found ? { ...result, mistakes: found.mistakes } : result;
  });
}

const capitalised = (text: string) => text.charAt(0).toUpperCase() + text.slice(1);

async function evaluationFigures(run: RunFolder, evaluation: StudyEvaluation, data: PreparedData) {
  const { test } = data;
  const file = 'figures/mistakes.svg';
  await run.writeFile(file, mistakesFigure({
    images: test.images, height: test.height, width: test.width, classNames: data.classNames,
    rows: evaluation.classifiers.map((entry) => ({ title: `${capitalised(ENCODER_NAMES[entry.encoder])}, ${entry.labels.toLocaleString('en-US')} labels`, mistakes: entry.mistakes })),
  }));
  return [{
    id: 'mistakes', section: 'classification', title: 'The most confident mistakes', mime: 'image/svg+xml', file,
    caption: `For each classifier, the ${mistakesPerClassifier} test images it got wrong with the highest probability on its wrong answer, most confident first, each captioned with its true class → the predicted class and that probability.`,
  }];
}
