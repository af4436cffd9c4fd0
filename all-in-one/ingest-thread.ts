/**
 * The collector's ingest stage on its own thread, pipelined with decoding: the main thread decodes
 * a request body (and cleans names, applies the span limits) and prepares the spans for the SQLite
 * writer while the worker (ingest-worker.ts) writes earlier batches, then hands them over as one
 * transferred buffer (storage/sqlite/prepared-batch.ts); the worker group-commits them into SQLite
 * and answers once they are durable. Why a thread: SQLite writes
 * are synchronous CPU work — on the main thread every 2,000-span write transaction (tens of ms)
 * stalled the query API and the UI behind it (search p99 5–32× idle under 20k spans/s,
 * BENCHMARKS.md scenario d). Why decode here: decode and writes then overlap on two cores instead
 * of running one after the other on the worker; a 1,000-span body is a few ms of this thread.
 * Why prepared batches: a structured clone of the decoded span objects measured ~7 µs/span; an
 * earlier hand-over (span objects rebuilt on the worker from one buffer) left the worker deriving
 * everything again from them. The prepared batch carries what does not depend on the store
 * (validated ids as bytes, trace grouping, parents within the batch, hashed tag terms, canonical
 * resources, payloads with keys still as strings), so the worker only resolves catalog numbers,
 * binds and inserts. Measured (ingest bench, protobuf 1,000 × 8, per-thread CPU µs/span, medians of
 * interleaved runs on a loaded 2-core machine): main 7.0 → 8.6–9.2, worker 16.2–17.5 → 11.0–11.6,
 * other threads (GC) 11.2–11.8 → 4.0–4.2 — the last mostly because the decoded spans are no longer
 * kept alive until the worker answers (see `sendPrepared`).
 * `decodeOn: 'worker'` keeps the older arrangement (body bytes handed over, decoded by the worker).
 *
 * Back-pressure, bounded on both sides of the thread: request bytes handed over and not yet
 * answered are capped here (`maxInFlightBytes`), so a stalled worker cannot make the main thread
 * buffer without limit; spans are capped by the worker's batch writer (`maxQueueSpans`). Either
 * refuses with `QueueFullError` (→ 503 + Retry-After). An empty pipeline accepts any one request.
 *
 * If the worker dies (it should not: storage errors are answered per request), the requests in
 * flight fail with a storage error (→ 503, clients retry) and a new worker is started.
 */
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { Logger } from 'pino';
import { QueueFullError, StorageRefusedError, type BatchWriterCounters, type IngestStage, type PayloadFailure, type PayloadFormat, type PayloadResult } from '../collector/index.js';
import { decodeRequest } from '../collector/decode-stage.js';
import { defaultSpanLimits, SpanLimiter } from '../collector/span-limits.js';
import { InvalidRequestError } from '../collector/otlp/errors.js';
import type { FromWorker, IngestWorkerData, ToWorker } from './ingest-protocol.js';
import { prepareBatch, PrepareCache } from '../storage/sqlite/index.js';
import type { StorageRefusal } from './storage-write-watch.js';

const ENTRY = fileURLToPath(new URL('./ingest-worker-entry.mjs', import.meta.url));
const RESTART_DELAY_MS = 1000;

export interface IngestThreadOptions extends IngestWorkerData {
  /**
   * Request bytes handed to the worker and not yet answered, beyond which requests are refused;
   * default `batch.maxQueueSpans × WIRE_BYTES_PER_SPAN`.
   */
  maxInFlightBytes?: number;
  /**
   * Where request bodies are decoded. 'main' (default): on the calling thread, while the worker
   * writes earlier batches (decode and writes overlap on two cores); the spans cross as one
   * transferred prepared batch (storage/sqlite/prepared-batch.ts). 'worker': the body is handed
   * over undecoded and the worker decodes and prepares it before writing (one thread does all of
   * it, one step after the other; kept for comparison and as a fallback).
   */
  decodeOn?: 'main' | 'worker';
  logger: Logger;
}

