import { Agent as HttpAgent, request as httpRequest, type IncomingMessage, type OutgoingHttpHeaders } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { batchEncoder } from './otlp.js';
import type { Resource, Scope } from './span.js';

/** One span's OTLP `Span` message (proxy/spans/otlp.ts `encodeSpan`). */
type EncodedSpan = Uint8Array;

/**
 * Batches finished spans and sends them as OTLP/HTTP protobuf to `<collector>/v1/traces`.
 *
 * The contract that matters for traffic: `add()` never blocks and never throws. While the
 * collector is slow or down, spans wait in a queue bounded by `maxQueueSpans`; beyond it they are
 * dropped and counted (`onDrop`). One export is in flight at a time. A batch that fails in a way
 * worth retrying (no connection, timeout, 429/502/503/504 — a collector shedding load or
 * restarting) goes back to the front of the queue, still within the bound, and the next attempt
 * waits `Retry-After` or an exponential back-off (200 ms … 5 s), so a collector restart or a burst
 * of backpressure loses nothing. A batch the collector refuses as bad (4xx) is dropped and counted
 * (so is one refused with 401/403: a wrong token is not fixed by retrying the same batch).
 *
 * Transport: node:http / node:https with its own keep-alive Agent (2 connections, idle ones closed
 * after 10 s), not undici: a sidecar without an ISTIO_MUTUAL upstream never loads undici, several
 * MiB of resident memory (proxy/README.md "Resources"). `timeoutMs` bounds each attempt as a whole,
 * connection and TLS handshake included, up to the end of the collector's answer.
 */
export interface SpanExporterOptions {
  /** Base URL, e.g. `http://127.0.0.1:4318`. */
  collector: string;
  /** Resource and scope of every span added (spans arrive encoded, without them). */
  resource: Resource;
  scope: Scope;
  maxQueueSpans: number;
  maxBatchSpans: number;
  /** Longest a span waits before its batch is sent, ms. */
  flushIntervalMs: number;
  /** Per-request timeout, ms. */
  timeoutMs: number;
  /** A token sent as `Authorization: Bearer <token>` with every export, asked for each time (proxy/secret-file.ts re-reads a changed file). */
  token?: () => string;
  /** PEM CA certificate(s) an https collector's certificate must chain to, instead of the system roots. */
  ca?: string | Buffer;
  onDrop?(count: number, reason: 'queue_full' | 'export_failed'): void;
  onExported?(count: number): void;
}

/** The OTLP spec's retryable answers. */
const RETRYABLE_STATUS = new Set([429, 502, 503, 504]);
const MIN_BACKOFF_MS = 200;
const MAX_BACKOFF_MS = 5_000;
const MAX_RETRY_AFTER_MS = 30_000;

export class BatchSpanExporter {
  private queue: EncodedSpan[] = [];
  private timer: NodeJS.Timeout | undefined;
  private inFlight: Promise<void> | undefined;
  private closed = false;
  private readonly url: URL;
  private readonly request: typeof httpRequest;
  private readonly agent: HttpAgent;
  private readonly encode: (spans: readonly EncodedSpan[]) => Uint8Array;
  /** Current back-off after retryable failures, ms; 0 after a success. */
  private backoffMs = 0;

  constructor(private readonly o: SpanExporterOptions) {
    this.url = new URL(`${o.collector.replace(/\/+$/, '')}/v1/traces`);
    this.encode = batchEncoder(o.resource, o.scope);
    // Own small pool: exports never compete with proxied traffic for connections. `timeout` is how
    // long a pooled connection may stay idle (a shorter Keep-Alive hint from the collector wins).
    const pool = { keepAlive: true, maxSockets: 2, maxFreeSockets: 2, timeout: 10_000 };
    if (this.url.protocol === 'https:') {
      this.request = httpsRequest;
      this.agent = new HttpsAgent({ ...pool, ...(o.ca ? { ca: o.ca } : {}) });
    } else {
      this.request = httpRequest;
      this.agent = new HttpAgent(pool);
    }
  }

  /** Queue a finished span; drops (and counts) it when the queue is full. */
  add(span: EncodedSpan): void {
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
    let delayMs = this.o.flushIntervalMs;
    while (this.queue.length > 0) {
      const batch = this.queue.splice(0, this.o.maxBatchSpans);
      const outcome = await this.send(batch);
      if (outcome.retryAfterMs !== undefined && !this.closed) {
        this.requeue(batch);
        delayMs = outcome.retryAfterMs;
        break;
      }
      if (outcome.retryAfterMs !== undefined) this.o.onDrop?.(batch.length, 'export_failed');
      // Below a full batch, wait for the timer again rather than sending small batches back to back.
      if (this.queue.length < this.o.maxBatchSpans && !this.closed) break;
    }
    if (this.queue.length > 0 && !this.timer && !this.closed) {
      this.timer = setTimeout(() => { this.timer = undefined; this.kick(); }, delayMs);
      this.timer.unref();
    }
  }

