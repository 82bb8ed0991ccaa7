// `dae export`: a finished run's models as ONNX or Keras 3 files.
import { Option } from 'commander';
import type { Command } from 'commander';

import { useBackend } from '../../backend/index.js';
import { exportFormats, exportRun } from '../../export/export-run.js';
import type { ExportFormat } from '../../export/export-run.js';
import { rescalingLayerName } from '../../export/interface.js';
import { pathIn } from '../flags.js';

export function addExportCommand(program: Command): void {
  program
    .command('export')
    .description("write a finished run's models as ONNX or Keras 3 files, for runtimes other than tfjs")
    .argument('<run-dir>', 'complete run folder', pathIn('run-dir'))
    .addOption(
      new Option(
        '--format <name>',
        'onnx: one .onnx file per model (opset 17, NHWC input, dynamic batch); keras: one .keras file per model (Keras 3)',
      )
        .choices(exportFormats)
        .makeOptionMandatory(),
    )
    .option(
      '--model <name>',
      "a folder name under the run's models/ (autoencoder, encoder, decoder, classifier-frozen-5500, ...), or all",
      'all',
    )
    .option('--out <dir>', 'new or empty folder for the files (default <run-dir>/export/<format>)', pathIn('--out'))
    .option(
      '--include-rescaling',
      `put a layer (${rescalingLayerName}) in front of each model that takes images, dividing 0-255 pixels by 255, so that it takes raw pixels; without it, divide by 255 yourself`,
      false,
    )
    .action(
      async (
        directory: string,
        options: { format: ExportFormat; model: string; out?: string; includeRescaling: boolean },
      ) => {
        // Only weights are read; any engine will do, and the default one prints nothing.
        await useBackend('auto', { threads: 1 });
        const exported = await exportRun(directory, {
          format: options.format,
          model: options.model,
          ...(options.out !== undefined ? { out: options.out } : {}),
          includeRescaling: options.includeRescaling,
        });
        for (const item of exported) {
          process.stderr.write(
            `  ${item.model.padEnd(24)} ${item.inputName} [batch, ${item.inputShape.join(', ')}] -> ${item.outputName} [batch, ${item.outputShape.join(', ')}]  ${(item.bytes / 1024).toFixed(0)} KiB\n`,
          );
          process.stdout.write(`${item.file}\n`);
        }
      },
    );
}
