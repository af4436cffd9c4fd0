/**
 * Jaeger's metrics API (the Monitor tab) end to end: spans from a real OpenTelemetry SDK go
 * through the collector into SQLite; `/api/metrics/*` answers with jaeger-query's shapes, and the
 * figures match what was sent.
 */
import { SpanKind, SpanStatusCode } from '@opentelemetry/api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { buildQueryApp } from '../query/app.js';
import { openSqliteStorage } from '../storage/sqlite/index.js';
import { sdkProvider } from './helpers/otel.js';
import { eventually, getJson, startTestServer, type TestServer } from './helpers/server.js';

let server: TestServer;
let endTs: number;
const WINDOW = 'lookback=600000&step=60000&ratePer=600000';

beforeAll(async () => {
  server = await startTestServer();
  const shop = sdkProvider({ otlpHttpUrl: server.otlpHttpUrl, service: 'shop', encoding: 'protobuf' });
  const tracer = shop.getTracer('shop-http');
  const t0 = Date.now() - 60_000;
  // 20 × GET /cart at 10 ms (5 of them failing), 5 × POST /pay at 200 ms, 1 client call.
  for (let i = 0; i < 20; i++) {
    const s = tracer.startSpan('GET /cart', { kind: SpanKind.SERVER, startTime: t0 + i * 100 });
    if (i % 4 === 0) s.setStatus({ code: SpanStatusCode.ERROR, message: 'out of stock' });
    s.end(t0 + i * 100 + 10);
  }
  for (let i = 0; i < 5; i++) tracer.startSpan('POST /pay', { kind: SpanKind.SERVER, startTime: t0 + i * 100 }).end(t0 + i * 100 + 200);
  tracer.startSpan('SELECT stock', { kind: SpanKind.CLIENT, startTime: t0 }).end(t0 + 3);
  await shop.forceFlush();
  await shop.shutdown();
  endTs = Date.now();
  await eventually(async () => (await getJson(`${server.queryUrl}/api/services`)).body.data.includes('shop'));
});
afterAll(async () => server?.stop());

const metrics = (path: string) => getJson(`${server.queryUrl}/api/metrics/${path}&endTs=${endTs}&${WINDOW}`);
const lastValue = (family: any, i = 0) => family.metrics[i].metricPoints.at(-1).gaugeValue.doubleValue;

