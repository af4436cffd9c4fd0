/**
 * What the query and search benches share: a generated store, the baseline (the trace's summary
 * row through the trace-id key, the cheapest read of the same trace), the real query app on
 * 127.0.0.1 with one keep-alive connection, and the cleanup of all of it.
 */
import Database from 'better-sqlite3';
import { Pool } from 'undici';
import { standardAdjusters } from '../../../query/adjusters/index.js';
import { buildQueryApp } from '../../../query/app.js';
import { traceIdOf } from '../../data/generator.js';
import { generateStore, type GeneratedStore } from '../query.js';

export interface QueryFixture {
  g: GeneratedStore;
  /** One baseline read: the summary row of trace `index` by its id. */
  lookup(index: number): unknown;
  /** GET `path` on the query app; throws unless 200. */
  httpGet(path: string): Promise<void>;
  close(): Promise<void>;
}

export async function openQueryFixture(dir: string, spans: number): Promise<QueryFixture> {
  const g = await generateStore(dir, spans);
  const pk = new Database(g.path, { readonly: true });
  const app = await buildQueryApp({ reader: g.storage.reader, dependencies: g.storage.dependencies, spanMetrics: g.storage.spanMetrics, adjusters: standardAdjusters({ maxClockSkewAdjustUs: 0 }) });
  const pool = new Pool(await app.listen({ host: '127.0.0.1', port: 0 }), { connections: 1 });
  const byId = pk.prepare('SELECT * FROM traces WHERE trace_id = ?');
  return {
    g,
    lookup: (index) => byId.get(Buffer.from(traceIdOf(g.seed, index), 'hex')),
    async httpGet(path) {
      const res = await pool.request({ method: 'GET', path });
      await res.body.dump();
      if (res.statusCode !== 200) throw new Error(`GET ${path} → ${res.statusCode}`);
    },
    async close() {
      await pool.close();
      await app.close();
      pk.close();
      await g.storage.close();
    },
  };
}
