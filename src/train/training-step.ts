// One training step (forward, loss, backward, Adam) of a compiled model on a batch of rows. On the native backend,
// a model that is a chain of Dense, Conv2D and Conv2DTranspose layers (Flatten and Reshape between them, nested
// models flattened) trains in one call to the addon (native/training_step.cc): no tfjs graph, tape or per-kernel
// bookkeeping, bias and activation fused into each layer. The weights and Adam's moments stay the model's and the
// optimizer's own tfjs variables, updated in place, so saving, checkpoints and early stopping see them as always.
// Any other model or backend trains through tfjs-layers' trainOnBatch.
import * as tf from '@tensorflow/tfjs-core';
import type { MathBackendCPU } from '@tensorflow/tfjs-backend-cpu';
import type { LayersModel } from '@tensorflow/tfjs-layers';

import { loadNativeAddon } from '../backend/native/addon.js';
import type { NativeAddon, NativeTrainingStep } from '../backend/native/addon.js';
import type { AdamState, FusedAdamOptimizer } from './adam.js';

export type StepLoss = 'meanSquaredError' | 'categoricalCrossentropy';

export interface TrainingStep {
  /**
   * Trains on `count` rows of `x` against `target`; resolves to the batch's mean loss. On the native engine the
   * step runs off the JavaScript thread: prepare the next batch before awaiting it, and touch neither the model
   * nor these arrays until it has resolved.
   */
  (x: Float32Array, target: Float32Array, count: number): Promise<number>;
  /** 'native' when the step runs in the addon, 'tfjs' when it runs through trainOnBatch. */
  readonly engine: 'native' | 'tfjs';
  /** Gives back the step's buffers once its last batch is done (the addon's activations and gradients). */
  dispose(): void;
}

/** A tfjs-layers layer, as far as this module reads one. */
interface AnyLayer {
  name: string;
  getClassName(): string;
  getConfig(): Record<string, unknown>;
  weights: { originalName?: string; shape: (number | null)[]; read(): tf.Variable }[];
  layers?: AnyLayer[];
}

const kinds = { Dense: 0, Conv2D: 1, Conv2DTranspose: 2 } as const;
const activations = { linear: 0, relu: 1, sigmoid: 2, softmax: 3 } as const;
const losses = { meanSquaredError: 0, categoricalCrossentropy: 1 } as const;

interface PlannedLayer {
  /** 21 values: kind, activation, trainable, hasBias, inSize, outSize, conv geometry (15). */
  spec: number[];
  kernel: tf.Variable;
  bias: tf.Variable | null;
  trainable: boolean;
}

/** The layers of a model in order, nested models flattened (planLayers follows the shapes from one to the next). */
function chainOf(layer: AnyLayer): AnyLayer[] {
  return layer.layers ? layer.layers.flatMap(chainOf) : [layer];
}

function convGeometry(inShape: number[], kernel: number[], stride: number[]): number[] {
  const info = tf.backend_util.computeConv2DInfo(
    [1, ...inShape] as [number, number, number, number],
    kernel as [number, number, number, number],
    stride as [number, number],
    1,
    'same',
  );
  return [
    1,
    info.inHeight,
    info.inWidth,
    info.inChannels,
    info.filterHeight,
    info.filterWidth,
    info.outChannels,
    info.outHeight,
    info.outWidth,
    info.strideHeight,
    info.strideWidth,
    info.padInfo.top,
    info.padInfo.left,
    1,
    1,
  ];
}

/**
 * The layer chain of `model` as the addon's specs, or null when some layer is not one the native step handles
 * (then the caller trains through tfjs). Shapes are followed from the model's input: [H, W, C] or [features].
 * With no loss, the plan is for inference: every layer frozen.
 */
