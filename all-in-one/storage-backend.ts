/**
 * What the all-in-one composition needs from a store, whichever it is: readers for the query API,
 * the stage the receivers hand payloads to (an ingest worker thread, or a writer the collector
 * batches into), readiness, and how to close. `sqlite-backend.ts` and `clickhouse-backend.ts`
 * build one each.
 */
import type { IngestStage } from '../collector/index.js';
import type { DependencyReader, SpanMetricsReader, SpanWriter, TraceReader } from '../storage/api.js';

export interface StorageBackend {
  /** Shown in the start-up log line. */
  readonly kind: 'sqlite' | 'clickhouse';
  readonly reader: TraceReader;
  readonly dependencies: DependencyReader;
  readonly spanMetrics: SpanMetricsReader;
  /**
   * Behind the receivers: an ingest stage of its own, or a writer the collector batches into;
   * undefined when the process runs no collector.
   */
  readonly intake: { ingest: IngestStage } | { writer: SpanWriter } | undefined;
  /** False while the intake cannot take payloads (e.g. the ingest worker is being replaced). */
  isRunning(): boolean;
  /** Why the store refuses writes right now (disk full…), for `/ready`; undefined while it accepts them. */
  unreadyReason?(): string | undefined;
  /** Extra fields of the start-up log line (where the data lives). */
  readonly describe: Record<string, unknown>;
  /** Closes the readers and connections; the intake is stopped by the collector before. */
  close(): Promise<void>;
}
