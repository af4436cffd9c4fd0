/**
 * The all-in-one server: the composition root that wires collector → store ← query API + UI, the
 * store being SQLite (sqlite-backend.ts: an ingest worker thread, retention) or ClickHouse
 * (clickhouse-backend.ts). Start order is storage, collector, query: nothing is accepted before it
 * can be stored, and once the query API answers the receivers already listen (a script that waits for
 * `/api/services` and then sends spans must not be refused). Shutdown is the reverse, and the
 * collector drains its queue into storage before the database closes.
 */
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import pino, { type Logger } from 'pino';
import { Registry } from 'prom-client';
import { type CollectorIntake, createCollector, ListenError, listenFailureReason, type SpanLimitCounts } from '../collector/index.js';
import { standardAdjusters } from '../query/adjusters/index.js';
import { buildQueryApp } from '../query/app.js';
import { openClickHouseBackend } from './clickhouse-backend.js';
import { allInOneOptions, type AllInOneConfig, ConfigError, parseAllInOneConfig, type RawAllInOneConfig, spanLimitsOf } from './config.js';
import { openSqliteBackend } from './sqlite-backend.js';
import type { StorageBackend } from './storage-backend.js';
import { openStores } from './tenant-stores.js';
import { tenantGuardOf } from '../tenancy/tenancy.js';
import { meshApiPlugin, startAllInOneControlPlane } from './control-plane.js';
import { uiPlugins } from './ui.js';
import { AuthFileError } from '../security/auth-file.js';
import { AuthFileSource } from '../security/auth-source.js';
import { TlsFileError, TlsSource } from '../security/tls.js';

export interface AllInOneServer {
  otlpHttpUrl: string;
  /** `host:port` of the OTLP/gRPC receiver; undefined when disabled. */
  otlpGrpcAddress?: string;
  /** Base URL of the Zipkin receiver (`POST /api/v2/spans`); undefined when disabled. */
  zipkinUrl?: string;
  queryUrl: string;
  /** The mesh control plane's base URL; undefined when off (or its default port was taken). */
  controlPlaneUrl?: string;
  /** Whether the listeners serve TLS (`--tls-cert`): the URLs are https and gRPC needs TLS credentials. */
  tls: boolean;
  config: AllInOneConfig;
  /** What the collector's span limits cut since start (`--span-max-*`, `--trace-max-spans`); undefined without a collector. */
  spanLimitCounters(): SpanLimitCounts | undefined;
  /** Drains the collector, stops listeners and closes the database. Idempotent. */
  close(): Promise<void>;
}

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..');

function urlOf(host: string, port: number, scheme: 'http' | 'https' = 'http'): string {
  const h = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host.includes(':') ? `[${host}]` : host;
  return `${scheme}://${h}:${port}`;
}

/**
 * The auth file and the TLS material, loaded before anything listens. A file that cannot be
 * used is a configuration problem named by its flag (exit 2), like a bad port.
 */
function openSecurity(config: AllInOneConfig, logger: Logger, registry: Registry): { auth?: AuthFileSource; tls?: TlsSource } {
  const named = (setting: keyof typeof allInOneOptions, message: string) => {
    const o = allInOneOptions[setting];
    return new ConfigError([`${o.flag} (${o.env}): ${message}`]);
  };
  let auth: AuthFileSource | undefined;
  if (config.authFile) {
    try {
      auth = new AuthFileSource(config.authFile, logger.child({ component: 'auth' }), { registry });
    } catch (err) {
      if (err instanceof AuthFileError) throw named('authFile', `${config.authFile}: ${err.problems.join('; ')}`);
      throw err;
    }
  }
  let tls: TlsSource | undefined;
  if (config.tlsCert) {
    try {
      tls = new TlsSource({ certFile: config.tlsCert, keyFile: config.tlsKey, clientCaFile: config.tlsClientCa || undefined }, logger.child({ component: 'tls' }));
    } catch (err) {
      auth?.close();
      if (err instanceof TlsFileError) throw named(err.setting, err.message);
      throw err;
    }
  }
  return { auth, tls };
}

/**
 * A port that cannot be had is a configuration problem: named by its flag and environment variable
 * (the CLI prints it and exits 2), not a socket stack trace.
 */
