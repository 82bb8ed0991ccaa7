// A saved tfjs model as the exporters read it: a tree of layers with their shapes and weights, checked once here so
// that the ONNX and Keras writers only translate. The tree mirrors the tfjs model (a functional model or a
// Sequential, nested models kept as nodes), and every model in it must be a chain: each layer takes the output of the
// one before it, as the autoencoder, its encoder and decoder, and the classifiers all do.
//   shapes leave out the batch axis: [H, W, C] for images (NHWC), [features] for vectors
// Conv2D kernel [kh, kw, in, out]; Conv2DTranspose kernel [kh, kw, out, in]; Dense kernel [in, out] (as tfjs and Keras
// store them)
import type { LayersModel } from '@tensorflow/tfjs-layers';

export type Activation = 'linear' | 'relu' | 'sigmoid' | 'softmax';
export const supportedActivations: readonly Activation[] = ['linear', 'relu', 'sigmoid', 'softmax'];

export interface Weight {
  /** The tfjs name, e.g. `encoder_conv1/kernel`. */
  name: string;
  shape: number[];
  values: Float32Array;
}

interface LayerBase {
  name: string;
  inputShape: number[];
  outputShape: number[];
  /** false: its weights do not train (the encoder of a frozen classifier); absent: they do. */
  trainable?: false;
}

export interface DenseLayer extends LayerBase {
  kind: 'Dense';
  units: number;
  activation: Activation;
  kernel: Weight;
  bias: Weight | null;
}

export interface ConvLayer extends LayerBase {
  kind: 'Conv2D' | 'Conv2DTranspose';
  filters: number;
  kernelSize: [number, number];
  strides: [number, number];
  padding: 'same' | 'valid';
  activation: Activation;
  kernel: Weight;
  bias: Weight | null;
}

export interface FlattenLayer extends LayerBase {
  kind: 'Flatten';
}

export interface ReshapeLayer extends LayerBase {
  kind: 'Reshape';
  targetShape: number[];
}

/** Multiplies its input by `scale`: the pixel rescaling put in front of a model exported with --include-rescaling. */
export interface RescalingLayer extends LayerBase {
  kind: 'Rescaling';
  scale: number;
}

/** Passes its input on unchanged: the last layer of an exported model, which gives the model's output its name. */
export interface IdentityLayer extends LayerBase {
  kind: 'Identity';
}

/** A nested or top-level model: its layers run in order on its one input. */
export interface ModelNode extends LayerBase {
  kind: 'Functional' | 'Sequential';
  /** The name of its input layer (a Sequential's is made up by tfjs or by us: `<name>_input`). */
  inputName: string;
  layers: TreeLayer[];
}

export type ComputeLayer = DenseLayer | ConvLayer | FlattenLayer | ReshapeLayer | RescalingLayer | IdentityLayer;
export type TreeLayer = ComputeLayer | ModelNode;

/** A model the exporters cannot translate, or a request they cannot serve. */
export class ExportError extends Error {
  override readonly name = 'ExportError';
  readonly subject: string;
  /** What the user can do about it. */
  readonly hint: string;

  constructor(subject: string, problem: string, hint: string, options?: ErrorOptions) {
    super(`${subject}: ${problem} — ${hint}`, options);
    this.subject = subject;
    this.hint = hint;
  }
}

const UNSUPPORTED_HINT =
  'only chains of Dense, Conv2D, Conv2DTranspose, Flatten and Reshape layers (nested models allowed) can be exported';

type Json = Record<string, unknown>;

function isRecord(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

const product = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);

/** Reads the tree of `model`: its topology from tfjs's own serialisation, its weights from its variables. */
export function modelTree(model: LayersModel, subject: string): ModelNode {
  const topology = model.toJSON(null, false) as unknown;
  const weights = new Map<string, Weight>();
  for (const variable of model.weights) {
    weights.set(variable.originalName, {
      name: variable.originalName,
      shape: [...variable.shape] as number[],
      values: variable.read().dataSync() as Float32Array,
    });
  }
  const reader = new TreeReader(subject, weights);
  if (!isRecord(topology)) throw new ExportError(subject, 'tfjs returned no topology for the model', UNSUPPORTED_HINT);
  const tree = reader.model(topology, null);
  const unused = [...weights.keys()].filter((name) => !reader.used.has(name));
  if (unused.length > 0)
    throw new ExportError(subject, `weights ${unused.join(', ')} belong to no exported layer`, UNSUPPORTED_HINT);
  return tree;
}

class TreeReader {
  readonly used = new Set<string>();

  constructor(
    private readonly subject: string,
    private readonly weights: Map<string, Weight>,
  ) {}

  private fail(problem: string): never {
    throw new ExportError(this.subject, problem, UNSUPPORTED_HINT);
  }

