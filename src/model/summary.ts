// A Keras-style model summary as text (tfjs prints it; we capture the lines instead).
import type { LayersModel } from '@tensorflow/tfjs-layers';

export function modelSummary(model: LayersModel, lineLength = 90): string {
  const lines: string[] = [];
  model.summary(lineLength, undefined, (line: string) => lines.push(line));
  return lines.join('\n');
}
