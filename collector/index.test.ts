import net from 'node:net';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { CollectorConfigError, createCollector, defaultCollectorConfig, ListenError, parseCollectorConfig } from './index.js';
import { RecordingWriter } from './testdata/recording-writer.js';

const logger = pino({ level: 'silent' });

describe('createCollector', () => {
  it('receives OTLP/HTTP, writes through the batch writer, counts, and drains on shutdown', async () => {
    const writer = new RecordingWriter();
    const collector = createCollector({ config: { host: '127.0.0.1', otlpHttpPort: 0 }, writer, logger });
    await collector.start();
    try {
      const { port } = collector.otlpHttpAddress();
      const res = await fetch(`http://127.0.0.1:${port}/v1/traces`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          resourceSpans: [
            {
              resource: { attributes: [{ key: 'service.name', value: { stringValue: 'api' } }] },
              scopeSpans: [
                {
                  spans: [
                    {
                      traceId: '0af7651916cd43dd8448eb211c80319c',
                      spanId: 'b7ad6b7169203331',
                      name: 'op',
                      startTimeUnixNano: '1767225600000000000',
                      endTimeUnixNano: '1767225600000500000',
                    },
                  ],
                },
              ],
            },
          ],
        }),
      });
      expect(res.status).toBe(200);
      expect(writer.spans.map((s) => [s.resource.serviceName, s.name, s.durationUs])).toEqual([['api', 'op', 500]]);
      expect(collector.counters()).toEqual({ acceptedSpans: 1, refusedSpans: 0, writtenSpans: 1, failedSpans: 0, writes: 1, splitRetries: 0, queuedSpans: 0 });
    } finally {
      await collector.shutdown();
    }
  });

  it('runs the Zipkin and OTLP/gRPC receivers when their ports are set, feeding the same batch writer', async () => {
    const writer = new RecordingWriter();
    const collector = createCollector({ config: { host: '127.0.0.1', otlpHttpPort: 0, otlpGrpcPort: 0, zipkinPort: 0 }, writer, logger });
    const plain = createCollector({ config: { host: '127.0.0.1', otlpHttpPort: 0 }, writer, logger });
    expect(plain.zipkinAddress()).toBeUndefined();
    expect(plain.otlpGrpcAddress()).toBeUndefined();
    await collector.start();
    try {
      const port = collector.zipkinAddress()?.port;
      const res = await fetch(`http://127.0.0.1:${port}/api/v2/spans`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify([{ traceId: '86154a4ba6e91385', id: '4d1e00c0db9010db', name: 'z', timestamp: 1472470996199000, duration: 5 }]),
      });
      expect(res.status).toBe(202);
      expect(writer.spans.map((s) => s.name)).toEqual(['z']);
      expect(collector.otlpGrpcAddress()?.port).toBeGreaterThan(0);
    } finally {
      await collector.shutdown();
    }
  });

  it('fails start cleanly when the port is taken, releasing what it started', async () => {
    const blocker = net.createServer();
    await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', r));
    const port = (blocker.address() as net.AddressInfo).port;
    try {
      const collector = createCollector({ config: { host: '127.0.0.1', otlpHttpPort: port }, writer: new RecordingWriter(), logger });
      const err = await collector.start().then(() => undefined, (e: unknown) => e);
      expect(err).toBeInstanceOf(ListenError);
      expect(err).toMatchObject({ setting: 'otlpHttpPort', port, message: expect.stringContaining('already in use') });
      await collector.shutdown();
    } finally {
      await new Promise((r) => blocker.close(r));
    }
  });

  it('validates the configuration, naming every bad field', () => {
    expect(parseCollectorConfig()).toEqual(defaultCollectorConfig());
    expect(defaultCollectorConfig()).toEqual({
      host: '0.0.0.0',
      otlpHttpPort: 4318,
      otlpGrpcPort: null,
      otlpGrpcMaxMessageBytes: 4194304,
      zipkinPort: null,
      maxRequestBodyBytes: 20971520,
      maxQueueSpans: 100000,
      maxBatchSpans: 2000,
      flushIntervalMs: 50,
      corsAllowedOrigins: [],
      spanLimits: { maxAttributes: 128, maxAttributeValueLength: 65536, maxEvents: 128, maxLinks: 128, maxSpansPerTrace: 100000 },
    });
    expect(() => parseCollectorConfig({ spanLimits: { ...defaultCollectorConfig().spanLimits, maxEvents: -1 } })).toThrow('spanLimits.maxEvents: must not be negative (0 = no limit)');
    let err: unknown;
    try {
      createCollector({ config: { otlpHttpPort: -1, maxQueueSpans: 10, maxRequestBodyBytes: 0 }, writer: new RecordingWriter(), logger });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(CollectorConfigError);
    expect((err as CollectorConfigError).problems).toEqual([
      'otlpHttpPort: must be 0-65535',
      'maxRequestBodyBytes: must be greater than zero',
      'maxQueueSpans: must be at least maxBatchSpans (2000)',
    ]);
    expect(() => parseCollectorConfig({ maxQueueSpans: 10 })).toThrow('maxQueueSpans: must be at least maxBatchSpans (2000)');
    expect(() => parseCollectorConfig({ otlpHttpPort: 4318, zipkinPort: 4318 })).toThrow('zipkinPort: must differ from otlpHttpPort (4318)');
    expect(parseCollectorConfig({ otlpHttpPort: 0, otlpGrpcPort: 0, zipkinPort: 0 }).zipkinPort).toBe(0);
  });
});
