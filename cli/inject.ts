/**
 * `meshtrace inject -- <command…>`: starts the sidecar, then the app beside it.
 *
 * The sidecar runs inside this process and the app is its child, so the sidecar can never outlive
 * the app: when the app exits, the sidecar drains and this process exits with the app's code
 * (128+n when a signal n ended it); when this process is killed, even with SIGKILL, the sidecar
 * dies with it. SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1 and SIGUSR2 are forwarded to the app,
 * which decides when to exit; the sidecar keeps serving until it does. SIGHUP also reloads the
 * sidecar's configuration (re-reads --config, as `meshtrace proxy` does on SIGHUP) before it is
 * forwarded; the sidecar also watches the --config file and answers POST /config/reload.
 *
 * The app gets PORT (where it must listen), HTTP_PROXY/http_proxy (the outbound listener),
 * OTEL_EXPORTER_OTLP_ENDPOINT (the collector) and OTEL_SERVICE_NAME.
 */
import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { constants } from 'node:os';
import type { Command } from 'commander';
import { ConfigError } from '../proxy/config.js';
import type { Sidecar } from '../proxy/sidecar.js';
import { addProxyOptions, startMeshSidecar } from './proxy.js';

const FORWARDED_SIGNALS: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT', 'SIGUSR1', 'SIGUSR2'];

/** A port free right now on host (the OS picks it). The app binds it a moment later. */
export function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, host, () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

/** The environment the app starts with. */
export function appEnv(base: NodeJS.ProcessEnv, s: Pick<Sidecar, 'config' | 'outboundPort'>): NodeJS.ProcessEnv {
  const proxy = `http://${s.config.bindHost}:${s.outboundPort}`;
  const env: NodeJS.ProcessEnv = {
    ...base,
    PORT: String(s.config.appPort),
    HTTP_PROXY: proxy,
    http_proxy: proxy,
    OTEL_SERVICE_NAME: s.config.service,
  };
  if (s.config.collector) {
    env.OTEL_EXPORTER_OTLP_ENDPOINT = s.config.collector;
    // The app's own span exports should not go through its sidecar (and be traced themselves).
    const host = new URL(s.config.collector).host;
    const prior = base.NO_PROXY ?? base.no_proxy;
    env.NO_PROXY = env.no_proxy = prior ? `${prior},${host}` : host;
  }
  return env;
}

export function registerInject(program: Command): void {
  const cmd = program
    .command('inject')
    .description('Start a sidecar on free ports, then run <command> beside it with PORT, HTTP_PROXY, OTEL_EXPORTER_OTLP_ENDPOINT and OTEL_SERVICE_NAME set; exit with its exit code.')
    .argument('<command...>', 'the app and its arguments (put them after --)');
  addProxyOptions(cmd, { portsOptional: true });
  cmd.addHelpText('after', `
Example:
  meshtrace inject --service reviews --collector http://127.0.0.1:4318 -- node reviews.js`);
  cmd.action(async (command: string[], opts: Record<string, unknown>) => {
    let sidecar: Sidecar;
    let stopMesh: () => Promise<void>;
    try {
      const overrides: Record<string, unknown> = {};
      if (opts['appPort'] === undefined) overrides['appPort'] = await freePort();
      for (const k of ['inboundPort', 'outboundPort', 'adminPort']) if (opts[k] === undefined) overrides[k] = 0;
      ({ sidecar, stop: stopMesh } = await startMeshSidecar(opts, overrides));
    } catch (err) {
      process.stderr.write(`meshtrace inject: ${(err as Error).message}\n`);
      process.exit(err instanceof ConfigError ? 2 : 1);
    }
    process.stderr.write(`${JSON.stringify({ msg: 'meshtrace inject: sidecar ready', service: sidecar.config.service, inboundPort: sidecar.inboundPort, outboundPort: sidecar.outboundPort, adminPort: sidecar.adminPort, appPort: sidecar.config.appPort })}\n`);

    const [file, ...args] = command;
    const child = spawn(file, args, { stdio: 'inherit', env: appEnv(process.env, sidecar) });
    const forward = (sig: NodeJS.Signals) => {
      if (sig === 'SIGHUP') sidecar.reload();
      // The app is about to stop: leave the endpoint set now, not when the lease runs out.
      if (sig === 'SIGTERM' || sig === 'SIGINT') void stopMesh();
      if (child.exitCode === null && child.signalCode === null) child.kill(sig);
    };
    for (const sig of FORWARDED_SIGNALS) process.on(sig, forward);

    const finish = (code: number) => {
      for (const sig of FORWARDED_SIGNALS) process.off(sig, forward);
      // Deregister at once, then a short drain: the app is gone, so inbound requests cannot
      // succeed; outbound ones may still finish.
      stopMesh().then(() => sidecar.close({ drainMs: 1_000 })).finally(() => process.exit(code));
    };
    child.once('error', (err) => {
      process.stderr.write(`meshtrace inject: cannot start '${file}': ${err.message}\n`);
      finish(127);
    });
    child.once('exit', (code, signal) => {
      finish(code ?? (signal ? 128 + (constants.signals[signal] ?? 0) : 1));
    });
  });
}
