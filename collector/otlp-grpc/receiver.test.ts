/**
 * OTLP/gRPC with the real OpenTelemetry gRPC exporter as the client, plus the status mapping for
 * bad input, oversized messages and a full pipeline.
 */
import { DecodeStage } from '../decode-stage.js';
import * as grpc from '@grpc/grpc-js';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-grpc';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { afterEach, describe, expect, it } from 'vitest';
import type { Span } from '../../model/span.js';
import { BatchWriter } from '../batch-writer/index.js';
import { parseBatchWriterConfig } from '../batch-writer/config.js';
import { QueueFullError, type SpanConsumer } from '../pipeline.js';
import { RecordingWriter } from '../testdata/recording-writer.js';
import { createOtlpGrpcReceiver, type OtlpGrpcReceiver, TRACE_SERVICE_DEFINITION } from './receiver.js';

let receiver: OtlpGrpcReceiver | undefined;
afterEach(async () => {
  await receiver?.shutdown();
  receiver = undefined;
});

async function start(consumer: SpanConsumer, maxReceiveMessageBytes = 4 * 1024 * 1024) {
  receiver = createOtlpGrpcReceiver({ config: { host: '127.0.0.1', port: 0, maxReceiveMessageBytes }, consumer: new DecodeStage(consumer) });
  await receiver.start();
  return `127.0.0.1:${receiver.address().port}`;
}

function u64(n: bigint): Buffer {
  const b = Buffer.alloc(8);
  b.writeBigUInt64LE(n);
  return b;
}

const RawClient = grpc.makeGenericClientConstructor(TRACE_SERVICE_DEFINITION, 'TraceService');
function rawExport(target: string, body: Buffer): Promise<{ err: grpc.ServiceError | null }> {
  const client = new RawClient(target, grpc.credentials.createInsecure());
  return new Promise((resolve) => {
    (client as any).Export(body, (err: grpc.ServiceError | null) => {
      client.close();
      resolve({ err });
    });
  });
}

describe('OTLP/gRPC receiver', () => {
  it('receives spans from the OpenTelemetry gRPC exporter', async () => {
    const writer = new RecordingWriter();
    const target = await start(new BatchWriter(writer, parseBatchWriterConfig({})));
    const provider = new BasicTracerProvider({
      resource: resourceFromAttributes({ 'service.name': 'grpc-client' }),
      spanProcessors: [new SimpleSpanProcessor(new OTLPTraceExporter({ url: `http://${target}` }))],
    });
    const span = provider.getTracer('t').startSpan('grpc-op', { attributes: { 'k': 'v', 'n': 7 } });
    span.end();
    await provider.forceFlush();
    await provider.shutdown();
    expect(writer.spans).toHaveLength(1);
    const got: Span = writer.spans[0];
    expect(got.name).toBe('grpc-op');
    expect(got.resource.serviceName).toBe('grpc-client');
    expect(got.spanId).toBe(span.spanContext().spanId);
    expect(got.attributes).toEqual([{ key: 'k', type: 'string', value: 'v' }, { key: 'n', type: 'int64', value: 7 }]);
  });

  it('answers INVALID_ARGUMENT to garbage, RESOURCE_EXHAUSTED above the limit, UNAVAILABLE when full', async () => {
    const writer = new RecordingWriter();
    let target = await start(new BatchWriter(writer, parseBatchWriterConfig({})), 1024);
    const garbage = await rawExport(target, Buffer.from([0x0a, 0xff, 0xff, 0xff, 0x0f, 0x01]));
    expect(garbage.err?.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(garbage.err?.details).toMatch(/invalid protobuf/);
    const big = await rawExport(target, Buffer.alloc(4096));
    expect(big.err?.code).toBe(grpc.status.RESOURCE_EXHAUSTED);
    expect(writer.spans).toHaveLength(0);
    await receiver!.shutdown();

    const full: SpanConsumer = { consume: () => Promise.reject(new QueueFullError('queue full', 2)) };
    target = await start(full);
    // A minimal valid request: one span with ids, built by hand (field numbers from trace.proto).
    const span = Buffer.concat([
      Buffer.from([0x0a, 16]), Buffer.alloc(16, 1), // trace_id
      Buffer.from([0x12, 8]), Buffer.alloc(8, 2), // span_id
      Buffer.from([0x2a, 1]), Buffer.from('x'), // name
      Buffer.from([0x39]), u64(1_700_000_000_000_000_000n), // start_time_unix_nano (fixed64)
      Buffer.from([0x41]), u64(1_700_000_000_001_000_000n), // end_time_unix_nano
    ]);
    const scopeSpans = Buffer.concat([Buffer.from([0x12, span.length]), span]);
    const resourceSpans = Buffer.concat([Buffer.from([0x12, scopeSpans.length]), scopeSpans]);
    const request = Buffer.concat([Buffer.from([0x0a, resourceSpans.length]), resourceSpans]);
    const refused = await rawExport(target, request);
    expect(refused.err?.code).toBe(grpc.status.UNAVAILABLE);
    expect(refused.err?.metadata.get('retry-after')).toEqual(['2']);
  });
});
