// A model tree as an ONNX model (opset 17, IR version 8), encoded with protobufjs from ONNX's own schema
// (proto/onnx.proto, shipped with the package). The graph keeps the tfjs model's interface: one float32 input
// [batch, H, W, C] (NHWC, batch dynamic) or [batch, features], one output likewise, named after the tree's input
// layer and its last layer (./interface.ts names them). Inside, convolutions run in ONNX's NCHW: a Transpose goes in
// before the first convolution of a run of them and another after the last, where a Flatten, a Reshape or the output
// needs NHWC order.
//   Conv2D            tfjs kernel [kh, kw, in, out] -> ONNX Conv W [out, in, kh, kw]
//   Conv2DTranspose   tfjs kernel [kh, kw, out, in] -> ONNX ConvTranspose W [in, out, kh, kw]
//   Dense             Gemm(x, kernel [in, out], bias) (MatMul without a bias)
//   Rescaling         Mul(x, scale); Identity: no node, its name goes to the graph's output
// 'same' padding is TensorFlow's: the odd pixel of padding goes at the bottom and right, hence explicit pads.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import protobuf from 'protobufjs';

import { flattenTree } from './model-tree.js';
import type { ConvLayer, ModelNode } from './model-tree.js';

export const onnxOpset = 17;
/** The IR version that goes with opset 17 (ONNX 1.12). */
export const onnxIrVersion = 8;

/** ONNX's schema, at the package root: dist/src/export/onnx.js -> ../../../proto/onnx.proto. */
const schemaFile = fileURLToPath(new URL('../../../proto/onnx.proto', import.meta.url));
let modelProtoType: protobuf.Type | undefined;

/** onnx.ModelProto, parsed from the schema on first use (field names as the schema spells them). */
function modelProto(): protobuf.Type {
  if (!modelProtoType) {
    const root = new protobuf.Root();
    protobuf.parse(readFileSync(schemaFile, 'utf8'), root, { keepCase: true });
    modelProtoType = root.lookupType('onnx.ModelProto');
  }
  return modelProtoType;
}

const FLOAT = 1;
const INT64 = 7;

export interface OnnxOptions {
  /** ModelProto.producer_name and producer_version. */
  producer: { name: string; version: string };
  /** ModelProto.doc_string: what the model is and what its input means. */
  description?: string;
  /** ModelProto.metadata_props, e.g. the run's seed and the dataset's class names (JSON-encoded by the caller). */
  metadata?: Record<string, string>;
}

/** What the exported graph takes and gives. */
export interface OnnxInterface {
  inputName: string;
  outputName: string;
  /** Without the batch axis, which is dynamic ('batch'). */
  inputShape: number[];
  outputShape: number[];
}

type Attribute = Record<string, unknown>;
const ints = (name: string, values: number[]): Attribute => ({ name, type: 'INTS', ints: values });
const int = (name: string, value: number): Attribute => ({ name, type: 'INT', i: value });

function floatTensor(name: string, shape: number[], values: Float32Array): Record<string, unknown> {
  const bytes = new Uint8Array(values.length * 4);
  const view = new DataView(bytes.buffer);
  values.forEach((value, index) => view.setFloat32(index * 4, value, true));
  return { name, dims: shape, data_type: FLOAT, raw_data: bytes };
}

function int64Tensor(name: string, values: number[]): Record<string, unknown> {
  const bytes = new Uint8Array(values.length * 8);
  const view = new DataView(bytes.buffer);
  values.forEach((value, index) => view.setBigInt64(index * 8, BigInt(value), true));
  return { name, dims: [values.length], data_type: INT64, raw_data: bytes };
}

/** `values` of `shape` with its axes reordered: result axis i is source axis perm[i]. */
export function transposeArray(
  values: Float32Array,
  shape: number[],
  perm: number[],
): { values: Float32Array; shape: number[] } {
  const outShape = perm.map((axis) => shape[axis]!);
  const strides = shape.map((_, axis) => shape.slice(axis + 1).reduce((a, b) => a * b, 1));
  const permutedStrides = perm.map((axis) => strides[axis]!);
  const out = new Float32Array(values.length);
  const index = new Array<number>(outShape.length).fill(0);
  for (let flat = 0; flat < out.length; flat += 1) {
    let source = 0;
    for (let axis = 0; axis < index.length; axis += 1) source += index[axis]! * permutedStrides[axis]!;
    out[flat] = values[source]!;
    for (let axis = index.length - 1; axis >= 0; axis -= 1) {
      index[axis]! += 1;
      if (index[axis]! < outShape[axis]!) break;
      index[axis] = 0;
    }
  }
  return { values: out, shape: outShape };
}