/**
 * Wire bytes per span assumed when the span queue bound is turned into a byte bound (OTLP
 * protobuf from the OTel SDKs is ~250 B/span; JSON ~2.5× that). Kept a little under the typical
 * size so that under overload the cheap refusal here trips before the worker's span queue, which
 * can only refuse after decoding — decode-then-refuse wasted most of the worker's time in the
 * 3× overload bench (accepted rate fell to a quarter of capacity).
 */
export const WIRE_BYTES_PER_SPAN = 200;

interface Pending {
  bytes: number;
  /** The answer decided when the body was decoded here; the worker's is used otherwise. */
  result?: PayloadResult;
  resolve: (r: PayloadResult) => void;
  reject: (err: unknown) => void;
}

/** Thrown to the receivers for storage-side failures (mapped to 503 + Retry-After). */
export class IngestUnavailableError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'IngestUnavailableError';
  }
}

function errorOf(f: PayloadFailure): Error {
  if (f.kind === 'invalid') return new InvalidRequestError(f.message);
  if (f.kind === 'queue-full') return new QueueFullError(f.message, f.retryAfterSeconds);
  // The worker logs refusals itself, once per interval: the receivers must not log each one.
  if (f.reported) return new StorageRefusedError(f.message);
  return new IngestUnavailableError(f.message);
}

export class IngestThread implements IngestStage {
  private worker: Worker | undefined;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private inFlightBytes = 0;
  /** The worker's batch-writer counters, as of its latest answer. */
  private lastCounters = zeroCounters();
  /** Counters of workers that died, so totals never go backwards. */
  private deadCounters = zeroCounters();
  /** Requests refused here (byte bound) before reaching the worker; their spans are not counted. */
  private refusedRequests = 0;
  /** The worker's storage refusing writes, as it last reported. */
  private refusal: StorageRefusal | undefined;
  private stopping = false;
  private workerReady = false;
  private workerTid: number | undefined;
  /** The first worker opened its storage: later deaths are restarted. */
  private started = false;
  private restartTimer: NodeJS.Timeout | undefined;
  private closed: Promise<void> | undefined;
  private readonly maxInFlightBytes: number;
  private readonly decodeOn: 'main' | 'worker';
  private readonly data: IngestWorkerData;
  private readonly logger: Logger;
  /** Span limits for bodies decoded here (`decodeOn: 'main'`); the worker applies its own otherwise. */
  private readonly limiter: SpanLimiter;
  /** Tag terms of the spans prepared here (hashed once per key and value, see prepared-batch.ts). */
  private readonly tagTerms = new PrepareCache();

  constructor(opts: IngestThreadOptions) {
    const { maxInFlightBytes, logger, decodeOn, ...data } = opts;
    this.maxInFlightBytes = maxInFlightBytes ?? data.batch.maxQueueSpans * WIRE_BYTES_PER_SPAN;
    this.decodeOn = decodeOn ?? 'main';
    this.data = data;
    this.logger = logger;
    this.limiter = new SpanLimiter(data.spanLimits ?? defaultSpanLimits());
  }

  /** Starts the worker and resolves once its storage is open (rejects with the reason if not). */
  async start(): Promise<void> {
    await this.spawn();
    this.started = true;
  }

  private scheduleRestart(): void {
    if (this.restartTimer) return;
    this.restartTimer = setTimeout(() => {
      this.restartTimer = undefined;
      if (!this.stopping) this.spawn().catch((err: unknown) => this.logger.error({ err }, 'ingest worker restart failed'));
    }, RESTART_DELAY_MS);
  }

