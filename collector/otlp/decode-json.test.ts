import { describe, expect, it } from 'vitest';
import { decodeOtlpJson } from './decode-json.js';
import { InvalidRequestError } from './errors.js';

const TRACE = '5b8efff798038103d269b633813fc60c';
const SPAN = 'eee19b7ec3c1b174';
const PARENT = 'eee19b7ec3c1b173';

function body(spans: unknown[], resource: unknown = { attributes: [{ key: 'service.name', value: { stringValue: 'checkout' } }] }) {
  return JSON.stringify({ resourceSpans: [{ resource, scopeSpans: [{ scope: { name: 'lib', version: '2' }, spans }] }] });
}

const base = {
  traceId: TRACE.toUpperCase(),
  spanId: SPAN.toUpperCase(),
  parentSpanId: PARENT,
  name: 'op',
  kind: 3,
  startTimeUnixNano: '1544712660000000000',
  endTimeUnixNano: '1544712661000000999',
};

describe('decodeOtlpJson', () => {
  it('decodes the opentelemetry-proto example request (hex ids, case-insensitive)', () => {
    const r = decodeOtlpJson(body([base]));
    expect(r.rejectedSpans).toBe(0);
    expect(r.spans).toHaveLength(1);
    const s = r.spans[0];
    expect(s.traceId).toBe(TRACE);
    expect(s.spanId).toBe(SPAN);
    expect(s.parentSpanId).toBe(PARENT);
    expect(s.startTimeUs).toBe(1544712660000000);
    expect(s.durationUs).toBe(1000000);
    expect(s.kind).toBe(3);
    expect(s.resource.serviceName).toBe('checkout');
    expect(s.scope).toEqual({ name: 'lib', version: '2' });
    expect(s.status).toEqual({ code: 0, message: '' });
    expect(s.flags).toBe(0);
    expect(s.traceState).toBe('');
    expect(s.events).toEqual([]);
    expect(s.links).toEqual([]);
  });

  it('maps every AnyValue type, int64 as string or number, and nested values canonically', () => {
    const r = decodeOtlpJson(
      body([
        {
          ...base,
          attributes: [
            { key: 's', value: { stringValue: 'x' } },
            { key: 'b', value: { boolValue: false } },
            { key: 'i', value: { intValue: '123' } },
            { key: 'inum', value: { intValue: 456 } },
            { key: 'big', value: { intValue: '-9223372036854775808' } },
            { key: 'd', value: { doubleValue: 0.25 } },
            { key: 'dstr', value: { doubleValue: 'Infinity' } },
            { key: 'bytes', value: { bytesValue: 'AQL/' } },
            { key: 'arr', value: { arrayValue: { values: [{ intValue: 1 }, { string_value: 'y' }, { double_value: 'NaN' }] } } },
            { key: 'kv', value: { kvlistValue: { values: [{ key: 'a', value: { kvlistValue: { values: [] } } }, { key: 'e' }] } } },
            { key: 'snake', value: { int_value: '7' } },
            { key: 'null', value: null },
            { key: 'none' },
          ],
        },
      ]),
    );
    expect(r.rejectedSpans).toBe(0);
    expect(r.spans[0].attributes).toEqual([
      { key: 's', type: 'string', value: 'x' },
      { key: 'b', type: 'bool', value: false },
      { key: 'i', type: 'int64', value: 123 },
      { key: 'inum', type: 'int64', value: 456 },
      { key: 'big', type: 'int64', value: '-9223372036854775808' },
      { key: 'd', type: 'float64', value: 0.25 },
      { key: 'dstr', type: 'float64', value: Infinity },
      { key: 'bytes', type: 'binary', value: 'AQL/' },
      { key: 'arr', type: 'array', value: '{"values":[{"intValue":"1"},{"stringValue":"y"},{"doubleValue":"NaN"}]}' },
      { key: 'kv', type: 'kvlist', value: '{"values":[{"key":"a","value":{"kvlistValue":{"values":[]}}},{"key":"e","value":{}}]}' },
      { key: 'snake', type: 'int64', value: 7 },
      { key: 'null', type: 'string', value: '' },
      { key: 'none', type: 'string', value: '' },
    ]);
  });

  it('accepts snake_case keys, numeric int64 times, enum names, and ignores unknown fields', () => {
    const r = decodeOtlpJson(
      JSON.stringify({
        resource_spans: [
          {
            resource: { attributes: [{ key: 'service.name', value: { string_value: 'snake' } }] },
            scope_spans: [
              {
                scope: { name: 's' },
                schema_url: 'ignored',
                spans: [
                  {
                    trace_id: TRACE,
                    span_id: SPAN,
                    parent_span_id: '',
                    trace_state: 'k=v',
                    flags: 257,
                    name: 'n',
                    kind: 'SPAN_KIND_SERVER',
                    start_time_unix_nano: 1544712660000000,
                    end_time_unix_nano: 1544712660005000,
                    dropped_attributes_count: 2,
                    status: { code: 'STATUS_CODE_ERROR', message: 'bad' },
                    events: [{ time_unix_nano: '1544712660001000', name: 'e', attributes: [], unknown: 1 }],
                    links: [{ trace_id: TRACE, span_id: PARENT, trace_state: 't=1', dropped_attributes_count: 1 }],
                    somethingNew: { nested: true },
                  },
                ],
              },
            ],
          },
        ],
      }),
    );
    expect(r.rejectedSpans).toBe(0);
    const s = r.spans[0];
    expect(s).toMatchObject({
      traceId: TRACE,
      spanId: SPAN,
      parentSpanId: '',
      traceState: 'k=v',
      flags: 1,
      kind: 2,
      startTimeUs: 1544712660000,
      durationUs: 5,
      droppedAttributesCount: 2,
      status: { code: 2, message: 'bad' },
      events: [{ timeUs: 1544712660001, name: 'e', attributes: [] }],
      links: [{ traceId: TRACE, spanId: PARENT, traceState: 't=1', attributes: [], droppedAttributesCount: 1 }],
      resource: { serviceName: 'snake' },
      scope: { name: 's', version: '' },
    });
  });

  it("defaults the service name to 'unknown_service'", () => {
    expect(decodeOtlpJson(body([base], null)).spans[0].resource).toEqual({ serviceName: 'unknown_service', attributes: [] });
  });

  it('rejects invalid spans with reasons and keeps the rest', () => {
    const r = decodeOtlpJson(
      body([
        { ...base, traceId: 'zz' + TRACE.slice(2) },
        { ...base, traceId: 'AAAAAAAAAAAAAAAAAAAAAA==' },
        { ...base, spanId: '00000000000000' },
        { ...base, startTimeUnixNano: '15447126600000000001x' },
        { ...base, endTimeUnixNano: '1' },
        { ...base, attributes: [{ key: 'x', value: { intValue: 1.5 } }] },
        { ...base, status: { code: 7 } },
        'not a span',
        { ...base, name: 'good' },
      ]),
    );
    expect(r.spans.map((s) => s.name)).toEqual(['good']);
    expect(r.rejectedSpans).toBe(8);
    expect(r.errorMessage).toContain('spans[0]: traceId must be a hex string');
    expect(r.errorMessage).toContain('spans[1]: traceId must be a hex string');
    expect(r.errorMessage).toContain('spans[2]: spanId must be 8 bytes, got 7');
    expect(r.errorMessage).toContain('spans[3]: startTimeUnixNano must be nanoseconds');
    expect(r.errorMessage).toContain('spans[4]: endTimeUnixNano must not be before startTimeUnixNano');
    expect(r.errorMessage).toContain('and 3 more');
  });

  it('rejects every span of a resource whose attributes are malformed', () => {
    const r = decodeOtlpJson(body([base, base], { attributes: [{ key: 'service.name', value: { stringValue: 5 } }] }));
    expect(r.spans).toEqual([]);
    expect(r.rejectedSpans).toBe(2);
    expect(r.errorMessage).toContain('resourceSpans[0].resource.attributes[0].value.stringValue: must be a string');
  });

  it('treats an empty object as an empty request', () => {
    expect(decodeOtlpJson('{}')).toEqual({ spans: [], rejectedSpans: 0, errorMessage: '' });
    expect(decodeOtlpJson('{"resourceSpans":[]}').spans).toEqual([]);
  });

  it('throws InvalidRequestError for invalid JSON and wrong structure', () => {
    expect(() => decodeOtlpJson('{"resourceSpans": [')).toThrow(InvalidRequestError);
    expect(() => decodeOtlpJson('{"resourceSpans": [')).toThrow(/invalid JSON/);
    expect(() => decodeOtlpJson('[1,2]')).toThrow(/must be a JSON object/);
    expect(() => decodeOtlpJson('{"resourceSpans": 5}')).toThrow(/resourceSpans must be an array/);
    expect(() => decodeOtlpJson('{"resourceSpans": [{"scopeSpans": {}}]}')).toThrow(/resourceSpans\[0\]\.scopeSpans must be an array/);
  });
});

describe('decodeOtlpJson input quirks', () => {
  it('accepts a UTF-8 byte order mark', () => {
    expect(decodeOtlpJson(Buffer.from('\ufeff{"resourceSpans":[]}', 'utf8')).spans).toEqual([]);
  });
});

describe('decodeOtlpJson regressions found by fuzzing', () => {
  it('rejects a span whose event time is beyond 2^53 µs (it was stored inexact)', () => {
    const r = decodeOtlpJson(body([{ ...base, events: [{ name: 'late', timeUnixNano: '11000000000000000000' }] }, base]));
    expect(r.spans).toHaveLength(1);
    expect(r.rejectedSpans).toBe(1);
    expect(r.errorMessage).toContain('events[0].timeUnixNano must be a time before 2255');
  });
});
