/**
 * Span fixtures for the storage contract suite, built in code with times relative to "now" so
 * they always fall inside default query windows. Only the fields a test cares about are given.
 */
import { randomBytes } from 'node:crypto';
import { type Attribute, type Span, SpanKind, StatusCode } from '../../model/span.js';

export const MINUTE_US = 60_000_000;
export const HOUR_US = 60 * MINUTE_US;
export const DAY_US = 24 * HOUR_US;

export const nowUs = (): number => Date.now() * 1000;
export const newTraceId = (): string => randomBytes(16).toString('hex');
export const newSpanId = (): string => randomBytes(8).toString('hex');

export const str = (key: string, value: string): Attribute => ({ key, type: 'string', value });

export interface SpanSpec {
  traceId: string;
  service: string;
  name?: string;
  spanId?: string;
  parentSpanId?: string;
  kind?: SpanKind;
  startTimeUs: number;
  durationUs?: number;
  attributes?: Attribute[];
  resourceAttributes?: Attribute[];
  events?: Span['events'];
  status?: Span['status'];
}

/** A minimal valid span; the resource carries `service.name` plus `resourceAttributes`. */
export function makeSpan(spec: SpanSpec): Span {
  return {
    traceId: spec.traceId,
    spanId: spec.spanId ?? newSpanId(),
    parentSpanId: spec.parentSpanId ?? '',
    traceState: '',
    flags: 1,
    name: spec.name ?? 'op',
    kind: spec.kind ?? SpanKind.INTERNAL,
    startTimeUs: spec.startTimeUs,
    durationUs: spec.durationUs ?? 1000,
    attributes: spec.attributes ?? [],
    events: spec.events ?? [],
    links: [],
    status: spec.status ?? { code: StatusCode.UNSET, message: '' },
    resource: { serviceName: spec.service, attributes: [str('service.name', spec.service), ...(spec.resourceAttributes ?? [])] },
    scope: { name: 'meshtrace-test', version: '1.0.0' },
  };
}

/**
 * A server span in `frontend` calling a client span, which calls a server span in `backend`:
 * three spans, two services, one cross-service edge (frontend → backend).
 */
export function makeCallTrace(opts: { startTimeUs: number; traceId?: string; childError?: boolean; frontend?: string; backend?: string }): Span[] {
  const traceId = opts.traceId ?? newTraceId();
  const t = opts.startTimeUs;
  const frontend = opts.frontend ?? 'frontend';
  const backend = opts.backend ?? 'backend';
  const root = makeSpan({ traceId, service: frontend, name: 'GET /', kind: SpanKind.SERVER, startTimeUs: t, durationUs: 10_000 });
  const client = makeSpan({ traceId, service: frontend, name: 'call backend', kind: SpanKind.CLIENT, parentSpanId: root.spanId, startTimeUs: t + 1000, durationUs: 8000 });
  const server = makeSpan({
    traceId, service: backend, name: 'handle', kind: SpanKind.SERVER, parentSpanId: client.spanId, startTimeUs: t + 2000, durationUs: 6000,
    status: opts.childError ? { code: StatusCode.ERROR, message: 'boom' } : { code: StatusCode.UNSET, message: '' },
  });
  return [root, client, server];
}

/** One span with every field set, every attribute type included. */
export function makeRichSpan(traceId: string, startTimeUs: number): Span {
  const attrs: Attribute[] = [
    str('http.method', 'GET'),
    { key: 'ok', type: 'bool', value: true },
    { key: 'not.ok', type: 'bool', value: false },
    { key: 'count', type: 'int64', value: 42 },
    { key: 'negative', type: 'int64', value: -7 },
    { key: 'big', type: 'int64', value: '9223372036854775807' },
    { key: 'big.negative', type: 'int64', value: '-9007199254740993' },
    { key: 'ratio', type: 'float64', value: 0.25 },
    { key: 'whole.float', type: 'float64', value: 2 },
    { key: 'blob', type: 'binary', value: Buffer.from([0, 1, 2, 255]).toString('base64') },
    { key: 'list', type: 'array', value: '{"values":[{"stringValue":"a"},{"intValue":"1"}]}' },
    { key: 'map', type: 'kvlist', value: '{"values":[{"key":"k","value":{"boolValue":true}}]}' },
    str('unicode', 'żółć ✓ "quoted" \\ back'),
    str('empty', ''),
  ];
  return {
    traceId,
    spanId: newSpanId(),
    parentSpanId: newSpanId(),
    traceState: 'rojo=00f067aa0ba902b7,congo=t61rcWkgMzE',
    flags: 0x101,
    name: 'rich op',
    kind: SpanKind.PRODUCER,
    startTimeUs,
    durationUs: 123_456,
    attributes: attrs,
    events: [
      { timeUs: startTimeUs + 10, name: 'exception', attributes: [str('exception.type', 'Error'), { key: 'n', type: 'int64', value: 3 }], droppedAttributesCount: 1 },
      { timeUs: startTimeUs + 20, name: 'bare', attributes: [] },
    ],
    links: [
      { traceId: newTraceId(), spanId: newSpanId(), traceState: 'a=b', attributes: [str('link.kind', 'retry')], droppedAttributesCount: 2 },
      { traceId: newTraceId(), spanId: newSpanId(), attributes: [] },
    ],
    status: { code: StatusCode.ERROR, message: 'it failed' },
    resource: {
      serviceName: 'rich-service',
      attributes: [str('service.name', 'rich-service'), str('host.name', 'box-1'), { key: 'process.pid', type: 'int64', value: 1234 }],
    },
    scope: { name: 'io.meshtrace.test', version: '2.3.4' },
    droppedAttributesCount: 5,
    droppedEventsCount: 6,
    droppedLinksCount: 7,
  };
}

/** Spans sorted by id, for order-insensitive comparison. */
export const bySpanId = (spans: readonly Span[]): Span[] => [...spans].sort((a, b) => (a.spanId < b.spanId ? -1 : a.spanId > b.spanId ? 1 : 0));