function planLayers(model: LayersModel, loss: StepLoss | null): PlannedLayer[] | null {
  const inputShape = model.inputs[0]?.shape.slice(1);
  if (model.inputs.length !== 1 || model.outputs.length !== 1 || !inputShape || inputShape.some((d) => d == null))
    return null;
  let shape = inputShape as number[];
  const trainable = new Set(loss === null ? [] : model.trainableWeights.map((weight) => weight.read()));
  const planned: PlannedLayer[] = [];
  for (const layer of chainOf(model as unknown as AnyLayer)) {
    const className = layer.getClassName();
    if (className === 'InputLayer') continue;
    const config = layer.getConfig();
    if (className === 'Flatten') {
      shape = [shape.reduce((a, b) => a * b, 1)];
      continue;
    }
    if (className === 'Reshape') {
      const target = config.targetShape as number[];
      if (target.reduce((a, b) => a * b, 1) !== shape.reduce((a, b) => a * b, 1)) return null;
      shape = [...target];
      continue;
    }
    if (!(className in kinds)) return null;
    const activation = config.activation as string;
    if (
      !(activation in activations) ||
      config.kernelRegularizer ||
      config.biasRegularizer ||
      config.activityRegularizer ||
      config.kernelConstraint ||
      config.biasConstraint
    )
      return null;
    const [kernelWeight, biasWeight] = layer.weights;
    if (!kernelWeight || layer.weights.length > 2 || (config.useBias !== false) !== (biasWeight !== undefined))
      return null;
    const kernelShape = kernelWeight.shape as number[];
    const inSize = shape.reduce((a, b) => a * b, 1);
    let geometry = new Array<number>(15).fill(0);
    let outShape: number[];
    if (className === 'Dense') {
      if (shape.length !== 1 || kernelShape[0] !== shape[0]) return null;
      outShape = [kernelShape[1]!];
    } else {
      const strides = config.strides as number[];
      const dilation = (config.dilationRate as number[] | number | undefined) ?? 1;
      if (
        shape.length !== 3 ||
        config.padding !== 'same' ||
        config.dataFormat !== 'channelsLast' ||
        [dilation].flat().some((d) => d !== 1)
      )
        return null;
      const [height, width, channels] = shape as [number, number, number];
      if (className === 'Conv2D') {
        if (kernelShape[2] !== channels) return null;
        geometry = convGeometry(shape, kernelShape, strides);
        outShape = [geometry[7]!, geometry[8]!, kernelShape[3]!];
      } else {
        // A transposed convolution of [H, W, in] with a [kh, kw, out, in] kernel is the input gradient of a
        // convolution of [H*sh, W*sw, out] ('same' padding) to [H, W, in].
        if (kernelShape[3] !== channels) return null;
        outShape = [height * strides[0]!, width * strides[1]!, kernelShape[2]!];
        geometry = convGeometry(outShape, kernelShape, strides);
        if (geometry[7] !== height || geometry[8] !== width) return null;
      }
    }
    const outSize = outShape.reduce((a, b) => a * b, 1);
    const kernel = kernelWeight.read();
    const bias = biasWeight?.read() ?? null;
    const layerTrainable = trainable.has(kernel);
    if (bias && trainable.has(bias) !== layerTrainable) return null;
    planned.push({
      spec: [
        kinds[className as keyof typeof kinds],
        activations[activation as keyof typeof activations],
        layerTrainable ? 1 : 0,
        bias ? 1 : 0,
        inSize,
        outSize,
        ...geometry,
      ],
      kernel,
      bias,
      trainable: layerTrainable,
    });
    shape = outShape;
  }
  if (planned.length === 0) return null;
  // Softmax only as the last layer, with cross-entropy (their gradient is fused); cross-entropy only after softmax.
  const softmaxAt = planned.findIndex((layer) => layer.spec[1] === activations.softmax);
  const lastIsSoftmax = softmaxAt === planned.length - 1;
  if (softmaxAt !== -1 && !lastIsSoftmax) return null;
  if (loss === null) return planned;
  if ((loss === 'categoricalCrossentropy') !== lastIsSoftmax) return null;
  if (!planned.some((layer) => layer.trainable)) return null;
  return planned;
}

/** The stock AdamOptimizer's private state the step reads and writes: FusedAdamOptimizer's, and two more. */
interface StepAdamState extends AdamState {
  learningRate: number;
  incrementIterations(): void;
}

