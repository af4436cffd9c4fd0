/**
 * Messages between the main thread (receivers, query API) and the ingest worker thread (decode,
 * batch writer, SQLite writes, retention). Plain structured-clone data only.
 */
import type { BatchWriterCounters, PayloadFailure, PayloadFormat, PayloadResult } from '../collector/index.js';

export interface IngestWorkerData {
  storage: { path: string; synchronous: 'normal' | 'full' };
  batch: { maxBatchSpans?: number; flushIntervalMs?: number; maxQueueSpans: number };
  retention: { maxAgeUs: number; maxSizeBytes: number; intervalMs: number };
}

export type ToWorker =
  | { type: 'payload'; id: number; format: PayloadFormat; body: Uint8Array }
  | { type: 'shutdown' };

export type FromWorker =
  | { type: 'ready'; /** Linux thread id (for per-thread CPU in the bench); undefined elsewhere. */ tid?: number }
  | { type: 'start-failed'; message: string }
  | { type: 'result'; id: number; result: PayloadResult; counters: BatchWriterCounters }
  | { type: 'failed'; id: number; failure: PayloadFailure; counters: BatchWriterCounters }
  | { type: 'log'; level: 'info' | 'warn' | 'error'; obj: Record<string, unknown>; msg: string }
  | { type: 'closed' };
