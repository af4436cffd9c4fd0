/**
 * The stores of one process: one (tenancy off, exactly as without tenants), or one per tenant
 * (`--tenants`), each opened by the same backend composition as the single store, with its own
 * place for the data:
 *
 * - SQLite: `<data-dir>/tenants/<tenant>/meshtrace.db`, its own ingest worker thread, queue,
 *   retention and `--max-size` cap;
 * - ClickHouse: the database `<clickhouse-database>_<tenant>`, its own tables, migrations and TTL.
 *
 * Isolation by construction rather than by a tenant column every query must remember to filter
 * on: a reader handed to a tenant's routes has no way to reach another tenant's rows, and a
 * missed `WHERE` cannot leak. The cost: one worker thread (SQLite) or one set of tables
 * (ClickHouse) per tenant — right for the handful of teams `--tenants` lists, not for thousands.
 */
import { join } from 'node:path';
import type { AllInOneConfig } from './config.js';
import type { StorageBackend } from './storage-backend.js';

/** One tenant's settings: the shared ones with its own data directory and ClickHouse database. */
export function tenantStoreConfig(config: AllInOneConfig, tenant: string): AllInOneConfig {
  return {
    ...config,
    dataDir: join(config.dataDir, 'tenants', tenant),
    clickhouseDatabase: `${config.clickhouseDatabase}_${tenant}`,
  };
}

export interface Stores {
  readonly kind: StorageBackend['kind'];
  /** Tenancy off: the one store. */
  readonly single?: StorageBackend;
  /** Tenancy on: each tenant's store. */
  readonly byTenant?: ReadonlyMap<string, StorageBackend>;
  /** Every store's intake is running. */
  isRunning(): boolean;
  /** The first reason a store refuses writes, naming its tenant. */
  unreadyReason(): string | undefined;
  readonly describe: Record<string, unknown>;
  close(): Promise<void>;
}

/**
 * Opens the one store, or each tenant's (`tenants` non-empty) with `open(tenantStoreConfig(…))`;
 * a store that fails to open closes those already open.
 */
export async function openStores(config: AllInOneConfig, open: (config: AllInOneConfig, tenant?: string) => Promise<StorageBackend>): Promise<Stores> {
  if (config.tenants.length === 0) {
    const single = await open(config);
    return {
      kind: single.kind,
      single,
      isRunning: () => single.isRunning(),
      unreadyReason: () => single.unreadyReason?.(),
      describe: single.describe,
      close: () => single.close(),
    };
  }
  const byTenant = new Map<string, StorageBackend>();
  const closeAll = async () => {
    for (const b of [...byTenant.values()].reverse()) await b.close();
  };
  try {
    for (const tenant of config.tenants) byTenant.set(tenant, await open(tenantStoreConfig(config, tenant), tenant));
  } catch (err) {
    await closeAll();
    throw err;
  }
  const first = byTenant.values().next().value as StorageBackend;
  return {
    kind: first.kind,
    byTenant,
    isRunning: () => [...byTenant.values()].every((b) => b.isRunning()),
    unreadyReason() {
      for (const [tenant, b] of byTenant) {
        const reason = b.unreadyReason?.();
        if (reason !== undefined) return `tenant ${tenant}: ${reason}`;
      }
      return undefined;
    },
    describe: { tenants: Object.fromEntries([...byTenant].map(([t, b]) => [t, b.describe])) },
    close: closeAll,
  };
}
