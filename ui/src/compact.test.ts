import { describe, expect, it } from 'vitest';
import { compactToTrace } from './compact.js';
import type { CompactTrace } from './jaeger-types.js';
import { buildTraceModel } from './trace-model.js';

const compact: CompactTrace = {
  traceID: 'abc',
  warnings: ['span 0000000000000003: invalid parent span IDs=ffffffffffffffff; skipping clock skew adjustment'],
  services: ['web', 'api'],
  operations: ['GET /', 'query'],
  spans: {
    spanID: ['0000000000000002', '0000000000000001', '0000000000000003'],
    parentSpanID: ['0000000000000001', '', 'ffffffffffffffff'],
    startTime: [1_000_100, 1_000_000, 1_000_500],
    duration: [300, 1000, 50],
    service: [1, 0, 1],
    operation: [1, 0, 1],
    kind: [3, 2, 1],
    flags: [1, 0, 2],
  },
};

describe('compactToTrace', () => {
  it('gives the trace model the same tree, services, kinds, errors and warnings as Jaeger JSON would', () => {
    const m = buildTraceModel(compactToTrace(compact));
    expect(m.spans.map((s) => s.spanID)).toEqual(['0000000000000001', '0000000000000002', '0000000000000003']);
    expect([...m.depth]).toEqual([0, 1, 0]);
    expect(m.services[m.service[1]]).toBe('api');
    expect(m.spans[1].operationName).toBe('query');
    expect(m.spans[1].tags).toEqual([{ key: 'span.kind', type: 'string', value: 'client' }, { key: 'error', type: 'bool', value: true }]);
    expect(m.errorCount).toBe(1);
    expect(m.orphanCount).toBe(1);
    expect(m.rootCount).toBe(1);
    expect(m.warnings).toEqual(compact.warnings);
    expect(m.durationUs).toBe(1000);
  });
});
