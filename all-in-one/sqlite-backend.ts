/**
 * `--storage sqlite` (the default): one SQLite file under --data-dir with two connections — this
 * thread reads (query API); the ingest worker thread writes (collector, retention). The read side
 * is opened first so the schema exists before the worker starts.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { openSqliteStorage } from '../storage/sqlite/index.js';
import { spanLimitsOf, type AllInOneConfig } from './config.js';
import { IngestThread } from './ingest-thread.js';
import type { StorageBackend } from './storage-backend.js';

const RETENTION_INTERVAL_MS = 60_000;

/**
 * `ingest: false` (a query-only process) opens the read connection only: no worker, no retention —
 * the process that writes the file runs those.
 */
export async function openSqliteBackend(config: AllInOneConfig, logger: Logger, opts: { ingest: boolean } = { ingest: true }): Promise<StorageBackend> {
  mkdirSync(config.dataDir, { recursive: true });
  const dbPath = join(config.dataDir, 'meshtrace.db');
  const storage = await openSqliteStorage({ path: dbPath, synchronous: config.sqliteSync });
  // Spawned by collector.start(); built here so /ready can ask it.
  const ingest = !opts.ingest ? undefined : new IngestThread({
    storage: { path: dbPath, synchronous: config.sqliteSync },
    batch: { maxQueueSpans: config.queueSize },
    spanLimits: spanLimitsOf(config),
    retention: { maxAgeUs: config.retention, maxSizeBytes: config.maxSize, intervalMs: RETENTION_INTERVAL_MS },
    logger: logger.child({ component: 'ingest' }),
  });
  return {
    kind: 'sqlite',
    reader: storage.reader,
    dependencies: storage.dependencies,
    spanMetrics: storage.spanMetrics,
    intake: ingest ? { ingest } : undefined,
    // Not running while the ingest worker is being replaced: the receivers would answer 503.
    isRunning: () => ingest?.isRunning() ?? false,
    // Up, but every write fails (disk full…): load balancers and orchestrators should see it.
    unreadyReason: () => ingest?.storageRefusalReason(),
    describe: { dataDir: config.dataDir },
    close: () => storage.close(),
  };
}