  private spawn(): Promise<void> {
    return new Promise((resolve, reject) => {
      const worker = new Worker(ENTRY, { workerData: this.data });
      this.worker = worker;
      let ready = false;
      worker.on('message', (m: FromWorker) => {
        switch (m.type) {
          case 'ready':
            ready = true;
            this.workerReady = true;
            this.workerTid = m.tid;
            resolve();
            break;
          case 'start-failed':
            reject(new Error(m.message));
            break;
          case 'result':
          case 'failed': {
            this.lastCounters = m.counters;
            const p = this.pending.get(m.id);
            if (!p) break;
            this.pending.delete(m.id);
            this.inFlightBytes -= p.bytes;
            if (m.type === 'result') p.resolve(p.result ?? m.result);
            else p.reject(errorOf(m.failure));
            break;
          }
          case 'storage-refusal':
            this.refusal = m.refusal;
            break;
          case 'log':
            this.relayLog(m.level, m.obj, m.msg);
            break;
          case 'closed':
            // Storage closed and every reply posted: nothing is left to do. The worker should exit by
            // itself; if a stray handle keeps its loop alive, end it, or shutdown would wait forever.
            setTimeout(() => void worker.terminate(), CLOSED_EXIT_GRACE_MS).unref();
            break;
        }
      });
      worker.on('error', (err) => {
        if (!ready) reject(err);
        this.logger.error({ err }, 'ingest worker failed');
      });
      worker.on('exit', (code) => {
        if (this.worker === worker) {
          this.worker = undefined;
          this.workerReady = false;
          // The next worker reports its own writes.
          this.refusal = undefined;
        }
        this.failPending(`ingest worker exited (code ${code}); spans were not stored, retry later`);
        this.deadCounters = addCounters(this.deadCounters, this.lastCounters);
        this.lastCounters = zeroCounters();
        if (!ready) reject(new Error(`ingest worker exited (code ${code}) before its storage opened`));
        // A worker that dies after the first start is replaced (and retried while replacing it
        // fails); the first start failing fails the server's start instead.
        if (this.stopping || !this.started) return;
        this.logger.error({ code }, 'ingest worker exited; starting a new one');
        this.scheduleRestart();
      });
    });
  }

  private relayLog(level: 'info' | 'warn' | 'error', obj: Record<string, unknown>, msg: string): void {
    const e = obj.err as { message?: string; stack?: string; name?: string } | undefined;
    if (e && typeof e === 'object') {
      const err = new Error(e.message);
      err.name = e.name ?? 'Error';
      if (e.stack) err.stack = e.stack;
      obj = { ...obj, err };
    }
    this.logger[level](obj, msg);
  }

  private failPending(message: string): void {
    for (const p of this.pending.values()) p.reject(new IngestUnavailableError(message));
    this.pending.clear();
    this.inFlightBytes = 0;
  }

  /** The running worker's Linux thread id (`/proc/<pid>/task/<tid>`), for per-thread CPU figures. */
  threadId(): number | undefined {
    return this.workerReady ? this.workerTid : undefined;
  }

  /** Storage refusing the worker's writes (disk full…), as it last reported; undefined while writes commit. */
  storageRefusal(): StorageRefusal | undefined {
    return this.refusal && { ...this.refusal };
  }

  /** `storageRefusal()` in words, for `/ready`; undefined while writes commit. */
  storageRefusalReason(): string | undefined {
    const r = this.refusal;
    return r && `storage refuses writes since ${new Date(r.sinceMs).toISOString()} (${r.refusedWrites}+ writes refused): ${r.reason}`;
  }

  /** Test hook: the worker's database may grow to `pages` pages (a full disk, then space coming back). */
  setMaxPageCount(pages: number): void {
    this.worker?.postMessage({ type: 'set-max-page-count', pages } satisfies ToWorker);
  }

  /** A worker is up with its storage open (false while one is being replaced). */
  isRunning(): boolean {
    return this.workerReady && !this.stopping;
  }

  consumePayload(format: PayloadFormat, body: Uint8Array): Promise<PayloadResult> {
    const worker = this.worker;
    if (this.stopping) return Promise.reject(new QueueFullError('the collector is shutting down', 1));
    if (!worker) return Promise.reject(new QueueFullError('the ingest worker is restarting', 1));
    const bytes = body.byteLength;
    if (this.inFlightBytes > 0 && this.inFlightBytes + bytes > this.maxInFlightBytes) {
      this.refusedRequests++;
      return Promise.reject(new QueueFullError(
        `ingest busy: ${this.inFlightBytes} request bytes waiting to be stored, ${bytes} more would exceed ${this.maxInFlightBytes}`,
        1,
      ));
    }
    if (this.decodeOn === 'main') return this.consumeDecoded(worker, format, body);
    const id = this.nextId++;
    this.inFlightBytes += bytes;
    return new Promise<PayloadResult>((resolve, reject) => {
      this.pending.set(id, { bytes, resolve, reject });
      const msg: ToWorker = { type: 'payload', id, format, body };
      // A body that owns its whole ArrayBuffer (readBody's concatenation of a request above 4 KiB)
      // is moved, not copied; smaller ones may be slices of Node's shared Buffer pool, whose
      // memory must not be detached, and are cloned (one memcpy). Receivers do not touch a body
      // after handing it over.
      const owned = body.byteOffset === 0 && body.buffer instanceof ArrayBuffer && body.buffer.byteLength === body.byteLength;
      worker.postMessage(msg, owned ? [body.buffer as ArrayBuffer] : []);
    });
  }

