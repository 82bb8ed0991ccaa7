// Seeded weight initialisation, so that one seed reproduces a run: tfjs's own initialisers draw from an
// unseeded generator. Kernels get Glorot-uniform values (Keras's default, with fans computed as Keras does for
// dense and convolution kernels); biases start at zero.
import * as tf from '@tensorflow/tfjs-core';
import type { LayersModel } from '@tensorflow/tfjs-layers';

import type { Random } from '../data/random.js';

export function initializeWeights(model: LayersModel, random: Random): void {
  const values = model.weights.map((weight) => {
    const shape = weight.shape as number[];
    const size = shape.reduce((product, dimension) => product * dimension, 1);
    const data = new Float32Array(size);
    if (shape.length >= 2) {
      const receptiveField = shape.slice(0, -2).reduce((product, dimension) => product * dimension, 1);
      const fanIn = receptiveField * (shape[shape.length - 2] as number);
      const fanOut = receptiveField * (shape[shape.length - 1] as number);
      const limit = Math.sqrt(6 / (fanIn + fanOut));
      for (let i = 0; i < size; i += 1) data[i] = (random.next() * 2 - 1) * limit;
    }
    return tf.tensor(data, shape);
  });
  model.setWeights(values);
  tf.dispose(values);
}

/**
 * The model's weights in layer order. model.weights lists trainable weights first, so its order changes when
 * a layer is frozen or unfrozen; layer order does not.
 */
function weightsInLayerOrder(model: LayersModel) {
  return model.layers.flatMap((layer) => layer.weights);
}

/** Copies of the model's weights, as plain arrays (for best-epoch restore and checkpoints). */
export function snapshotWeights(model: LayersModel): Float32Array[] {
  return weightsInLayerOrder(model).map((weight) => weight.read().dataSync().slice() as Float32Array);
}

export function restoreWeights(model: LayersModel, snapshot: Float32Array[]): void {
  const current = weightsInLayerOrder(model);
  if (current.length !== snapshot.length)
    throw new Error(`restoreWeights: ${snapshot.length} arrays for ${current.length} weights`);
  current.forEach((weight, index) => {
    const values = tf.tensor(snapshot[index]!, weight.shape as number[]);
    weight.write(values);
    values.dispose();
  });
}

/**
 * An exponential moving average of the model's weights (Polyak averaging), updated after each step: the averaged
 * model is what semi-supervised runs validate and keep, as FixMatch evaluates its average, since its weights move
 * with each batch's pseudo-labels.
 */
export class WeightAverage {
  readonly values: Float32Array[];

  constructor(
    private readonly model: LayersModel,
    private readonly decay: number,
  ) {
    this.values = snapshotWeights(model);
  }

  private updates = 0;

  update(): void {
    // TensorFlow's ExponentialMovingAverage with num_updates: early on the average forgets its start faster.
    this.updates += 1;
    const decay = Math.min(this.decay, (1 + this.updates) / (10 + this.updates));
    weightsInLayerOrder(this.model).forEach((weight, index) => {
      const live = weight.read().dataSync() as Float32Array;
      const average = this.values[index]!;
      for (let i = 0; i < average.length; i += 1) average[i] = decay * average[i]! + (1 - decay) * live[i]!;
    });
  }

  /** The average's arrays keyed by the model's variables, for a forward pass that reads them in their place. */
  byVariable(): ReadonlyMap<tf.Tensor, Float32Array> {
    return new Map(weightsInLayerOrder(this.model).map((weight, index) => [weight.read(), this.values[index]!]));
  }
}
