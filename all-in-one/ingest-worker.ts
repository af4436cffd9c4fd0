/**
 * The ingest worker thread: batch writer (group commit) → SQLite writer connection, plus
 * background retention (also a writer). Spans arrive as batches the main thread decoded and
 * prepared for the SQLite writer (`prepared`: one transferred buffer, storage/sqlite/prepared-batch.ts;
 * no span objects are made here) or as request bodies this thread decodes and prepares itself
 * (`payload`, `decodeOn: 'worker'`). Started by ingest-thread.ts through
 * ingest-worker-entry.mjs. The main thread keeps its own read connection; WAL lets it read while
 * this thread writes, so a 50 ms write transaction no longer stalls the query API.
 */
import { readlinkSync } from 'node:fs';
import { parentPort, workerData } from 'node:worker_threads';
import { BatchWriter, DecodeStage, payloadFailureOf, type PayloadResult } from '../collector/index.js';
import type { Span } from '../model/span.js';
import { startRetention, type RetentionHandle } from '../storage/retention.js';
import { openSqliteStorage, prepareBatch, PrepareCache, type SqliteStorage } from '../storage/sqlite/index.js';
import type { FromWorker, IngestWorkerData, ToWorker } from './ingest-protocol.js';
import { createIdleGc, exposeGc } from './idle-gc.js';
import { StorageWriteWatch } from './storage-write-watch.js';

/** 8 MiB of request bodies ≈ 32k spans of protobuf ≈ 100 MB of decode garbage; below it the heap stays small anyway. */
const IDLE_GC_THRESHOLD_BYTES = 8 * 2 ** 20;
const IDLE_GC_AFTER_MS = 1_000;

const port = parentPort;
if (!port) throw new Error('ingest-worker.ts must run in a worker thread');
const data = workerData as IngestWorkerData;
const post = (m: FromWorker) => port.postMessage(m);

function errorFields(err: unknown): Record<string, unknown> {
  return err instanceof Error ? { err: { message: err.message, stack: err.stack, name: err.name } } : { err: String(err) };
}

const log = {
  info: (obj: object, msg = '') => post({ type: 'log', level: 'info', obj: { ...obj }, msg }),
  warn: (obj: object, msg = '') => post({ type: 'log', level: 'warn', obj: { ...obj }, msg }),
  error: (obj: object, msg = '') => {
    const o = obj as { err?: unknown };
    post({ type: 'log', level: 'error', obj: o.err !== undefined ? { ...obj, ...errorFields(o.err) } : { ...obj }, msg });
  },
};

let storage: SqliteStorage;
let batchWriter: BatchWriter<Uint8Array>;
try {
  storage = openSqliteStorage({ path: data.storage.path, synchronous: data.storage.synchronous, maxPageCount: data.storage.maxPageCount });
  const watch = new StorageWriteWatch<Uint8Array>({
    writer: storage.preparedWriter,
    checkpointWal: () => storage.checkpointWal(),
    onChange: (refusal) => post({ type: 'storage-refusal', refusal }),
    logger: log,
  });
  batchWriter = new BatchWriter(watch, data.batch);
} catch (err) {
  post({ type: 'start-failed', message: err instanceof Error ? err.message : String(err) });
  process.exit(1);
}
/** `decodeOn: 'worker'`: bodies decoded here are prepared here too. */
const tagTerms = new PrepareCache();
const decode = new DecodeStage({
  consume: (spans: Span[]) => {
    let batch: Uint8Array;
    try {
      batch = prepareBatch(spans, tagTerms);
    } catch (err) {
      return Promise.reject(err);
    }
    return batchWriter.consume([batch], spans.length);
  },
}, data.spanLimits);
let retention: RetentionHandle | undefined;
if (data.retention.maxAgeUs > 0 || data.retention.maxSizeBytes > 0) {
  retention = startRetention({ storage, ...data.retention, logger: log });
}
/** Dead decode objects of a burst are freed once the worker goes idle (see idle-gc.ts). */
const idleGc = createIdleGc({ thresholdBytes: IDLE_GC_THRESHOLD_BYTES, idleMs: IDLE_GC_AFTER_MS, gc: exposeGc() });
/** Replies not yet posted: shutdown waits for them, so no acknowledged request goes unanswered. */
const replies = new Set<Promise<void>>();

/** Stores a batch the main thread decoded and prepared (the main thread keeps the answer). */
async function consumePrepared(batch: Uint8Array, spans: number): Promise<PayloadResult> {
  await batchWriter.consume([batch], spans);
  return { acceptedSpans: spans, rejectedSpans: 0, errorMessage: '' };
}

port.on('message', (m: ToWorker) => {
  if (m.type === 'payload' || m.type === 'prepared') {
    let work: Promise<PayloadResult>;
    if (m.type === 'prepared') {
      idleGc.started(m.batch.byteLength);
      work = consumePrepared(m.batch, m.spans);
    } else {
      // The structured clone arrives as a plain Uint8Array; as a Buffer (same memory, no copy)
      // protobufjs reads strings and ids with Node's native UTF-8/hex instead of its JS fallbacks —
      // measured ~10 µs/span of CPU (worker + GC threads) at 1,000-span requests.
      const body = Buffer.from(m.body.buffer, m.body.byteOffset, m.body.byteLength);
      idleGc.started(body.byteLength);
      work = decode.consumePayload(m.format, body);
    }
    const reply = work.then(
      (result) => {
        post({ type: 'result', id: m.id, result, counters: batchWriter.counters() });
        // The size cap is checked on write volume, not only once an interval: between two
        // minute-apart checks a busy collector wrote 17× a small cap.
        retention?.checkSize();
      },
      (err: unknown) => {
        // Logged once: storage refusals by the write watch (per interval, with a count), anything
        // else by the receiver that answers the request (the error keeps the message).
        post({ type: 'failed', id: m.id, failure: payloadFailureOf(err), counters: batchWriter.counters() });
      },
    );
    replies.add(reply);
    void reply.finally(() => {
      replies.delete(reply);
      idleGc.finished();
    });
  } else if (m.type === 'set-max-page-count') {
    storage.setMaxPageCount(m.pages);
  } else if (m.type === 'shutdown') {
    void (async () => {
      retention?.stop();
      idleGc.stop();
      await batchWriter.shutdown();
      await Promise.all(replies);
      await storage.close();
      post({ type: 'closed' });
      port.close();
    })();
  }
});
post({ type: 'ready', tid: linuxThreadId() });

function linuxThreadId(): number | undefined {
  try {
    return Number(readlinkSync('/proc/thread-self').split('/').pop());
  } catch {
    return undefined;
  }
}