  /**
   * Decodes the body here and hands the spans to the worker as one transferred prepared batch;
   * the in-flight bound still counts request bytes (checked before decoding by the caller).
   */
  private consumeDecoded(worker: Worker, format: PayloadFormat, body: Uint8Array): Promise<PayloadResult> {
    let decoded: ReturnType<typeof decodeRequest>;
    try {
      decoded = decodeRequest(format, body, this.limiter);
    } catch (err) {
      return Promise.reject(err);
    }
    const { spans, result } = decoded;
    if (spans.length === 0) return Promise.resolve(result);
    let batch: Uint8Array;
    try {
      batch = prepareBatch(spans, this.tagTerms);
    } catch (err) {
      // A span the store cannot take (the decoders should not let one through): answered as the
      // worker's write failing would be.
      this.limiter.forget(spans);
      return Promise.reject(new IngestUnavailableError(err instanceof Error ? err.message : String(err)));
    }
    return this.sendPrepared(worker, batch, spans.length, body.byteLength, result, this.limiter.forgettable(spans));
  }

  /**
   * Hands a prepared batch to the worker. Apart from `consumeDecoded` so that no closure here can
   * hold the decoded spans (garbage once prepared) while the batch is being stored: only their
   * trace ids are kept, to un-count them from the span limits if the write fails (a client's retry
   * must not count against its traces' limit twice).
   */
  private sendPrepared(worker: Worker, batch: Uint8Array, spans: number, bytes: number, result: PayloadResult, traceIds: string[] | undefined): Promise<PayloadResult> {
    const id = this.nextId++;
    this.inFlightBytes += bytes;
    const stored = new Promise<PayloadResult>((resolve, reject) => {
      this.pending.set(id, { bytes, result, resolve, reject });
      worker.postMessage({ type: 'prepared', id, batch, spans } satisfies ToWorker, [batch.buffer as ArrayBuffer]);
    });
    stored.catch(() => this.limiter.forgetTraceIds(traceIds));
    return stored;
  }

  /** The worker's batch-writer counters (as of its latest answer) plus `refusedRequests` here. */
  counters(): BatchWriterCounters & { refusedRequests: number } {
    return { ...addCounters(this.deadCounters, this.lastCounters), refusedRequests: this.refusedRequests };
  }

  /** Refuses new payloads, lets the worker commit everything it accepted, and waits for it to exit. */
  shutdown(): Promise<void> {
    this.closed ??= (async () => {
      this.stopping = true;
      if (this.restartTimer) clearTimeout(this.restartTimer);
      const worker = this.worker;
      if (!worker) return;
      const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
      worker.postMessage({ type: 'shutdown' } satisfies ToWorker);
      await exited;
    })();
    return this.closed;
  }
}

/** How long a worker that reported `closed` may take to exit on its own before it is terminated. */
const CLOSED_EXIT_GRACE_MS = 1_000;

const zeroCounters = (): BatchWriterCounters => ({ acceptedSpans: 0, refusedSpans: 0, writtenSpans: 0, failedSpans: 0, writes: 0, splitRetries: 0, queuedSpans: 0 });

function addCounters(a: BatchWriterCounters, b: BatchWriterCounters): BatchWriterCounters {
  return {
    acceptedSpans: a.acceptedSpans + b.acceptedSpans,
    refusedSpans: a.refusedSpans + b.refusedSpans,
    writtenSpans: a.writtenSpans + b.writtenSpans,
    failedSpans: a.failedSpans + b.failedSpans,
    writes: a.writes + b.writes,
    splitRetries: a.splitRetries + b.splitRetries,
    queuedSpans: b.queuedSpans,
  };
}
