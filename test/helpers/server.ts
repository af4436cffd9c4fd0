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
 * interface): one per test process (chdb allows one session), shared by the servers running at
 * the same time, each with a fresh database, and closed (its temp data removed) with the last.
 */
let embeddedClickHouse: { ch: Promise<EmbeddedClickHouse>; users: number } | undefined;
let clickhouseDatabases = 0;

async function acquireClickHouse(): Promise<{ overrides: RawAllInOneConfig; release(): Promise<void> }> {
  if (process.env.MESHTRACE_TEST_STORAGE !== 'clickhouse') return { overrides: {}, release: async () => {} };
  embeddedClickHouse ??= { ch: import('../support/clickhouse-http.js').then((m) => m.startEmbeddedClickHouse()), users: 0 };
  const shared = embeddedClickHouse;
  shared.users++;
  const ch = await shared.ch;
  return {
    overrides: { storage: 'clickhouse', clickhouseUrl: ch.url, clickhouseDatabase: `test_${++clickhouseDatabases}` },
    async release() {
      if (--shared.users > 0) return;
      if (embeddedClickHouse === shared) embeddedClickHouse = undefined;
      await ch.close();
    },
  };
}

export async function startTestServer(overrides: RawAllInOneConfig = {}): Promise<TestServer> {
  const dataDir = mkdtempSync(join(tmpdir(), 'meshtrace-test-'));
  const clickhouse = await acquireClickHouse();
  let server: AllInOneServer;
  try {
    server = await startAllInOne({ dataDir, host: '127.0.0.1', otlpHttpPort: 0, otlpGrpcPort: 0, zipkinPort: 0, queryPort: 0, logLevel: 'silent', ...clickhouse.overrides, ...overrides });
  } catch (err) {
    await clickhouse.release();
    throw err;
  }
  return {
    ...server,
    dataDir,
    async stop() {
      await server.close();
      await clickhouse.release();
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
