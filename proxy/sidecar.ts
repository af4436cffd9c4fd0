import { readFileSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import pino, { type DestinationStream, type Logger } from 'pino';
import { createAccessLogger } from './access-log.js';
import { createAdminServer, type AdminGuard } from './admin.js';
import { ConfigError, parseProxyConfig, publicConfig, type ProxyConfig, type ProxyConfigInput } from './config.js';
import { watchConfigFile, type ConfigWatcher, type ConfigWatchOptions } from './config-watch.js';
import { InflightTraces } from './doctor.js';
import { H1Pool } from './http/h1-pool.js';
import type { Exchange } from './filters/types.js';
import { inboundChain } from './listeners/inbound.js';
import { createListener, destroyConnections, downstreamServerOptions, type ListenerOptions } from './listeners/listener.js';
import { outboundChain } from './listeners/outbound.js';
import { ProxyMetrics } from './metrics.js';
import { InboundMtls } from './mtls/inbound.js';
import { loadTlsMaterial } from './mtls/material.js';
import { hasMutualUpstream, loadUndici, UpstreamTlsClients } from './mtls/outbound.js';
import { planReload, type ReloadOutcome, type ReloadStatus } from './reload.js';
import { SecretFile } from './secret-file.js';
import { isLoopbackHost } from './secrets.js';
import { BatchSpanExporter } from './spans/exporter.js';
import { encodeSpan } from './spans/otlp.js';
import { TrafficState } from './traffic/state.js';
import { armYoungGenerationCap } from './young-generation.js';
import { attemptToSpan, exchangeToSpan, PROXY_SCOPE, proxyResource } from './spans/recorder.js';

/**
 * A running sidecar: inbound, outbound and admin listeners sharing one metrics registry, one
 * span exporter and the doctor's view of in-flight inbound traces. Several may run in one
 * process (tests, benchmarks). `close()` stops accepting, lets in-flight requests finish
 * (bounded by `drainMs`), flushes spans and closes pools; safe to call twice.
 *
 * `reload()` validates a new configuration and, when valid, swaps new filter chains (built from
 * it with the same long-lived deps) into both listeners in one synchronous step: requests that
 * start afterwards use them, requests in flight finish on theirs. An invalid configuration is
 * rejected whole and the serving one stays; restart-only keys (proxy/reload.ts) keep their
 * running values and are reported. The pools, exporter, metrics and doctor state are kept.
 *
 * mTLS material (proxy/mtls/) is read at start and re-read on every reload: a reload whose
 * configuration is unchanged but whose certificate files changed (rotation) is applied too. New
 * inbound handshakes use the new certificate (`tls.Server#setSecureContext`), new outbound
 * connections to ISTIO_MUTUAL upstreams go through new clients; established connections keep theirs.
 */
export interface Sidecar {
  /** The configuration serving now (changes on an applied reload). */
  readonly config: ProxyConfig;
  /** The `reload` section of `/config`. */
  readonly reloadStatus: ReloadStatus;
  readonly inboundPort: number;
  readonly outboundPort: number;
  readonly adminPort: number;
  readonly metrics: ProxyMetrics;
  /**
   * Validates and applies a configuration: `input` (as startSidecar takes), or else what
   * `SidecarOptions.configSource` produces (the CLI: the re-read file with its flags over it).
   * Synchronous; logs the outcome and counts it in `meshtrace_proxy_config_reloads_total`.
   */
  reload(input?: unknown): ReloadOutcome;
  /** Sends every queued span now (tests). */
  flushSpans(): Promise<void>;
  close(opts?: { drainMs?: number }): Promise<void>;
}

export interface SidecarOptions {
  /** Access log destination (default: stdout). */
  accessLog?: DestinationStream;
  /** Diagnostics logger (filter errors). */
  logger?: Logger;
  /** service.instance.id (default: host-pid). */
  instanceId?: string;
  /**
   * What `reload()` without an argument applies; throws ConfigError for an invalid one. The CLI
   * re-reads `--config` and merges the flags over it exactly as at start-up. Default: the
   * start-up input again (a reload is then `unchanged`).
   */
  configSource?: () => unknown;
  /** A config file to watch: a change of its content runs `reload()` (see proxy/config-watch.ts). */
  watchFile?: string;
  watchOptions?: ConfigWatchOptions;
}

/** The token files and the collector CA, read at start: a missing or empty file stops the start (ConfigError naming the key and its flag). */
function readSecretFiles(c: ProxyConfig, onError: (problem: string) => void): { adminToken?: SecretFile; collectorToken?: SecretFile; collectorCa?: Buffer } {
  const problems: string[] = [];
  const token = (path: string | undefined, field: string): SecretFile | undefined => {
    if (!path) return undefined;
    try { return new SecretFile(path, field, onError); } catch (e) {
      if (e instanceof ConfigError) { problems.push(...e.problems); return undefined; }
      throw e;
    }
  };
  const adminToken = token(c.adminTokenFile, 'adminTokenFile (--admin-token-file)');
  const collectorToken = token(c.collectorTokenFile, 'collectorTokenFile (--collector-token-file)');
  let collectorCa: Buffer | undefined;
  if (c.collectorCa) {
    try {
      collectorCa = readFileSync(c.collectorCa);
      if (!collectorCa.includes('-----BEGIN CERTIFICATE-----')) problems.push(`collectorCa (--collector-ca): ${c.collectorCa} holds no PEM certificate`);
    } catch (e) {
      problems.push(`collectorCa (--collector-ca): cannot read ${c.collectorCa}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
    }
  }
  if (problems.length) throw new ConfigError(problems);
  return { adminToken, collectorToken, collectorCa };
}

/** Who may call the admin's mutating endpoints (proxy/admin.ts): a token file always guards them; without one, loopback is open and anything else refused. */
function adminGuard(host: string, token: SecretFile | undefined): AdminGuard {
  if (token) return { kind: 'token', token: () => token.get() };
  return isLoopbackHost(host) ? { kind: 'open' } : { kind: 'refuse', host };
}

function listen(server: Server, port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const onError = (err: Error) => reject(Object.assign(err, { message: `cannot listen on ${host}:${port}: ${err.message}` }));
    server.once('error', onError);
    server.listen(port, host, () => {
      server.off('error', onError);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

function closeServer(server: Server, drainMs: number): Promise<void> {
  return new Promise((resolve) => {
    if (!server.listening) { resolve(); return; }
    const t = setTimeout(() => destroyConnections(server), drainMs);
    server.close(() => { clearTimeout(t); resolve(); });
    server.closeIdleConnections();
  });
}

export async function startSidecar(input: ProxyConfigInput | ProxyConfig, opts: SidecarOptions = {}): Promise<Sidecar> {
  let config = parseProxyConfig(input);
  let material = loadTlsMaterial(config);
  // undici serves ISTIO_MUTUAL upstreams only; a sidecar without one never loads it (proxy/README.md "Resources").
  if (material && hasMutualUpstream(config)) await loadUndici();
  const logger = opts.logger ?? pino({ level: 'info', base: { component: 'meshtrace-proxy' } }, pino.destination(2));
  const secrets = readSecretFiles(config, (problem) => logger.warn({ problem }, 'cannot re-read a token file'));
  const metrics = new ProxyMetrics(config.service);
  armYoungGenerationCap();
  const inflight = new InflightTraces();
  const resource = proxyResource(config.service, config.serviceVersion, opts.instanceId);
  const exporter = config.collector
    ? new BatchSpanExporter({
      collector: config.collector,
      resource,
      scope: PROXY_SCOPE,
      ...config.export,
      ...(secrets.collectorToken ? { token: () => secrets.collectorToken!.get() } : {}),
      ...(secrets.collectorCa ? { ca: secrets.collectorCa } : {}),
      onDrop: (n, reason) => metrics.spanDropped(n, reason),
      onExported: (n) => metrics.spanExported(n),
    })
    : undefined;
  const record = (ex: Exchange) => {
    if (!exporter) return;
    const span = exchangeToSpan(ex);
    // Encoded now, a few µs per request, rather than a whole batch at once at export time.
    if (!span) return;
    exporter.add(encodeSpan(span));
    // A retry policy's tries, each its own CLIENT span under the logical call.
    const n = ex.attempts?.length ?? 0;
    for (let i = 0; i < n; i++) exporter.add(encodeSpan(attemptToSpan(ex, i)!));
  };
  const accessLog = config.accessLog ? createAccessLogger(opts.accessLog) : undefined;
  const onFilterError = (filter: string, err: unknown) => logger.error({ err, filter }, 'filter failed');
  // Long-lived: every chain, the first and each reload's, is built from these with its own config;
  // the traffic state (balancer turns, ejections, request slots) carries over reloads.
  const traffic = new TrafficState({ events: metrics });
  const tlsClients = new UpstreamTlsClients(config.maxConnectionsPerUpstream);
  const inboundMtls = new InboundMtls((why, detail) => logger.debug({ why, detail }, 'inbound connection refused by mTLS'));
  inboundMtls.apply(config, material);
  const deps = { config, metrics, inflight, traffic, accessLog, record, onFilterError, upstreamTls: tlsClients.build(config, material), selfPrincipal: material?.spiffeId };
  const pool = () => new H1Pool({ connections: config.maxConnectionsPerUpstream, keepAliveTimeoutMs: 4_000 });
  const appPool = pool();
  const upstreamPool = pool();

  let outboundPort = 0;
  const self = () => ({ host: config.bindHost, port: outboundPort });
  const inboundOpts: ListenerOptions = { name: 'inbound', chain: inboundChain(deps), dispatcher: appPool, timeoutMs: config.timeoutMs, metrics, mtls: inboundMtls, downstream: config.downstream };
  const outboundOpts: ListenerOptions = {
    name: 'outbound',
    chain: outboundChain(deps, self),
    dispatcher: upstreamPool,
    timeoutMs: config.timeoutMs,
    metrics,
    allowConnect: true,
    downstream: config.downstream,
  };
  const inbound = createListener(inboundOpts);
  const outbound = createListener(outboundOpts);

  const status: ReloadStatus = {
    version: 1, appliedAt: new Date().toISOString(), lastAttemptAt: null, lastResult: null, problems: [], restartRequired: [],
    ...(opts.watchFile ? { file: opts.watchFile } : {}),
  };
  const source = opts.configSource ?? (() => input);
  /** Follows the certificate files of the serving configuration (set once the listeners run). */
  let watchCerts = () => {};
  const reload = (next?: unknown): ReloadOutcome => {
    status.lastAttemptAt = new Date().toISOString();
    let outcome: ReloadOutcome;
    try {
      const plan = planReload(config, parseProxyConfig(next === undefined ? source() : next));
      // Re-read even when the paths did not change: rotation rewrites the files in place.
      const nextMaterial = loadTlsMaterial(plan.effective);
      const rotated = nextMaterial?.fingerprint !== material?.fingerprint;
      if (plan.changed || rotated) {
        const c = plan.effective;
        if (c.accessLog && !deps.accessLog) deps.accessLog = createAccessLogger(opts.accessLog);
        // Both chains are built before either is swapped in, so a failure leaves both as they were.
        const d = { ...deps, config: c, upstreamTls: tlsClients.build(c, nextMaterial), selfPrincipal: nextMaterial?.spiffeId };
        const inChain = inboundChain(d);
        const outChain = outboundChain(d, self);
        Object.assign(inboundOpts, { chain: inChain, timeoutMs: c.timeoutMs });
        Object.assign(outboundOpts, { chain: outChain, timeoutMs: c.timeoutMs });
        inboundMtls.apply(c, nextMaterial);
        deps.upstreamTls = d.upstreamTls;
        deps.selfPrincipal = d.selfPrincipal;
        tlsClients.retain(d.upstreamTls);
        material = nextMaterial;
        config = c;
        watchCerts();
        status.version++;
        status.appliedAt = status.lastAttemptAt;
      }
      outcome = { result: plan.changed || rotated ? 'applied' : 'unchanged', version: status.version, problems: [], restartRequired: plan.restartRequired };
    } catch (err) {
      const problems = err instanceof ConfigError ? err.problems : [`(reload): ${(err as Error).message}`];
      outcome = { result: 'rejected', version: status.version, problems, restartRequired: [] };
    }
    Object.assign(status, { lastResult: outcome.result, problems: outcome.problems, restartRequired: outcome.restartRequired });
    metrics.configReloaded(outcome.result, outcome.version);
    const { result, version, problems, restartRequired } = outcome;
    if (result === 'rejected') logger.error({ problems, version }, `config reload rejected, version ${version} keeps serving:\n  ${problems.join('\n  ')}`);
    else logger.info({ result, version }, result === 'applied' ? `config version ${version} applied` : 'config reload: nothing changed');
    if (restartRequired.length) logger.warn({ restartRequired }, `config keys changed that apply only after a restart, not applied: ${restartRequired.join(', ')}`);
    return outcome;
  };

  let draining = false;
  const ports = { inboundPort: 0, outboundPort: 0, adminPort: 0 };
  const admin = createAdminServer({
    metrics,
    config: () => ({ ...publicConfig(config, ports), reload: { ...status } }),
    ready: () => !draining && inbound.listening,
    reload: () => reload(),
    serverOptions: downstreamServerOptions(config.downstream),
    guard: adminGuard(config.adminHost, secrets.adminToken),
    onAuthFailure: (reason) => metrics.adminAuthFailed(reason),
  });
  if (adminGuard(config.adminHost, secrets.adminToken).kind === 'refuse') {
    logger.warn({ adminHost: config.adminHost }, `the admin listens on ${config.adminHost}, beyond loopback, without --admin-token-file: POST /config/reload answers 403 there; set --admin-token-file to allow it with a token, or --admin-host 127.0.0.1`);
  }

  const started: Server[] = [];
  try {
    ports.inboundPort = await listen(inbound, config.inboundPort, config.bindHost); started.push(inbound);
    ports.outboundPort = outboundPort = await listen(outbound, config.outboundPort, config.bindHost); started.push(outbound);
    ports.adminPort = await listen(admin, config.adminPort, config.adminHost); started.push(admin);
  } catch (err) {
    // A failed start undoes what it started.
    await Promise.all(started.map((s) => closeServer(s, 0)));
    await Promise.all([appPool.close(), upstreamPool.close(), tlsClients.destroy(), exporter?.shutdown()]);
    throw err;
  }

  let watcher: ConfigWatcher | undefined;
  // With a watched config file, the certificate files are watched too: a rotated certificate
  // (usually rewritten in place, its path unchanged) reloads like a changed config file.
  let certWatchers: ConfigWatcher[] = [];
  let watchedCerts = '';
  watchCerts = () => {
    if (!opts.watchFile || draining) return;
    const paths = material ? [config.mtls.certFile, config.mtls.keyFile, config.mtls.caFile].filter((p): p is string => !!p) : [];
    if (paths.join('\n') === watchedCerts) return;
    for (const w of certWatchers) w.close();
    watchedCerts = paths.join('\n');
    certWatchers = paths.map((p) => watchConfigFile(p, () => { reload(); }, {
      ...opts.watchOptions,
      onWatchError: (err) => logger.warn({ err, file: p }, 'cannot watch a certificate file\'s directory; polling it instead'),
    }));
  };
  watchCerts();
  if (opts.watchFile) {
    watcher = watchConfigFile(opts.watchFile, () => { reload(); }, {
      ...opts.watchOptions,
      onWatchError: (err) => logger.warn({ err, file: opts.watchFile }, 'cannot watch the config file\'s directory; polling it instead'),
    });
  }

  let closing: Promise<void> | undefined;
  return {
    get config() { return config; },
    get reloadStatus() { return { ...status }; },
    reload,
    ...ports,
    metrics,
    flushSpans: async () => { await exporter?.flush(); },
    close(o = {}) {
      closing ??= (async () => {
        draining = true;
        watcher?.close();
        for (const w of certWatchers) w.close();
        const drainMs = o.drainMs ?? 5_000;
        await Promise.all([closeServer(inbound, drainMs), closeServer(outbound, drainMs)]);
        await closeServer(admin, 0);
        await Promise.all([appPool.destroy(), upstreamPool.destroy(), tlsClients.destroy()]);
        await exporter?.shutdown();
        deps.accessLog?.flush();
      })();
      return closing;
    },
  };
}
