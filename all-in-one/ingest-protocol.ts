/**
 * Messages between the main thread (receivers, query API) and the ingest worker thread (decode,
 * batch writer, SQLite writes, retention). Plain structured-clone data only; decoded spans cross
 * as one transferred buffer prepared for the SQLite writer (storage/sqlite/prepared-batch.ts).
 */
import type { BatchWriterCounters, PayloadFailure, PayloadFormat, PayloadResult } from '../collector/index.js';
import type { SpanLimits } from '../collector/span-limits.js';
import type { StorageRefusal } from './storage-write-watch.js';

export interface IngestWorkerData {
  /** `maxPageCount`: a file size limit in pages, to test a full disk (see SqliteStorageOptions). */
  storage: { path: string; synchronous: 'normal' | 'full'; maxPageCount?: number };
  batch: { maxBatchSpans?: number; flushIntervalMs?: number; maxQueueSpans: number };
  /** The decode stage's span limits; absent = the defaults (collector/span-limits.ts). */
  spanLimits?: SpanLimits;
  retention: { maxAgeUs: number; maxSizeBytes: number; intervalMs: number };
}

export type ToWorker =
  /** A request body for the worker to decode and store (`decodeOn: 'worker'`). */
  | { type: 'payload'; id: number; format: PayloadFormat; body: Uint8Array }
  /**
   * Spans decoded on the main thread (`decodeOn: 'main'`) as `prepareBatch` wrote them (transferred);
   * `spans`: how many it was given (the batch writer's counts and queue bound).
   */
  | { type: 'prepared'; id: number; batch: Uint8Array; spans: number }
  | { type: 'shutdown' }
  /** Test hook: moves the `maxPageCount` limit (a full disk, then space coming back). */
  | { type: 'set-max-page-count'; pages: number };

export type FromWorker =
  | { type: 'ready'; /** Linux thread id (for per-thread CPU in the bench); undefined elsewhere. */ tid?: number }
  | { type: 'start-failed'; message: string }
  | { type: 'result'; id: number; result: PayloadResult; counters: BatchWriterCounters }
  | { type: 'failed'; id: number; failure: PayloadFailure; counters: BatchWriterCounters }
  /** Sent when storage starts or stops refusing writes, and with each of its log lines meanwhile. */
  | { type: 'storage-refusal'; refusal: StorageRefusal | undefined }
  | { type: 'log'; level: 'info' | 'warn' | 'error'; obj: Record<string, unknown>; msg: string }
  | { type: 'closed' };
