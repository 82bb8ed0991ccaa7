// A model tree as a Keras 3 `.keras` file: the zip that keras.saving.save_model writes and
// keras.models.load_model reads, with no custom code on the reader's side:
//   config.json        the model as Keras 3 serialises it: Functional (tfjs `Model`) and Sequential, nested models
//                      kept as nested models, each layer called once (node index 0) on the layer before it
//   model.weights.h5   HDF5 (written with h5wasm): layers/<class_snake_case>[_N]/vars/<i>, N counting the layers of
//                      one class inside one model, i = 0 kernel, 1 bias; a nested model's layers under its own
//                      layers/<functional|sequential>/layers/... (Keras addresses weights by class, not by name)
//   metadata.json      the Keras version whose layout this follows, the save date, who wrote the file, and under
//                      dae_pretrain what the model takes and gives (./interface.ts), its preprocessing included
// tfjs and Keras store kernels alike (Conv2D [kh, kw, in, out], Conv2DTranspose [kh, kw, out, in], Dense
// [in, out]), so the weights are copied as they are. The layout was read off files Keras 3.15.1 saves, and
// scripts/check-keras.py loads every exported model in Keras and compares its predictions with tfjs's.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { strToU8, zipSync } from 'fflate';

import { isModelNode } from './model-tree.js';
import type { ComputeLayer, ModelNode, TreeLayer, Weight } from './model-tree.js';

/** The Keras release whose `.keras` layout these files follow, and that scripts/check-keras.py was run with. */
export const kerasLayoutVersion = '3.15.1';

type Json = Record<string, unknown>;

const batched = (shape: number[]): (number | null)[] => [null, ...shape];

function kerasTensor(shape: number[], from: string): Json {
  return {
    class_name: '__keras_tensor__',
    config: { shape: batched(shape), dtype: 'float32', keras_history: [from, 0, 0] },
  };
}

function inputLayer(name: string, shape: number[]): Json {
  return {
    module: 'keras.layers',
    class_name: 'InputLayer',
    registered_name: null,
    config: { batch_shape: batched(shape), dtype: 'float32', sparse: false, name },
  };
}

/** A layer's own config, in Keras 3's names; what is left out takes Keras's default (initialisers, regularisers). */
function layerConfig(layer: ComputeLayer): Json {
  const common = { name: layer.name, trainable: layer.trainable ?? true };
  switch (layer.kind) {
    case 'Dense':
      return { ...common, units: layer.units, activation: layer.activation, use_bias: layer.bias !== null };
    case 'Conv2D':
    case 'Conv2DTranspose':
      return {
        ...common,
        filters: layer.filters,
        kernel_size: layer.kernelSize,
        strides: layer.strides,
        padding: layer.padding,
        data_format: 'channels_last',
        dilation_rate: [1, 1],
        activation: layer.activation,
        use_bias: layer.bias !== null,
      };
    case 'Flatten':
      return { ...common, data_format: 'channels_last' };
    case 'Reshape':
      return { ...common, target_shape: layer.targetShape };
    case 'Rescaling':
      return { ...common, scale: layer.scale, offset: 0 };
    case 'Identity':
      return common;
  }
}

/** The config.json entry of `layer`; `from` is the layer whose output it takes when it sits in a Functional model. */
function layerEntry(layer: TreeLayer, from: string | null): Json {
  const entry: Json = isModelNode(layer)
    ? modelEntry(layer)
    : {
        module: 'keras.layers',
        class_name: layer.kind,
        config: layerConfig(layer),
        registered_name: null,
        build_config: { input_shape: batched(layer.inputShape) },
      };
  if (from === null) return entry;
  return { ...entry, name: layer.name, inbound_nodes: [{ args: [kerasTensor(layer.inputShape, from)], kwargs: {} }] };
}

function modelEntry(node: ModelNode): Json {
  if (node.kind === 'Sequential') {
    return {
      module: 'keras',
      class_name: 'Sequential',
      registered_name: null,
      config: {
        name: node.name,
        trainable: node.trainable ?? true,
        layers: [inputLayer(node.inputName, node.inputShape), ...node.layers.map((layer) => layerEntry(layer, null))],
        build_input_shape: batched(node.inputShape),
      },
      build_config: { input_shape: batched(node.inputShape) },
    };
  }
  const layers: Json[] = [{ ...inputLayer(node.inputName, node.inputShape), name: node.inputName, inbound_nodes: [] }];
  let previous = node.inputName;
  for (const layer of node.layers) {
    layers.push(layerEntry(layer, previous));
    previous = layer.name;
  }
  return {
    module: 'keras.src.models.functional',
    class_name: 'Functional',
    registered_name: 'Functional',
    config: {
      name: node.name,
      trainable: node.trainable ?? true,
      layers,
      input_layers: [node.inputName, 0, 0],
      output_layers: [previous, 0, 0],
    },
    build_config: { input_shape: null },
  };
}

