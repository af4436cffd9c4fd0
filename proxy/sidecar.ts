import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import pino, { type DestinationStream, type Logger } from 'pino';
import { Agent } from 'undici';
import { createAccessLogger } from './access-log.js';
import { createAdminServer } from './admin.js';
import { parseProxyConfig, publicConfig, type ProxyConfig, type ProxyConfigInput } from './config.js';
import { InflightTraces } from './doctor.js';
import type { Exchange } from './filters/types.js';
import { inboundChain } from './listeners/inbound.js';
import { createListener, destroyConnections } from './listeners/listener.js';
import { outboundChain } from './listeners/outbound.js';
import { ProxyMetrics } from './metrics.js';
import { BatchSpanExporter } from './spans/exporter.js';
import { encodeSpan } from './spans/otlp.js';
import { TrafficState } from './traffic/state.js';
import { exchangeToSpan, PROXY_SCOPE, proxyResource } from './spans/recorder.js';

/**
 * A running sidecar: inbound, outbound and admin listeners sharing one metrics registry, one
 * span exporter and the doctor's view of in-flight inbound traces. Several may run in one
 * process (tests, benchmarks). `close()` stops accepting, lets in-flight requests finish
 * (bounded by `drainMs`), flushes spans and closes pools; safe to call twice.
 */
export interface Sidecar {
  readonly config: ProxyConfig;
  readonly inboundPort: number;
  readonly outboundPort: number;
  readonly adminPort: number;
  readonly metrics: ProxyMetrics;
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
  const config = parseProxyConfig(input);
  const metrics = new ProxyMetrics(config.service);
  const inflight = new InflightTraces();
  const resource = proxyResource(config.service, config.serviceVersion, opts.instanceId);
  const exporter = config.collector
    ? new BatchSpanExporter({
      collector: config.collector,
      resource,
      scope: PROXY_SCOPE,
      ...config.export,
      onDrop: (n, reason) => metrics.spanDropped(n, reason),
      onExported: (n) => metrics.spanExported(n),
    })
    : undefined;
  const record = (ex: Exchange) => {
    if (!exporter) return;
    const span = exchangeToSpan(ex);
    // Encoded now, a few µs per request, rather than a whole batch at once at export time.
    if (span) exporter.add(encodeSpan(span));
  };
  const accessLog = config.accessLog ? createAccessLogger(opts.accessLog) : undefined;
  const logger = opts.logger ?? pino({ level: 'warn', base: { component: 'meshtrace-proxy' } }, pino.destination(2));
  const onFilterError = (filter: string, err: unknown) => logger.error({ err, filter }, 'filter failed');
  const traffic = new TrafficState({ events: metrics });
  const deps = { config, metrics, inflight, traffic, accessLog, record, onFilterError };
  const pool = () => new Agent({ connections: config.maxConnectionsPerUpstream, keepAliveTimeout: 4_000, pipelining: 1 });
  const appPool = pool();
  const upstreamPool = pool();

  let outboundPort = 0;
  const inbound = createListener({ name: 'inbound', chain: inboundChain(deps), dispatcher: appPool, timeoutMs: config.timeoutMs, metrics });
  const outbound = createListener({
    name: 'outbound',
    chain: outboundChain(deps, () => ({ host: config.bindHost, port: outboundPort })),
    dispatcher: upstreamPool,
    timeoutMs: config.timeoutMs,
    metrics,
    allowConnect: true,
  });
  let draining = false;
  const ports = { inboundPort: 0, outboundPort: 0, adminPort: 0 };
  const admin = createAdminServer({ metrics, config: () => publicConfig(config, ports), ready: () => !draining && inbound.listening });

  const started: Server[] = [];
  try {
    ports.inboundPort = await listen(inbound, config.inboundPort, config.bindHost); started.push(inbound);
    ports.outboundPort = outboundPort = await listen(outbound, config.outboundPort, config.bindHost); started.push(outbound);
    ports.adminPort = await listen(admin, config.adminPort, config.bindHost); started.push(admin);
  } catch (err) {
    // A failed start undoes what it started.
    await Promise.all(started.map((s) => closeServer(s, 0)));
    await Promise.all([appPool.close(), upstreamPool.close(), exporter?.shutdown()]);
    throw err;
  }

  let closing: Promise<void> | undefined;
  return {
    config,
    ...ports,
    metrics,
    flushSpans: async () => { await exporter?.flush(); },
    close(o = {}) {
      closing ??= (async () => {
        draining = true;
        const drainMs = o.drainMs ?? 5_000;
        await Promise.all([closeServer(inbound, drainMs), closeServer(outbound, drainMs)]);
        await closeServer(admin, 0);
        await Promise.all([appPool.destroy(), upstreamPool.destroy()]);
        await exporter?.shutdown();
        accessLog?.flush();
      })();
      return closing;
    },
  };
}
