/**
 * The server side of the storage/collector benchmarks, run in a child process (`ServerChild`) so
 * its CPU time (`process.cpuUsage`, all threads) and RSS are measured apart from the load
 * generator's. Driven over IPC: every message `{ id, cmd, … }` gets one reply `{ id, ok, … }`.
 *
 * Commands: `collector` (the all-in-one server's ingest path without the query API: receivers on
 * 127.0.0.1:0 → ingest worker thread → SQLite; `inThread: true` decodes and writes on the main
 * thread instead; `decodeOn` as IngestThreadOptions), `all-in-one`
 * (startAllInOne), `populate` (synthetic spans straight through the storage writer), `raw` (the
 * raw better-sqlite3 baseline insert of the same spans), `write` (the same spans through the
 * storage writer alone, no HTTP or decoding), `stop`, `usage`, `profile-start`,
 * `profile-stop`.
 */
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import pino from 'pino';
import { IngestThread } from '../../../all-in-one/ingest-thread.js';
import { startAllInOne, type AllInOneServer } from '../../../all-in-one/server.js';
import { createCollector, type Collector, type CollectorConfig } from '../../../collector/index.js';
import { openSqliteStorage, type SqliteStorage } from '../../../storage/sqlite/index.js';
import { TraceGenerator, type GeneratorOptions } from '../../data/generator.js';
import { cpuByThread } from './thread-cpu.js';
import { openRawStore, toRawRow, type RawRow } from '../../data/raw-sqlite.js';

export interface DataSpec extends GeneratorOptions {
  totalSpans: number;
  batchSpans: number;
}

type Msg =
  | { cmd: 'collector'; dbPath: string; config?: Partial<CollectorConfig>; inThread?: boolean; decodeOn?: 'main' | 'worker' }
  | { cmd: 'all-in-one'; dataDir: string }
  | { cmd: 'populate'; dbPath: string; data: DataSpec }
  | { cmd: 'raw'; dbPath: string; data: DataSpec }
  | { cmd: 'write'; dbPath: string; data: DataSpec }
  | { cmd: 'stop' }
  | { cmd: 'usage' }
  | { cmd: 'profile-start' }
  | { cmd: 'profile-stop'; path: string };

let storage: SqliteStorage | undefined;
let ingestThread: IngestThread | undefined;
let collector: Collector | undefined;
let allInOne: AllInOneServer | undefined;
let session: Session | undefined;
const logger = pino({ level: 'silent' });

function usage() {
  const cpu = process.cpuUsage();
  const mem = process.memoryUsage();
  return { cpuUs: cpu.user + cpu.system, rss: mem.rss, heapUsed: mem.heapUsed, threads: [...cpuByThread()], pid: process.pid, ingestTid: ingestThread?.threadId() };
}

async function handle(m: Msg): Promise<Record<string, unknown>> {
  switch (m.cmd) {
    case 'collector': {
      storage = openSqliteStorage({ path: m.dbPath });
      const config = { host: '127.0.0.1', otlpHttpPort: 0, ...m.config };
      ingestThread = m.inThread
        ? undefined
        : new IngestThread({
          storage: { path: m.dbPath, synchronous: 'normal' },
          batch: { maxQueueSpans: config.maxQueueSpans ?? 100_000 },
          retention: { maxAgeUs: 0, maxSizeBytes: 0, intervalMs: 60_000 },
          decodeOn: m.decodeOn,
          logger,
        });
      collector = ingestThread
        ? createCollector({ config, ingest: ingestThread, logger })
        : createCollector({ config, writer: storage.writer, logger });
      await collector.start();
      return { port: collector.otlpHttpAddress().port };
    }
    case 'all-in-one': {
      allInOne = await startAllInOne({ dataDir: m.dataDir, host: '127.0.0.1', otlpHttpPort: 0, otlpGrpcPort: 'off', zipkinPort: 'off', queryPort: 0, logLevel: 'silent' });
      return { otlpHttpUrl: allInOne.otlpHttpUrl, queryUrl: allInOne.queryUrl };
    }
    case 'populate': {
      const st = openSqliteStorage({ path: m.dbPath });
      const gen = new TraceGenerator(m.data);
      const t0 = performance.now();
      const it = gen.batches(m.data.totalSpans, m.data.batchSpans);
      let r = it.next();
      while (!r.done) {
        await st.writer.writeSpans(r.value);
        r = it.next();
      }
      await st.close();
      return { ms: performance.now() - t0, ...r.value };
    }
    case 'raw': {
      const gen = new TraceGenerator(m.data);
      const batches: RawRow[][] = [];
      let spans = 0;
      for (const b of gen.batches(m.data.totalSpans, m.data.batchSpans)) {
        batches.push(b.map(toRawRow));
        spans += b.length;
      }
      const raw = openRawStore(m.dbPath);
      const before = usage().cpuUs;
      const t0 = performance.now();
      for (const b of batches) raw.insertBatch(b);
      const ms = performance.now() - t0;
      const cpuUs = usage().cpuUs - before;
      raw.close();
      return { ms, cpuUs, spans };
    }
    case 'write': {
      const batches = [...new TraceGenerator(m.data).batches(m.data.totalSpans, m.data.batchSpans)];
      const st = openSqliteStorage({ path: m.dbPath });
      const before = usage().cpuUs;
      const t0 = performance.now();
      for (const b of batches) await st.writer.writeSpans(b);
      const ms = performance.now() - t0;
      const cpuUs = usage().cpuUs - before;
      await st.close();
      return { ms, cpuUs, spans: batches.reduce((n, b) => n + b.length, 0) };
    }
    case 'stop': {
      const counters = collector?.counters();
      await collector?.shutdown();
      await storage?.close();
      await allInOne?.close();
      collector = undefined;
      ingestThread = undefined;
      storage = undefined;
      allInOne = undefined;
      return { counters };
    }
    case 'usage':
      return usage();
    case 'profile-start': {
      session = new Session();
      session.connect();
      await session.post('Profiler.enable');
      await session.post('Profiler.setSamplingInterval', { interval: 200 });
      await session.post('Profiler.start');
      return {};
    }
    case 'profile-stop': {
      if (!session) throw new Error('profile-stop without profile-start');
      const { profile } = await session.post('Profiler.stop');
      session.disconnect();
      session = undefined;
      writeFileSync(m.path, JSON.stringify(profile));
      return { path: m.path };
    }
  }
}

process.on('message', (raw: { id: number } & Msg) => {
  handle(raw).then(
    (res) => process.send!({ id: raw.id, ok: true, ...res }),
    (err: Error) => process.send!({ id: raw.id, ok: false, error: err.stack ?? String(err) }),
  );
});
// The parent going away (a crashed bench, a killed test) must not leave this process behind.
process.on('disconnect', () => process.exit(0));