/** config.json of `tree`. */
export function kerasConfig(tree: ModelNode): Json {
  return modelEntry(tree);
}

/** One HDF5 group to write: its path, the `name` attribute Keras gives it, and its variables in order. */
interface WeightGroup {
  path: string;
  name: string;
  variables: Weight[];
}

const snakeCase: Record<TreeLayer['kind'] | 'InputLayer', string> = {
  InputLayer: 'input_layer',
  Dense: 'dense',
  Conv2D: 'conv2d',
  Conv2DTranspose: 'conv2d_transpose',
  Flatten: 'flatten',
  Reshape: 'reshape',
  Rescaling: 'rescaling',
  Identity: 'identity',
  Functional: 'functional',
  Sequential: 'sequential',
};

/**
 * The groups of model.weights.h5 for the model `node` at `path` ('' for the file's root), as Keras walks a model:
 * its `layers` (a Functional model's include its input layer, a Sequential's do not), each named after its class.
 */
export function weightGroups(node: ModelNode, path = ''): WeightGroup[] {
  const join = (...parts: string[]) => parts.filter((part) => part !== '').join('/');
  const groups: WeightGroup[] = [{ path: join(path, 'vars'), name: node.name, variables: [] }];
  const counts = new Map<string, number>();
  const slot = (kind: keyof typeof snakeCase) => {
    const base = snakeCase[kind];
    const count = counts.get(base);
    counts.set(base, (count ?? -1) + 1);
    return count === undefined ? base : `${base}_${count + 1}`;
  };
  if (node.kind === 'Functional')
    groups.push({ path: join(path, 'layers', slot('InputLayer'), 'vars'), name: node.inputName, variables: [] });
  for (const layer of node.layers) {
    const layerPath = join(path, 'layers', slot(layer.kind));
    if (isModelNode(layer)) {
      groups.push(...weightGroups(layer, layerPath));
    } else {
      const variables =
        layer.kind === 'Dense' || layer.kind === 'Conv2D' || layer.kind === 'Conv2DTranspose'
          ? [layer.kernel, ...(layer.bias ? [layer.bias] : [])]
          : [];
      groups.push({ path: join(layerPath, 'vars'), name: layer.name, variables });
    }
  }
  return groups;
}

/** model.weights.h5 of `tree`, written with h5wasm into a private temporary folder and read back. */
async function weightsFile(tree: ModelNode): Promise<Uint8Array> {
  const h5wasm = (await import('h5wasm/node')).default;
  await h5wasm.ready;
  const directory = await mkdtemp(join(tmpdir(), 'dae-keras-'));
  try {
    const path = join(directory, 'model.weights.h5');
    const file = new h5wasm.File(path, 'w');
    try {
      const made = new Set<string>();
      const makeGroup = (groupPath: string) => {
        const parts = groupPath.split('/');
        for (let depth = 1; depth <= parts.length; depth += 1) {
          const prefix = parts.slice(0, depth).join('/');
          if (!made.has(prefix)) file.create_group(prefix);
          made.add(prefix);
        }
      };
      for (const group of weightGroups(tree)) {
        makeGroup(group.path);
        const entry = file.get(group.path) as InstanceType<typeof h5wasm.Group>;
        entry.create_attribute('name', group.name);
        group.variables.forEach((variable, index) => {
          entry.create_dataset({ name: String(index), data: variable.values, shape: variable.shape, dtype: '<f4' });
        });
      }
    } finally {
      file.close();
    }
    return new Uint8Array(await readFile(path));
  } finally {
    await rm(directory, { recursive: true, force: true });
  }
}

export interface KerasOptions {
  /** Goes into metadata.json as `exported_by`. */
  producer: string;
  /** metadata.json's date_saved; now when absent. */
  date?: Date;
  /**
   * Goes into metadata.json as `dae_pretrain`: what the model takes and gives. keras.models.load_model does not read
   * metadata.json, so it may carry more; keras.saving.KerasFileEditor(path).metadata shows it, as do zipfile and json.
   */
  metadata?: Record<string, unknown>;
}

/** The `.keras` file of `tree`, as bytes. */
export async function kerasModel(tree: ModelNode, options: KerasOptions): Promise<Uint8Array> {
  const date = options.date ?? new Date();
  const pad = (value: number) => String(value).padStart(2, '0');
  const dateSaved = `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}@${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())}`;
  const metadata = {
    keras_version: kerasLayoutVersion,
    date_saved: dateSaved,
    exported_by: options.producer,
    ...(options.metadata ? { dae_pretrain: options.metadata } : {}),
  };
  // Keras writes metadata.json, config.json, model.weights.h5 in this order, the weights stored uncompressed.
  return zipSync(
    {
      'metadata.json': strToU8(JSON.stringify(metadata)),
      'config.json': strToU8(JSON.stringify(kerasConfig(tree))),
      'model.weights.h5': [await weightsFile(tree), { level: 0 }],
    },
    { level: 6 },
  );
}