  /**
   * A `Model`/`Functional` or `Sequential` entry; `inputShape` is null at the top, where the model's input layer says
   * it.
   */
  model(entry: Json, inputShape: number[] | null): ModelNode {
    const className = entry['class_name'];
    const config = entry['config'];
    if (!isRecord(config) && !(className === 'Sequential' && Array.isArray(config)))
      this.fail(`model entry ${JSON.stringify(className)} has no config`);
    if (className === 'Model' || className === 'Functional') return this.functional(config as Json, inputShape);
    if (className === 'Sequential') return this.sequential(config as Json | unknown[], inputShape);
    return this.fail(`a model of class ${JSON.stringify(className)}`);
  }

  private functional(config: Json, outerShape: number[] | null): ModelNode {
    const name = String(config['name']);
    const entries = Array.isArray(config['layers']) ? config['layers'].filter(isRecord) : [];
    const [input, ...rest] = entries;
    const inputConfig = input?.['config'];
    if (input?.['class_name'] !== 'InputLayer' || !isRecord(inputConfig))
      this.fail(`model '${name}' does not start with its input layer`);
    const inputName = String(input['name']);
    const inputShape = this.batchShape(inputConfig, `model '${name}'`);
    if (outerShape && inputShape.join() !== outerShape.join()) {
      this.fail(`model '${name}' takes [${inputShape.join(', ')}] but is given [${outerShape.join(', ')}]`);
    }
    const layers: TreeLayer[] = [];
    let previous = inputName;
    let shape = inputShape;
    for (const entry of rest) {
      const layerName = String(entry['name']);
      // A chain: exactly one call, on exactly one tensor, the previous layer's output. (tfjs numbers a nested
      // model's outbound node 1, after the node of its own construction, so the node index is not checked.)
      const nodes = entry['inbound_nodes'];
      const node =
        Array.isArray(nodes) && nodes.length === 1 && Array.isArray(nodes[0]) && nodes[0].length === 1
          ? nodes[0][0]
          : undefined;
      if (!Array.isArray(node) || node[0] !== previous || node[2] !== 0) {
        this.fail(
          `layer '${layerName}' of model '${name}' is not called once on the output of '${previous}' (not a chain)`,
        );
      }
      const layer = this.layer(entry, shape);
      layers.push(layer);
      previous = layerName;
      shape = layer.outputShape;
    }
    const outputs = config['output_layers'];
    const output = Array.isArray(outputs) && outputs.length === 1 ? outputs[0] : undefined;
    if (!Array.isArray(output) || output[0] !== previous)
      this.fail(`model '${name}' does not output its last layer '${previous}'`);
    return { kind: 'Functional', name, inputName, layers, inputShape, outputShape: shape };
  }

  private sequential(config: Json | unknown[], outerShape: number[] | null): ModelNode {
    const name = Array.isArray(config) ? 'sequential' : String(config['name']);
    const raw = Array.isArray(config) ? config : config['layers'];
    const entries = (Array.isArray(raw) ? raw : []).filter(isRecord);
    let inputName = `${name}_input`;
    let declared: number[] | null = null;
    const [first] = entries;
    if (first?.['class_name'] === 'InputLayer' && isRecord(first['config'])) {
      inputName = String(first['config']['name'] ?? inputName);
      declared = this.batchShape(first['config'], `model '${name}'`);
      entries.shift();
    } else if (isRecord(first?.['config']) && Array.isArray(first['config']['batch_input_shape'])) {
      declared = this.batchShape(first['config'], `model '${name}'`);
    }
    const inputShape = declared ?? outerShape;
    if (!inputShape) return this.fail(`Sequential model '${name}' declares no input shape`);
    if (outerShape && inputShape.join() !== outerShape.join()) {
      this.fail(`model '${name}' takes [${inputShape.join(', ')}] but is given [${outerShape.join(', ')}]`);
    }
    const layers: TreeLayer[] = [];
    let shape = inputShape;
    for (const entry of entries) {
      const layer = this.layer(entry, shape);
      layers.push(layer);
      shape = layer.outputShape;
    }
    return { kind: 'Sequential', name, inputName, layers, inputShape, outputShape: shape };
  }

  private batchShape(config: Json, where: string): number[] {
    const batchShape = config['batch_input_shape'] ?? config['batch_shape'];
    if (
      !Array.isArray(batchShape) ||
      batchShape.length < 2 ||
      batchShape.slice(1).some((side) => !Number.isInteger(side) || (side as number) <= 0)
    ) {
      return this.fail(
        `${where} has input shape ${JSON.stringify(batchShape)}; only fixed sizes after the batch axis are supported`,
      );
    }
    return batchShape.slice(1) as number[];
  }

  private weight(layer: string, role: 'kernel' | 'bias', shape: number[]): Weight {
    const weight = this.weights.get(`${layer}/${role}`);
    if (!weight) return this.fail(`layer '${layer}' has no weight '${layer}/${role}'`);
    if (weight.shape.join() !== shape.join())
      this.fail(`weight '${weight.name}' is [${weight.shape.join(', ')}], expected [${shape.join(', ')}]`);
    this.used.add(weight.name);
    return weight;
  }

  private activation(layer: string, config: Json): Activation {
    const activation = config['activation'] ?? 'linear';
    if (!supportedActivations.includes(activation as Activation))
      this.fail(`layer '${layer}' has activation ${JSON.stringify(activation)}`);
    return activation as Activation;
  }

