/**
 * A real all-in-one server on 127.0.0.1 with ephemeral ports and a fresh SQLite file, for tests.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type AllInOneServer, startAllInOne } from '../../all-in-one/server.js';
import type { RawAllInOneConfig } from '../../all-in-one/config.js';

export interface TestServer extends AllInOneServer {
  dataDir: string;
  stop(): Promise<void>;
}

export async function startTestServer(overrides: RawAllInOneConfig = {}): Promise<TestServer> {
  const dataDir = mkdtempSync(join(tmpdir(), 'meshtrace-test-'));
  const server = await startAllInOne({ dataDir, host: '127.0.0.1', otlpHttpPort: 0, otlpGrpcPort: 0, zipkinPort: 0, queryPort: 0, logLevel: 'silent', ...overrides });
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
