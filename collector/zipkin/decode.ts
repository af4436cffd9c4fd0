/**
 * Zipkin v2 JSON (`POST /api/v2/spans`, a JSON array of spans; openzipkin/zipkin-api
 * zipkin2-api.yaml) → span-model spans. Pure. The mapping follows the OpenTelemetry Collector's
 * Zipkin receiver and the OTel→Zipkin spec, read backwards:
 * - `localEndpoint.serviceName` → resource `service.name` (default 'unknown_service');
 * - `kind` CLIENT/SERVER/PRODUCER/CONSUMER → the OTLP kind, absent → INTERNAL;
 * - `timestamp`/`duration` are µs already; `annotations` → events; `tags` → string attributes;
 * - tag `error` → status ERROR (its value, unless empty or "true", is the status message);
 *   `otel.status_code`/`otel.status_description` → status; `otel.scope.name`/`.version`
 *   (or the older `otel.library.*`) → scope. These tags are consumed, not kept as attributes;
 * - `remoteEndpoint` → `peer.service`, `net.peer.ip`, `net.peer.port`;
 * - ids: hex, left-padded (16-char trace ids become 32); `parentId == id` means no parent;
 *   shared client/server span ids are left for the query-time adjuster.
 * Zipkin only reports sampled spans, so flags are 1 (sampled).
 */
import { DEFAULT_SERVICE_NAME, SpanKind, StatusCode, type Attribute, type InstrumentationScope, type Resource, type Span } from '../../model/span.js';
import { Rejections, type DecodeResult } from '../otlp/decode-result.js';
import { InvalidRequestError, InvalidSpanError } from '../otlp/errors.js';
import { ZERO_SPAN_ID, ZERO_TRACE_ID } from '../otlp/ids.js';

type Obj = Record<string, unknown>;

const HEX_RE = /^[0-9a-fA-F]+$/;

function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Lowercase hex left-padded to `width` chars; throws for non-hex or longer ids. */
function zipkinId(v: unknown, field: string, width: 16 | 32, required: boolean): string {
  if (v === undefined || v === null || v === '') {
    if (required) throw new InvalidSpanError(`${field} is required`);
    return '';
  }
  if (typeof v !== 'string' || !HEX_RE.test(v) || v.length > width) {
    throw new InvalidSpanError(`${field} must be up to ${width} hex characters`);
  }
  return v.toLowerCase().padStart(width, '0');
}

const KINDS: Record<string, SpanKind> = {
  CLIENT: SpanKind.CLIENT,
  SERVER: SpanKind.SERVER,
  PRODUCER: SpanKind.PRODUCER,
  CONSUMER: SpanKind.CONSUMER,
};

function micros(v: unknown, field: string): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0 || v > Number.MAX_SAFE_INTEGER) {
    throw new InvalidSpanError(`${field} must be microseconds since the epoch (a non-negative integer)`);
  }
  return Math.floor(v);
}

function optString(v: unknown, field: string): string {
  if (v === undefined || v === null) return '';
  if (typeof v !== 'string') throw new InvalidSpanError(`${field} must be a string`);
  return v;
}

/** Throws `InvalidRequestError` when the body is not a JSON array. */
export function decodeZipkinJson(body: Uint8Array | string): DecodeResult {
  let doc: unknown;
  try {
    doc = JSON.parse(typeof body === 'string' ? body : Buffer.from(body.buffer, body.byteOffset, body.byteLength).toString('utf8'));
  } catch (err) {
    throw new InvalidRequestError(`invalid JSON: ${(err as Error).message}`);
  }
  if (!Array.isArray(doc)) throw new InvalidRequestError('body must be a JSON array of Zipkin v2 spans');
  const spans: Span[] = [];
  const rejections = new Rejections();
  // One resource object per service within a request, as OTLP shares one per ResourceSpans.
  const resources = new Map<string, Resource>();
  for (let i = 0; i < doc.length; i++) {
    try {
      spans.push(normalizeZipkinSpan(doc[i], resources));
    } catch (err) {
      if (!(err instanceof InvalidSpanError)) throw err;
      rejections.add(1, `spans[${i}]: ${err.message}`);
    }
  }
  return rejections.result(spans);
}

function resourceFor(serviceName: string, resources: Map<string, Resource>): Resource {
  let r = resources.get(serviceName);
  if (!r) {
    r = { serviceName, attributes: [{ key: 'service.name', type: 'string', value: serviceName }] };
    resources.set(serviceName, r);
  }
  return r;
}

