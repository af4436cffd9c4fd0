/**
 * A small time- and size-bounded cache of adjusted traces, so that the UI's follow-up requests
 * on one big trace (one span's details, find-in-trace) do not re-read and re-adjust 100k spans
 * each time. Bounded by the total number of cached spans; least recently used goes first.
 */
import type { Span, Trace } from '../model/span.js';

export interface TraceCacheOptions {
  /** Most spans held over all cached traces; a single larger trace is not cached. 0 = cache nothing. */
  maxSpans: number;
  /** How long an entry lives after it was stored, ms. */
  ttlMs: number;
  /** Clock, ms; injectable for tests. */
  now?: () => number;
}

interface Entry {
  trace: Trace;
  byId: Map<string, Span> | undefined;
  expires: number;
}

export class TraceCache {
  private readonly entries = new Map<string, Entry>();
  private spans = 0;
  private readonly now: () => number;

  constructor(private readonly opts: TraceCacheOptions) {
    this.now = opts.now ?? Date.now;
  }

  /** The cached trace, refreshed as most recently used; undefined when absent or expired. */
  get(traceId: string): Trace | undefined {
    return this.entry(traceId)?.trace;
  }

  /** One span of a cached trace (the id index is built on first use). */
  getSpan(traceId: string, spanId: string): Span | undefined {
    const e = this.entry(traceId);
    if (!e) return undefined;
    e.byId ??= new Map(e.trace.spans.map((s) => [s.spanId, s]));
    return e.byId.get(spanId);
  }

  set(traceId: string, trace: Trace): void {
    this.delete(traceId);
    const size = trace.spans.length;
    if (size > this.opts.maxSpans) return;
    while (this.spans + size > this.opts.maxSpans) {
      const oldest = this.entries.keys().next().value as string;
      this.delete(oldest);
    }
    this.entries.set(traceId, { trace, byId: undefined, expires: this.now() + this.opts.ttlMs });
    this.spans += size;
  }

  get size(): { traces: number; spans: number } {
    return { traces: this.entries.size, spans: this.spans };
  }

  private entry(traceId: string): Entry | undefined {
    const e = this.entries.get(traceId);
    if (!e) return undefined;
    if (e.expires <= this.now()) {
      this.delete(traceId);
      return undefined;
    }
    // Re-insert: Map order is the LRU order.
    this.entries.delete(traceId);
    this.entries.set(traceId, e);
    return e;
  }

  private delete(traceId: string): void {
    const e = this.entries.get(traceId);
    if (!e) return;
    this.entries.delete(traceId);
    this.spans -= e.trace.spans.length;
  }
}
