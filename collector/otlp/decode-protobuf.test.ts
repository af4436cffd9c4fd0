import { describe, expect, it } from 'vitest';
import { decodeOtlpProtobuf } from './decode-protobuf.js';
import { InvalidRequestError } from './errors.js';
import { otlpTypes } from './schema.js';

const TRACE = '5b8efff798038103d269b633813fc60c';
const SPAN = 'eee19b7ec3c1b174';
const PARENT = 'eee19b7ec3c1b173';
const hex = (s: string) => Buffer.from(s, 'hex');

/** 2026-01-01T00:00:00.123456789Z in ns: beyond 2^53, so precision matters. */
const START_NS = '1767225600123456789';
const END_NS = '1767225601123457789';

function encode(req: object): Uint8Array {
  const T = otlpTypes.ExportTraceServiceRequest;
  return T.encode(T.fromObject(req)).finish();
}

function span(over: Record<string, unknown> = {}) {
  return {
    traceId: hex(TRACE),
    spanId: hex(SPAN),
    parentSpanId: hex(PARENT),
    name: 'GET /x',
    kind: 2,
    startTimeUnixNano: START_NS,
    endTimeUnixNano: END_NS,
    ...over,
  };
}

function request(spans: object[], resourceAttrs: object[] = [{ key: 'service.name', value: { stringValue: 'frontend' } }]) {
  return {
    resourceSpans: [
      {
        resource: { attributes: resourceAttrs },
        scopeSpans: [{ scope: { name: 'lib', version: '1.2.3' }, spans }],
      },
    ],
  };
}

