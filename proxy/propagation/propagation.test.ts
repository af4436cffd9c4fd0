import { ROOT_CONTEXT, trace, TraceFlags, propagation, type TextMapGetter, type TextMapSetter, createTraceState } from '@opentelemetry/api';
import { W3CTraceContextPropagator, W3CBaggagePropagator } from '@opentelemetry/core';
import { B3InjectEncoding, B3Propagator } from '@opentelemetry/propagator-b3';
import { JaegerPropagator } from '@opentelemetry/propagator-jaeger';
import { describe, expect, it } from 'vitest';
import { parseBaggage, serializeBaggage, MAX_BAGGAGE_MEMBERS } from './baggage.js';
import { extractB3Multi, extractB3Single } from './b3.js';
import { newSpanId, newTraceId } from './ids.js';
import { extract, inject, TRACE_HEADERS, type SpanContext } from './index.js';
import { extractJaeger } from './jaeger.js';
import { parseTraceparent, parseTracestate } from './w3c.js';

const T = '4bf92f3577b34da6a3ce929d0e0e4736';
const S = '00f067aa0ba902b7';

const getter: TextMapGetter<Record<string, string | string[]>> = {
  keys: (c) => Object.keys(c),
  get: (c, k) => c[k.toLowerCase()],
};
const setter: TextMapSetter<Record<string, string>> = { set: (c, k, v) => { c[k.toLowerCase()] = v; } };

/** Headers an OTel SDK propagator writes for a context. */
function peerInject(p: { inject: (ctx: any, carrier: any, setter: any) => void }, sc: { traceId: string; spanId: string; sampled: boolean; traceState?: string }) {
  const ctx = trace.setSpanContext(ROOT_CONTEXT, {
    traceId: sc.traceId, spanId: sc.spanId, traceFlags: sc.sampled ? TraceFlags.SAMPLED : TraceFlags.NONE, isRemote: true,
    traceState: sc.traceState ? createTraceState(sc.traceState) : undefined,
  });
  const out: Record<string, string> = {};
  p.inject(ctx, out, setter);
  return out;
}

/** What an OTel SDK propagator reads from headers we wrote. */
function peerExtract(p: { extract: (ctx: any, carrier: any, getter: any) => any }, headers: Record<string, string | string[]>) {
  return trace.getSpanContext(p.extract(ROOT_CONTEXT, headers, getter));
}

describe('W3C traceparent', () => {
  it('parses a valid header', () => {
    expect(parseTraceparent(`00-${T}-${S}-01`)).toEqual({ traceId: T, spanId: S, sampled: true });
    expect(parseTraceparent(`00-${T}-${S}-00`)).toEqual({ traceId: T, spanId: S, sampled: false });
    // other flag bits do not mean sampled
    expect(parseTraceparent(`00-${T}-${S}-02`)?.sampled).toBe(false);
  });
  it.each([
    ['empty', ''],
    ['uppercase', `00-${T.toUpperCase()}-${S}-01`],
    ['all-zero trace id', `00-${'0'.repeat(32)}-${S}-01`],
    ['all-zero span id', `00-${T}-${'0'.repeat(16)}-01`],
    ['short trace id', `00-${T.slice(1)}-${S}-01`],
    ['long span id', `00-${T}-${S}0-01`],
    ['version ff', `ff-${T}-${S}-01`],
    ['version 00 with extra field', `00-${T}-${S}-01-extra`],
    ['bad flags', `00-${T}-${S}-0x`],
    ['garbage', 'hello'],
  ])('rejects %s', (_, v) => {
    expect(parseTraceparent(v)).toBeUndefined();
  });
  it('accepts a future version with extra fields', () => {
    expect(parseTraceparent(`cc-${T}-${S}-01-what-the-future-holds`)).toEqual({ traceId: T, spanId: S, sampled: true });
  });
  it('rejects a repeated traceparent header', () => {
    expect(extract({ traceparent: [`00-${T}-${S}-01`, `00-${T}-${S}-01`] }).context).toBeUndefined();
  });
  it('reads what the OTel W3C propagator writes, and the OTel propagator reads what we write', () => {
    const w3c = new W3CTraceContextPropagator();
    const headers = peerInject(w3c, { traceId: T, spanId: S, sampled: true, traceState: 'vendor=x,other=y' });
    const got = extract(headers);
    expect(got.format).toBe('tracecontext');
    expect(got.context).toEqual({ traceId: T, spanId: S, sampled: true, traceState: 'vendor=x,other=y' });
    const out: Record<string, string | string[]> = {};
    inject({ traceId: T, spanId: S, sampled: false, traceState: 'a=1' }, ['tracecontext'], out);
    const sc = peerExtract(w3c, out);
    expect(sc).toMatchObject({ traceId: T, spanId: S, traceFlags: TraceFlags.NONE });
    expect(sc?.traceState?.serialize()).toBe('a=1');
  });
});

