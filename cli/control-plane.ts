/**
 * `meshtrace control-plane`: service registry + versioned mesh config pushed to every sidecar
 * (istiod's role without Kubernetes). The all-in-one server runs the same on --control-plane-port.
 */
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';

/** The token from --mesh-token, --mesh-token-file or MESHTRACE_MESH_TOKEN (in that order). */
export function meshToken(o: { meshToken?: string; meshTokenFile?: string }, env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (o.meshToken) return o.meshToken;
  if (o.meshTokenFile) return readFileSync(o.meshTokenFile, 'utf8').trim() || undefined;
  return env['MESHTRACE_MESH_TOKEN'] || undefined;
}

export function registerControlPlane(program: Command): void {
  program
    .command('control-plane')
    .description('Run the mesh control plane: sidecars started with --control-plane register here and learn every service\'s endpoints; `meshtrace mesh apply` stores config versions they apply.')
    .option('--port <port>', 'HTTP port (0 = a free port)', '15010')
    .option('--host <host>', 'interface to bind', '127.0.0.1')
    .option('--data-dir <dir>', 'directory of the SQLite database holding the config versions (meshtrace.db)', './data')
    .option('--mesh-token <token>', 'require this token for registration and config changes [env MESHTRACE_MESH_TOKEN]')
    .option('--mesh-token-file <file>', 'read the token from this file')
    .action(async (o: { port: string; host: string; dataDir: string; meshToken?: string; meshTokenFile?: string }) => {
      const port = Number(o.port);
      if (!Number.isInteger(port) || port < 0 || port > 65535) {
        process.stderr.write(`meshtrace control-plane: --port: expected 0–65535, got '${o.port}'\n`);
        process.exit(2);
      }
      let token: string | undefined;
      try { token = meshToken(o); } catch (err) {
        process.stderr.write(`meshtrace control-plane: --mesh-token-file: ${(err as Error).message}\n`);
        process.exit(2);
      }
      const { startControlPlane } = await import('../control-plane/server.js');
      let server;
      try {
        server = await startControlPlane({ host: o.host, port, dataDir: o.dataDir, token });
      } catch (err) {
        process.stderr.write(`meshtrace control-plane: ${(err as Error).message}\n`);
        process.exit(1);
      }
      process.stderr.write(`${JSON.stringify({ msg: 'meshtrace control-plane started', url: server.url, port: server.port, configVersion: server.cp.config.version, token: token ? 'required' : 'none' })}\n`);
      const stop = () => { server.close().then(() => process.exit(0), () => process.exit(1)); };
      process.on('SIGTERM', stop);
      process.on('SIGINT', stop);
    });
}
