import { z } from 'zod';
import { parseConfig } from '../config-error.js';

export interface BatchWriterConfig {
  /**
   * Most spans handed to one `writeSpans` call (one storage transaction); a full batch is written
   * at once. A single request larger than this is still written whole, in its own call.
   * 0 = no grouping: one call per request.
   */
  maxBatchSpans: number;
  /**
   * Longest a span waits, ms, while an earlier write is still in flight, before a write is started
   * for it anyway. When no write is in flight, spans are written on the next event-loop turn
   * (low latency at light load); while one is, arriving spans gather and are written together when
   * it completes (group commit). 0 = never start a write while another is in flight unless the
   * batch is full.
   */
  flushIntervalMs: number;
  /**
   * Most spans accepted but not yet committed (waiting or being written). Beyond it `consume`
   * rejects at once with `QueueFullError`; an empty queue accepts a request of any size, so no
   * request is refused forever.
   */
  maxQueueSpans: number;
}

export const defaultBatchWriterConfig = (): BatchWriterConfig => ({
  maxBatchSpans: 2000,
  flushIntervalMs: 50,
  maxQueueSpans: 100_000,
});

const count = z.number().int('must be an integer').min(0, 'must not be negative');

export const batchWriterConfigSchema = z
  .object({
    maxBatchSpans: count,
    flushIntervalMs: count,
    maxQueueSpans: z.number().int('must be an integer').min(1, 'must be greater than zero'),
  })
  .superRefine((c, ctx) => {
    if (c.maxBatchSpans > c.maxQueueSpans) {
      ctx.addIssue({
        code: 'custom',
        path: ['maxQueueSpans'],
        message: `must be at least maxBatchSpans (${c.maxBatchSpans})`,
      });
    }
  });

/** Defaults overlaid with `given`, validated; throws `CollectorConfigError` naming every bad field. */
export function parseBatchWriterConfig(given: Partial<BatchWriterConfig> = {}): BatchWriterConfig {
  return parseConfig(batchWriterConfigSchema, defaultBatchWriterConfig(), given);
}