  private layer(entry: Json, inputShape: number[]): TreeLayer {
    const className = entry['class_name'];
    if (className === 'Model' || className === 'Functional' || className === 'Sequential')
      return this.model(entry, inputShape);
    const config = entry['config'];
    if (!isRecord(config)) return this.fail(`layer entry ${JSON.stringify(entry['name'])} has no config`);
    const name = String(config['name'] ?? entry['name']);
    switch (className) {
      case 'Flatten':
        return { kind: 'Flatten', name, inputShape, outputShape: [product(inputShape)] };
      case 'Reshape': {
        const target = config['target_shape'];
        if (!Array.isArray(target) || target.some((side) => !Number.isInteger(side)))
          return this.fail(`layer '${name}' has target shape ${JSON.stringify(target)}`);
        const known = product((target as number[]).filter((side) => side !== -1));
        const outputShape = (target as number[]).map((side) => (side === -1 ? product(inputShape) / known : side));
        if (
          product(outputShape) !== product(inputShape) ||
          outputShape.some((side) => !Number.isInteger(side) || side <= 0)
        ) {
          this.fail(`layer '${name}' cannot reshape [${inputShape.join(', ')}] to [${target.join(', ')}]`);
        }
        return { kind: 'Reshape', name, inputShape, outputShape, targetShape: outputShape };
      }
      case 'Dense': {
        const units = Number(config['units']);
        if (inputShape.length !== 1)
          this.fail(`Dense layer '${name}' is applied to [${inputShape.join(', ')}]; only vectors are supported`);
        const useBias = config['use_bias'] !== false;
        return {
          kind: 'Dense',
          name,
          inputShape,
          outputShape: [units],
          units,
          activation: this.activation(name, config),
          kernel: this.weight(name, 'kernel', [inputShape[0]!, units]),
          bias: useBias ? this.weight(name, 'bias', [units]) : null,
        };
      }
      case 'Conv2D':
      case 'Conv2DTranspose':
        return this.convolution(className, name, config, inputShape);
      default:
        return this.fail(`layer '${name}' is a ${String(className)}`);
    }
  }

  private convolution(kind: 'Conv2D' | 'Conv2DTranspose', name: string, config: Json, inputShape: number[]): ConvLayer {
    const pair = (value: unknown, fallback: number): [number, number] => {
      const values = [value ?? fallback].flat();
      const [first, second = first] = values as number[];
      return [Number(first), Number(second)];
    };
    const filters = Number(config['filters']);
    const kernelSize = pair(config['kernel_size'], 1);
    const strides = pair(config['strides'], 1);
    const dilation = pair(config['dilation_rate'], 1);
    const padding = config['padding'];
    if (inputShape.length !== 3)
      this.fail(`${kind} layer '${name}' is applied to [${inputShape.join(', ')}]; it needs [height, width, channels]`);
    if ((config['data_format'] ?? 'channels_last') !== 'channels_last')
      this.fail(`layer '${name}' is ${String(config['data_format'])}; only channels_last is supported`);
    if (padding !== 'same' && padding !== 'valid') this.fail(`layer '${name}' has padding ${JSON.stringify(padding)}`);
    if (dilation.some((rate) => rate !== 1))
      this.fail(`layer '${name}' is dilated (${dilation.join('x')}); only dilation 1 is supported`);
    if ([...kernelSize, ...strides, filters].some((value) => !Number.isInteger(value) || value <= 0))
      this.fail(`layer '${name}' has a malformed kernel, stride or filter count`);
    const [height, width, channels] = inputShape as [number, number, number];
    const side = (size: number, axis: 0 | 1): number => {
      const [k, s] = [kernelSize[axis], strides[axis]];
      if (kind === 'Conv2D') return padding === 'same' ? Math.ceil(size / s) : Math.ceil((size - k + 1) / s);
      return padding === 'same' ? size * s : size * s + Math.max(k - s, 0);
    };
    const outputShape = [side(height, 0), side(width, 1), filters];
    if (outputShape.some((value) => value <= 0))
      this.fail(`layer '${name}' leaves no output for input [${inputShape.join(', ')}]`);
    const kernelShape = kind === 'Conv2D' ? [...kernelSize, channels, filters] : [...kernelSize, filters, channels];
    const useBias = config['use_bias'] !== false;
    return {
      kind,
      name,
      inputShape,
      outputShape,
      filters,
      kernelSize,
      strides,
      padding,
      activation: this.activation(name, config),
      kernel: this.weight(name, 'kernel', kernelShape),
      bias: useBias ? this.weight(name, 'bias', [filters]) : null,
    };
  }
}

/** The layers that compute something, nested models opened up, in order. */
export function flattenTree(node: ModelNode): ComputeLayer[] {
  return node.layers.flatMap((layer) => (isModelNode(layer) ? flattenTree(layer) : [layer]));
}

export function isModelNode(layer: TreeLayer): layer is ModelNode {
  return layer.kind === 'Functional' || layer.kind === 'Sequential';
}