describe('/api/metrics', () => {
  it('calls: a MetricFamily in protobuf JSON with calls/sec per service', async () => {
    const { status, body } = await metrics('calls?service=shop');
    expect(status).toBe(200);
    expect(Object.keys(body)).toEqual(['name', 'type', 'help', 'metrics']);
    expect(body).toMatchObject({ name: 'service_call_rate', type: 'GAUGE', help: 'calls/sec, grouped by service' });
    expect(body.metrics).toHaveLength(1);
    expect(body.metrics[0].labels).toEqual([{ name: 'service_name', value: 'shop' }]);
    const points = body.metrics[0].metricPoints;
    expect(points).toHaveLength(11); // endTs − 10 min … endTs, every minute
    expect(points[0].timestamp).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{3})?Z$/);
    expect(Date.parse(points.at(-1).timestamp)).toBe(endTs);
    expect(lastValue(body)).toBeCloseTo(25 / 600, 6); // server spans only (the default span kind)
  });

  it('groupByOperation and spanKind select the series', async () => {
    const grouped = (await metrics('calls?service=shop&groupByOperation=true')).body;
    expect(grouped.metrics.map((m: any) => [m.labels[0].value, lastValue({ metrics: [m] }) * 600])).toEqual([['GET /cart', 20], ['POST /pay', 5]]);
    expect(grouped.metrics[0].labels.map((l: any) => l.name)).toEqual(['operation', 'service_name']);
    const client = (await metrics('calls?service=shop&groupByOperation=true&spanKind=client')).body;
    expect(client.metrics.map((m: any) => m.labels[0].value)).toEqual(['SELECT stock']);
    expect((await metrics('calls?service=nobody')).body.metrics).toEqual([]);
  });

  it('errors: the failed fraction; latencies: the quantile in ms', async () => {
    const errors = (await metrics('errors?service=shop&groupByOperation=true')).body;
    expect(errors.name).toBe('service_operation_error_rate');
    expect(lastValue(errors, 0)).toBeCloseTo(5 / 20, 6);
    expect(lastValue(errors, 1)).toBe(0);
    const p50 = (await metrics('latencies?service=shop&groupByOperation=true&quantile=0.5')).body;
    expect(p50.help).toBe('0.50th quantile latency, grouped by service & operation');
    expect(lastValue(p50, 0)).toBeGreaterThan(10 / 1.1);
    expect(lastValue(p50, 0)).toBeLessThan(10 * 1.1);
    expect(lastValue(p50, 1)).toBeGreaterThan(200 / 1.1);
    expect(lastValue(p50, 1)).toBeLessThan(200 * 1.1);
  });

  // Jaeger UI keys its Monitor operations table by the family name (reducers/metrics.ts):
  // grouped answers under the service names showed "No Data". Names and help as jaeger-query's
  // Prometheus reader words them (it renames service_ → service_operation_ and appends " & operation").
  it.each([
    ['latencies', '&quantile=0.95', 'service_latencies', '0.95th quantile latency, grouped by service'],
    ['calls', '', 'service_call_rate', 'calls/sec, grouped by service'],
    ['errors', '', 'service_error_rate', 'error rate, computed as a fraction of errors/sec over calls/sec, grouped by service'],
  ])('%s: family named as jaeger-query names it, with and without groupByOperation', async (type, extra, name, help) => {
    const service = (await metrics(`${type}?service=shop${extra}`)).body;
    expect({ name: service.name, help: service.help }).toEqual({ name, help });
    expect(service.metrics.map((m: any) => m.labels)).toEqual([[{ name: 'service_name', value: 'shop' }]]);
    const grouped = (await metrics(`${type}?service=shop&groupByOperation=true${extra}`)).body;
    expect({ name: grouped.name, help: grouped.help }).toEqual({ name: name.replace('service_', 'service_operation_'), help: `${help} & operation` });
    expect(grouped.metrics.map((m: any) => m.labels)).toEqual([
      [{ name: 'operation', value: 'GET /cart' }, { name: 'service_name', value: 'shop' }],
      [{ name: 'operation', value: 'POST /pay' }, { name: 'service_name', value: 'shop' }],
    ]);
  });

  it('minstep is the bucket length; bad parameters get 400 in the Jaeger envelope', async () => {
    expect((await getJson(`${server.queryUrl}/api/metrics/minstep`)).body).toEqual({ data: 60000, total: 0, limit: 0, offset: 0, errors: null });
    const bad = await getJson(`${server.queryUrl}/api/metrics/latencies?service=shop`);
    expect(bad.status).toBe(400);
    expect(bad.body).toEqual({ data: null, total: 0, limit: 0, offset: 0, errors: [{ code: 400, msg: `unable to parse param 'quantile': strconv.ParseFloat: parsing "": invalid syntax` }] });
    expect((await getJson(`${server.queryUrl}/api/metrics/calls`)).body.errors[0].msg).toBe("unable to parse param 'service': please provide at least one service name");
  });

  it('answers 501 when the query server has no span-metrics reader', async () => {
    const storage = openSqliteStorage({ path: join(server.dataDir, 'other.sqlite') });
    const app = await buildQueryApp({ reader: storage.reader, dependencies: storage.dependencies, adjusters: [] });
    const res = await app.inject('/api/metrics/calls?service=shop');
    expect(res.statusCode).toBe(501);
    expect(res.json().errors[0].msg).toBe('metrics querying is currently disabled');
    await app.close();
    await storage.close();
  });
});