  /** Puts a batch back at the front, within the queue's bound; what does not fit is dropped and counted. */
  private requeue(batch: EncodedSpan[]): void {
    const room = Math.max(0, this.o.maxQueueSpans - this.queue.length);
    const kept = batch.length <= room ? batch : batch.slice(0, room);
    if (kept.length < batch.length) this.o.onDrop?.(batch.length - kept.length, 'queue_full');
    this.queue.unshift(...kept);
  }

  /** Sends once and drops on any failure: the last attempt (flush, shutdown). */
  private async sendFinal(batch: EncodedSpan[]): Promise<void> {
    const outcome = await this.send(batch);
    if (outcome.retryAfterMs !== undefined) this.o.onDrop?.(batch.length, 'export_failed');
  }

  /**
   * One export attempt. `retryAfterMs` set: a retryable failure, the batch is the caller's to keep
   * or drop. Otherwise the batch was exported, or refused and already counted as dropped.
   */
  private async send(batch: EncodedSpan[]): Promise<{ retryAfterMs?: number }> {
    let retryAfterHeader: string | undefined;
    try {
      const res = await this.post(this.encode(batch));
      if (RETRYABLE_STATUS.has(res.statusCode)) {
        retryAfterHeader = res.retryAfter;
        throw new Error(`collector answered ${res.statusCode}`);
      }
      if (res.statusCode >= 300) {
        this.o.onDrop?.(batch.length, 'export_failed');
        return {};
      }
      this.backoffMs = 0;
      this.o.onExported?.(batch.length);
      return {};
    } catch {
      this.backoffMs = Math.min(MAX_BACKOFF_MS, this.backoffMs ? this.backoffMs * 2 : MIN_BACKOFF_MS);
      const seconds = retryAfterHeader !== undefined ? Number(retryAfterHeader) : NaN;
      return { retryAfterMs: Number.isFinite(seconds) && seconds >= 0 ? Math.min(seconds * 1000, MAX_RETRY_AFTER_MS) : this.backoffMs };
    }
  }

  /** One POST of an encoded batch: its status and Retry-After once the whole answer is read; rejects on a transport failure or after `timeoutMs`. */
  private post(body: Uint8Array): Promise<{ statusCode: number; retryAfter?: string }> {
    return new Promise((resolve, reject) => {
      const headers: OutgoingHttpHeaders = { 'content-type': 'application/x-protobuf', 'content-length': body.byteLength };
      if (this.o.token) headers['authorization'] = `Bearer ${this.o.token()}`;
      let settled = false;
      const done = (err: Error | undefined, res?: IncomingMessage) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        if (err || !res) reject(err ?? new Error('no answer'));
        else resolve({ statusCode: res.statusCode ?? 0, ...(typeof res.headers['retry-after'] === 'string' ? { retryAfter: res.headers['retry-after'] } : {}) });
      };
      const req = this.request(this.url, { method: 'POST', agent: this.agent, headers });
      const timer = setTimeout(() => req.destroy(new Error(`collector did not answer within ${this.o.timeoutMs} ms`)), this.o.timeoutMs);
      timer.unref();
      req.once('error', (err) => done(err));
      req.once('response', (res) => {
        res.once('end', () => done(undefined, res));
        res.once('error', (err) => done(err));
        res.once('close', () => { if (!res.complete) done(new Error('collector closed the connection before the end of its answer')); });
        res.resume();
      });
      req.end(body);
    });
  }

  /** Sends what is queued (bounded by `timeoutMs`) and stops; later `add()` calls are ignored. */
  async shutdown(): Promise<void> {
    if (this.timer) { clearTimeout(this.timer); this.timer = undefined; }
    const deadline = Date.now() + this.o.timeoutMs;
    while ((this.queue.length > 0 || this.inFlight) && Date.now() < deadline) {
      if (this.inFlight) await this.inFlight;
      else if (this.queue.length > 0) await this.sendFinal(this.queue.splice(0, this.o.maxBatchSpans));
    }
    this.closed = true;
    if (this.queue.length) this.o.onDrop?.(this.queue.length, 'export_failed');
    this.queue = [];
    this.agent.destroy();
  }

  /** Sends everything queued now (tests, shutdown). */
  async flush(): Promise<void> {
    if (this.timer) { clearTimeout(this.timer); this.timer = undefined; }
    while (this.queue.length > 0 || this.inFlight) {
      if (this.inFlight) await this.inFlight;
      else await this.sendFinal(this.queue.splice(0, this.o.maxBatchSpans));
    }
  }
}
