// Classification metrics with scikit-learn's semantics, so the numbers can be compared with any
// Python baseline: sklearn.metrics.classification_report(y_true, y_pred, labels=range(classes),
// zero_division=0) and confusion_matrix(y_true, y_pred, labels=range(classes)).
//   - precision = TP / (TP + FP), recall = TP / (TP + FN), F1 = 2PR / (P + R); each 0 when its
//     denominator is 0 (zero_division=0);
//   - every class 0..classes-1 is reported and averaged, including classes absent from both inputs
//     (that is what passing labels= does; the default would drop them);
//   - macro avg is the unweighted mean over classes, weighted avg weights each class by its support,
//     and both report the total support;
//   - the confusion matrix has one row per true class and one column per predicted class.

/** The layout of scikit-learn's classification_report, plus the confusion matrix (rows = true class). */
export interface ClassificationMetrics {
  accuracy: number;
  macroF1: number;
  weightedF1: number;
  perClass: ClassMetrics[];
  macro: ClassMetrics;
  weighted: ClassMetrics;
  confusion: number[][];
}

export interface ClassMetrics {
  precision: number;
  recall: number;
  f1: number;
  support: number;
}

function requireLabels(name: string, labels: ArrayLike<number>, classes: number): void {
  for (let index = 0; index < labels.length; index += 1) {
    const label = labels[index];
    if (label === undefined || !Number.isInteger(label) || label < 0 || label >= classes) {
      throw new RangeError(
        `classificationMetrics: ${name}[${index}] is ${String(label)}, not a class in 0..${classes - 1}`,
      );
    }
  }
}

const ratio = (numerator: number, denominator: number): number => (denominator === 0 ? 0 : numerator / denominator);

export function classificationMetrics(
  trueLabels: ArrayLike<number>,
  predicted: ArrayLike<number>,
  classes: number,
): ClassificationMetrics {
  if (!Number.isInteger(classes) || classes < 1) {
    throw new RangeError(`classificationMetrics: classes must be a positive integer, got ${classes}`);
  }
  if (trueLabels.length !== predicted.length) {
    throw new RangeError(`classificationMetrics: ${trueLabels.length} true labels but ${predicted.length} predictions`);
  }
  if (trueLabels.length === 0) {
    throw new RangeError('classificationMetrics: no examples to score');
  }
  requireLabels('trueLabels', trueLabels, classes);
  requireLabels('predicted', predicted, classes);

  const confusion = Array.from({ length: classes }, () => new Array<number>(classes).fill(0));
  for (let index = 0; index < trueLabels.length; index += 1) {
    const row = confusion[trueLabels[index] ?? 0];
    const column = predicted[index] ?? 0;
    if (row !== undefined) row[column] = (row[column] ?? 0) + 1;
  }

  const total = trueLabels.length;
  let correct = 0;
  const perClass: ClassMetrics[] = [];
  for (let c = 0; c < classes; c += 1) {
    const truePositives = confusion[c]?.[c] ?? 0;
    const support = (confusion[c] ?? []).reduce((sum, cell) => sum + cell, 0);
    const predictedCount = confusion.reduce((sum, row) => sum + (row[c] ?? 0), 0);
    const precision = ratio(truePositives, predictedCount);
    const recall = ratio(truePositives, support);
    perClass.push({ precision, recall, f1: ratio(2 * precision * recall, precision + recall), support });
    correct += truePositives;
  }

  const average = (weightOf: (metrics: ClassMetrics) => number): ClassMetrics => {
    const weightSum = perClass.reduce((sum, metrics) => sum + weightOf(metrics), 0);
    const mean = (pick: (metrics: ClassMetrics) => number): number =>
      ratio(
        perClass.reduce((sum, metrics) => sum + weightOf(metrics) * pick(metrics), 0),
        weightSum,
      );
    return {
      precision: mean((metrics) => metrics.precision),
      recall: mean((metrics) => metrics.recall),
      f1: mean((metrics) => metrics.f1),
      support: total,
    };
  };
  const macro = average(() => 1);
  const weighted = average((metrics) => metrics.support);

  return {
    accuracy: correct / total,
    macroF1: macro.f1,
    weightedF1: weighted.f1,
    perClass,
    macro,
    weighted,
    confusion,
  };
}

/**
 * The metrics as text, laid out like sklearn's classification_report: a header row of
 * precision / recall / f1-score / support, one row per class, then accuracy, macro avg and
 * weighted avg. `classNames` defaults to the class numbers.
 */
export function formatClassificationReport(
  metrics: ClassificationMetrics,
  classNames?: readonly string[],
  digits = 2,
): string {
  const names = classNames ?? metrics.perClass.map((_, c) => String(c));
  if (names.length !== metrics.perClass.length) {
    throw new RangeError(
      `formatClassificationReport: ${names.length} class names for ${metrics.perClass.length} classes`,
    );
  }
  // Column widths follow sklearn: names right-aligned to the longest heading, then 9-wide columns
  // each preceded by a space.
  const nameWidth = Math.max(...names.map((name) => name.length), 'weighted avg'.length, digits);
  const cell = (text: string): ` ${string}` => ` ${text.padStart(9)}`;
  const number = (value: number): string => cell(value.toFixed(digits));
  const row = (name: string, metricsRow: ClassMetrics): string =>
    `${name.padStart(nameWidth)} ${number(metricsRow.precision)}${number(metricsRow.recall)}${number(metricsRow.f1)}${cell(String(metricsRow.support))}`;

  const lines = [
    `${''.padStart(nameWidth)} ${['precision', 'recall', 'f1-score', 'support'].map(cell).join('')}`,
    '',
    ...metrics.perClass.map((metricsRow, c) => row(names[c] ?? String(c), metricsRow)),
    '',
    `${'accuracy'.padStart(nameWidth)} ${cell('')}${cell('')}${number(metrics.accuracy)}${cell(String(metrics.macro.support))}`,
    row('macro avg', metrics.macro),
    row('weighted avg', metrics.weighted),
  ];
  return `${lines.join('\n')}\n`;
}