function normalizeZipkinSpan(v: unknown, resources: Map<string, Resource>): Span {
  if (!isObj(v)) throw new InvalidSpanError('must be an object');
  const traceId = zipkinId(v.traceId, 'traceId', 32, true);
  if (traceId === ZERO_TRACE_ID) throw new InvalidSpanError('traceId must not be all zeros');
  const spanId = zipkinId(v.id, 'id', 16, true);
  if (spanId === ZERO_SPAN_ID) throw new InvalidSpanError('id must not be all zeros');
  let parentSpanId = zipkinId(v.parentId, 'parentId', 16, false);
  if (parentSpanId === spanId || parentSpanId === ZERO_SPAN_ID) parentSpanId = '';

  if (v.timestamp === undefined || v.timestamp === null) throw new InvalidSpanError('timestamp is required');
  const startTimeUs = micros(v.timestamp, 'timestamp');
  if (startTimeUs === 0) throw new InvalidSpanError('timestamp must be after 1970');
  const durationUs = v.duration === undefined || v.duration === null ? 0 : micros(v.duration, 'duration');
  // Its end must stay exact too, as OTLP's does (found by fuzzing: 2^53-1 + 1 was accepted).
  if (startTimeUs + durationUs > Number.MAX_SAFE_INTEGER) throw new InvalidSpanError('timestamp + duration must be before 2255');

  let kind: SpanKind = SpanKind.INTERNAL;
  if (v.kind !== undefined && v.kind !== null) {
    const k = typeof v.kind === 'string' ? KINDS[v.kind.toUpperCase()] : undefined;
    if (k === undefined) throw new InvalidSpanError('kind must be CLIENT, SERVER, PRODUCER or CONSUMER');
    kind = k;
  }

  let serviceName = DEFAULT_SERVICE_NAME;
  if (v.localEndpoint !== undefined && v.localEndpoint !== null) {
    if (!isObj(v.localEndpoint)) throw new InvalidSpanError('localEndpoint must be an object');
    const s = optString(v.localEndpoint.serviceName, 'localEndpoint.serviceName');
    if (s !== '') serviceName = s;
  }

  const attributes: Attribute[] = [];
  const status: Span['status'] = { code: StatusCode.UNSET, message: '' };
  const scope: InstrumentationScope = { name: '', version: '' };
  if (v.tags !== undefined && v.tags !== null) {
    if (!isObj(v.tags)) throw new InvalidSpanError('tags must be an object of strings');
    let otelCode: string | undefined;
    let otelDescription: string | undefined;
    for (const key of Object.keys(v.tags)) {
      const raw = v.tags[key];
      if (raw !== null && typeof raw === 'object') throw new InvalidSpanError(`tags.${key} must be a string`);
      const value = raw === undefined || raw === null ? '' : String(raw);
      switch (key) {
        case 'error':
          status.code = StatusCode.ERROR;
          if (value !== '' && value !== 'true') status.message = value;
          break;
        case 'otel.status_code':
          otelCode = value.toUpperCase();
          break;
        case 'otel.status_description':
          otelDescription = value;
          break;
        case 'otel.scope.name':
        case 'otel.library.name':
          scope.name = value;
          break;
        case 'otel.scope.version':
        case 'otel.library.version':
          scope.version = value;
          break;
        default:
          attributes.push({ key, type: 'string', value });
      }
    }
    if (otelCode === 'ERROR') status.code = StatusCode.ERROR;
    else if (otelCode === 'OK') status.code = StatusCode.OK;
    if (otelDescription !== undefined && otelDescription !== '') status.message = otelDescription;
  }

  if (v.remoteEndpoint !== undefined && v.remoteEndpoint !== null) {
    const re = v.remoteEndpoint;
    if (!isObj(re)) throw new InvalidSpanError('remoteEndpoint must be an object');
    const peer = optString(re.serviceName, 'remoteEndpoint.serviceName');
    if (peer !== '') attributes.push({ key: 'peer.service', type: 'string', value: peer });
    const ip = optString(re.ipv4, 'remoteEndpoint.ipv4') || optString(re.ipv6, 'remoteEndpoint.ipv6');
    if (ip !== '') attributes.push({ key: 'net.peer.ip', type: 'string', value: ip });
    if (re.port !== undefined && re.port !== null && re.port !== 0) {
      if (typeof re.port !== 'number' || !Number.isInteger(re.port) || re.port < 0 || re.port > 65535) {
        throw new InvalidSpanError('remoteEndpoint.port must be 0-65535');
      }
      attributes.push({ key: 'net.peer.port', type: 'int64', value: re.port });
    }
  }

  const events: Span['events'] = [];
  if (v.annotations !== undefined && v.annotations !== null) {
    if (!Array.isArray(v.annotations)) throw new InvalidSpanError('annotations must be an array');
    for (let i = 0; i < v.annotations.length; i++) {
      const a = v.annotations[i];
      if (!isObj(a)) throw new InvalidSpanError(`annotations[${i}] must be an object`);
      events.push({
        timeUs: micros(a.timestamp, `annotations[${i}].timestamp`),
        name: optString(a.value, `annotations[${i}].value`),
        attributes: [],
      });
    }
  }

  return {
    traceId,
    spanId,
    parentSpanId,
    traceState: '',
    flags: 1,
    name: optString(v.name, 'name'),
    kind,
    startTimeUs,
    durationUs,
    attributes,
    events,
    links: [],
    status,
    resource: resourceFor(serviceName, resources),
    scope,
  };
}
