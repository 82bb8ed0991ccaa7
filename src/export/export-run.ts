// `dae export`: the saved models of a finished run folder as ONNX or Keras 3 files, one per model:
//   <out>/<model>.onnx    or    <out>/<model>.keras        (default out: <run>/export/<format>)
//   <out>/export.json     what the folder holds: the run it came from, and each file's model and interface
// Every requested model is loaded, checked and converted, and every target checked, before the first file is
// written; the files are then written beside their targets and renamed into place, so a refused or failed request
// leaves no part of an export behind. --out must be new, empty, or an earlier export of the same run: never a run
// folder, nor a folder of other files.
import { existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { basename, dirname, join, relative, resolve, isAbsolute } from 'node:path';
import { fileURLToPath } from 'node:url';

import { ensureDirectory, formatJson, writeFilesAtomic } from '../io/atomic.js';
import { loadModel, modelJsonName, readModelMetadata } from '../io/model-files.js';
import { RunFolder } from '../io/run-folder.js';
import { checkExportFolder, checkTargets, exportRecordName, exportRecordVersion } from './export-folder.js';
import type { ExportRecord } from './export-folder.js';
import { describeInterface, exportTree } from './interface.js';
import type { InterfaceDescription } from './interface.js';
import { kerasModel } from './keras.js';
import { ExportError, modelTree } from './model-tree.js';
import { onnxModel } from './onnx.js';

export const exportFormats = ['onnx', 'keras'] as const;
export type ExportFormat = (typeof exportFormats)[number];
const extensions: Record<ExportFormat, string> = { onnx: '.onnx', keras: '.keras' };

export interface ExportOptions {
  format: ExportFormat;
  /** A folder name under the run's models/, or 'all' (the default). */
  model?: string;
  /** Where the files go; default <run>/export/<format>. */
  out?: string;
  /**
   * Put a layer in front of every model that takes an image, dividing 0-255 pixels by 255, so that it takes raw
   * pixels (Keras Rescaling, an ONNX Mul). Off by default: the models take pixels in [0, 1], as tfjs's do.
   */
  includeRescaling?: boolean;
}

export interface ExportedModel {
  model: string;
  file: string;
  bytes: number;
  inputName: string;
  outputName: string;
  /** Without the batch axis. */
  inputShape: number[];
  outputShape: number[];
}

/** The package's name and version, for the files' producer fields: the package.json above this module. */
async function producer(): Promise<{ name: string; version: string }> {
  let directory = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(directory, 'package.json')) && dirname(directory) !== directory)
    directory = dirname(directory);
  try {
    const parsed = JSON.parse(await readFile(join(directory, 'package.json'), 'utf8')) as {
      name?: unknown;
      version?: unknown;
    };
    return { name: String(parsed.name ?? 'dae-pretrain'), version: String(parsed.version ?? '') };
  } catch {
    return { name: 'dae-pretrain', version: '' };
  }
}

/** Folder names under models/ that hold a saved model (saveModel writes model.json last, so these are complete). */
async function savedModels(run: RunFolder): Promise<string[]> {
  const entries = await readdir(run.path('models'), { withFileTypes: true }).catch(() => []);
  const names: string[] = [];
  for (const entry of entries) {
    if (entry.isDirectory() && (await run.exists(join('models', entry.name, modelJsonName)))) names.push(entry.name);
  }
  return names.sort();
}

/** ModelProto.doc_string: what the model is, and how to feed it. */
function describe(metadata: Record<string, unknown>, description: InterfaceDescription): string {
  const role =
    typeof metadata['role'] === 'string'
      ? metadata['role']
      : typeof metadata['encoder'] === 'string'
        ? `classifier (encoder ${metadata['encoder']}, ${String(metadata['labels'])} labels)`
        : 'model';
  const dataset = typeof metadata['dataset'] === 'string' ? ` on ${metadata['dataset']}` : '';
  return `dae-pretrain ${role}${dataset}; input '${description.input.name}': ${description.input.preprocessing}; output '${description.output.name}': ${description.output.meaning}`;
}

/** ONNX's metadata_props: flat strings, JSON where a value has structure. */
function onnxMetadata(saved: Record<string, unknown>, description: InterfaceDescription): Record<string, string> {
  return {
    daePretrain: JSON.stringify(saved),
    interface: JSON.stringify(description),
    preprocessing: description.input.preprocessing,
    layout: description.input.layout,
    ...(description.input.range ? { input_range: JSON.stringify(description.input.range) } : {}),
    rescaling_included: String(description.rescalingIncluded),
    ...(description.classNames ? { class_names: JSON.stringify(description.classNames) } : {}),
  };
}