function portProblem(err: unknown, config: AllInOneConfig): unknown {
  if (!(err instanceof ListenError)) return err;
  const o = allInOneOptions[err.setting as keyof typeof allInOneOptions];
  if (!o) return err;
  return new ConfigError([`${o.flag} (${o.env}): cannot listen on ${config.host}:${err.port}: ${listenFailureReason(err.cause)}`]);
}

/**
 * Starts everything. `given` takes the same settings as the CLI (strings or numbers), so tests can
 * say `{ dataDir, host: '127.0.0.1', otlpHttpPort: 0, queryPort: 0 }`.
 */
/** Longest wait for in-flight query API requests at shutdown. */
const QUERY_CLOSE_GRACE_MS = 5_000;

/**
 * Which components one process runs: all of them (`meshtrace all-in-one`), or, to scale out on a
 * shared store (ClickHouse), only the receivers and writer (`meshtrace collector`, any number
 * behind a load balancer) or only the query API and UI (`meshtrace query`). Both of the latter are
 * stateless with ClickHouse.
 */
export type ServerRole = 'all-in-one' | 'collector' | 'query';

export interface CollectorServer {
  otlpHttpUrl: string;
  otlpGrpcAddress?: string;
  zipkinUrl?: string;
  tls: boolean;
  config: AllInOneConfig;
  close(): Promise<void>;
}

export interface QueryServer {
  queryUrl: string;
  tls: boolean;
  config: AllInOneConfig;
  close(): Promise<void>;
}

type StartOptions = { logger?: Logger; env?: NodeJS.ProcessEnv };

export async function startAllInOne(given: RawAllInOneConfig, opts: StartOptions = {}): Promise<AllInOneServer> {
  return (await startServer('all-in-one', given, opts)) as AllInOneServer;
}

/** The receivers and the writer only (no query API, no UI). */
export async function startCollectorServer(given: RawAllInOneConfig, opts: StartOptions = {}): Promise<CollectorServer> {
  return (await startServer('collector', given, opts)) as CollectorServer;
}

/** The query API and the UI only (no receivers). */
export async function startQueryServer(given: RawAllInOneConfig, opts: StartOptions = {}): Promise<QueryServer> {
  return (await startServer('query', given, opts)) as QueryServer;
}

