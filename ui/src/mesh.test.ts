import { describe, expect, it } from 'vitest';
import { compactToTrace } from './compact.js';
import type { CompactTrace, Span } from './jaeger-types.js';
import { describeMeshEvent, meshOfSpan, meshRows } from './mesh.js';
import { meshFilterOf, withMeshFilter } from './search-query.js';

const span = (over: Partial<Span>): Span => ({
  traceID: 't', spanID: 's', operationName: 'GET ratings', references: [], startTime: 1_000_000, duration: 10, tags: [], logs: [], processID: 'p1', warnings: null, ...over,
});

describe('mesh marks read back from spans', () => {
  it('turns meshtrace.* events into markers with labels and sentences, ignoring other events', () => {
    const s = span({
      tags: [{ key: 'meshtrace.attempt', type: 'int64', value: 2 }, { key: 'meshtrace.retry.backoff_ms', type: 'int64', value: 12 }],
      logs: [
        { timestamp: 1_000_005, fields: [{ key: 'event', type: 'string', value: 'meshtrace.retry' }, { key: 'meshtrace.retry.reason', type: 'string', value: '503' }, { key: 'meshtrace.retry.retry_on', type: 'string', value: '5xx' }, { key: 'meshtrace.retry.next_attempt', type: 'int64', value: 3 }, { key: 'meshtrace.retry.backoff_ms', type: 'int64', value: 20 }] },
        { timestamp: 1_000_006, fields: [{ key: 'event', type: 'string', value: 'exception' }] },
        { timestamp: 1_000_007, fields: [{ key: 'event', type: 'string', value: 'meshtrace.fault.delay' }, { key: 'meshtrace.fault.delay_ms', type: 'int64', value: 30 }, { key: 'meshtrace.fault.percent', type: 'float64', value: 100 }] },
      ],
    });
    const m = meshOfSpan(s)!;
    expect(m.attempt).toBe(2);
    expect(m.backoffMs).toBe(12);
    expect(m.markers.map((k) => [k.kind, k.label, k.timeUs])).toEqual([['retry', 'retried: 503', 1_000_005], ['fault', 'fault: delay 30 ms', 1_000_007]]);
    expect(m.markers[0].detail).toContain('try 3 after a 20 ms back-off');
    expect(m.markers[1].delayMs).toBe(30);
    expect(meshOfSpan(span({ tags: [{ key: 'meshtrace.retried', type: 'bool', value: true }, { key: 'meshtrace.retry.attempts', type: 'int64', value: 3 }] }))).toEqual({ markers: [], tries: 3 });
    expect(meshOfSpan(span({}))).toBeUndefined();
    expect(meshRows([span({}), span({})])).toBeNull();
    expect(meshRows([span({}), s])?.[1]).toEqual(m);
  });

  it('says what overflow, no healthy upstream and timeouts were, from their attributes', () => {
    expect(describeMeshEvent('meshtrace.overflow', { 'meshtrace.upstream': 'ratings', 'meshtrace.overflow.limit': 'maxRequests', 'meshtrace.overflow.max': 10, 'meshtrace.overflow.current': 10 }, 5))
      .toEqual({ kind: 'overflow', timeUs: 5, label: 'overflow: maxRequests', detail: 'The circuit breaker of ratings refused this call (503 UO): 10 requests counted against maxRequests = 10.' });
    expect(describeMeshEvent('meshtrace.no_healthy_upstream', { 'meshtrace.upstream': 'ratings', 'meshtrace.upstream.ejected': '10.0.0.1:80' }, 5)?.label).toBe('no healthy upstream');
    expect(describeMeshEvent('meshtrace.timeout', { 'meshtrace.timeout.kind': 'per_try', 'meshtrace.timeout.ms': 50 }, 5)?.label).toBe('timeout: per-try 50 ms');
    expect(describeMeshEvent('meshtrace.timeout', { 'meshtrace.timeout.kind': 'route', 'meshtrace.timeout.ms': 2000 }, 5)?.detail).toBe('The route timeout of 2000 ms ran out before response headers (504 UT).');
    expect(describeMeshEvent('retry', {}, 5)).toBeUndefined();
  });

  it('rebuilds the marks from the compact form before span details are fetched', () => {
    const c: CompactTrace = {
      traceID: 'abc', warnings: null, services: ['reviews'], operations: ['GET ratings'],
      spans: { spanID: ['a', 'b'], parentSpanID: ['', 'a'], startTime: [0, 5], duration: [10, 3], service: [0, 0], operation: [0, 0], kind: [3, 3], flags: [0, 1] },
      mesh: [{ span: 1, attempt: 1, events: [{ name: 'meshtrace.ejection', time: 7, attributes: { 'meshtrace.ejection.endpoint': '10.0.0.1:80', 'meshtrace.ejection.duration_ms': 30000 } }] }],
    };
    const t = compactToTrace(c);
    expect(meshOfSpan(t.spans[0])).toBeUndefined();
    const m = meshOfSpan(t.spans[1])!;
    expect(m.attempt).toBe(1);
    expect(m.markers[0]).toMatchObject({ kind: 'ejection', label: 'ejected 10.0.0.1:80', timeUs: 7 });
    expect(m.markers[0].detail).toContain('for 30 s');
    // The error mark of the compact flags is kept.
    expect(t.spans[1].tags).toContainEqual({ key: 'error', type: 'bool', value: true });
  });

  it('search: the mesh filter is one tag in the logfmt text, replacing the previous one', () => {
    expect(withMeshFilter('http.status_code=500', 'meshtrace.retried=true')).toBe('http.status_code=500 meshtrace.retried=true');
    expect(withMeshFilter('meshtrace.retried=true a=b', 'meshtrace.fault=delay')).toBe('a=b meshtrace.fault=delay');
    expect(withMeshFilter('meshtrace.fault=delay', '')).toBe('');
    expect(meshFilterOf('a=b meshtrace.fault=abort')).toBe('meshtrace.fault=abort');
    expect(meshFilterOf('a=b')).toBe('');
  });
});