/**
 * Exports the saved models of the complete run folder `runDirectory`. Refuses (ExportError, RunFolderError,
 * ModelFileError) an unfinished run, an unknown model name or format, a damaged model, an --out that is no place for
 * an export, before anything is written. Needs a tfjs backend (any).
 */
export async function exportRun(runDirectory: string, options: ExportOptions): Promise<ExportedModel[]> {
  if (!exportFormats.includes(options.format)) {
    throw new ExportError(
      `--format ${String(options.format)}`,
      'is not a format dae exports',
      `use one of ${exportFormats.join(', ')}`,
    );
  }
  const out = options.out ?? join(runDirectory, 'export', options.format);
  const includeRescaling = options.includeRescaling ?? false;
  // Reading takes no lock; writing inside the run folder does, so that no other process is rewriting it meanwhile.
  const inside = relative(resolve(runDirectory), resolve(out));
  const writesInside = !inside.startsWith('..') && !isAbsolute(inside);
  const run = await RunFolder.open(runDirectory, { readOnly: !writesInside });
  try {
    if (run.status !== 'complete') {
      throw new ExportError(
        run.path('run.json'),
        `the run has not finished (status ${run.status}), so its models may be missing or mid-training`,
        `finish it with \`dae experiment --resume ${runDirectory}\` first`,
      );
    }
    const available = await savedModels(run);
    if (available.length === 0) {
      throw new ExportError(
        run.path('models'),
        'holds no saved model',
        'export a run folder that `dae experiment` finished',
      );
    }
    const requested = options.model === undefined || options.model === 'all' ? available : [options.model];
    for (const name of requested) {
      if (!available.includes(name)) {
        throw new ExportError(
          `--model ${name}`,
          `${run.path('models')} holds no such model (it has ${available.join(', ')})`,
          'name one of them, or all',
        );
      }
    }
    const identity = { directory: resolve(runDirectory), startedAt: run.runRecord.startedAt };
    const fileNames = new Set(
      available.flatMap((name) => exportFormats.map((format) => `${name}${extensions[format]}`)),
    );
    const previous = await checkExportFolder(out, identity, fileNames);

    const by = await producer();
    const exportedAt = new Date().toISOString();
    const converted: (ExportedModel & { data: Uint8Array; description: InterfaceDescription })[] = [];
    for (const name of requested) {
      const directory = run.path('models', name);
      const model = await loadModel(directory);
      try {
        const metadata = await readModelMetadata(directory);
        const interfaceOptions = {
          includeRescaling,
          // saveModel cannot record it (tfjs saves no `trainable`), so the classifier's metadata says it.
          ...(metadata['encoder'] === 'frozen' ? { frozenModel: 'encoder' } : {}),
        };
        const tree = exportTree(modelTree(model, directory), interfaceOptions, directory);
        const classNames = Array.isArray(metadata['classNames']) ? metadata['classNames'].map(String) : undefined;
        const description = describeInterface(tree, { ...interfaceOptions, ...(classNames ? { classNames } : {}) });
        const data =
          options.format === 'onnx'
            ? onnxModel(tree, {
                producer: by,
                description: describe(metadata, description),
                metadata: onnxMetadata(metadata, description),
              }).bytes
            : await kerasModel(tree, {
                producer: `${by.name} ${by.version}`.trim(),
                metadata: { model: name, ...description, saved: metadata },
              });
        converted.push({
          model: name,
          file: join(out, `${name}${extensions[options.format]}`),
          bytes: data.byteLength,
          inputName: description.input.name,
          outputName: description.output.name,
          inputShape: tree.inputShape,
          outputShape: tree.outputShape,
          data,
          description,
        });
      } finally {
        model.dispose();
      }
    }
    await checkTargets([...converted.map((item) => item.file), join(out, exportRecordName)]);
    const record: ExportRecord = {
      formatVersion: exportRecordVersion,
      run: identity,
      files: {
        ...previous?.files,
        ...Object.fromEntries(
          converted.map((item) => [
            basename(item.file),
            { model: item.model, format: options.format, exportedAt, interface: item.description },
          ]),
        ),
      },
    };
    await ensureDirectory(out);
    await writeFilesAtomic([
      ...converted.map((item) => ({ path: item.file, data: item.data })),
      { path: join(out, exportRecordName), data: formatJson(record) },
    ]);
    return converted.map(({ data: _data, description: _description, ...item }) => item);
  } finally {
    await run.release();
  }
}
