// `dae serve`: the interactive page for a run folder, on 127.0.0.1 only.
import type { Command } from 'commander';

import { useBackend } from '../../backend/index.js';
import { limits } from '../../config.js';
import { RunFolderError } from '../../io/run-folder.js';
import { numberOption, pathIn } from '../flags.js';

export function addServeCommand(program: Command): void {
  // `dae serve`: the interactive page, on 127.0.0.1 only. Imported on demand, so the other commands never load
  // node:http.
  program
    .command('serve')
    .description('serve a page for a run folder: draw a digit, watch it denoised, encoded and classified')
    .argument('[run-dir]', 'complete run folder (default: the newest complete one under runs/)', pathIn('run-dir'))
    .addOption(numberOption('--port <n>', 'port on 127.0.0.1 (0 = any free port)', limits.port).default(8765))
    .action(async (directory: string | undefined, options: { port: number }) => {
      const { newestCompleteRun, serveRun, ServeError } = await import('../../serve/server.js');
      // The models are loaded once, to check them, before the page is served; any engine will do.
      await useBackend('auto', { threads: 1 });
      const chosen = directory ?? (await newestCompleteRun('runs'));
      if (chosen === undefined)
        throw new RunFolderError(
          'runs',
          'holds no complete run folder',
          'run `dae experiment` first, or name a run folder',
        );
      try {
        const server = await serveRun(chosen, { port: options.port });
        process.stderr.write(`dae: serving ${chosen} on this machine only; Ctrl-C stops\n`);
        process.stdout.write(`${server.url}\n`);
        for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => void server.close());
      } catch (error) {
        if (!(error instanceof ServeError)) throw error;
        process.stderr.write(`dae: ${error.message}\n`);
        process.exitCode = 1;
      }
    });
}
