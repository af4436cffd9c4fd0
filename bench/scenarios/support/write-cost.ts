/**
 * Storage writer cost alone, for comparing commits of the write path in one run:
 *
 *   node --import tsx bench/scenarios/support/write-cost.ts [spans=200000] [batch=1000] [reps=3]
 *
 * Writes the synthetic spans (bench/data/generator.ts, generated before timing) through
 * `storage.writer.writeSpans` into a fresh database per repetition and prints the writer's CPU
 * per span (process.cpuUsage, median and all reps), the bytes the process wrote per span in the
 * first repetition (/proc/self/io `wchar`: WAL + checkpoints) and the file's bytes per span with
 * the largest tables (dbstat). To compare commits: export each one (`git archive <commit> | tar -x
 * -C /tmp/v-<commit>`, link node_modules) and run this file from each tree in alternation.
 */
import { existsSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import type { Span } from '../../../model/span.js';
import { openSqliteStorage } from '../../../storage/sqlite/sqlite-storage.js';
import { TraceGenerator } from '../../data/generator.js';

const HOUR_US = 3_600_000_000;
const spansWanted = Number(process.argv[2] ?? 200_000);
const batchSpans = Number(process.argv[3] ?? 1000);
const reps = Number(process.argv[4] ?? 3);

const endUs = Date.UTC(2026, 10, 25, 12) * 1000;
// The `query`/`disk` shape: 1 M spans' worth of traffic over 2 hours.
const gen = new TraceGenerator({ seed: 42, startUs: endUs - 2 * HOUR_US, spacingUs: Math.floor((2 * HOUR_US - 60e6) / Math.ceil(1_000_000 / 27.5)) });
const batches = [...gen.batches(spansWanted, batchSpans)] as Span[][];
const total = batches.reduce((n, b) => n + b.length, 0);
const wchar = () => (existsSync('/proc/self/io') ? Number(/wchar: (\d+)/.exec(readFileSync('/proc/self/io', 'utf8'))![1]) : NaN);
const paths: string[] = [];
const cpu: number[] = [];
let written = NaN;
for (let rep = 0; rep < reps; rep++) {
  const path = join(tmpdir(), `meshtrace-write-cost-${process.pid}-${rep}.db`);
  paths.push(path);
  const storage = openSqliteStorage({ path });
  const w0 = wchar();
  const c0 = process.cpuUsage();
  for (const b of batches) await storage.writer.writeSpans(b);
  const c = process.cpuUsage(c0);
  if (rep === 0) written = (wchar() - w0) / total;
  cpu.push((c.user + c.system) / total);
  await storage.close();
}
const sorted = [...cpu].sort((a, b) => a - b);
const out: string[] = [
  `${total} spans in ${batchSpans}-span batches: writer CPU ${sorted[Math.floor(sorted.length / 2)].toFixed(2)} µs/span (${cpu.map((x) => x.toFixed(2)).join(', ')}); written ${written.toFixed(0)} B/span`,
];
const db = new Database(paths[paths.length - 1]);
db.pragma('wal_checkpoint(TRUNCATE)');
out.push(`file ${(statSync(paths[paths.length - 1]).size / total).toFixed(1)} B/span`);
try {
  for (const r of db.prepare('SELECT name, SUM(pgsize) AS bytes, SUM(ncell) AS cells FROM dbstat GROUP BY name ORDER BY bytes DESC LIMIT 6').all() as { name: string; bytes: number; cells: number }[]) {
    out.push(`  ${r.name.padEnd(28)} ${(r.bytes / total).toFixed(1)} B/span, ${(r.cells / total).toFixed(2)} cells/span`);
  }
} catch {
  // dbstat is a compile-time option of SQLite.
}
db.close();
for (const p of paths) for (const suffix of ['', '-wal', '-shm']) rmSync(p + suffix, { force: true });
process.stdout.write(out.join('\n') + '\n');
