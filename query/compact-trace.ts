/**
 * The compact trace form behind the meshtrace extension `GET /api/ext/traces/:id/compact`
 * (see query/routes/ui-extensions.ts): what a waterfall needs, as parallel arrays with service
 * and operation names interned. About a tenth of Jaeger JSON's size, so a 100k-span trace opens
 * without shipping and parsing ~70 MB; tags, events and resources stay on the server and are
 * fetched one span at a time.
 */
import { SpanKind, StatusCode, type Trace } from '../model/span.js';
import { jaegerTraceId } from './jaeger/ids.js';

/** Bits of `CompactTrace.spans.flags`. */
export const CompactFlag = {
  /** status ERROR (Jaeger: `error=true`). */
  ERROR: 1,
  /** The span has warnings from the adjusters (listed in `warnings`). */
  WARNINGS: 2,
  /** The span has links (Jaeger: FOLLOWS_FROM references). */
  LINKS: 4,
} as const;

/** A span the service mesh acted on (issue 12): what the waterfall marks on its row. */
export interface CompactMesh {
  /** Index into the span arrays. */
  span: number;
  /** `meshtrace.attempt` of a sidecar's per-try span (1, 2, …). */
  attempt?: number;
  /** `meshtrace.retry.backoff_ms`: the back-off waited before this try. */
  backoffMs?: number;
  /** A sidecar's logical call that was retried (`meshtrace.retried`): its number of tries (`meshtrace.retry.attempts`). */
  tries?: number;
  /** The span's `meshtrace.*` events: name, time (µs since the epoch) and attributes. */
  events: { name: string; time: number; attributes: Record<string, string | number | boolean> }[];
}

export interface CompactTrace {
  /** Jaeger spelling: 16 hex chars when the high half is zero. */
  traceID: string;
  /** Trace warnings, then one `span <spanID>: <warning>` line per span warning; null when none. */
  warnings: string[] | null;
  services: string[];
  operations: string[];
  /** One entry per span in each array, in the trace's span order. */
  spans: {
    spanID: string[];
    /** Parent span id ('' for a root), after the query-time adjusters. */
    parentSpanID: string[];
    /** µs since the epoch. */
    startTime: number[];
    /** µs. */
    duration: number[];
    /** Index into `services`. */
    service: number[];
    /** Index into `operations`. */
    operation: number[];
    /** OTLP span kind number: 0 unspecified, 1 internal, 2 server, 3 client, 4 producer, 5 consumer. */
    kind: number[];
    /** CompactFlag bits. */
    flags: number[];
  };
  /** Spans a meshtrace sidecar acted on (retry tries, faults, overflow, ejection, timeouts); absent when none. */
  mesh?: CompactMesh[];
}

const MESH_PREFIX = 'meshtrace.';

/** The mesh's marks on span `i`, or undefined: a look at its events, and at a CLIENT span's attributes. */
function meshOf(s: Trace['spans'][number], i: number): CompactMesh | undefined {
  let out: CompactMesh | undefined;
  for (const e of s.events) {
    if (!e.name.startsWith(MESH_PREFIX)) continue;
    const attributes: CompactMesh['events'][number]['attributes'] = {};
    for (const a of e.attributes) attributes[a.key] = a.value;
    (out ??= { span: i, events: [] }).events.push({ name: e.name, time: e.timeUs, attributes });
  }
  if (s.kind === SpanKind.CLIENT) {
    let retried = false;
    let tries: number | undefined;
    for (const a of s.attributes) {
      if (a.key === 'meshtrace.attempt' && typeof a.value === 'number') (out ??= { span: i, events: [] }).attempt = a.value;
      else if (a.key === 'meshtrace.retry.backoff_ms' && typeof a.value === 'number') (out ??= { span: i, events: [] }).backoffMs = a.value;
      else if (a.key === 'meshtrace.retried' && a.value === true) retried = true;
      else if (a.key === 'meshtrace.retry.attempts' && typeof a.value === 'number') tries = a.value;
    }
    if (retried && tries !== undefined) (out ??= { span: i, events: [] }).tries = tries;
  }
  return out;
}

export function toCompactTrace(trace: Trace): CompactTrace {
  const n = trace.spans.length;
  const services: string[] = [];
  const operations: string[] = [];
  const svcIdx = new Map<string, number>();
  const opIdx = new Map<string, number>();
  const out: CompactTrace['spans'] = {
    spanID: new Array(n), parentSpanID: new Array(n), startTime: new Array(n), duration: new Array(n),
    service: new Array(n), operation: new Array(n), kind: new Array(n), flags: new Array(n),
  };
  const warnings = [...(trace.warnings ?? [])];
  const mesh: CompactMesh[] = [];
  for (let i = 0; i < n; i++) {
    const s = trace.spans[i];
    const m = meshOf(s, i);
    if (m) mesh.push(m);
    let si = svcIdx.get(s.resource.serviceName);
    if (si === undefined) { si = services.length; svcIdx.set(s.resource.serviceName, si); services.push(s.resource.serviceName); }
    let oi = opIdx.get(s.name);
    if (oi === undefined) { oi = operations.length; opIdx.set(s.name, oi); operations.push(s.name); }
    out.spanID[i] = s.spanId;
    out.parentSpanID[i] = s.parentSpanId;
    out.startTime[i] = s.startTimeUs;
    out.duration[i] = s.durationUs;
    out.service[i] = si;
    out.operation[i] = oi;
    out.kind[i] = s.kind >= SpanKind.UNSPECIFIED && s.kind <= SpanKind.CONSUMER ? s.kind : 0;
    let f = 0;
    if (s.status.code === StatusCode.ERROR) f |= CompactFlag.ERROR;
    if (s.warnings?.length) {
      f |= CompactFlag.WARNINGS;
      for (const w of s.warnings) warnings.push(`span ${s.spanId}: ${w}`);
    }
    if (s.links.length) f |= CompactFlag.LINKS;
    out.flags[i] = f;
  }
  const compact: CompactTrace = {
    traceID: jaegerTraceId(trace.traceId),
    warnings: warnings.length ? warnings : null,
    services,
    operations,
    spans: out,
  };
  if (mesh.length) compact.mesh = mesh;
  return compact;
}
