import { describe, expect, it } from 'vitest';
import { InvalidRequestError } from '../otlp/errors.js';
import { decodeZipkinJson } from './decode.js';

const base = {
  traceId: '86154a4ba6e91385',
  id: '4d1e00c0db9010db',
  parentId: '86154a4ba6e91385',
  name: 'get /api',
  timestamp: 1472470996199000,
  duration: 207000,
};

describe('decodeZipkinJson', () => {
  it('maps a Zipkin v2 span per the OTel Zipkin mapping', () => {
    const r = decodeZipkinJson(
      JSON.stringify([
        {
          ...base,
          kind: 'CLIENT',
          localEndpoint: { serviceName: 'frontend', ipv4: '192.168.99.1', port: 3306 },
          remoteEndpoint: { serviceName: 'backend', ipv4: '172.19.0.2', port: 9000 },
          annotations: [
            { timestamp: 1472470996238000, value: 'ws' },
            { timestamp: 1472470996403000, value: 'wr' },
          ],
          tags: {
            'http.path': '/api',
            'clnt/finagle.version': '6.45.0',
            error: 'connection refused',
            'otel.scope.name': 'zipkin-lib',
            'otel.scope.version': '1.0',
          },
          debug: true,
          shared: false,
        },
      ]),
    );
    expect(r.rejectedSpans).toBe(0);
    expect(r.spans).toEqual([
      {
        traceId: '000000000000000086154a4ba6e91385',
        spanId: '4d1e00c0db9010db',
        parentSpanId: '86154a4ba6e91385',
        traceState: '',
        flags: 1,
        name: 'get /api',
        kind: 3,
        startTimeUs: 1472470996199000,
        durationUs: 207000,
        attributes: [
          { key: 'http.path', type: 'string', value: '/api' },
          { key: 'clnt/finagle.version', type: 'string', value: '6.45.0' },
          { key: 'peer.service', type: 'string', value: 'backend' },
          { key: 'net.peer.ip', type: 'string', value: '172.19.0.2' },
          { key: 'net.peer.port', type: 'int64', value: 9000 },
        ],
        events: [
          { timeUs: 1472470996238000, name: 'ws', attributes: [] },
          { timeUs: 1472470996403000, name: 'wr', attributes: [] },
        ],
        links: [],
        status: { code: 2, message: 'connection refused' },
        resource: { serviceName: 'frontend', attributes: [{ key: 'service.name', type: 'string', value: 'frontend' }] },
        scope: { name: 'zipkin-lib', version: '1.0' },
      },
    ]);
  });

  it('treats parentId == id as a root, absent kind as INTERNAL, and defaults the service', () => {
    const r = decodeZipkinJson(JSON.stringify([{ ...base, traceId: 'A'.repeat(32), parentId: base.id, duration: undefined, tags: { error: 'true' } }]));
    const s = r.spans[0];
    expect(s.traceId).toBe('a'.repeat(32));
    expect(s.parentSpanId).toBe('');
    expect(s.kind).toBe(1);
    expect(s.durationUs).toBe(0);
    expect(s.status).toEqual({ code: 2, message: '' });
    expect(s.resource.serviceName).toBe('unknown_service');
  });

  it('maps otel.status_code/otel.status_description tags to the status', () => {
    const r = decodeZipkinJson(JSON.stringify([{ ...base, tags: { 'otel.status_code': 'ERROR', 'otel.status_description': 'boom', x: 'y' } }]));
    expect(r.spans[0].status).toEqual({ code: 2, message: 'boom' });
    expect(r.spans[0].attributes).toEqual([{ key: 'x', type: 'string', value: 'y' }]);
  });

  it('rejects invalid spans with reasons, keeping the rest', () => {
    const r = decodeZipkinJson(
      JSON.stringify([
        { ...base, traceId: 'xyz' },
        { ...base, id: undefined },
        { ...base, timestamp: undefined },
        { ...base, kind: 'SIDEWAYS' },
        { ...base, traceId: '0000000000000000' },
        { ...base, name: 'ok' },
      ]),
    );
    expect(r.spans.map((s) => s.name)).toEqual(['ok']);
    expect(r.rejectedSpans).toBe(5);
    expect(r.errorMessage).toContain('spans[0]: traceId must be up to 32 hex characters');
    expect(r.errorMessage).toContain('spans[1]: id is required');
    expect(r.errorMessage).toContain('spans[2]: timestamp is required');
    expect(r.errorMessage).toContain('spans[3]: kind must be CLIENT, SERVER, PRODUCER or CONSUMER');
    expect(r.errorMessage).toContain('spans[4]: traceId must not be all zeros');
  });

  it('throws InvalidRequestError for non-JSON and non-arrays', () => {
    expect(() => decodeZipkinJson('[{')).toThrow(InvalidRequestError);
    expect(() => decodeZipkinJson('{"traceId":"1"}')).toThrow(/JSON array/);
  });
});

describe('decodeZipkinJson regressions found by fuzzing', () => {
  it('rejects a span whose timestamp + duration is beyond 2^53 µs (its end was stored inexact)', () => {
    const r = decodeZipkinJson(JSON.stringify([
      { traceId: '463ac35c9f6413ad', id: 'a2fb4a1d1a96d312', timestamp: Number.MAX_SAFE_INTEGER, duration: 1 },
      { traceId: '463ac35c9f6413ad', id: 'a2fb4a1d1a96d313', timestamp: Number.MAX_SAFE_INTEGER - 1, duration: 1 },
    ]));
    expect(r.spans.map((s) => s.spanId)).toEqual(['a2fb4a1d1a96d313']);
    expect(r.errorMessage).toContain('spans[0]: timestamp + duration must be before 2255');
  });
});
