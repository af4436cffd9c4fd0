/**
 * Model spans → OTLP export request bodies (protobuf and JSON), grouped as an SDK groups them:
 * one ResourceSpans per resource object, one ScopeSpans per scope. Used to pre-encode the request
 * bodies of the ingest benchmarks, so the client spends no CPU on encoding while measuring.
 */
import { otlpTypes } from '../../collector/otlp/schema.js';
import type { Attribute, Resource, Span } from '../../model/span.js';

type PbValue = { stringValue: string } | { intValue: number } | { boolValue: boolean } | { doubleValue: number };
type JsonValue = { stringValue: string } | { intValue: string } | { boolValue: boolean } | { doubleValue: number };

function pbValue(a: Attribute): PbValue {
  switch (a.type) {
    case 'int64': return { intValue: Number(a.value) };
    case 'bool': return { boolValue: a.value };
    case 'float64': return { doubleValue: a.value };
    default: return { stringValue: String(a.value) };
  }
}

function jsonValue(a: Attribute): JsonValue {
  switch (a.type) {
    case 'int64': return { intValue: String(a.value) };
    case 'bool': return { boolValue: a.value };
    case 'float64': return { doubleValue: a.value };
    default: return { stringValue: String(a.value) };
  }
}

/** `µs` as the decimal nanosecond string protobufjs (with long.js) and OTLP JSON accept. */
const nanos = (us: number) => `${us}000`;

function groupByResource(spans: readonly Span[]): Map<Resource, Span[]> {
  const groups = new Map<Resource, Span[]>();
  for (const s of spans) {
    let g = groups.get(s.resource);
    if (!g) groups.set(s.resource, (g = []));
    g.push(s);
  }
  return groups;
}

/** An `ExportTraceServiceRequest` in protobufjs message shape (ids as bytes). */
function pbRequest(spans: readonly Span[]): unknown {
  const resourceSpans = [];
  for (const [resource, group] of groupByResource(spans)) {
    resourceSpans.push({
      resource: { attributes: resource.attributes.map((a) => ({ key: a.key, value: pbValue(a) })) },
      scopeSpans: [{
        scope: { name: group[0].scope.name, version: group[0].scope.version },
        spans: group.map((s) => ({
          traceId: Buffer.from(s.traceId, 'hex'),
          spanId: Buffer.from(s.spanId, 'hex'),
          parentSpanId: s.parentSpanId ? Buffer.from(s.parentSpanId, 'hex') : Buffer.alloc(0),
          traceState: s.traceState,
          flags: s.flags,
          name: s.name,
          kind: s.kind,
          startTimeUnixNano: nanos(s.startTimeUs),
          endTimeUnixNano: nanos(s.startTimeUs + s.durationUs),
          attributes: s.attributes.map((a) => ({ key: a.key, value: pbValue(a) })),
          events: s.events.map((e) => ({
            timeUnixNano: nanos(e.timeUs),
            name: e.name,
            attributes: e.attributes.map((a) => ({ key: a.key, value: pbValue(a) })),
          })),
          status: { code: s.status.code, message: s.status.message },
        })),
      }],
    });
  }
  return { resourceSpans };
}

/** The protobuf body of an OTLP/HTTP export of `spans`. */
export function encodeOtlpProtobuf(spans: readonly Span[]): Uint8Array {
  return otlpTypes.ExportTraceServiceRequest.encode(pbRequest(spans) as Record<string, unknown>).finish();
}

/** The OTLP JSON body (hex ids, nanosecond strings, enums as integers) of an export of `spans`. */
export function encodeOtlpJson(spans: readonly Span[]): string {
  const resourceSpans = [];
  for (const [resource, group] of groupByResource(spans)) {
    resourceSpans.push({
      resource: { attributes: resource.attributes.map((a) => ({ key: a.key, value: jsonValue(a) })) },
      scopeSpans: [{
        scope: { name: group[0].scope.name, version: group[0].scope.version },
        spans: group.map((s) => ({
          traceId: s.traceId,
          spanId: s.spanId,
          ...(s.parentSpanId ? { parentSpanId: s.parentSpanId } : {}),
          flags: s.flags,
          name: s.name,
          kind: s.kind,
          startTimeUnixNano: nanos(s.startTimeUs),
          endTimeUnixNano: nanos(s.startTimeUs + s.durationUs),
          attributes: s.attributes.map((a) => ({ key: a.key, value: jsonValue(a) })),
          events: s.events.map((e) => ({
            timeUnixNano: nanos(e.timeUs),
            name: e.name,
            attributes: e.attributes.map((a) => ({ key: a.key, value: jsonValue(a) })),
          })),
          status: { code: s.status.code, ...(s.status.message ? { message: s.status.message } : {}) },
        })),
      }],
    });
  }
  return JSON.stringify({ resourceSpans });
}

/**
 * A protobuf body that can be re-sent as new traces: `copy(generation)` returns the body with
 * bytes 8–11 of every trace id replaced by `generation` (the generator puts the trace index in
 * bytes 12–15, so ids stay unique per (generation, trace)). Lets a rate-driven load run for as
 * long as it needs without pre-encoding millions of spans, and without turning into rewrites.
 */
export class ReusableBody {
  private readonly offsets: number[] = [];

  constructor(readonly data: Uint8Array, readonly spans: number, traceIds: Iterable<string>) {
    const buf = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
    for (const id of new Set(traceIds)) {
      const needle = Buffer.from(id, 'hex');
      for (let at = buf.indexOf(needle); at !== -1; at = buf.indexOf(needle, at + 16)) this.offsets.push(at);
    }
  }

  copy(generation: number): Buffer {
    const out = Buffer.from(this.data);
    for (const at of this.offsets) out.writeUInt32BE(generation >>> 0, at + 8);
    return out;
  }
}

/** Encodes batches of spans as `ReusableBody`s. */
export function reusableBodies(batches: Iterable<readonly Span[]>): ReusableBody[] {
  const out: ReusableBody[] = [];
  for (const b of batches) out.push(new ReusableBody(encodeOtlpProtobuf(b), b.length, b.map((s) => s.traceId)));
  return out;
}
