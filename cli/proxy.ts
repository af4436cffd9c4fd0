/**
 * `meshtrace proxy`: the sidecar. Callers reach the app through --inbound-port, the app's calls go
 * out through --outbound-port; spans go to --collector, Istio metrics to the admin /metrics.
 */
import { readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { hostname } from 'node:os';
import { Command, Option } from 'commander';
import { parseDurationUs } from '../config/units.js';
import { ConfigError, mergeConfig, parseProxyConfig, parseUpstreamFlags, readConfigFile, type ProxyConfig } from '../proxy/config.js';
import type { ControlPlaneClient } from '../proxy/control-plane-client.js';
import { deepMerge, selectServiceConfig } from '../proxy/mesh-config.js';
import type { Sidecar, SidecarOptions } from '../proxy/sidecar.js';

export function registerProxy(program: Command): void {
  const cmd = program
    .command('proxy')
    .description('Run the tracing sidecar in front of one service: inbound → app, app → outbound, spans to a collector, Istio metrics on the admin port.');
  addProxyOptions(cmd, { portsOptional: false });
  cmd.addHelpText('after', `
Example:
  meshtrace proxy --service reviews --app-port 9080 --inbound-port 15006 --outbound-port 15001 \\
                  --admin-port 15000 --collector http://127.0.0.1:4318 --upstream ratings=127.0.0.1:16006`);
  cmd.action(async (opts: Record<string, unknown>) => {
    let sidecar: Sidecar;
    let stopMesh: () => Promise<void>;
    try {
      ({ sidecar, stop: stopMesh } = await startMeshSidecar(opts));
    } catch (err) {
      if (err instanceof ConfigError) {
        process.stderr.write(`meshtrace proxy: ${err.message}\n`);
        process.exit(2);
      }
      process.stderr.write(`meshtrace proxy: ${(err as Error).message}\n`);
      process.exit(1);
    }
    process.stderr.write(`${JSON.stringify({ msg: 'meshtrace proxy started', service: sidecar.config.service, inboundPort: sidecar.inboundPort, outboundPort: sidecar.outboundPort, adminPort: sidecar.adminPort, app: `${sidecar.config.appHost}:${sidecar.config.appPort}` })}\n`);
    let stopping = false;
    const stop = () => {
      if (stopping) return;
      stopping = true;
      // Deregister first (callers stop picking this instance), then drain: /ready turns 503,
      // in-flight requests finish, queued spans are sent.
      stopMesh().then(() => sidecar.close()).then(() => process.exit(0), () => process.exit(1));
    };
    process.on('SIGTERM', stop);
    process.on('SIGINT', stop);
    // Re-read --config and apply it (the outcome is logged on stderr).
    process.on('SIGHUP', () => { if (!stopping) sidecar.reload(); });
  });
}

/**
 * Starts a sidecar from the CLI options, and with `--control-plane` its control-plane client: the
 * first snapshot is fetched before the sidecar starts (so `http://reviews/` works from the first
 * request), then the client registers the sidecar, watches for changes and applies each through
 * the reload path; its config is a layer under the file and the flags (they win, `--upstream`
 * entries over discovered ones by name). `stop()` deregisters (call it before `sidecar.close()`).
 */
export async function startMeshSidecar(opts: Record<string, unknown>, overrides: Record<string, unknown> = {}): Promise<{ sidecar: Sidecar; stop(): Promise<void> }> {
  // Loaded on use: other verbs do not pay for the proxy's modules, nor the proxy for theirs.
  const { startSidecar } = await import('../proxy/sidecar.js');
  const url = opts['controlPlane'] as string | undefined;
  if (!url) return { sidecar: await startSidecar(configFromOptions(opts, overrides), reloadOptions(opts, overrides)), stop: async () => {} };
  if (!/^https?:\/\/[^/]+\/?$/.test(url)) throw new ConfigError([`--control-plane: expected a base URL such as http://127.0.0.1:15010, got '${url}'`]);
  const base = url.replace(/\/$/, '');
  const tokenFile = opts['meshTokenFile'] as string | undefined;
  let token = opts['meshToken'] as string | undefined;
  if (tokenFile) {
    try { token = readFileSync(tokenFile, 'utf8').trim(); } catch (e) { throw new ConfigError([`--mesh-token-file: cannot read ${tokenFile}: ${(e as Error).message}`]); }
  }
  const { ControlPlaneClient, fetchSnapshot } = await import('../proxy/control-plane-client.js');
  const { default: pino } = await import('pino');
  const logger = pino({ level: 'info', base: { component: 'meshtrace-proxy' } }, pino.destination(2));
  const service = configFromOptions(opts, overrides).service;
  const initial = await fetchSnapshot(base, service, 2_000);
  if (!initial) logger.warn({ controlPlane: base }, 'control plane not reachable at start; starting with the file and flags, will apply its config when it answers');
  let client: ControlPlaneClient | undefined;
  // The control plane's layer of this sidecar's config: the last snapshot it accepted, or while a
  // new one is being tried, that one. A reload for another reason (the --config file changed,
  // SIGHUP) builds on the accepted one, so a snapshot this sidecar rejected is not retried by it.
  let accepted: Record<string, unknown> = initial?.config ?? {};
  let candidate: Record<string, unknown> | undefined;
  const layer = (): Record<string, unknown> => candidate ?? accepted;
  let first: ProxyConfig;
  try { first = configFromOptions(opts, overrides, layer()); } catch (err) {
    // The control plane's config does not fit this sidecar: start without it; the client reports the rejection.
    if (!(err instanceof ConfigError)) throw err;
    accepted = {};
    first = configFromOptions(opts, overrides);
  }
  const sidecar = await startSidecar(first, { ...reloadOptions(opts, overrides), configSource: () => configFromOptions(opts, overrides, layer()), logger });
  const advertise = (opts['advertiseHost'] as string | undefined) ?? (['0.0.0.0', '::'].includes(sidecar.config.bindHost) ? '127.0.0.1' : sidecar.config.bindHost);
  // Readiness: the app accepts TCP connections (probed every 250 ms, as a Kubernetes readiness
  // probe would); until then this instance is registered but not an endpoint.
  let ready = false;
  const probe = setInterval(() => {
    const s = connect({ host: sidecar.config.appHost, port: sidecar.config.appPort });
    const done = (ok: boolean) => {
      s.destroy();
      if (ok !== ready) { ready = ok; client?.refresh(); }
    };
    s.setTimeout(1_000, () => done(false));
    s.once('connect', () => done(true));
    s.once('error', () => done(false));
  }, 250);
  probe.unref();
  client = new ControlPlaneClient({
    url: base,
    token,
    instance: (opts['instanceId'] as string | undefined) ?? `${service}-${hostname()}-${process.pid}-${sidecar.inboundPort}`,
    registration: () => ({
      service: sidecar.config.service, version: sidecar.config.serviceVersion,
      address: `${advertise.includes(':') ? `[${advertise}]` : advertise}:${sidecar.inboundPort}`, mtls: sidecar.config.mtls.mode, ready,
    }),
    apply: (snapshot) => {
      candidate = snapshot.config;
      let o;
      try { o = sidecar.reload(); } finally { candidate = undefined; }
      if (o.result !== 'rejected') accepted = snapshot.config;
      return { rejected: o.result === 'rejected', problems: o.problems };
    },
    logger,
  });
  client.start(initial);
  return { sidecar, stop: () => { clearInterval(probe); return client!.close(); } };
}

/**
 * How a CLI sidecar reloads: re-read `--config` and merge the same flags (and `overrides`) over
 * it exactly as at start-up; watch the file when there is one (unless --no-config-watch).
 */
export function reloadOptions(opts: Record<string, unknown>, overrides: Record<string, unknown> = {}): SidecarOptions {
  const file = opts['config'] as string | undefined;
  return { configSource: () => configFromOptions(opts, overrides), ...(file && opts['configWatch'] !== false ? { watchFile: file } : {}) };
}


// Flags shared with `meshtrace inject`; validation lives in proxy/config.ts, errors name the flag.

/** Config key → the flag that sets it, for error messages. */
export const flagOf: Record<string, string> = {
  service: '--service', serviceVersion: '--service-version', bindHost: '--bind', inboundPort: '--inbound-port',
  outboundPort: '--outbound-port', adminPort: '--admin-port', adminHost: '--admin-host', adminTokenFile: '--admin-token-file',
  appHost: '--app-host', appPort: '--app-port', collector: '--collector', collectorTokenFile: '--collector-token-file', collectorCa: '--collector-ca', upstreams: '--upstream', propagators: '--propagators', sampling: '--sampling-rate',
  timeoutMs: '--timeout', accessLog: '--no-access-log',
};

const collect = (v: string, prev: string[] = []) => [...prev, v];

export function addProxyOptions(cmd: Command, o: { portsOptional: boolean }): Command {
  const portHelp = (what: string, dflt: string) => o.portsOptional ? `${what} (default: a free port)` : `${what} (default ${dflt}; 0 = a free port)`;
  return cmd
    .option('--config <file>', 'JSON config file (keys as shown by the admin /config endpoint, plus per-service `services` sections); flags override it. Reloaded when it changes, on SIGHUP and on POST /config/reload')
    .addOption(new Option('--no-config-watch', 'do not watch the --config file; reload it only on SIGHUP or POST /config/reload'))
    .option('--service <name>', 'service (workload) name: service.name on spans, workload in metrics')
    .option('--service-version <version>', 'version label in Istio metrics')
    .option('--app-port <port>', o.portsOptional ? 'port the app listens on, passed to it as PORT (default: a free port)' : 'port the app listens on; inbound requests go there')
    .option('--app-host <host>', 'host the app listens on (default 127.0.0.1)')
    .option('--inbound-port <port>', portHelp('port callers use to reach the app', '15006'))
    .option('--outbound-port <port>', portHelp('port for the app\'s own calls (HTTP_PROXY)', '15001'))
    .option('--admin-port <port>', portHelp('/ready, /config, /metrics, POST /config/reload', '15000'))
    .option('--admin-host <host>', 'interface the admin port binds to (default 127.0.0.1, whatever --bind says); beyond loopback POST /config/reload needs --admin-token-file')
    .option('--admin-token-file <file>', 'file holding the token the admin\'s mutating endpoints (POST /config/reload) require as Authorization: Bearer <token>; re-read when it changes')
    .option('--bind <host>', 'interface the inbound and outbound listeners bind to (default 127.0.0.1)')
    .option('--collector <url>', 'OTLP/HTTP base URL spans are sent to, e.g. http://127.0.0.1:4318 or https://… (none: no export)')
    .option('--collector-token-file <file>', 'file holding a token sent as Authorization: Bearer <token> with every span export; re-read when it changes')
    .option('--collector-ca <file>', 'PEM CA certificate(s) that sign an https --collector\'s certificate (instead of the system roots)')
    .option('--upstream <name=host:port>', 'send outbound calls for host <name> to host:port; name=h:p,h:p,… balances round-robin (repeatable)', collect)
    .option('--propagators <list>', 'header formats written to forwarded requests besides W3C: tracecontext,baggage,b3,b3multi,jaeger (default tracecontext,b3)')
    .option('--sampling-rate <0..1>', 'probability of recording a trace this proxy starts (default 1)')
    .option('--timeout <duration>', 'longest wait for an upstream\'s response headers, e.g. 15s, 500ms; 0 = none (default 15s)')
    .addOption(new Option('--no-access-log', 'do not write a JSON access-log line per request'))
    .option('--control-plane <url>', 'control plane base URL, e.g. http://127.0.0.1:15010: register this service, learn every service\'s endpoints by name and apply the mesh config it pushes')
    .option('--mesh-token <token>', 'token the control plane requires for registration (prefer --mesh-token-file: a flag is visible in ps)')
    .option('--mesh-token-file <file>', 'file holding the mesh token')
    .option('--instance-id <id>', 'instance id registered with the control plane (default <service>-<host>-<pid>-<inbound port>)')
    .option('--advertise-host <host>', 'host callers use to reach this sidecar\'s inbound port, as registered (default: --bind, or 127.0.0.1 when it is 0.0.0.0)');
}

function num(flag: string, v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (v.trim() === '' || !Number.isFinite(n)) throw new ConfigError([`${flag}: expected a number, got '${v}'`]);
  return n;
}

/**
 * Commander options → a validated ProxyConfig: the control plane's layer (`--control-plane`, rendered
 * for this service), the `--config` file over it (its `services.<service>`
 * section merged over its top level, proxy/mesh-config.ts), then the flags, then `overrides`
 * (inject's chosen ports) win. A problem with a key a flag set names that flag.
 */
export function configFromOptions(opts: Record<string, unknown>, overrides: Record<string, unknown> = {}, controlPlane: Record<string, unknown> = {}): ProxyConfig {
  let flags: Record<string, unknown> | undefined;
  try {
    flags = flagValues(opts, overrides);
    const path = opts['config'] as string | undefined;
    const file = path ? selectServiceConfig(readConfigFile(path), flags['service'] as string | undefined) : {};
    return parseProxyConfig(mergeConfig(deepMerge(localOnly(controlPlane), file), flags));
  } catch (err) {
    if (err instanceof ConfigError) {
      // Name the flag the user typed, next to the config key.
      throw new ConfigError(err.problems.map((p) => {
        const key = p.split(/[.:]/)[0];
        return flagOf[key] && (!flags || flags[key] !== undefined) ? `${flagOf[key]} (${p})` : p;
      }));
    }
    throw err;
  }
}

/**
 * Keys the control plane's layer may not set: who may reach and change the admin port, and which
 * files hold this machine's tokens and trusted CA, are the local operator's (file or flags) —
 * a mesh config pushed to every sidecar cannot open an admin port or swap a trust anchor.
 */
const LOCAL_ONLY_KEYS = ['adminHost', 'adminTokenFile', 'collectorTokenFile', 'collectorCa'];
function localOnly(layer: Record<string, unknown>): Record<string, unknown> {
  if (!LOCAL_ONLY_KEYS.some((k) => k in layer)) return layer;
  return Object.fromEntries(Object.entries(layer).filter(([k]) => !LOCAL_ONLY_KEYS.includes(k)));
}

/** The flags' values by config key (undefined = not given); malformed flags throw ConfigError naming them. */
function flagValues(opts: Record<string, unknown>, overrides: Record<string, unknown>): Record<string, unknown> {
  const s = (k: string) => opts[k] as string | undefined;
  let timeoutMs: number | undefined;
  if (s('timeout') !== undefined) {
    const raw = s('timeout')!;
    const us = /^\d+$/.test(raw) ? Number(raw) * 1000 : parseDurationUs(raw);
    if (us === undefined) throw new ConfigError([`--timeout: expected a duration such as 15s or 500ms, got '${raw}'`]);
    timeoutMs = Math.round(us / 1000);
  }
  const rate = num('--sampling-rate', s('samplingRate'));
  const flags: Record<string, unknown> = {
    service: s('service'),
    serviceVersion: s('serviceVersion'),
    appPort: num('--app-port', s('appPort')),
    appHost: s('appHost'),
    inboundPort: num('--inbound-port', s('inboundPort')),
    outboundPort: num('--outbound-port', s('outboundPort')),
    adminPort: num('--admin-port', s('adminPort')),
    bindHost: s('bind'),
    adminHost: s('adminHost'),
    adminTokenFile: s('adminTokenFile'),
    collector: s('collector'),
    collectorTokenFile: s('collectorTokenFile'),
    collectorCa: s('collectorCa'),
    upstreams: opts['upstream'] ? parseUpstreamFlags(opts['upstream'] as string[]) : undefined,
    propagators: s('propagators')?.split(',').map((p) => p.trim()).filter(Boolean),
    sampling: rate !== undefined ? { rate } : undefined,
    timeoutMs,
    // commander sets accessLog=true by default for --no-access-log; only an explicit "no" overrides the file.
    accessLog: opts['accessLog'] === false ? false : undefined,
    ...overrides,
  };
  return flags;
}