describe('W3C tracestate', () => {
  it('keeps valid members in order', () => {
    expect(parseTracestate('rojo=00f067aa0ba902b7, congo=t61rcWkgMzE')).toBe('rojo=00f067aa0ba902b7,congo=t61rcWkgMzE');
    expect(parseTracestate(['a=1', 'b=2'])).toBe('a=1,b=2');
    expect(parseTracestate('tenant@vendor=v')).toBe('tenant@vendor=v');
  });
  it('keeps 32 members and discards a list of more (the spec limit; the W3C harness wants it dropped, not cut)', () => {
    const list = (n: number) => Array.from({ length: n }, (_, i) => `k${i}=v${i}`).join(',');
    expect(parseTracestate(list(32))!.split(',')).toHaveLength(32);
    expect(parseTracestate(list(33))).toBeUndefined();
    // Repeated keys are counted once.
    expect(parseTracestate(`${list(32)},k0=again`)!.split(',')).toHaveLength(32);
  });
  it('keeps the first member of a repeated key', () => {
    expect(parseTracestate('a=1,a=1')).toBe('a=1');
    expect(parseTracestate(['a=1,b=2', 'a=3'])).toBe('a=1,b=2');
  });
  it("accepts Level 2 keys: '@' anywhere after the first character, up to 256 characters", () => {
    expect(parseTracestate('foo@=1,bar=2')).toBe('foo@=1,bar=2');
    expect(parseTracestate('foo@bar@baz=1')).toBe('foo@bar@baz=1');
    expect(parseTracestate(`t@${'v'.repeat(15)}=1`)).toBe(`t@${'v'.repeat(15)}=1`);
    expect(parseTracestate(`${'z'.repeat(256)}=1`)).toBe(`${'z'.repeat(256)}=1`);
    expect(parseTracestate(`${'z'.repeat(257)}=1,foo=1`)).toBeUndefined();
    expect(parseTracestate('@foo=1,bar=2')).toBeUndefined();
  });
  it('discards malformed headers whole', () => {
    expect(parseTracestate('novalue')).toBeUndefined();
    expect(parseTracestate('UPPER=1')).toBeUndefined();
    expect(parseTracestate('a=has,comma')).toBeUndefined();
    expect(parseTracestate('foo=,bar=3')).toBeUndefined();
  });
  it('is dropped when traceparent is invalid', () => {
    const got = extract({ traceparent: 'bad', tracestate: 'a=1' });
    expect(got.context).toBeUndefined();
    expect(got.invalid).toEqual(['tracecontext']);
  });
});