/**
 * The Float32Array behind `variable`, which the addon may write in place: when another tensor shares it (a
 * variable assigned another model's weights shares their storage), the variable first gets its own copy.
 */
function ownValues(backend: MathBackendCPU, variable: tf.Variable): Float32Array {
  const entry = backend.data.get(variable.dataId) as { values: Float32Array; refCount: number };
  if (entry.refCount === 1 && entry.values instanceof Float32Array) return entry.values;
  const copy = tf.tensor(variable.dataSync().slice(), variable.shape, 'float32');
  variable.assign(copy);
  copy.dispose();
  return (backend.data.get(variable.dataId) as { values: Float32Array }).values;
}

function nativeStep(
  addon: NativeAddon,
  model: LayersModel,
  optimizer: FusedAdamOptimizer,
  loss: StepLoss,
  planned: PlannedLayer[],
): TrainingStep {
  const handle: NativeTrainingStep = addon.createTrainingStep(
    Int32Array.from(planned.flatMap((layer) => layer.spec)),
    losses[loss],
  );
  const state = optimizer as unknown as StepAdamState;
  // Moments are indexed as the stock optimizer indexes them: by the position in the model's trainable weights.
  const trainableOrder = model.trainableWeights.map((weight) => weight.read());
  const moments = (variable: tf.Variable) => {
    const index = trainableOrder.indexOf(variable);
    state.accumulatedFirstMoment[index] ??= {
      originalName: `${variable.name}/m`,
      variable: tf.tidy(() => tf.zerosLike(variable).variable(false)),
    };
    state.accumulatedSecondMoment[index] ??= {
      originalName: `${variable.name}/v`,
      variable: tf.tidy(() => tf.zerosLike(variable).variable(false)),
    };
    return [state.accumulatedFirstMoment[index].variable, state.accumulatedSecondMoment[index].variable] as const;
  };
  const step = async (x: Float32Array, target: Float32Array, count: number): Promise<number> => {
    const backend = tf.backend() as MathBackendCPU;
    const parameters: (Float32Array | null)[] = [];
    for (const layer of planned) {
      const kernel = ownValues(backend, layer.kernel);
      const bias = layer.bias ? ownValues(backend, layer.bias) : null;
      if (!layer.trainable) {
        parameters.push(kernel, bias, null, null, null, null);
        continue;
      }
      const [kernelM, kernelV] = moments(layer.kernel).map((variable) => ownValues(backend, variable));
      const [biasM, biasV] = layer.bias
        ? moments(layer.bias).map((variable) => ownValues(backend, variable))
        : [null, null];
      parameters.push(kernel, bias, kernelM!, kernelV!, biasM ?? null, biasV ?? null);
    }
    const accBeta1 = ownValues(backend, state.accBeta1);
    const accBeta2 = ownValues(backend, state.accBeta2);
    // Each value rounded to float32 as tfjs's scalars are; 1 - accBeta in float32, as the stock optimizer has it.
    const adamParameters = Float32Array.of(
      state.beta1,
      state.beta2,
      1 - state.beta1,
      1 - state.beta2,
      Math.fround(1 - accBeta1[0]!),
      Math.fround(1 - accBeta2[0]!),
      state.epsilon,
      -state.learningRate,
    );
    const pending = addon.trainingStep(handle, parameters, x, target, count, adamParameters);
    accBeta1[0] = Math.fround(accBeta1[0]! * Math.fround(state.beta1));
    accBeta2[0] = Math.fround(accBeta2[0]! * Math.fround(state.beta2));
    state.incrementIterations();
    return pending;
  };
  return Object.assign(step, { engine: 'native' as const, dispose: () => addon.freeBuffers?.(handle) });
}

/**
 * The training step for `model`, compiled with `optimizer` and `loss`. Rows of `x` have the model's input shape,
 * rows of `target` its output shape. Build it after compile (and again after changing which layers train).
 */
