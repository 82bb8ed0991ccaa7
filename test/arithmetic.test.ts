// The layer arithmetic the ETA relates kinds of work by (src/model/arithmetic.ts): its layers are the built models'
// layers (same parameter counts, layer by layer), and its multiply-adds are the hand-counted ones.
import { test } from 'node:test';
import assert from 'node:assert/strict';

import { useBackend } from '../src/backend/index.js';
import { decoderArithmetic, encoderArithmetic, headArithmetic, referenceShape, trainingMultiplyAdds, workArithmetic } from '../src/model/arithmetic.js';
import { buildAutoencoder } from '../src/model/autoencoder.js';
import { buildClassifier } from '../src/model/classifier.js';

test('the arithmetic describes the built models: the same layers with the same parameters', async () => {
  await useBackend('cpu');
  const { encoder, decoder, autoencoder } = buildAutoencoder(referenceShape);
  const classifier = buildClassifier('scratch', referenceShape, 10, null);
  const parameters = (model: typeof encoder) => new Map(model.layers.filter((layer) => layer.countParams() > 0).map((layer) => [layer.name, layer.countParams()]));
  const counted = (layers: ReturnType<typeof encoderArithmetic>) => new Map(layers.map((layer) => [layer.name, layer.parameters]));
  assert.deepEqual(counted(encoderArithmetic(referenceShape)), parameters(encoder));
  assert.deepEqual(counted(decoderArithmetic(referenceShape)), parameters(decoder));
  const head = new Map([...parameters(classifier.model)].filter(([name]) => name.startsWith('head_')));
  assert.deepEqual(counted(headArithmetic(referenceShape.codingUnits, 10)), head);
  autoencoder.dispose();
  classifier.model.dispose();
});

test('multiply-adds per image: counted by hand from the layer shapes', () => {
  const perImage = workArithmetic(referenceShape, 10);
  // conv 1->32 on 14x14 outputs (56,448), conv 32->64 on 7x7 (903,168), dense 3,136->32 (100,352).
  assert.equal(perImage.encoderForward, 56_448 + 903_168 + 100_352);
  // dense 32->3,136, conv-transpose 64->64 from 7x7 (1,806,336), 64->32 from 14x14 (3,612,672), 32->1 on 28x28 (225,792).
  assert.equal(perImage.autoencoderForward, perImage.encoderForward + 100_352 + 1_806_336 + 3_612_672 + 225_792);
  assert.equal(perImage.headForward, 32 * 16 + 16 * 16 + 16 * 10);
  // Training: forward, then the weights' and the inputs' gradients, but not the first layer's input gradient.
  assert.equal(perImage.autoencoderTraining, 3 * perImage.autoencoderForward - 56_448);
  assert.equal(perImage.classifierTraining, 3 * perImage.classifierForward - 56_448);
  assert.equal(perImage.headTraining, trainingMultiplyAdds(headArithmetic(32, 10)));
  // An autoencoder image is about 6.5 whole-classifier images in training.
  const ratio = perImage.autoencoderTraining / perImage.classifierTraining;
  assert.ok(ratio > 6.4 && ratio < 6.6, `${ratio}`);
});