describe('B3', () => {
  it('single header: all fields, 64-bit ids padded, debug', () => {
    expect(extractB3Single({ b3: `${T}-${S}-1-${'0'.repeat(15)}1` })).toEqual({ context: { traceId: T, spanId: S, sampled: true } });
    expect(extractB3Single({ b3: `a3ce929d0e0e4736-${S}` })).toEqual({ context: { traceId: `0000000000000000a3ce929d0e0e4736`, spanId: S, sampled: true } });
    expect(extractB3Single({ b3: `${T}-${S}-0` })).toEqual({ context: { traceId: T, spanId: S, sampled: false } });
    expect(extractB3Single({ b3: `${T}-${S}-d` })).toEqual({ context: { traceId: T, spanId: S, sampled: true, debug: true } });
  });
  it('single header: sampling-only values are hints', () => {
    expect(extractB3Single({ b3: '0' })).toEqual({ hint: { sampled: false, debug: false } });
    expect(extractB3Single({ b3: 'd' })).toEqual({ hint: { sampled: true, debug: true } });
  });
  it.each([`${T}`, `${T}-short`, `${T}-${S}-x`, `${T.toUpperCase()}-${S}-1`, `${'0'.repeat(32)}-${S}-1`, `${T}-${S}-1-bad`, 'x'])('single header rejects %s', (v) => {
    expect(extractB3Single({ b3: v })).toBeUndefined();
  });
  it('multi headers: sampled, flags, legacy true/false', () => {
    expect(extractB3Multi({ 'x-b3-traceid': T, 'x-b3-spanid': S, 'x-b3-sampled': '1' })).toEqual({ context: { traceId: T, spanId: S, sampled: true } });
    expect(extractB3Multi({ 'x-b3-traceid': T, 'x-b3-spanid': S, 'x-b3-sampled': 'false' })).toEqual({ context: { traceId: T, spanId: S, sampled: false } });
    expect(extractB3Multi({ 'x-b3-traceid': T, 'x-b3-spanid': S, 'x-b3-flags': '1' })).toEqual({ context: { traceId: T, spanId: S, sampled: true, debug: true } });
    expect(extractB3Multi({ 'x-b3-sampled': '0' })).toEqual({ hint: { sampled: false, debug: false } });
    expect(extractB3Multi({ 'x-b3-traceid': T })).toBeUndefined();
    expect(extractB3Multi({ 'x-b3-traceid': T, 'x-b3-spanid': S, 'x-b3-sampled': 'maybe' })).toBeUndefined();
  });
  it('interoperates with the OTel B3 propagator in both encodings', () => {
    for (const injectEncoding of [B3InjectEncoding.SINGLE_HEADER, B3InjectEncoding.MULTI_HEADER]) {
      const b3 = new B3Propagator({ injectEncoding });
      for (const sampled of [true, false]) {
        const headers = peerInject(b3, { traceId: T, spanId: S, sampled });
        expect(extract(headers).context).toEqual({ traceId: T, spanId: S, sampled });
        const out: Record<string, string | string[]> = {};
        inject({ traceId: T, spanId: S, sampled }, [injectEncoding === B3InjectEncoding.SINGLE_HEADER ? 'b3' : 'b3multi'], out);
        expect(peerExtract(new B3Propagator(), out)).toMatchObject({ traceId: T, spanId: S, traceFlags: sampled ? 1 : 0 });
      }
    }
  });
});

describe('Jaeger uber-trace-id', () => {
  it('parses, pads and reads flags', () => {
    expect(extractJaeger({ 'uber-trace-id': `${T}:${S}:0:1` })).toEqual({ traceId: T, spanId: S, sampled: true });
    expect(extractJaeger({ 'uber-trace-id': 'abc:def:0:0' })).toEqual({ traceId: 'abc'.padStart(32, '0'), spanId: 'def'.padStart(16, '0'), sampled: false });
    expect(extractJaeger({ 'uber-trace-id': `${T}%3A${S}%3A0%3A3` })).toEqual({ traceId: T, spanId: S, sampled: true, debug: true });
  });
  it.each(['', `${T}:${S}:0`, `0:${S}:0:1`, `${T}:0:0:1`, `${T}:${S}:0:zz`, `${T}0:${S}:0:1`])('rejects %s', (v) => {
    expect(extractJaeger({ 'uber-trace-id': v })).toBeUndefined();
  });
  it('interoperates with the OTel Jaeger propagator', () => {
    const j = new JaegerPropagator();
    const headers = peerInject(j, { traceId: T, spanId: S, sampled: true });
    expect(extract(headers)).toMatchObject({ context: { traceId: T, spanId: S, sampled: true }, format: 'jaeger' });
    const out: Record<string, string | string[]> = {};
    inject({ traceId: T, spanId: S, sampled: true }, ['jaeger'], out);
    expect(peerExtract(j, out)).toMatchObject({ traceId: T, spanId: S, traceFlags: 1 });
  });
});

