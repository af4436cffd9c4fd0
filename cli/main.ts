/**
 * `meshtrace <verb>`: one binary, one verb per component. Each verb lives in its own module and
 * registers itself on the commander program, so `--help` works on every verb.
 */
import { readFileSync } from 'node:fs';
import { Command } from 'commander';
import { registerAllInOne } from './all-in-one.js';
import { registerAuth } from './auth.js';
import { registerCert } from './cert.js';
import { registerControlPlane } from './control-plane.js';
import { registerDemo } from './demo.js';
import { registerInject } from './inject.js';
import { registerMesh } from './mesh.js';
import { registerProxy } from './proxy.js';
import { registerStorage } from './storage.js';

export async function main(argv: string[]): Promise<void> {
  const program = new Command('meshtrace')
    .description('Tracing and service-mesh toolkit: collector, trace store, Jaeger-compatible query API, UI and sidecar proxy.')
    .version(packageVersion())
    .showHelpAfterError()
    .exitOverride((err) => {
      process.exit(err.exitCode);
    });
  registerAllInOne(program);
  registerProxy(program);
  registerInject(program);
  registerDemo(program);
  registerCert(program);
  registerStorage(program);
  registerControlPlane(program);
  registerMesh(program);
  registerAuth(program);
  await program.parseAsync(argv, { from: 'user' });
}

function packageVersion(): string {
  const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}
