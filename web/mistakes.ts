// The served classifiers' most confident test mistakes: one row of digits per classifier, each captioned
// "true → predicted, probability"; clicking one loads it into the drawing canvas.
import type { ServedClassifier } from '../src/serve/api.js';
import type { TestDigit } from './gallery.js';
import { digitCanvas, element } from './render.js';

export function showMistakes(
  container: HTMLElement,
  classifiers: readonly ServedClassifier[],
  classNames: readonly string[],
  digit: (testIndex: number) => TestDigit | undefined,
  width: number,
  height: number,
  onPick: (testIndex: number) => void,
): void {
  const name = (label: number) => classNames[label] ?? String(label);
  const blocks = classifiers.map((classifier, index) => {
    const block = element('div', 'mistake-block');
    block.dataset['classifier'] = String(index);
    const list = element('div', 'mistake-list');
    for (const mistake of classifier.mistakes) {
      const shown = digit(mistake.testIndex);
      if (!shown) continue;
      const button = element('button', 'mistake');
      button.type = 'button';
      button.dataset['testIndex'] = String(mistake.testIndex);
      button.dataset['label'] = String(mistake.label);
      button.dataset['predicted'] = String(mistake.predicted);
      button.title = `test image #${mistake.testIndex}: a ${name(mistake.label)}, taken for a ${name(mistake.predicted)} at ${(100 * mistake.probability).toFixed(1)}%`;
      button.append(
        digitCanvas(shown.pixels, width, height),
        element(
          'span',
          '',
          `${name(mistake.label)} → ${name(mistake.predicted)} · ${(100 * mistake.probability).toFixed(0)}%`,
        ),
      );
      button.addEventListener('click', () => onPick(mistake.testIndex));
      list.append(button);
    }
    const empty =
      classifier.mistakes.length === 0
        ? [element('p', 'muted small', 'This run kept no mistakes (made before they were recorded).')]
        : [];
    block.append(element('h3', '', classifier.title), ...empty, list);
    return block;
  });
  container.replaceChildren(...blocks);
}