export function trainingStep(model: LayersModel, optimizer: FusedAdamOptimizer, loss: StepLoss): TrainingStep {
  const addon = tf.getBackend() === 'native' ? loadNativeAddon().addon : null;
  const planned = addon?.createTrainingStep ? planLayers(model, loss) : null;
  if (addon && planned) return nativeStep(addon, model, optimizer, loss, planned);
  const inputShape = model.inputs[0]!.shape.slice(1) as number[];
  const outputShape = model.outputs[0]!.shape.slice(1) as number[];
  const step = async (x: Float32Array, target: Float32Array, count: number): Promise<number> => {
    const xs = tf.tensor(x.subarray(0, count * inputShape.reduce((a, b) => a * b, 1)), [count, ...inputShape]);
    const ys = tf.tensor(target.subarray(0, count * outputShape.reduce((a, b) => a * b, 1)), [count, ...outputShape]);
    const lossValue = (await model.trainOnBatch(xs, ys)) as number;
    tf.dispose([xs, ys]);
    return lossValue;
  };
  return Object.assign(step, { engine: 'tfjs' as const, dispose: () => {} });
}

/** The model's forward pass on the addon: `predict` writes the outputs of `count` rows into `out`. */
export interface NativePredictor {
  /** Output values per row. */
  outputSize: number;
  /** `weights`, when given, stand in for the variables' own values (an averaged model, without copying it in). */
  predict(rows: Float32Array, count: number, out: Float32Array, weights?: ReadonlyMap<tf.Tensor, Float32Array>): void;
  /** Gives back the buffers of the forward pass (activations for the largest batch so far); predict grows them anew. */
  dispose(): void;
}

/** The forward pass on the addon for a chain the native step can run; null on another backend or for another model. */
export function nativePredictor(model: LayersModel): NativePredictor | null {
  const addon = tf.getBackend() === 'native' ? loadNativeAddon().addon : null;
  const planned = addon ? planLayers(model, null) : null;
  if (!addon || !planned) return null;
  const handle = addon.createTrainingStep(
    Int32Array.from(planned.flatMap((layer) => layer.spec)),
    losses.meanSquaredError,
  );
  return {
    outputSize: planned[planned.length - 1]!.spec[5]!,
    predict: (rows, count, out, weights) => {
      const backend = tf.backend() as MathBackendCPU;
      const values = (variable: tf.Variable) =>
        weights?.get(variable) ?? (backend.data.get(variable.dataId) as { values: Float32Array }).values;
      const parameters = planned.flatMap((layer) => [
        values(layer.kernel),
        layer.bias ? values(layer.bias) : null,
        null,
        null,
        null,
        null,
      ]);
      addon.predict(handle, parameters, rows, count, out);
    },
    dispose: () => addon.freeBuffers?.(handle),
  };
}

/** One batch as a training step takes it. */
export interface Batch {
  x: Float32Array;
  target: Float32Array;
  count: number;
}

/**
 * Trains on batches 0 … batches − 1 in order, preparing batch b + 1 on this thread while the step on batch b runs
 * (on the native engine, off this thread), and hands each batch's loss to `done` in order. `beforeBatch` runs
 * before each batch is prepared (a stop check may throw there); whatever throws, no step is left running.
 */
export async function trainBatches(
  step: TrainingStep,
  batches: number,
  prepare: (batch: number) => Batch,
  done: (batch: number, loss: number, count: number) => void,
  beforeBatch?: () => void,
): Promise<void> {
  let pending: { batch: number; count: number; loss: Promise<number> } | null = null;
  const settle = async () => {
    if (!pending) return;
    const { batch, count, loss } = pending;
    pending = null;
    done(batch, await loss, count);
  };
  try {
    for (let batch = 0; batch < batches; batch += 1) {
      beforeBatch?.();
      const { x, target, count } = prepare(batch);
      await settle();
      pending = { batch, count, loss: step(x, target, count) };
    }
    await settle();
  } finally {
    // Only reached with a step pending when something threw: let it finish before the model is touched again.
    if (pending) await (pending as { loss: Promise<number> }).loss.catch(() => undefined);
  }
}
