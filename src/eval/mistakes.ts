// Where a classifier fails: the test images it got wrong with the most confidence in its wrong answer.

/** A test image the classifier got wrong, with the probability it gave its (wrong) answer. */
export interface Mistake {
  testIndex: number;
  label: number;
  predicted: number;
  probability: number;
}

/** The `count` most confident wrong predictions in [N, C] probabilities, most confident first (ties: lower index). */
export function confidentMistakes(
  probabilities: Float32Array,
  labels: ArrayLike<number>,
  classes: number,
  count: number,
): Mistake[] {
  const mistakes: Mistake[] = [];
  for (let index = 0; index < labels.length; index += 1) {
    let predicted = 0;
    for (let candidate = 1; candidate < classes; candidate += 1) {
      if ((probabilities[index * classes + candidate] ?? 0) > (probabilities[index * classes + predicted] ?? 0))
        predicted = candidate;
    }
    const label = labels[index] ?? 0;
    if (predicted !== label)
      mistakes.push({
        testIndex: index,
        label,
        predicted,
        probability: probabilities[index * classes + predicted] ?? 0,
      });
  }
  return mistakes.sort((a, b) => b.probability - a.probability || a.testIndex - b.testIndex).slice(0, count);
}
