/**
 * Builds the UI into ui/dist (run by `npm run build:ui`, which `npm install` runs via `prepare`).
 *
 * - `base: './'`: asset URLs are relative, so the query server can mount the UI under any
 *   `--ui-base-path` by rewriting only the `<base href>` of index.html (as Jaeger does).
 * - JSX is compiled by Vite's built-in transformer (oxc in Vite 8) for Preact's automatic runtime:
 *   no framework plugin, so the build stays quick and offline.
 * - Hashed file names under assets/ let the server mark them immutable.
 */
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

const root = fileURLToPath(new URL('.', import.meta.url));

export default defineConfig({
  root,
  base: './',
  logLevel: 'warn',
  oxc: { jsx: { runtime: 'automatic', importSource: 'preact' } },
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2022',
    assetsDir: 'assets',
    sourcemap: false,
    reportCompressedSize: false,
  },
  server: {
    // `vite --config ui/vite.config.ts` during development: forward the API to a running query server.
    proxy: { '/api': process.env.MESHTRACE_QUERY_URL ?? 'http://127.0.0.1:16686' },
  },
});
