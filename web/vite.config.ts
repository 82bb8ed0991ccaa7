// Builds the `dae serve` page from web/ into web/dist/ with relative URLs, so the server can mount it anywhere.
// The page imports the noise and PRNG code from ../src, the same definitions the training uses.
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

const root = fileURLToPath(new URL('.', import.meta.url));

export default defineConfig({
  root,
  base: './',
  logLevel: 'warn',
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    // tfjs-core + tfjs-layers + the CPU backend are one ~1.5 MB chunk, served from this machine only.
    chunkSizeWarningLimit: 3000,
  },
  server: { host: '127.0.0.1', fs: { allow: [fileURLToPath(new URL('..', import.meta.url))] } },
});
