/**
 * What a meshtrace sidecar did to a call (issue 12), read back from spans: the per-try number
 * and back-off of a retried call's try spans, and the `meshtrace.*` span events (retry, fault,
 * overflow, ejection, no healthy upstream, timeout, route). The waterfall marks rows with them and
 * the span details spell them out, so a reader sees without docs that a call was retried and why.
 * Names and attributes: proxy/README.md, "The mesh in the trace".
 */
import type { KV, Span } from './jaeger-types.js';

export type MeshKind = 'retry' | 'fault' | 'overflow' | 'ejection' | 'no-healthy' | 'timeout' | 'route';

export interface MeshMarker {
  kind: MeshKind;
  /** µs since the epoch. */
  timeUs: number;
  /** A few words for the row (`retry: 503`, `fault: delay 30 ms`). */
  label: string;
  /** One sentence for the details and the marker's tooltip. */
  detail: string;
  /** A fault delay's length, ms (drawn on the bar). */
  delayMs?: number;
}

export interface MeshRow {
  /** Try number (1, 2, …) of a sidecar's per-try span. */
  attempt?: number;
  /** Back-off waited before this try, ms. */
  backoffMs?: number;
  /** A logical call the sidecar retried: how many tries it took. */
  tries?: number;
  markers: MeshMarker[];
}

const str = (v: unknown) => (v === undefined || v === null ? '?' : String(v));

/** The marker for one `meshtrace.*` event, or undefined for another event. */
export function describeMeshEvent(name: string, a: Record<string, unknown>, timeUs: number): MeshMarker | undefined {
  const m = (kind: MeshKind, label: string, detail: string): MeshMarker => ({ kind, timeUs, label, detail });
  switch (name) {
    case 'meshtrace.retry': {
      const reason = str(a['meshtrace.retry.reason']);
      if (a['meshtrace.retry.exhausted'] === true) {
        return m('retry', `retries exhausted: ${reason}`, `This try got ${reason} and no retry was left (retries.attempts = ${str(a['meshtrace.retry.attempts'])}): its result went to the caller (URX).`);
      }
      return m('retry', `retried: ${reason}`, `This try got ${reason}, retriable under retryOn ${str(a['meshtrace.retry.retry_on'])}: the sidecar sent try ${str(a['meshtrace.retry.next_attempt'])} after a ${str(a['meshtrace.retry.backoff_ms'])} ms back-off.`);
    }
    case 'meshtrace.fault.delay':
      return withDelay(m('fault', `fault: delay ${str(a['meshtrace.fault.delay_ms'])} ms`, `Fault injection held this call ${str(a['meshtrace.fault.delay_ms'])} ms before forwarding it (fault.delay, ${str(a['meshtrace.fault.percent'])} % of requests).`), Number(a['meshtrace.fault.delay_ms']));
    case 'meshtrace.fault.abort':
      return m('fault', `fault: abort ${str(a['meshtrace.fault.abort_status'])}`, `Fault injection answered ${str(a['meshtrace.fault.abort_status'])} itself; the upstream was never called (fault.abort, ${str(a['meshtrace.fault.percent'])} % of requests).`);
    case 'meshtrace.overflow':
      return m('overflow', `overflow: ${str(a['meshtrace.overflow.limit'])}`, `The circuit breaker of ${str(a['meshtrace.upstream'])} refused this call (503 UO): ${str(a['meshtrace.overflow.current'])} requests counted against ${str(a['meshtrace.overflow.limit'])} = ${str(a['meshtrace.overflow.max'])}.`);
    case 'meshtrace.ejection': {
      const ms = Number(a['meshtrace.ejection.duration_ms']);
      const dur = Number.isFinite(ms) ? (ms >= 1000 ? `${ms / 1000} s` : `${ms} ms`) : '?';
      return m('ejection', `ejected ${str(a['meshtrace.ejection.endpoint'])}`, `This result made outlier detection eject ${str(a['meshtrace.ejection.endpoint'])} from ${str(a['meshtrace.upstream'])} for ${dur} (${str(a['meshtrace.ejection.reason'])}; ejection #${str(a['meshtrace.ejection.count'])}).`);
    }
    case 'meshtrace.no_healthy_upstream':
      return m('no-healthy', 'no healthy upstream', `Every endpoint of ${str(a['meshtrace.upstream'])} was ejected (${str(a['meshtrace.upstream.ejected'])}): answered 503 UH without calling it.`);
    case 'meshtrace.timeout': {
      const kind = a['meshtrace.timeout.kind'] === 'per_try' ? 'per-try' : 'route';
      return m('timeout', `timeout: ${kind} ${str(a['meshtrace.timeout.ms'])} ms`, `The ${kind} timeout of ${str(a['meshtrace.timeout.ms'])} ms ran out before response headers (504 UT).`);
    }
    case 'meshtrace.route': {
      const dest = str(a['meshtrace.destination']);
      return m('route', `route ${str(a['meshtrace.route.name'])} → ${dest}`, `Routed by ${str(a['meshtrace.route.name'])} (${str(a['meshtrace.route.rule'])}, match ${str(a['meshtrace.route.match'])}) to ${dest}, among ${str(a['meshtrace.route.destinations'])}.`);
    }
    default:
      return undefined;
  }
}

function withDelay(k: MeshMarker, ms: number): MeshMarker {
  if (Number.isFinite(ms) && ms > 0) k.delayMs = ms;
  return k;
}

function numberTag(tags: readonly KV[], key: string): number | undefined {
  for (const t of tags) if (t.key === key) { const v = Number(t.value); return Number.isFinite(v) ? v : undefined; }
  return undefined;
}

/** The mesh's marks on one span, or undefined when the mesh did nothing to it. */
export function meshOfSpan(s: Span): MeshRow | undefined {
  let row: MeshRow | undefined;
  for (const l of s.logs) {
    let name: unknown;
    for (const f of l.fields) if (f.key === 'event') { name = f.value; break; }
    if (typeof name !== 'string' || !name.startsWith('meshtrace.')) continue;
    const attrs: Record<string, unknown> = {};
    for (const f of l.fields) attrs[f.key] = f.value;
    const marker = describeMeshEvent(name, attrs, l.timestamp);
    if (marker) (row ??= { markers: [] }).markers.push(marker);
  }
  if (s.tags.some((t) => t.key === 'meshtrace.retried' && (t.value === true || t.value === 'true'))) {
    (row ??= { markers: [] }).tries = numberTag(s.tags, 'meshtrace.retry.attempts');
  }
  const attempt = numberTag(s.tags, 'meshtrace.attempt');
  if (attempt !== undefined) {
    row ??= { markers: [] };
    row.attempt = attempt;
    row.backoffMs = numberTag(s.tags, 'meshtrace.retry.backoff_ms');
  }
  return row;
}

/** Per row (the model's display order): the mesh's marks, or undefined. */
export function meshRows(spans: readonly Span[]): (MeshRow | undefined)[] | null {
  let out: (MeshRow | undefined)[] | null = null;
  for (let i = 0; i < spans.length; i++) {
    const r = meshOfSpan(spans[i]);
    if (r) (out ??= new Array(spans.length))[i] = r;
  }
  return out;
}

/** Markers drawn on the timeline: the route decision is in the details only (every routed call has one). */
export const isDrawn = (k: MeshMarker) => k.kind !== 'route';
