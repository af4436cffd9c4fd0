/**
 * OTLP protobuf `ExportTraceServiceRequest` → span-model spans. Pure; the receiver's hot path.
 * protobufjs does the wire decoding (generated code per type); this walks the result once,
 * converting ids to hex, fixed64 nanoseconds to µs and AnyValues to typed attributes.
 */
import type { InstrumentationScope, Resource, Span, SpanEvent, SpanLink } from '../../model/span.js';
import { pbAttributes } from './attributes-pb.js';
import { eventTimeUs, makeResource, MAX_TIME_US, Rejections, spanProblem, type DecodeResult } from './decode-result.js';
import { InvalidRequestError, InvalidSpanError } from './errors.js';
import { bytesToHex, ZERO_SPAN_ID } from './ids.js';
import { otlpTypes, type PbEvent, type PbExportTraceServiceRequest, type PbLink, type PbSpan } from './schema.js';
import { pbNanosToMicros } from './time.js';

/** Throws `InvalidRequestError` when the body is not a decodable ExportTraceServiceRequest. */
export function decodeOtlpProtobuf(body: Uint8Array): DecodeResult {
  let req: PbExportTraceServiceRequest;
  try {
    req = otlpTypes.ExportTraceServiceRequest.decode(body) as unknown as PbExportTraceServiceRequest;
  } catch (err) {
    throw new InvalidRequestError(`invalid protobuf ExportTraceServiceRequest: ${(err as Error).message}`);
  }
  return normalizePbRequest(req);
}

export function normalizePbRequest(req: PbExportTraceServiceRequest): DecodeResult {
  const spans: Span[] = [];
  const rejections = new Rejections();
  const rss = req.resourceSpans;
  for (let r = 0; r < rss.length; r++) {
    const rs = rss[r];
    let resource: Resource;
    try {
      resource = makeResource(pbAttributes(rs.resource?.attributes ?? [], `resourceSpans[${r}].resource.attributes`));
    } catch (err) {
      let n = 0;
      for (const ss of rs.scopeSpans) n += ss.spans.length;
      if (n > 0) rejections.add(n, (err as Error).message);
      continue;
    }
    const sss = rs.scopeSpans;
    for (let s = 0; s < sss.length; s++) {
      const ss = sss[s];
      const scope: InstrumentationScope = { name: ss.scope?.name ?? '', version: ss.scope?.version ?? '' };
      const pbSpans = ss.spans;
      for (let i = 0; i < pbSpans.length; i++) {
        try {
          spans.push(normalizePbSpan(pbSpans[i], resource, scope));
        } catch (err) {
          if (!(err instanceof InvalidSpanError)) throw err;
          // The span's path is spelled out only here: built for every span it was one more string each.
          rejections.add(1, `resourceSpans[${r}].scopeSpans[${s}].spans[${i}]: ${err.message}`);
        }
      }
    }
  }
  return rejections.result(spans);
}

function normalizePbSpan(p: PbSpan, resource: Resource, scope: InstrumentationScope): Span {
  const traceId = bytesToHex(p.traceId);
  const spanId = bytesToHex(p.spanId);
  let parentSpanId = bytesToHex(p.parentSpanId);
  if (parentSpanId === ZERO_SPAN_ID) parentSpanId = '';
  const startTimeUs = pbNanosToMicros(p.startTimeUnixNano);
  const endUs = pbNanosToMicros(p.endTimeUnixNano);
  const statusCode = p.status ? p.status.code : 0;
  const problem = spanProblem(traceId, spanId, parentSpanId, startTimeUs, endUs, p.kind, statusCode);
  if (problem) throw new InvalidSpanError(problem);

  const span: Span = {
    traceId,
    spanId,
    parentSpanId,
    traceState: p.traceState,
    // The model keeps the W3C trace flags only; bits 8-9 (is-remote) are OTLP bookkeeping.
    flags: p.flags & 0xff,
    name: p.name,
    kind: p.kind as Span['kind'],
    startTimeUs,
    durationUs: endUs - startTimeUs,
    attributes: pbAttributes(p.attributes, 'attributes'),
    events: p.events.length === 0 ? [] : pbEvents(p.events),
    links: p.links.length === 0 ? [] : pbLinks(p.links),
    status: { code: statusCode as Span['status']['code'], message: p.status ? p.status.message : '' },
    resource,
    scope,
  };
  if (p.droppedAttributesCount > 0) span.droppedAttributesCount = p.droppedAttributesCount;
  if (p.droppedEventsCount > 0) span.droppedEventsCount = p.droppedEventsCount;
  if (p.droppedLinksCount > 0) span.droppedLinksCount = p.droppedLinksCount;
  return span;
}

function pbEvents(events: readonly PbEvent[]): SpanEvent[] {
  const out: SpanEvent[] = new Array(events.length);
  for (let i = 0; i < events.length; i++) {
    const e = events[i];
    const ev: SpanEvent = {
      timeUs: eventTime(pbNanosToMicros(e.timeUnixNano), i),
      name: e.name,
      attributes: pbAttributes(e.attributes, `events[${i}].attributes`),
    };
    if (e.droppedAttributesCount > 0) ev.droppedAttributesCount = e.droppedAttributesCount;
    out[i] = ev;
  }
  return out;
}

/** `eventTimeUs` with the field's name made only when it is needed (the error). */
function eventTime(us: number, i: number): number {
  return us >= 0 && us <= MAX_TIME_US ? us : eventTimeUs(us, `events[${i}].timeUnixNano`);
}

function pbLinks(links: readonly PbLink[]): SpanLink[] {
  const out: SpanLink[] = new Array(links.length);
  for (let i = 0; i < links.length; i++) {
    const l = links[i];
    const traceId = bytesToHex(l.traceId);
    const spanId = bytesToHex(l.spanId);
    if (traceId.length !== 32) throw new InvalidSpanError(`links[${i}].traceId must be 16 bytes, got ${traceId.length / 2}`);
    if (spanId.length !== 16) throw new InvalidSpanError(`links[${i}].spanId must be 8 bytes, got ${spanId.length / 2}`);
    const link: SpanLink = { traceId, spanId, attributes: pbAttributes(l.attributes, `links[${i}].attributes`) };
    if (l.traceState !== '') link.traceState = l.traceState;
    if (l.droppedAttributesCount > 0) link.droppedAttributesCount = l.droppedAttributesCount;
    out[i] = link;
  }
  return out;
}