describe('decodeOtlpProtobuf', () => {
  it('normalizes a span with every field and every attribute type', () => {
    const body = encode(
      request([
        span({
          traceState: 'a=b',
          flags: 0x301,
          attributes: [
            { key: 's', value: { stringValue: 'hé' } },
            { key: 'b', value: { boolValue: true } },
            { key: 'i', value: { intValue: -42 } },
            { key: 'big', value: { intValue: '9007199254740993' } },
            { key: 'neg', value: { intValue: '-9223372036854775808' } },
            { key: 'd', value: { doubleValue: 1.5 } },
            { key: 'bytes', value: { bytesValue: Buffer.from([1, 2, 255]) } },
            {
              key: 'arr',
              value: { arrayValue: { values: [{ stringValue: 'x' }, { intValue: 7 }, { doubleValue: 2.5 }, { boolValue: false }, {}] } },
            },
            {
              key: 'kv',
              value: {
                kvlistValue: {
                  values: [
                    { key: 'k', value: { stringValue: 'v' } },
                    { key: 'n', value: { arrayValue: { values: [{ bytesValue: Buffer.from('hi') }] } } },
                  ],
                },
              },
            },
            { key: 'empty' },
          ],
          droppedAttributesCount: 3,
          events: [
            { timeUnixNano: START_NS, name: 'exception', attributes: [{ key: 'exception.message', value: { stringValue: 'boom' } }], droppedAttributesCount: 1 },
          ],
          droppedEventsCount: 2,
          links: [{ traceId: hex(TRACE), spanId: hex(PARENT), traceState: 'x=y', attributes: [{ key: 'l', value: { intValue: 1 } }] }],
          droppedLinksCount: 4,
          status: { code: 2, message: 'failed' },
        }),
      ]),
    );
    const r = decodeOtlpProtobuf(body);
    expect(r.rejectedSpans).toBe(0);
    expect(r.errorMessage).toBe('');
    expect(r.spans).toHaveLength(1);
    const s = r.spans[0];
    expect(s).toEqual({
      traceId: TRACE,
      spanId: SPAN,
      parentSpanId: PARENT,
      traceState: 'a=b',
      flags: 1,
      name: 'GET /x',
      kind: 2,
      startTimeUs: 1767225600123456,
      durationUs: 1000001,
      attributes: [
        { key: 's', type: 'string', value: 'hé' },
        { key: 'b', type: 'bool', value: true },
        { key: 'i', type: 'int64', value: -42 },
        { key: 'big', type: 'int64', value: '9007199254740993' },
        { key: 'neg', type: 'int64', value: '-9223372036854775808' },
        { key: 'd', type: 'float64', value: 1.5 },
        { key: 'bytes', type: 'binary', value: 'AQL/' },
        {
          key: 'arr',
          type: 'array',
          value: '{"values":[{"stringValue":"x"},{"intValue":"7"},{"doubleValue":2.5},{"boolValue":false},{}]}',
        },
        {
          key: 'kv',
          type: 'kvlist',
          value: '{"values":[{"key":"k","value":{"stringValue":"v"}},{"key":"n","value":{"arrayValue":{"values":[{"bytesValue":"aGk="}]}}}]}',
        },
        { key: 'empty', type: 'string', value: '' },
      ],
      droppedAttributesCount: 3,
      events: [
        {
          timeUs: 1767225600123456,
          name: 'exception',
          attributes: [{ key: 'exception.message', type: 'string', value: 'boom' }],
          droppedAttributesCount: 1,
        },
      ],
      droppedEventsCount: 2,
      links: [{ traceId: TRACE, spanId: PARENT, traceState: 'x=y', attributes: [{ key: 'l', type: 'int64', value: 1 }] }],
      droppedLinksCount: 4,
      status: { code: 2, message: 'failed' },
      resource: { serviceName: 'frontend', attributes: [{ key: 'service.name', type: 'string', value: 'frontend' }] },
      scope: { name: 'lib', version: '1.2.3' },
    });
  });

  it('keeps ±2^53 boundaries exact: safe ints as numbers, beyond as decimal strings', () => {
    const r = decodeOtlpProtobuf(
      encode(
        request([
          span({
            attributes: [
              { key: 'max', value: { intValue: '9007199254740991' } },
              { key: 'over', value: { intValue: '9007199254740992' } },
              { key: 'min', value: { intValue: '-9007199254740991' } },
              { key: 'under', value: { intValue: '-9007199254740992' } },
            ],
          }),
        ]),
      ),
    );
    expect(r.spans[0].attributes.map((a) => a.value)).toEqual([9007199254740991, '9007199254740992', -9007199254740991, '-9007199254740992']);
  });

  it("defaults service name to 'unknown_service', empty parent and zero parent to root", () => {
    const r = decodeOtlpProtobuf(
      encode(request([span({ parentSpanId: Buffer.alloc(0) }), span({ spanId: hex('0000000000000001'), parentSpanId: Buffer.alloc(8) })], [])),
    );
    expect(r.spans.map((s) => s.parentSpanId)).toEqual(['', '']);
    expect(r.spans[0].resource.serviceName).toBe('unknown_service');
    expect(r.spans[0].status).toEqual({ code: 0, message: '' });
    expect(r.spans[0].scope).toEqual({ name: 'lib', version: '1.2.3' });
  });

  it('rejects invalid spans, counts them and keeps the valid ones', () => {
    const r = decodeOtlpProtobuf(
      encode(
        request([
          span({ traceId: hex('00000000000000000000000000000000') }),
          span({ traceId: hex('0102') }),
          span({ spanId: Buffer.alloc(0) }),
          span({ spanId: hex('0000000000000000') }),
          span({ parentSpanId: hex('01') }),
          span({ endTimeUnixNano: '1767225600000000000' }),
          span({ startTimeUnixNano: '0' }),
          span({ kind: 9 }),
          span({ links: [{ traceId: hex('01'), spanId: hex(SPAN) }] }),
          span({ name: 'ok' }),
        ]),
      ),
    );
    expect(r.spans.map((s) => s.name)).toEqual(['ok']);
    expect(r.rejectedSpans).toBe(9);
    expect(r.errorMessage).toContain('9 invalid span(s) rejected');
    expect(r.errorMessage).toContain('resourceSpans[0].scopeSpans[0].spans[0]: traceId must not be all zeros');
    expect(r.errorMessage).toContain('spans[1]: traceId must be 16 bytes, got 2');
    expect(r.errorMessage).toContain('and 4 more');
  });

  it('decodes an empty body as an empty request', () => {
    expect(decodeOtlpProtobuf(new Uint8Array(0))).toEqual({ spans: [], rejectedSpans: 0, errorMessage: '' });
  });

  it('throws InvalidRequestError for truncated and garbage bodies', () => {
    const good = encode(request([span()]));
    expect(() => decodeOtlpProtobuf(good.subarray(0, good.length - 7))).toThrow(InvalidRequestError);
    expect(() => decodeOtlpProtobuf(Buffer.from('this is not protobuf at all, just text'))).toThrow(/invalid protobuf/);
    expect(() => decodeOtlpProtobuf(Buffer.from([0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f]))).toThrow(InvalidRequestError);
  });
});

describe('decodeOtlpProtobuf regressions found by fuzzing', () => {
  it('rejects a span whose event time is beyond 2^53 µs (it was stored inexact)', () => {
    const r = decodeOtlpProtobuf(encode(request([span({ events: [{ timeUnixNano: '18374686480671623680', name: 'late' }] }), span()])));
    expect(r.spans).toHaveLength(1);
    expect(r.rejectedSpans).toBe(1);
    expect(r.errorMessage).toContain('events[0].timeUnixNano must be a time before 2255');
  });
});
