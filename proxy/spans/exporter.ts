// The trace serializer alone: the package index also loads the logs and metrics SDKs (~15 MB RSS).
import { serializeTraceExportRequest } from '@opentelemetry/otlp-transformer/build/src/trace/protobuf/trace-serializer.js';
import { request, type Dispatcher, Agent } from 'undici';
import type { ReadableSpan } from './span.js';

/**
 * Batches finished spans and sends them as OTLP/HTTP protobuf to `<collector>/v1/traces`.
 *
 * The contract that matters for traffic: `add()` never blocks and never throws. While the
 * collector is slow or down, spans wait in a queue bounded by `maxQueueSpans`; beyond it they are
 * dropped and counted (`onDrop`). One export is in flight at a time; a failed batch is dropped and
 * counted too (the proxy does not retry: retrying delays newer spans and grows memory, and a
 * collector that is down for long loses the spans either way).
 */
export interface SpanExporterOptions {
  /** Base URL, e.g. `http://127.0.0.1:4318`. */
  collector: string;
  maxQueueSpans: number;
  maxBatchSpans: number;
  /** Longest a span waits before its batch is sent, ms. */
  flushIntervalMs: number;
  /** Per-request timeout, ms. */
  timeoutMs: number;
  onDrop?(count: number, reason: 'queue_full' | 'export_failed'): void;
  onExported?(count: number): void;
}

export class BatchSpanExporter {
  private queue: ReadableSpan[] = [];
  private timer: NodeJS.Timeout | undefined;
  private inFlight: Promise<void> | undefined;
  private closed = false;
  private readonly url: string;
  private readonly agent: Dispatcher;

  constructor(private readonly o: SpanExporterOptions) {
    this.url = `${o.collector.replace(/\/+$/, '')}/v1/traces`;
    // Own small pool: exports never compete with proxied traffic for connections.
    this.agent = new Agent({ connections: 2, keepAliveTimeout: 10_000 });
  }

  /** Queue a finished span; drops (and counts) it when the queue is full. */
  add(span: ReadableSpan): void {
    if (this.closed) return;
    if (this.queue.length >= this.o.maxQueueSpans) {
      this.o.onDrop?.(1, 'queue_full');
      return;
    }
    this.queue.push(span);
    if (this.queue.length >= this.o.maxBatchSpans) this.kick();
    else if (!this.timer) {
      this.timer = setTimeout(() => { this.timer = undefined; this.kick(); }, this.o.flushIntervalMs);
      this.timer.unref();
    }
  }

  get queued(): number { return this.queue.length; }

  private kick(): void {
    if (this.inFlight || this.queue.length === 0) return;
    this.inFlight = this.exportLoop().finally(() => { this.inFlight = undefined; });
  }

  private async exportLoop(): Promise<void> {
    while (this.queue.length > 0) {
      const batch = this.queue.splice(0, this.o.maxBatchSpans);
      await this.send(batch);
      // Below a full batch, wait for the timer again rather than sending small batches back to back.
      if (this.queue.length < this.o.maxBatchSpans && !this.closed) break;
    }
    if (this.queue.length > 0 && !this.timer && !this.closed) {
      this.timer = setTimeout(() => { this.timer = undefined; this.kick(); }, this.o.flushIntervalMs);
      this.timer.unref();
    }
  }

  private async send(batch: ReadableSpan[]): Promise<void> {
    try {
      const body = serializeTraceExportRequest(batch);
      if (!body) throw new Error('serialization failed');
      const res = await request(this.url, {
        method: 'POST',
        dispatcher: this.agent,
        headers: { 'content-type': 'application/x-protobuf' },
        body,
        headersTimeout: this.o.timeoutMs,
        bodyTimeout: this.o.timeoutMs,
      });
      await res.body.dump();
      if (res.statusCode >= 300) throw new Error(`collector answered ${res.statusCode}`);
      this.o.onExported?.(batch.length);
    } catch {
      this.o.onDrop?.(batch.length, 'export_failed');
    }
  }

  /** Sends what is queued (bounded by `timeoutMs`) and stops; later `add()` calls are ignored. */
  async shutdown(): Promise<void> {
    if (this.timer) { clearTimeout(this.timer); this.timer = undefined; }
    const deadline = Date.now() + this.o.timeoutMs;
    while ((this.queue.length > 0 || this.inFlight) && Date.now() < deadline) {
      if (this.inFlight) await this.inFlight;
      else if (this.queue.length > 0) await this.send(this.queue.splice(0, this.o.maxBatchSpans));
    }
    this.closed = true;
    if (this.queue.length) this.o.onDrop?.(this.queue.length, 'export_failed');
    this.queue = [];
    await this.agent.close();
  }

  /** Sends everything queued now (tests, shutdown). */
  async flush(): Promise<void> {
    if (this.timer) { clearTimeout(this.timer); this.timer = undefined; }
    while (this.queue.length > 0 || this.inFlight) {
      if (this.inFlight) await this.inFlight;
      else await this.send(this.queue.splice(0, this.o.maxBatchSpans));
    }
  }
}
