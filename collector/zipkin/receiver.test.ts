import zlib from 'node:zlib';
import { DecodeStage } from '../decode-stage.js';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { BatchWriter } from '../batch-writer/batch-writer.js';
import { parseBatchWriterConfig } from '../batch-writer/config.js';
import { RecordingWriter } from '../testdata/recording-writer.js';
import { createZipkinReceiver } from './receiver.js';

const logger = pino({ level: 'silent' });
const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function start(maxQueueSpans = 1000) {
  const writer = new RecordingWriter();
  const bw = new BatchWriter(writer, parseBatchWriterConfig({ maxQueueSpans, maxBatchSpans: Math.min(maxQueueSpans, 2000) }));
  const receiver = createZipkinReceiver({
    config: { host: '127.0.0.1', port: 0, maxRequestBodyBytes: 64 * 1024, corsAllowedOrigins: [] },
    consumer: new DecodeStage(bw),
    logger,
  });
  await receiver.start();
  cleanups.push(async () => {
    writer.release();
    await receiver.shutdown();
    await bw.shutdown();
  });
  return { url: `http://127.0.0.1:${receiver.address().port}/api/v2/spans`, writer };
}

const span = (name: string, id = '4d1e00c0db9010db') => ({
  traceId: '86154a4ba6e91385',
  id,
  name,
  timestamp: 1472470996199000,
  duration: 10,
  localEndpoint: { serviceName: 'frontend' },
});

const post = (url: string, body: string | Buffer, headers: Record<string, string> = { 'content-type': 'application/json' }) =>
  fetch(url, { method: 'POST', body, headers });

describe('Zipkin receiver', () => {
  it('answers 202 after storing the spans (plain and gzip)', async () => {
    const h = await start();
    const r = await post(h.url, JSON.stringify([span('a'), span('b', '4d1e00c0db9010dc')]));
    expect(r.status).toBe(202);
    const g = await post(h.url, zlib.gzipSync(JSON.stringify([span('c')])), { 'content-type': 'application/json', 'content-encoding': 'gzip' });
    expect(g.status).toBe(202);
    expect(h.writer.spans.map((s) => `${s.resource.serviceName}/${s.name}`)).toEqual(['frontend/a', 'frontend/b', 'frontend/c']);
  });

  it('answers 202 for an empty list, 400 for bad JSON or all-invalid spans, 415/405/413 otherwise', async () => {
    const h = await start();
    expect((await post(h.url, '[]')).status).toBe(202);
    const bad = await post(h.url, '[{');
    expect(bad.status).toBe(400);
    expect(await bad.text()).toMatch(/invalid JSON/);
    const invalid = await post(h.url, JSON.stringify([{ ...span('x'), id: 'nothex' }]));
    expect(invalid.status).toBe(400);
    expect(await invalid.text()).toMatch(/id must be up to 16 hex characters/);
    expect((await post(h.url, 'x', { 'content-type': 'application/x-thrift' })).status).toBe(415);
    expect((await fetch(h.url)).status).toBe(405);
    expect((await post(h.url, JSON.stringify(Array.from({ length: 2000 }, () => span('big'))))).status).toBe(413);
    expect(h.writer.started).toBe(0);
  });

  it('stores the valid spans of a partly invalid request and says what it dropped', async () => {
    const h = await start();
    const r = await post(h.url, JSON.stringify([span('good'), { ...span('bad'), timestamp: 'yesterday' }]));
    expect(r.status).toBe(202);
    expect(await r.text()).toMatch(/1 invalid span\(s\) rejected: spans\[1\]: timestamp must be microseconds/);
    expect(h.writer.spans.map((s) => s.name)).toEqual(['good']);
  });

  it('answers 503 + Retry-After when the queue is full', async () => {
    const h = await start(1);
    h.writer.hold();
    const first = post(h.url, JSON.stringify([span('first')]));
    while (h.writer.started === 0) await new Promise((r) => setTimeout(r, 5));
    const refused = await post(h.url, JSON.stringify([span('refused')]));
    expect(refused.status).toBe(503);
    expect(refused.headers.get('retry-after')).toBe('1');
    h.writer.release();
    expect((await first).status).toBe(202);
  });
});
