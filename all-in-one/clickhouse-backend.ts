/**
 * `--storage clickhouse` for the all-in-one server: the ClickHouse store and its retention.
 *
 * No ingest worker thread here (SQLite needs one because its writes are synchronous): ClickHouse
 * writes are network I/O, so the collector's batch writer calls the store's writer on the main
 * thread without stalling the query API. Retention runs here too: the TTL (from --retention)
 * drops whole expired days in the background, and the periodic purge cuts exactly at the age.
 */
import type { Logger } from 'pino';
import { startRetention } from '../storage/retention.js';
import { openClickHouseStorage, type ClickHouseStorage } from '../storage/clickhouse/index.js';
import type { AllInOneConfig } from './config.js';

const DAY_US = 86_400_000_000;

export async function openClickHouseBackend(config: AllInOneConfig, logger: Logger, retentionIntervalMs: number): Promise<{ storage: ClickHouseStorage; stop(): Promise<void> }> {
  const storage = await openClickHouseStorage({
    url: config.clickhouseUrl,
    database: config.clickhouseDatabase,
    username: config.clickhouseUser,
    password: config.clickhousePassword,
    migrate: !config.clickhouseNoMigrate,
    cluster: config.clickhouseCluster,
    ttlDays: config.retention > 0 ? config.retention / DAY_US : 0,
  });
  const retention = config.retention > 0
    ? startRetention({ storage, maxAgeUs: config.retention, intervalMs: retentionIntervalMs, logger: logger.child({ component: 'retention' }) })
    : undefined;
  return {
    storage,
    async stop() {
      retention?.stop();
      await retention?.runNow(); // waits for a run in progress, starts none
      await storage.close();
    },
  };
}
