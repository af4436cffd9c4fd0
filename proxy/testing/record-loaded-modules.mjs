// Preloaded into a sidecar process (`NODE_OPTIONS=--import <this file>`) by proxy/lazy-undici.test.ts:
// when the process exits it writes, as JSON to $MESHTRACE_LOADED_MODULES_OUT, the files of every
// CommonJS module it loaded (require's cache, which also holds the CommonJS packages an ES module
// imports, such as undici, pino, prom-client) and the built-in modules it loaded
// (`process.moduleLoadList`, where the global fetch shows as `internal/deps/undici/undici`).
import { writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';

const Module = createRequire(import.meta.url)('node:module');
const out = process.env.MESHTRACE_LOADED_MODULES_OUT;
if (out) {
  process.on('exit', () => {
    writeFileSync(out, JSON.stringify({ files: Object.keys(Module._cache), builtins: process.moduleLoadList }));
  });
}
