/**
 * A real all-in-one server on 127.0.0.1 with ephemeral ports and a fresh SQLite file (or a fresh
 * ClickHouse database, below), for tests.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type AllInOneServer, startAllInOne } from '../../all-in-one/server.js';
import type { RawAllInOneConfig } from '../../all-in-one/config.js';
import type { EmbeddedClickHouse } from '../support/clickhouse-http.js';

export interface TestServer extends AllInOneServer {
  dataDir: string;
  stop(): Promise<void>;
}

/**
 * With `MESHTRACE_TEST_STORAGE=clickhouse` (set by the `*.clickhouse.test.ts` files that re-run a
 * suite), the server uses `--storage clickhouse` on an embedded ClickHouse (chdb behind its HTTP
 * interface), one per test process (chdb allows one), a fresh database per server.
 */
let embeddedClickHouse: Promise<EmbeddedClickHouse> | undefined;
let clickhouseDatabases = 0;

async function storageOverrides(): Promise<RawAllInOneConfig> {
  if (process.env.MESHTRACE_TEST_STORAGE !== 'clickhouse') return {};
  if (!embeddedClickHouse) {
    // Kept for the whole process (servers come and go; one chdb session per process): its data
    // directory is removed when the process exits.
    const dir = mkdtempSync(join(tmpdir(), 'meshtrace-chdb-'));
    process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
    embeddedClickHouse = import('../support/clickhouse-http.js').then((m) => m.startEmbeddedClickHouse({ dataDir: dir }));
  }
  const ch = await embeddedClickHouse;
  return { storage: 'clickhouse', clickhouseUrl: ch.url, clickhouseDatabase: `test_${process.pid}_${++clickhouseDatabases}` };
}

export async function startTestServer(overrides: RawAllInOneConfig = {}): Promise<TestServer> {
  const dataDir = mkdtempSync(join(tmpdir(), 'meshtrace-test-'));
  const server = await startAllInOne({ dataDir, host: '127.0.0.1', otlpHttpPort: 0, otlpGrpcPort: 0, zipkinPort: 0, queryPort: 0, logLevel: 'silent', ...(await storageOverrides()), ...overrides });
  return {
    ...server,
    dataDir,
    async stop() {
      await server.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

export async function getJson<T = any>(url: string): Promise<{ status: number; body: T }> {
  const res = await fetch(url);
  const text = await res.text();
  return { status: res.status, body: text ? (JSON.parse(text) as T) : (undefined as T) };
}

/** Polls `fn` until it returns a truthy value or `timeoutMs` passes (then throws with the last value). */
export async function eventually<T>(fn: () => Promise<T>, timeoutMs = 10_000, intervalMs = 50): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  let last: T;
  for (;;) {
    last = await fn();
    if (last) return last as NonNullable<T>;
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms (last value: ${JSON.stringify(last)})`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}