/**
 * TensorFlow's padding along one axis of a convolution from `input` to `output` pixels: [before, after]. For a
 * transposed convolution, pass the sizes of the convolution it is the gradient of (its output as `input`).
 */
function tfPadding(
  input: number,
  output: number,
  kernel: number,
  stride: number,
  padding: 'same' | 'valid',
): [number, number] {
  if (padding === 'valid') return [0, 0];
  const total = Math.max((output - 1) * stride + kernel - input, 0);
  return [Math.floor(total / 2), total - Math.floor(total / 2)];
}

class GraphBuilder {
  readonly nodes: Record<string, unknown>[] = [];
  readonly initializers: Record<string, unknown>[] = [];
  private readonly used = new Set<string>();
  /** The tensor flowing through the chain, and the order of its axes when it is an image. */
  current: string;
  layout: 'NHWC' | 'NCHW' = 'NHWC';
  rank: number;

  /** `reserved`: names that no inner tensor may take (the graph's input and output). */
  constructor(inputName: string, rank: number, reserved: string[]) {
    this.current = inputName;
    this.rank = rank;
    for (const name of [inputName, ...reserved]) this.used.add(name);
  }

  private unique(name: string): string {
    let candidate = name;
    for (let count = 1; this.used.has(candidate); count += 1) candidate = `${name}_${count}`;
    this.used.add(candidate);
    return candidate;
  }

  constant(name: string, tensor: (unique: string) => Record<string, unknown>): string {
    const unique = this.unique(name);
    this.initializers.push(tensor(unique));
    return unique;
  }

  /** Appends a node on the current tensor (plus `extraInputs`) and makes its output the current tensor. */
  apply(opType: string, name: string, extraInputs: string[] = [], attributes: Attribute[] = []): void {
    const output = this.unique(name);
    this.nodes.push({
      name: output,
      op_type: opType,
      input: [this.current, ...extraInputs],
      output: [output],
      attribute: attributes,
    });
    this.current = output;
  }

  toLayout(layout: 'NHWC' | 'NCHW', name: string): void {
    if (this.rank !== 4 || this.layout === layout) return;
    this.apply('Transpose', name, [], [ints('perm', layout === 'NCHW' ? [0, 3, 1, 2] : [0, 2, 3, 1])]);
    this.layout = layout;
  }
}

function addConvolution(graph: GraphBuilder, layer: ConvLayer): void {
  graph.toLayout('NCHW', `${layer.name}/to_nchw`);
  const [inHeight, inWidth] = layer.inputShape as [number, number];
  const [outHeight, outWidth] = layer.outputShape as [number, number];
  const [kh, kw] = layer.kernelSize;
  const [sh, sw] = layer.strides;
  // Both kernels go to ONNX by the same axis order: [kh, kw, a, b] -> [b, a, kh, kw].
  const weights = transposeArray(layer.kernel.values, layer.kernel.shape, [3, 2, 0, 1]);
  const inputs = [graph.constant(`${layer.name}/kernel`, (name) => floatTensor(name, weights.shape, weights.values))];
  if (layer.bias) {
    const bias = layer.bias;
    inputs.push(graph.constant(`${layer.name}/bias`, (name) => floatTensor(name, bias.shape, bias.values)));
  }
  const common = [ints('kernel_shape', [kh, kw]), ints('strides', [sh, sw]), ints('dilations', [1, 1])];
  if (layer.kind === 'Conv2D') {
    const [top, bottom] = tfPadding(inHeight, outHeight, kh, sh, layer.padding);
    const [left, right] = tfPadding(inWidth, outWidth, kw, sw, layer.padding);
    graph.apply('Conv', layer.name, inputs, [...common, ints('pads', [top, left, bottom, right])]);
  } else {
    // The gradient of a convolution from [outHeight, outWidth] to [inHeight, inWidth]: the same pads, and whatever
    // the pads cannot reach (a kernel smaller than its stride) as output_padding at the bottom and right.
    const [top, bottom] = tfPadding(outHeight, inHeight, kh, sh, layer.padding);
    const [left, right] = tfPadding(outWidth, inWidth, kw, sw, layer.padding);
    const extraHeight = outHeight - ((inHeight - 1) * sh + kh - top - bottom);
    const extraWidth = outWidth - ((inWidth - 1) * sw + kw - left - right);
    graph.apply('ConvTranspose', layer.name, inputs, [
      ...common,
      ints('pads', [top, left, bottom, right]),
      ints('output_padding', [extraHeight, extraWidth]),
    ]);
  }
}

