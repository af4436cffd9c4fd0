/**
 * Disk benchmark (issue 6, scenario h): bytes per stored span — the whole database file
 * (tables and indexes) after a WAL checkpoint, divided by the spans — at 1 M spans
 * (`MESHTRACE_BENCH_SPANS` to change), with a per-table breakdown (SQLite's dbstat). Baseline in the
 * same run: the raw minimal table of the same spans (bench/data/raw-sqlite.ts, no indexes).
 */
import { statSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { openRawStore, toRawRow } from '../data/raw-sqlite.js';
import type { BenchTable, Scenario } from '../scenario.js';
import { benchSpanCount, generateStore } from './query.js';
import { num } from './support/stats.js';

/** Size of the checkpointed database file and its per-table/index share, bytes. */
function measure(path: string): { file: number; objects: { name: string; bytes: number }[] } {
  const db = new Database(path);
  try {
    db.pragma('wal_checkpoint(TRUNCATE)');
    let objects: { name: string; bytes: number }[] = [];
    try {
      objects = db.prepare('SELECT name, SUM(pgsize) AS bytes FROM dbstat GROUP BY name ORDER BY bytes DESC').all() as typeof objects;
    } catch {
      // dbstat is a compile-time option of SQLite; without it only the total is reported.
    }
    return { file: statSync(path).size, objects };
  } finally {
    db.close();
  }
}

export const diskScenario: Scenario = {
  name: 'disk',
  description:
    'Bytes per stored span at 1 M spans (MESHTRACE_BENCH_SPANS to change): database file after a WAL checkpoint, indexes included, ' +
    'vs the raw minimal table of the same spans.',
  async run(opts) {
    const spans = benchSpanCount(opts.quick);
    const rawPath = join(opts.tmpDir, 'raw.db');
    const raw = openRawStore(rawPath);
    const g = await generateStore(opts.tmpDir, spans, (batch) => raw.insertBatch(batch.map(toRawRow)));
    await g.storage.close();
    raw.close();
    const ours = measure(g.path);
    const base = measure(rawPath);
    const perSpan = ours.file / g.spans;
    const basePerSpan = base.file / g.spans;
    const rows: (string | number)[][] = [
      ['meshtrace SQLite store (whole file)', num(ours.file / 2 ** 20), num(perSpan), `${(perSpan / basePerSpan).toFixed(2)}×`],
      ['baseline: raw minimal table, no index (whole file)', num(base.file / 2 ** 20), num(basePerSpan), '1×'],
      ...ours.objects.map((o) => [`  ${o.name}`, num(o.bytes / 2 ** 20), num(o.bytes / g.spans), '']),
    ];
    const table: BenchTable = {
      title: `Disk: bytes per stored span at ${g.spans.toLocaleString('en-US')} spans`,
      columns: ['store / table or index', 'MiB', 'bytes/span', 'vs raw'],
      rows,
      notes: [
        `${g.spans.toLocaleString('en-US')} spans in ${g.traces.toLocaleString('en-US')} traces (synthetic shape, see "Synthetic data"), written in 2,000-span batches; one measurement (sizes are deterministic).`,
        'Raw baseline rows keep attributes, events and resource attributes as one JSON text per span, without any index.',
        'Target (issue 6): ≤ 150 bytes per span, indexes included (anchors: Jaeger ClickHouse ~76 B/span, Elasticsearch at Cloudflare 312 B/span).',
      ],
    };
    return [table];
  },
};

export default diskScenario;
