/**
 * Span export under collector backpressure: a collector answering 503 + Retry-After (overloaded
 * or restarting) loses no span — batches are retried after the delay — while a collector that
 * refuses a batch as bad (400) has it dropped and counted, not retried; one that does not answer
 * is given up on after `export.timeoutMs`.
 */
import { createServer, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { startSidecar } from '../sidecar.js';
import { listen, send, startOtlpSink, waitFor } from '../testing/harness.js';

const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of closers.splice(0).reverse()) await c();
});

async function setup() {
  const sink = await startOtlpSink();
  const app = await listen((_req, res) => res.end('ok'));
  const sc = await startSidecar({ service: 's', appPort: app.port, inboundPort: 0, outboundPort: 0, adminPort: 0, accessLog: false, collector: sink.url, export: { maxQueueSpans: 100, maxBatchSpans: 5, flushIntervalMs: 10, timeoutMs: 2000 } });
  closers.push(() => app.close(), () => sink.close(), () => sc.close({ drainMs: 50 }));
  return { sink, sc };
}

const dropped = async (sc: { metrics: { text(): Promise<string> } }) =>
  [...(await sc.metrics.text()).matchAll(/^meshtrace_proxy_spans_dropped_total\{reason="(\w+)"\} (\d+)$/gm)].reduce((n, m) => n + Number(m[2]), 0);

describe('span export retries', () => {
  it('retries batches the collector sheds with 503, losing nothing', async () => {
    const { sink, sc } = await setup();
    sink.status = 503;
    for (let i = 0; i < 12; i++) expect((await send(sc.inboundPort, `/${i}`)).status).toBe(200);
    await waitFor(() => sink.requests >= 2, 'export attempts against the shedding collector');
    sink.status = 200;
    await waitFor(() => sink.spans.length >= 12 || undefined, 'every span exported after the collector recovers');
    expect(sink.spans).toHaveLength(12);
    expect(await dropped(sc)).toBe(0);
  });

  it('drops and counts a batch the collector refuses as bad', async () => {
    const { sink, sc } = await setup();
    sink.status = 400;
    for (let i = 0; i < 5; i++) expect((await send(sc.inboundPort, `/${i}`)).status).toBe(200);
    await waitFor(async () => (await dropped(sc)) === 5 || undefined, 'the refused batch counted as dropped');
    const requests = sink.requests;
    await new Promise((r) => setTimeout(r, 300));
    expect(sink.requests).toBe(requests); // not retried
  });

  it('gives up on a collector that does not answer within timeoutMs, and counts the batch as dropped', async () => {
    // Accepts connections and reads requests, never answers.
    const sockets: Socket[] = [];
    const silent = createServer((sock) => { sockets.push(sock); sock.resume(); });
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    const app = await listen((_req, res) => res.end('ok'));
    const sc = await startSidecar({ service: 's', appPort: app.port, inboundPort: 0, outboundPort: 0, adminPort: 0, accessLog: false,
      collector: `http://127.0.0.1:${(silent.address() as AddressInfo).port}`, export: { maxQueueSpans: 100, maxBatchSpans: 5, flushIntervalMs: 60_000, timeoutMs: 300 } });
    closers.push(() => app.close(), () => new Promise<void>((r) => { for (const s of sockets) s.destroy(); silent.close(() => r()); }), () => sc.close({ drainMs: 50 }));
    expect((await send(sc.inboundPort, '/')).status).toBe(200);
    const t0 = Date.now();
    await sc.flushSpans();
    expect(Date.now() - t0).toBeGreaterThanOrEqual(250);
    expect(Date.now() - t0).toBeLessThan(3_000);
    expect(sockets.length).toBe(1);
    expect(await dropped(sc)).toBe(1);
  });
});
