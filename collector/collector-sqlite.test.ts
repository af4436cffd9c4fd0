/**
 * The collector in front of the real SQLite storage: what an OTel SDK exports is readable back,
 * attribute for attribute, as soon as the export call has been acknowledged.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SpanKind as ApiSpanKind, ROOT_CONTEXT, trace } from '@opentelemetry/api';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-node';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { findAttribute } from '../model/span.js';
import { openSqliteStorage } from '../storage/sqlite/index.js';
import { createCollector } from './index.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe('collector → SQLite storage', () => {
  it('stores SDK spans so that the reader returns them once the export is acknowledged', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'meshtrace-collector-'));
    dirs.push(dir);
    const storage = openSqliteStorage({ path: join(dir, 'traces.db') });
    const collector = createCollector({
      config: { host: '127.0.0.1', otlpHttpPort: 0 },
      writer: storage.writer,
      logger: pino({ level: 'silent' }),
    });
    await collector.start();
    try {
      const provider = new BasicTracerProvider({
        resource: resourceFromAttributes({ 'service.name': 'orders' }),
        spanProcessors: [new SimpleSpanProcessor(new OTLPTraceExporter({ url: `http://127.0.0.1:${collector.otlpHttpAddress().port}/v1/traces` }))],
      });
      const tracer = provider.getTracer('orders-lib', '0.1.0');
      const root = tracer.startSpan('POST /orders', { kind: ApiSpanKind.SERVER, attributes: { 'order.items': 3, 'order.total': 12.5, vip: true, tags: ['a'] } });
      const child = tracer.startSpan('INSERT orders', { kind: ApiSpanKind.CLIENT }, trace.setSpan(ROOT_CONTEXT, root));
      child.end();
      root.addEvent('validated');
      root.end();
      await provider.forceFlush();
      await provider.shutdown();

      const traceId = root.spanContext().traceId;
      const [t] = await storage.reader.getTraces({ traceIds: [traceId] });
      expect(t.spans.map((s) => s.name).sort()).toEqual(['INSERT orders', 'POST /orders']);
      const r = t.spans.find((s) => s.name === 'POST /orders')!;
      expect(r.resource.serviceName).toBe('orders');
      expect(r.scope).toEqual({ name: 'orders-lib', version: '0.1.0' });
      expect(findAttribute(r.attributes, 'order.items')).toEqual({ key: 'order.items', type: 'int64', value: 3 });
      expect(findAttribute(r.attributes, 'order.total')).toEqual({ key: 'order.total', type: 'float64', value: 12.5 });
      expect(findAttribute(r.attributes, 'vip')).toEqual({ key: 'vip', type: 'bool', value: true });
      expect(findAttribute(r.attributes, 'tags')).toEqual({ key: 'tags', type: 'array', value: '{"values":[{"stringValue":"a"}]}' });
      expect(r.events.map((e) => e.name)).toEqual(['validated']);
      const c = t.spans.find((s) => s.name === 'INSERT orders')!;
      expect(c.parentSpanId).toBe(r.spanId);
      expect(collector.counters()).toMatchObject({ acceptedSpans: 2, writtenSpans: 2, queuedSpans: 0 });
    } finally {
      await collector.shutdown();
      await storage.close();
    }
  });
});
