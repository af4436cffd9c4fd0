/**
 * Builds valid model spans with sensible defaults, for tests and benchmarks. Only the fields a
 * test cares about need to be given.
 */
import { randomBytes } from 'node:crypto';
import { type Attribute, type Span, SpanKind, StatusCode } from './span.js';

export const newTraceId = (): string => randomBytes(16).toString('hex');
export const newSpanId = (): string => randomBytes(8).toString('hex');

export function stringAttrs(map: Record<string, string>): Attribute[] {
  return Object.entries(map).map(([key, value]) => ({ key, type: 'string' as const, value }));
}

export function buildSpan(fields: Partial<Span> & { service?: string }): Span {
  const { service, ...rest } = fields;
  const serviceName = service ?? rest.resource?.serviceName ?? 'svc';
  return {
    traceId: newTraceId(),
    spanId: newSpanId(),
    parentSpanId: '',
    traceState: '',
    flags: 1,
    name: 'op',
    kind: SpanKind.INTERNAL,
    startTimeUs: Date.now() * 1000,
    durationUs: 1000,
    attributes: [],
    events: [],
    links: [],
    status: { code: StatusCode.UNSET, message: '' },
    resource: { serviceName, attributes: [{ key: 'service.name', type: 'string', value: serviceName }] },
    scope: { name: 'test', version: '1.0.0' },
    ...rest,
  };
}