async function startServer(role: ServerRole, given: RawAllInOneConfig, opts: StartOptions): Promise<Partial<AllInOneServer> & Pick<AllInOneServer, 'config' | 'close' | 'tls'>> {
  const config = parseAllInOneConfig(given, opts.env ?? {});
  const logger = opts.logger ?? pino({ level: config.logLevel });
  const withCollector = role !== 'query';
  const withQuery = role !== 'collector';
  // The server's own metrics (`GET /metrics` on the query port, and on the OTLP/HTTP port).
  const registry = new Registry();
  const security = openSecurity(config, logger, registry);
  const scheme = security.tls ? 'https' : 'http';
  const closeSecurity = () => {
    security.auth?.close();
    security.tls?.close();
  };
  const tenancy = tenantGuardOf({ header: config.tenancyHeader, tenants: config.tenants });
  // One store, or one per tenant (--tenants), each opened the same way (tenant-stores.ts).
  let stores: Awaited<ReturnType<typeof openStores>>;
  try {
    stores = await openStores(config, (c, tenant) => c.storage === 'clickhouse'
      ? openClickHouseBackend(c, { manageTtl: withCollector })
      : openSqliteBackend(c, tenant === undefined ? logger : logger.child({ tenant }), { ingest: withCollector }));
  } catch (err) {
    closeSecurity();
    throw err;
  }
  const cleanups: (() => Promise<void> | void)[] = [closeSecurity, () => stores.close()];
  const undo = async () => {
    for (const fn of cleanups.reverse()) await fn();
  };
  try {
    let ready = false;
    // The mesh control plane runs in the all-in-one process only (`meshtrace control-plane` alone otherwise).
    let controlPlane: Awaited<ReturnType<typeof startAllInOneControlPlane>>;
    const ui = uiPlugins({ basePath: config.uiBasePath, distDir: join(repoRoot, 'ui', 'dist'), tenancyHeader: tenancy?.header });
    const readers = (b: StorageBackend) => ({ reader: b.reader, dependencies: b.dependencies, spanMetrics: b.spanMetrics });
    const query = !withQuery ? undefined : await buildQueryApp({
      ...(tenancy && stores.byTenant
        ? { tenancy: { guard: tenancy, stores: new Map([...stores.byTenant].map(([t, b]) => [t, readers(b)])) } }
        : readers(stores.single!)),
      adjusters: standardAdjusters({ maxClockSkewAdjustUs: config.maxClockSkewAdjustment }),
      limits: { maxLimit: config.queryMaxLimit, maxSpans: config.queryMaxSpans },
      logger: logger.child({ component: 'query' }),
      version: (JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as { version: string }).version,
      isReady: () => ready && (!withCollector || stores.isRunning()),
      unreadyReason: () => stores.unreadyReason(),
      ...ui,
      extraApiPlugins: [...ui.extraApiPlugins, meshApiPlugin(() => controlPlane)],
      auth: security.auth?.authenticator,
      tls: security.tls,
      metrics: registry,
    });
    if (query) {
      cleanups.push(async () => {
        // In-flight API calls finish; a connection a browser keeps open (a preconnected socket, a
        // request it never completes) cannot hold shutdown past the grace period.
        const force = setTimeout(() => query.server.closeAllConnections(), QUERY_CLOSE_GRACE_MS);
        try { await query.close(); } finally { clearTimeout(force); }
      });
    }

    const intakeOf = (b: StorageBackend): CollectorIntake => {
      if (!b.intake) throw new Error(`the ${b.kind} store has no intake`);
      return b.intake;
    };
    const collector = !withCollector ? undefined : createCollector({
      config: {
        host: config.host,
        otlpHttpPort: config.otlpHttpPort,
        otlpGrpcPort: config.otlpGrpcPort,
        zipkinPort: config.zipkinPort,
        maxRequestBodyBytes: config.maxBodySize,
        maxQueueSpans: config.queueSize,
        corsAllowedOrigins: config.corsOrigins,
        spanLimits: spanLimitsOf(config),
      },
      ...(tenancy && stores.byTenant
        ? { tenancy: { guard: tenancy, intakes: new Map([...stores.byTenant].map(([t, b]) => [t, intakeOf(b)])) } }
        : intakeOf(stores.single!)),
      logger: logger.child({ component: 'collector' }),
      auth: security.auth?.authenticator,
      tls: security.tls,
      metrics: registry,
    });
    if (collector) {
      // Starts the intake (with SQLite: the ingest worker, its connection, retention) before the receivers.
      await collector.start().catch((err: unknown) => { throw portProblem(err, config); });
      cleanups.push(() => collector.shutdown());
    }
    let queryUrl: string | undefined;
    if (query) {
      await query.listen({ host: config.host, port: config.queryPort }).catch((err: unknown) => {
        throw portProblem(new ListenError('queryPort', config.host, config.queryPort, err), config);
      });
      const queryAddress = query.server.address();
      queryUrl = urlOf(config.host, typeof queryAddress === 'object' && queryAddress ? queryAddress.port : config.queryPort, scheme);
    }
    if (role === 'all-in-one') {
      controlPlane = await startAllInOneControlPlane(config, given, opts.env ?? {}, logger);
      if (controlPlane) cleanups.push(() => controlPlane?.close());
    }
    ready = true;

    const otlpHttpUrl = collector && urlOf(config.host, collector.otlpHttpAddress().port, scheme);
    const grpc = collector?.otlpGrpcAddress();
    const otlpGrpcAddress = grpc ? urlOf(config.host, grpc.port).slice('http://'.length) : undefined;
    const zipkin = collector?.zipkinAddress();
    const zipkinUrl = zipkin ? urlOf(config.host, zipkin.port, scheme) : undefined;
    logger.info({ otlpHttpUrl, otlpGrpcAddress, zipkinUrl, queryUrl, controlPlaneUrl: controlPlane?.url, storage: stores.kind, ...stores.describe, tls: !!security.tls, auth: !!security.auth }, `meshtrace ${role} started`);
    let closing: Promise<void> | undefined;
    return {
      otlpHttpUrl,
      otlpGrpcAddress,
      zipkinUrl,
      queryUrl,
      controlPlaneUrl: controlPlane?.url,
      tls: !!security.tls,
      config,
      spanLimitCounters: () => collector?.limitCounters(),
      close: () => (closing ??= undo().then(() => logger.info(`meshtrace ${role} stopped`))),
    };
  } catch (err) {
    await undo();
    throw err;
  }
}
