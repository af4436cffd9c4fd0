/**
 * `--storage clickhouse` for the all-in-one server: opens the ClickHouse store.
 *
 * No ingest worker thread here (SQLite needs one because its writes are synchronous): ClickHouse
 * writes are network I/O, so the collector's batch writer calls the store's writer on the main
 * thread without stalling the query API.
 *
 * Retention is the table TTL set from --retention (whole days, parts dropped once all their rows
 * expired: spans are kept between the retention and one day more), not the periodic
 * `purgeOlderThan` the SQLite store runs: an exact cut every minute would be a mutation
 * rewriting the oldest day's parts every minute.
 */
import { openClickHouseStorage } from '../storage/clickhouse/index.js';
import type { AllInOneConfig } from './config.js';
import type { StorageBackend } from './storage-backend.js';

const DAY_US = 86_400_000_000;

/**
 * `manageTtl: false` (a query-only process) leaves the tables' TTL as the collectors set it: a
 * query process started with the default --retention must not shorten it.
 */
export async function openClickHouseBackend(config: AllInOneConfig, opts: { manageTtl: boolean } = { manageTtl: true }): Promise<StorageBackend> {
  const storage = await openClickHouseStorage({
    url: config.clickhouseUrl,
    database: config.clickhouseDatabase,
    username: config.clickhouseUser,
    password: config.clickhousePassword,
    migrate: !config.clickhouseNoMigrate,
    cluster: config.clickhouseCluster,
    asyncInsert: config.clickhouseAsyncInsert,
    // 0 (keep forever) removes the TTL.
    ttlDays: opts.manageTtl ? config.retention / DAY_US : undefined,
  });
  return {
    kind: 'clickhouse',
    reader: storage.reader,
    dependencies: storage.dependencies,
    spanMetrics: storage.spanMetrics,
    intake: { writer: storage.writer },
    isRunning: () => true,
    describe: { clickhouseUrl: config.clickhouseUrl, database: config.clickhouseDatabase },
    close: () => storage.close(),
  };
}
