/**
 * The sidecar's own entry point: `meshtrace proxy` and `meshtrace inject` with only the modules
 * they need. `npm run build:proxy` (part of `prepare`, so every `npm install` runs it) bundles this
 * file with esbuild into dist/sidecar.mjs, zod bundled (tree-shaken), the other dependencies left in
 * node_modules (undici is imported only for ISTIO_MUTUAL upstreams); bin/meshtrace.js runs
 * that bundle for these two verbs while it is newer than every source it was built from, and the
 * TypeScript sources through tsx otherwise. Without the tsx loader (its own thread and esbuild
 * service) and the rest of the CLI, a sidecar starts faster and its resident memory is ~35 MiB
 * smaller; see proxy/README.md ("Resources"). `node dist/sidecar.mjs proxy …` runs it directly.
 */
import { readFileSync, realpathSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { Command } from 'commander';
import { registerInject } from '../cli/inject.js';
import { registerProxy } from '../cli/proxy.js';

export async function sidecarMain(argv: string[]): Promise<void> {
  const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };
  const program = new Command('meshtrace')
    .description('Tracing sidecar (the proxy and inject verbs of meshtrace).')
    .version(pkg.version)
    .showHelpAfterError()
    .exitOverride((err) => {
      process.exit(err.exitCode);
    });
  registerProxy(program);
  registerInject(program);
  await program.parseAsync(argv, { from: 'user' });
}

// Run directly (`node dist/sidecar.mjs proxy …`), not imported by bin/meshtrace.js.
if (process.argv[1] && import.meta.url === pathToFileURL(realpathSync(process.argv[1])).href) {
  await sidecarMain(process.argv.slice(2));
}
