/**
 * The ingest worker thread with a real SQLite file, read back through a second connection on
 * this thread (as the all-in-one server does).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { encodeOtlpJson, encodeOtlpProtobuf } from '../bench/data/otlp.js';
import { QueueFullError } from '../collector/index.js';
import { InvalidRequestError } from '../collector/otlp/errors.js';
import { makeCallTrace, nowUs } from '../storage/testdata/fixtures.js';
import { openSqliteStorage } from '../storage/sqlite/index.js';
import { IngestThread, IngestUnavailableError } from './ingest-thread.js';

const logger = pino({ level: 'silent' });
const cleanups: Array<() => Promise<unknown> | unknown> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function setup(maxInFlightBytes?: number, decodeOn?: 'main' | 'worker') {
  const dir = mkdtempSync(join(tmpdir(), 'meshtrace-ingest-thread-'));
  const path = join(dir, 'db.sqlite');
  const reader = openSqliteStorage({ path });
  const thread = new IngestThread({
    storage: { path, synchronous: 'normal' },
    batch: { maxQueueSpans: 10_000 },
    retention: { maxAgeUs: 0, maxSizeBytes: 0, intervalMs: 60_000 },
    maxInFlightBytes,
    decodeOn,
    logger,
  });
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }), () => reader.close(), () => thread.shutdown());
  return { thread, reader };
}

describe('IngestThread', () => {
  it('decodes and stores payloads in the worker; they are readable on this thread once acknowledged', async () => {
    const { thread, reader } = setup();
    await thread.start();
    const a = makeCallTrace({ startTimeUs: nowUs() - 1e6 });
    const b = makeCallTrace({ startTimeUs: nowUs() - 2e6, frontend: 'web' });
    const [ra, rb] = await Promise.all([
      thread.consumePayload('otlp-protobuf', encodeOtlpProtobuf(a)),
      thread.consumePayload('otlp-json', Buffer.from(encodeOtlpJson(b))),
    ]);
    expect(ra).toEqual({ acceptedSpans: 3, rejectedSpans: 0, errorMessage: '', cleanedNames: 0 });
    expect(rb.acceptedSpans).toBe(3);
    const traces = await reader.reader.getTraces({ traceIds: [a[0].traceId, b[0].traceId] });
    expect(traces.map((t) => t.spans.length)).toEqual([3, 3]);
    expect(await reader.reader.getServices()).toEqual(['backend', 'frontend', 'web']);
    expect(thread.counters()).toMatchObject({ acceptedSpans: 6, writtenSpans: 6, queuedSpans: 0 });
  });

  it("with decodeOn: 'worker', decodes and prepares in the worker: the same answers and the same stored spans", async () => {
    const { thread, reader } = setup(undefined, 'worker');
    await thread.start();
    const a = makeCallTrace({ startTimeUs: nowUs() - 1e6 });
    const b = makeCallTrace({ startTimeUs: nowUs() - 2e6, frontend: 'web' });
    const [ra, rb] = await Promise.all([
      thread.consumePayload('otlp-protobuf', encodeOtlpProtobuf(a)),
      thread.consumePayload('otlp-json', Buffer.from(encodeOtlpJson(b))),
    ]);
    expect(ra).toEqual({ acceptedSpans: 3, rejectedSpans: 0, errorMessage: '', cleanedNames: 0 });
    expect(rb.acceptedSpans).toBe(3);
    const traces = await reader.reader.getTraces({ traceIds: [a[0].traceId, b[0].traceId] });
    expect(traces.map((t) => t.spans.map((s) => s.name).sort())).toEqual([a.map((s) => s.name).sort(), b.map((s) => s.name).sort()]);
    await expect(thread.consumePayload('otlp-protobuf', Buffer.from([0x0a, 0xff, 0xff]))).rejects.toBeInstanceOf(InvalidRequestError);
    expect(thread.counters()).toMatchObject({ acceptedSpans: 6, writtenSpans: 6, queuedSpans: 0 });
  });

  it('answers a malformed body with InvalidRequestError (→ 400) and stores nothing from it', async () => {
    const { thread } = setup();
    await thread.start();
    await expect(thread.consumePayload('otlp-protobuf', Buffer.from([0x0a, 0xff, 0xff]))).rejects.toBeInstanceOf(InvalidRequestError);
    await expect(thread.consumePayload('zipkin-json', Buffer.from('{"not":"an array"}'))).rejects.toBeInstanceOf(InvalidRequestError);
    expect(thread.counters().acceptedSpans).toBe(0);
  });

  it('refuses with QueueFullError when the bytes handed over and not yet answered would exceed the bound', async () => {
    const body = encodeOtlpProtobuf(makeCallTrace({ startTimeUs: nowUs() - 1e6 }));
    const { thread } = setup(body.byteLength + 10);
    await thread.start();
    // The first is in flight (no answer can arrive before this turn ends); a second would exceed the bound.
    const first = thread.consumePayload('otlp-protobuf', body);
    await expect(thread.consumePayload('otlp-protobuf', body)).rejects.toBeInstanceOf(QueueFullError);
    await expect(first).resolves.toMatchObject({ acceptedSpans: 3 });
    // Answered → the bound is free again.
    await expect(thread.consumePayload('otlp-protobuf', body)).resolves.toMatchObject({ acceptedSpans: 3 });
    expect(thread.counters().refusedRequests).toBe(1);
  });

  it('fails the requests in flight when the worker dies, then starts a new one', async () => {
    const { thread, reader } = setup();
    await thread.start();
    const spans = makeCallTrace({ startTimeUs: nowUs() - 1e6 });
    await thread.consumePayload('otlp-protobuf', encodeOtlpProtobuf(spans));
    // Handed over after terminate() was called and before the worker's exit is seen: the worker
    // can no longer call into JS, so the request is certain to be unanswered (handing it over
    // first raced the worker, which sometimes committed and answered it before dying).
    const body = encodeOtlpProtobuf(makeCallTrace({ startTimeUs: nowUs() - 1e6 }));
    const terminated = (thread as unknown as { worker: { terminate(): Promise<number> } }).worker.terminate();
    const inFlight = thread.consumePayload('otlp-protobuf', body);
    await terminated;
    await expect(inFlight).rejects.toBeInstanceOf(IngestUnavailableError);
    expect(thread.isRunning()).toBe(false); // → /ready answers 503 meanwhile
    await expect(thread.consumePayload('otlp-protobuf', Buffer.from([]))).rejects.toBeInstanceOf(QueueFullError);
    const deadline = Date.now() + 10_000;
    let again: unknown;
    while (Date.now() < deadline) {
      again = await thread.consumePayload('otlp-protobuf', encodeOtlpProtobuf(makeCallTrace({ startTimeUs: nowUs() - 1e6 }))).catch((e: unknown) => e);
      if (!(again instanceof QueueFullError)) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(again).toMatchObject({ acceptedSpans: 3 });
    expect(thread.isRunning()).toBe(true);
    // What was committed before the crash is still there; counters kept counting across workers.
    expect(await reader.reader.getTraces({ traceIds: [spans[0].traceId] })).toHaveLength(1);
    expect(thread.counters().writtenSpans).toBeGreaterThanOrEqual(6);
  });

  it('commits everything it accepted before shutdown resolves, then refuses', async () => {
    const { thread, reader } = setup();
    await thread.start();
    const traces = Array.from({ length: 20 }, (_, i) => makeCallTrace({ startTimeUs: nowUs() - 1e6 - i }));
    const acks = traces.map((t) => thread.consumePayload('otlp-protobuf', encodeOtlpProtobuf(t)));
    const stopped = thread.shutdown();
    await Promise.all(acks);
    await stopped;
    await expect(thread.consumePayload('otlp-protobuf', encodeOtlpProtobuf(traces[0]))).rejects.toBeInstanceOf(QueueFullError);
    const stored = await reader.reader.getTraces({ traceIds: traces.map((t) => t[0].traceId) });
    expect(stored).toHaveLength(20);
  });

  it('rejects start() with the reason when the storage cannot be opened', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'meshtrace-ingest-thread-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const notADir = join(dir, 'file');
    writeFileSync(notADir, 'x');
    const thread = new IngestThread({
      storage: { path: join(notADir, 'db.sqlite'), synchronous: 'normal' },
      batch: { maxQueueSpans: 10 },
      retention: { maxAgeUs: 0, maxSizeBytes: 0, intervalMs: 60_000 },
      logger,
    });
    await expect(thread.start()).rejects.toThrow(/EEXIST|ENOTDIR/);
    await thread.shutdown();
  });
});
