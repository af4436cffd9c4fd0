/**
 * The all-in-one server: the composition root that wires collector → SQLite store ← query API + UI,
 * plus background retention. Start order is storage, collector, query: nothing is accepted before it
 * can be stored, and once the query API answers the receivers already listen (a script that waits for
 * `/api/services` and then sends spans must not be refused). Shutdown is the reverse, and the
 * collector drains its queue into storage before the database closes.
 */
import { mkdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import pino, { type Logger } from 'pino';
import { createCollector, ListenError, listenFailureReason } from '../collector/index.js';
import { standardAdjusters } from '../query/adjusters/index.js';
import { buildQueryApp } from '../query/app.js';
import { openSqliteStorage } from '../storage/sqlite/index.js';
import { allInOneOptions, type AllInOneConfig, ConfigError, parseAllInOneConfig, type RawAllInOneConfig } from './config.js';
import { IngestThread } from './ingest-thread.js';
import { uiPlugins } from './ui.js';

export interface AllInOneServer {
  otlpHttpUrl: string;
  /** `host:port` of the OTLP/gRPC receiver; undefined when disabled. */
  otlpGrpcAddress?: string;
  /** Base URL of the Zipkin receiver (`POST /api/v2/spans`); undefined when disabled. */
  zipkinUrl?: string;
  queryUrl: string;
  config: AllInOneConfig;
  /** Drains the collector, stops listeners and closes the database. Idempotent. */
  close(): Promise<void>;
}

const RETENTION_INTERVAL_MS = 60_000;
const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..');

function urlOf(host: string, port: number): string {
  const h = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host.includes(':') ? `[${host}]` : host;
  return `http://${h}:${port}`;
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

export async function startAllInOne(given: RawAllInOneConfig, opts: { logger?: Logger; env?: NodeJS.ProcessEnv } = {}): Promise<AllInOneServer> {
  const config = parseAllInOneConfig(given, opts.env ?? {});
  const logger = opts.logger ?? pino({ level: config.logLevel });
  mkdirSync(config.dataDir, { recursive: true });
  // Two connections to one file: this thread reads (query API); the ingest worker thread writes
  // (collector, retention). Opened here first so the schema exists before the worker starts.
  const dbPath = join(config.dataDir, 'meshtrace.db');
  const storage = await openSqliteStorage({ path: dbPath, synchronous: config.sqliteSync });
  const cleanups: (() => Promise<void> | void)[] = [() => storage.close()];
  const undo = async () => {
    for (const fn of cleanups.reverse()) await fn();
  };
  try {
    let ready = false;
    // Spawned by collector.start() below; built first so /ready can ask it.
    const ingest = new IngestThread({
      storage: { path: dbPath, synchronous: config.sqliteSync },
      batch: { maxQueueSpans: config.queueSize },
      retention: { maxAgeUs: config.retention, maxSizeBytes: config.maxSize, intervalMs: RETENTION_INTERVAL_MS },
      logger: logger.child({ component: 'ingest' }),
    });
    const query = await buildQueryApp({
      reader: storage.reader,
      dependencies: storage.dependencies,
      spanMetrics: storage.spanMetrics,
      adjusters: standardAdjusters({ maxClockSkewAdjustUs: config.maxClockSkewAdjustment }),
      limits: { maxLimit: config.queryMaxLimit, maxSpans: config.queryMaxSpans },
      logger: logger.child({ component: 'query' }),
      version: (JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as { version: string }).version,
      // Not ready while the ingest worker is being replaced: the receivers would answer 503.
      isReady: () => ready && ingest.isRunning(),
      // Up, but every write fails (disk full…): load balancers and orchestrators should see it.
      unreadyReason: () => ingest.storageRefusalReason(),
      ...uiPlugins({ basePath: config.uiBasePath, distDir: join(repoRoot, 'ui', 'dist') }),
    });
    cleanups.push(async () => {
      // In-flight API calls finish; a connection a browser keeps open (a preconnected socket, a
      // request it never completes) cannot hold shutdown past the grace period.
      const force = setTimeout(() => query.server.closeAllConnections(), QUERY_CLOSE_GRACE_MS);
      try { await query.close(); } finally { clearTimeout(force); }
    });

    const collector = createCollector({
      config: {
        host: config.host,
        otlpHttpPort: config.otlpHttpPort,
        otlpGrpcPort: config.otlpGrpcPort,
        zipkinPort: config.zipkinPort,
        maxRequestBodyBytes: config.maxBodySize,
        maxQueueSpans: config.queueSize,
        corsAllowedOrigins: config.corsOrigins,
      },
      ingest,
      logger: logger.child({ component: 'collector' }),
    });
    // Starts the ingest worker (its storage connection, retention) before the receivers.
    await collector.start().catch((err: unknown) => { throw portProblem(err, config); });
    cleanups.push(() => collector.shutdown());
    await query.listen({ host: config.host, port: config.queryPort }).catch((err: unknown) => {
      throw portProblem(new ListenError('queryPort', config.host, config.queryPort, err), config);
    });
    const queryAddress = query.server.address();
    const queryPort = typeof queryAddress === 'object' && queryAddress ? queryAddress.port : config.queryPort;
    ready = true;

    const otlpHttpUrl = urlOf(config.host, collector.otlpHttpAddress().port);
    const grpc = collector.otlpGrpcAddress();
    const otlpGrpcAddress = grpc ? urlOf(config.host, grpc.port).slice('http://'.length) : undefined;
    const zipkin = collector.zipkinAddress();
    const zipkinUrl = zipkin ? urlOf(config.host, zipkin.port) : undefined;
    const queryUrl = urlOf(config.host, queryPort);
    logger.info({ otlpHttpUrl, otlpGrpcAddress, zipkinUrl, queryUrl, dataDir: config.dataDir }, 'meshtrace all-in-one started');
    let closing: Promise<void> | undefined;
    return {
      otlpHttpUrl,
      otlpGrpcAddress,
      zipkinUrl,
      queryUrl,
      config,
      close: () => (closing ??= undo().then(() => logger.info('meshtrace all-in-one stopped'))),
    };
  } catch (err) {
    await undo();
    throw err;
  }
}