describe('W3C baggage', () => {
  it('parses entries with properties and percent-encoding', () => {
    expect(parseBaggage('userId=alice,serverNode=DF%2028,isProduction=false;p=1')).toEqual([
      { key: 'userId', value: 'alice' },
      { key: 'serverNode', value: 'DF 28' },
      { key: 'isProduction', value: 'false', properties: 'p=1' },
    ]);
    expect(serializeBaggage([{ key: 'k', value: 'a b' }])).toBe('k=a%20b');
  });
  it('rejects malformed headers and ones over the limits', () => {
    expect(parseBaggage('=novalue')).toBeUndefined();
    expect(parseBaggage('k=v"q')).toBeUndefined();
    expect(parseBaggage(Array.from({ length: MAX_BAGGAGE_MEMBERS + 1 }, (_, i) => `k${i}=v`).join(','))).toBeUndefined();
    expect(parseBaggage(`k=${'x'.repeat(9000)}`)).toBeUndefined();
  });
  it('reads an empty property list as no properties, so what it parsed serializes back the same (found by fuzzing)', () => {
    const entries = parseBaggage('a=%20%20;, b=1; p=2');
    expect(entries).toEqual([{ key: 'a', value: '  ' }, { key: 'b', value: '1', properties: 'p=2' }]);
    expect(parseBaggage(serializeBaggage(entries!))).toEqual(entries);
  });
  it('is forwarded verbatim by inject, and the OTel baggage propagator reads it', () => {
    const out: Record<string, string | string[]> = { baggage: 'userId=alice,serverNode=DF%2028' };
    inject({ traceId: T, spanId: S, sampled: true }, ['tracecontext', 'baggage'], out);
    expect(out['baggage']).toBe('userId=alice,serverNode=DF%2028');
    const bag = propagation.getBaggage(new W3CBaggagePropagator().extract(ROOT_CONTEXT, out, getter));
    expect(bag?.getEntry('serverNode')?.value).toBe('DF 28');
    const bad: Record<string, string | string[]> = { baggage: '=broken' };
    inject({ traceId: T, spanId: S, sampled: true }, ['baggage'], bad);
    expect(bad['baggage']).toBeUndefined();
  });
});

describe('extract / inject', () => {
  it('prefers W3C over B3 over Jaeger', () => {
    const other = 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa';
    expect(extract({ traceparent: `00-${T}-${S}-01`, b3: `${other}-${S}-1` }).format).toBe('tracecontext');
    expect(extract({ b3: `${T}-${S}-1`, 'x-b3-traceid': other, 'x-b3-spanid': S }).format).toBe('b3');
    expect(extract({ 'x-b3-traceid': T, 'x-b3-spanid': S, 'uber-trace-id': `${other}:${S}:0:1` }).format).toBe('b3multi');
  });
  it('falls back to the next valid format and reports the invalid one', () => {
    const got = extract({ traceparent: 'garbage', 'x-b3-traceid': T, 'x-b3-spanid': S, 'x-b3-sampled': '1' });
    expect(got).toMatchObject({ format: 'b3multi', invalid: ['tracecontext'], context: { traceId: T } });
  });
  it('no headers → nothing', () => {
    expect(extract({})).toEqual({ invalid: [] });
  });
  it('inject writes W3C always plus the configured formats, removing stale trace headers', () => {
    const ctx: SpanContext = { traceId: T, spanId: S, sampled: true };
    const out: Record<string, string | string[]> = {
      'x-b3-traceid': 'ffffffffffffffffffffffffffffffff', 'x-b3-spanid': 'ffffffffffffffff', 'x-b3-parentspanid': 'eeeeeeeeeeeeeeee',
      'uber-trace-id': 'stale', 'uberctx-user': 'bob', baggage: 'k=v', other: 'kept',
    };
    inject(ctx, ['b3'], out);
    expect(out).toEqual({
      traceparent: `00-${T}-${S}-01`, b3: `${T}-${S}-1`, 'uberctx-user': 'bob', baggage: 'k=v', other: 'kept',
    });
    const multi: Record<string, string | string[]> = {};
    inject({ ...ctx, debug: true }, ['b3multi', 'jaeger'], multi);
    expect(multi).toEqual({ traceparent: `00-${T}-${S}-01`, 'x-b3-traceid': T, 'x-b3-spanid': S, 'x-b3-flags': '1', 'uber-trace-id': `${T}:${S}:0:3` });
    for (const h of TRACE_HEADERS) expect(typeof h).toBe('string');
  });
});

describe('ids', () => {
  it('are lowercase hex of the right length and distinct', () => {
    const traces = new Set(Array.from({ length: 500 }, newTraceId));
    const spans = new Set(Array.from({ length: 500 }, newSpanId));
    expect(traces.size).toBe(500);
    expect(spans.size).toBe(500);
    for (const t of traces) expect(t).toMatch(/^[0-9a-f]{32}$/);
    for (const s of spans) expect(s).toMatch(/^[0-9a-f]{16}$/);
  });
});