/** Encodes `tree` as an ONNX model. */
export function onnxModel(tree: ModelNode, options: OnnxOptions): { bytes: Uint8Array; signature: OnnxInterface } {
  const layers = flattenTree(tree);
  const outputName = layers.at(-1)?.name;
  if (outputName === undefined) throw new RangeError(`onnxModel: model '${tree.name}' has no layers`);
  const graph = new GraphBuilder(tree.inputName, tree.inputShape.length + 1, [outputName]);
  for (const layer of layers) {
    switch (layer.kind) {
      case 'Conv2D':
      case 'Conv2DTranspose':
        addConvolution(graph, layer);
        break;
      case 'Dense': {
        const kernel = layer.kernel;
        const inputs = [
          graph.constant(`${layer.name}/kernel`, (name) => floatTensor(name, kernel.shape, kernel.values)),
        ];
        const bias = layer.bias;
        if (bias)
          inputs.push(graph.constant(`${layer.name}/bias`, (name) => floatTensor(name, bias.shape, bias.values)));
        graph.apply(bias ? 'Gemm' : 'MatMul', layer.name, inputs);
        break;
      }
      case 'Rescaling': {
        // Elementwise, so in whatever layout the tensor is; the scale broadcasts as a scalar.
        const scale = new Float32Array([layer.scale]);
        graph.apply('Mul', layer.name, [graph.constant(`${layer.name}/scale`, (name) => floatTensor(name, [], scale))]);
        break;
      }
      case 'Identity':
        // No node: its name is the graph's output, which the last node takes below.
        break;
      case 'Flatten':
        // [batch, H, W, C] -> [batch, H*W*C] in tfjs's (row-major NHWC) order.
        graph.toLayout('NHWC', `${layer.name}/to_nhwc`);
        graph.apply('Flatten', layer.name, [], [int('axis', 1)]);
        break;
      case 'Reshape': {
        graph.toLayout('NHWC', `${layer.name}/to_nhwc`);
        // 0 copies the batch size from the input, so an empty batch reshapes too.
        const target = [0, ...layer.targetShape];
        graph.apply('Reshape', layer.name, [
          graph.constant(`${layer.name}/shape`, (name) => int64Tensor(name, target)),
        ]);
        break;
      }
    }
    graph.rank = layer.outputShape.length + 1;
    if ('activation' in layer && layer.activation !== 'linear') {
      const opType = { relu: 'Relu', sigmoid: 'Sigmoid', softmax: 'Softmax' }[layer.activation];
      // Softmax runs over the last axis, which must be the channels: tfjs's, not NCHW's width.
      if (layer.activation === 'softmax') graph.toLayout('NHWC', `${layer.name}/to_nhwc`);
      graph.apply(
        opType,
        `${layer.name}/${layer.activation}`,
        [],
        layer.activation === 'softmax' ? [int('axis', -1)] : [],
      );
    }
  }
  graph.toLayout('NHWC', 'output/to_nhwc');
  // The last node's output takes the model's output name (no node reads it: it is the end of the chain).
  const last = graph.nodes.at(-1);
  if (last) last['output'] = [outputName];

  const valueInfo = (name: string, shape: number[], doc: string) => ({
    name,
    doc_string: doc,
    type: {
      tensor_type: {
        elem_type: FLOAT,
        shape: { dim: [{ dim_param: 'batch' }, ...shape.map((side) => ({ dim_value: side }))] },
      },
    },
  });
  const layoutNote = (shape: number[]) => (shape.length === 3 ? ' (NHWC: batch, height, width, channels)' : '');
  const message = {
    ir_version: onnxIrVersion,
    opset_import: [{ domain: '', version: onnxOpset }],
    producer_name: options.producer.name,
    producer_version: options.producer.version,
    doc_string: options.description ?? '',
    graph: {
      name: tree.name,
      node: graph.nodes,
      initializer: graph.initializers,
      input: [
        valueInfo(
          tree.inputName,
          tree.inputShape,
          `float32 [batch, ${tree.inputShape.join(', ')}]${layoutNote(tree.inputShape)}`,
        ),
      ],
      output: [
        valueInfo(
          outputName,
          tree.outputShape,
          `float32 [batch, ${tree.outputShape.join(', ')}]${layoutNote(tree.outputShape)}`,
        ),
      ],
    },
    metadata_props: Object.entries(options.metadata ?? {}).map(([key, value]) => ({ key, value })),
  };
  const type = modelProto();
  const proto = type.fromObject(message);
  const problem = type.verify(proto);
  if (problem) throw new Error(`onnxModel: the ModelProto for '${tree.name}' does not fit ONNX's schema: ${problem}`);
  return {
    bytes: type.encode(proto).finish(),
    signature: { inputName: tree.inputName, outputName, inputShape: tree.inputShape, outputShape: tree.outputShape },
  };
}
