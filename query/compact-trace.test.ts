import { describe, expect, it } from 'vitest';
import { SpanKind, StatusCode, type Attribute, type Span } from '../model/span.js';
import { toCompactTrace } from './compact-trace.js';

let next = 1;
function span(kind: Span['kind'], attributes: Attribute[] = [], events: Span['events'] = []): Span {
  return {
    traceId: 'b'.repeat(32), spanId: (next++).toString(16).padStart(16, '0'), parentSpanId: '', traceState: '', flags: 1,
    name: 'GET ratings', kind, startTimeUs: 1_000_000, durationUs: 10, attributes, events, links: [],
    status: { code: StatusCode.UNSET, message: '' }, resource: { serviceName: 'reviews', attributes: [] }, scope: { name: '', version: '' },
  };
}

describe('compact trace: the mesh section', () => {
  it('lists only spans a sidecar acted on: tries, retried calls and meshtrace.* events', () => {
    const logical = span(SpanKind.CLIENT, [{ key: 'meshtrace.retried', type: 'bool', value: true }, { key: 'meshtrace.retry.attempts', type: 'int64', value: 2 }]);
    const try1 = span(SpanKind.CLIENT, [{ key: 'meshtrace.attempt', type: 'int64', value: 1 }], [
      { timeUs: 1_000_004, name: 'meshtrace.retry', attributes: [{ key: 'meshtrace.retry.reason', type: 'string', value: '503' }] },
      { timeUs: 1_000_005, name: 'exception', attributes: [] },
    ]);
    const try2 = span(SpanKind.CLIENT, [{ key: 'meshtrace.attempt', type: 'int64', value: 2 }, { key: 'meshtrace.retry.backoff_ms', type: 'int64', value: 7 }]);
    const plain = span(SpanKind.SERVER, [{ key: 'meshtrace.attempt', type: 'int64', value: 9 }]); // not a CLIENT span: not a try
    const c = toCompactTrace({ traceId: 'b'.repeat(32), spans: [plain, logical, try1, try2] });
    expect(c.mesh).toEqual([
      { span: 1, events: [], tries: 2 },
      { span: 2, attempt: 1, events: [{ name: 'meshtrace.retry', time: 1_000_004, attributes: { 'meshtrace.retry.reason': '503' } }] },
      { span: 3, attempt: 2, backoffMs: 7, events: [] },
    ]);
    expect(toCompactTrace({ traceId: 'b'.repeat(32), spans: [span(SpanKind.CLIENT)] }).mesh).toBeUndefined();
  });
});
