/**
 * OTLP JSON `TracesData` (from-model.ts) → OTLP protobuf bytes, for clients that ask for
 * protobuf: Grafana's Tempo data source fetches a trace by id with `Accept: application/protobuf`
 * and decodes the body as OTLP `TracesData` (tempopb.Trace has the same field 1). One encoder:
 * protobufjs with the collector's own trace.proto; OTLP JSON's hex ids become bytes, its
 * decimal-string 64-bit numbers go through protobufjs' `fromObject`, which parses them exactly.
 */
import { otlpTypes } from '../../collector/otlp/schema.js';
import type { OtlpJsonResourceSpans } from './from-model.js';

const hex = (id: string | undefined): Buffer | undefined => (id ? Buffer.from(id, 'hex') : undefined);

export function encodeTracesDataProtobuf(data: { resourceSpans: OtlpJsonResourceSpans[] }): Buffer {
  const object = {
    resourceSpans: data.resourceSpans.map((rs) => ({
      ...rs,
      scopeSpans: rs.scopeSpans.map((ss) => ({
        ...ss,
        spans: ss.spans.map((s) => ({
          ...s,
          traceId: hex(s.traceId),
          spanId: hex(s.spanId),
          parentSpanId: hex(s.parentSpanId),
          links: s.links.map((l) => ({ ...l, traceId: hex(l.traceId), spanId: hex(l.spanId) })),
        })),
      })),
    })),
  };
  const T = otlpTypes.TracesData;
  const bytes = T.encode(T.fromObject(object)).finish();
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** `message { <submessage> field = 1; }` around already-encoded bytes (Tempo's TraceByIDResponse.trace). */
export function wrapAsField1(inner: Buffer): Buffer {
  const len: number[] = [];
  for (let n = inner.length; ; n = Math.floor(n / 128)) {
    if (n < 128) { len.push(n); break; }
    len.push((n % 128) | 0x80);
  }
  return Buffer.concat([Buffer.from([0x0a, ...len]), inner]);
}
