import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSidecar, type Sidecar } from '../sidecar.js';
import { listen, type Running } from '../testing/harness.js';

/**
 * The W3C trace-context conformance harness (github w3c/trace-context, test/test.py at acab820,
 * default STRICT_LEVEL 2, SPEC_LEVEL 1), ported case by case with the harness's test names.
 *
 * In the harness a service under test receives a request and makes a callback to the harness,
 * which checks the trace headers of that callback. Here the service under test is a real sidecar:
 * the test sends the harness's request to its inbound port, and the app behind it plays the
 * harness's callback receiver, so what is checked is the request the sidecar forwards. Headers go
 * out on a raw socket because the harness repeats headers and varies their names' casing, which
 * Node's HTTP client would merge or normalise.
 *
 * The checks parse the forwarded headers the way the harness's own classes do
 * (test/tracecontext/traceparent.py and tracestate.py): a forwarded member the harness cannot
 * parse fails the case, as it errors the harness's.
 *
 * Not ported: AdvancedTest (the service makes three callbacks for one request; a sidecar forwards
 * each request once) and TraceContext2Test (SPEC_LEVEL 2, not the default).
 */

type HeaderList = [string, string][];

/** The harness's Traceparent.from_string for what a version-00 sender writes: exactly four fields. */
function parseTraceparent(value: string): { version: string; traceId: string; parentId: string; flags: string } {
  const parts = value.split('-');
  if (parts.length !== 4) throw new Error(`traceparent ${JSON.stringify(value)}: expected 4 fields`);
  const [version, traceId, parentId, flags] = parts;
  if (!/^[0-9a-f]{2}$/.test(version) || version === 'ff') throw new Error(`bad version in ${value}`);
  if (!/^[0-9a-f]{32}$/.test(traceId) || /^0+$/.test(traceId)) throw new Error(`bad trace_id in ${value}`);
  if (!/^[0-9a-f]{16}$/.test(parentId) || /^0+$/.test(parentId)) throw new Error(`bad parent_id in ${value}`);
  if (!/^[0-9a-f]{2}$/.test(flags)) throw new Error(`bad trace_flags in ${value}`);
  return { version, traceId, parentId, flags };
}

/** The harness's Tracestate: members of every tracestate header in order, first of a repeated key kept. */
class Tracestate {
  private static readonly MEMBER = /^([0-9a-z][_0-9a-z\-*/@]{0,255})(=)([\x20-\x2b\x2d-\x3c\x3e-\x7e]{0,255}[\x21-\x2b\x2d-\x3c\x3e-\x7e])$/;
  readonly traits = new Map<string, string>();
  fromString(s: string): void {
    for (const member of s.split(/[ \t]*,[ \t]*/)) {
      if (!member) continue;
      const m = Tracestate.MEMBER.exec(member);
      if (!m) throw new Error(`illegal key-value format ${JSON.stringify(member)}`);
      if (!this.traits.has(m[1])) this.traits.set(m[1], m[3]);
    }
  }
  has(key: string): boolean { return this.traits.has(key); }
  get(key: string): string | undefined { return this.traits.get(key); }
  get size(): number { return this.traits.size; }
  toString(): string { return [...this.traits].map(([k, v]) => `${k}=${v}`).join(','); }
}

describe('W3C trace-context harness (test/test.py, STRICT_LEVEL 2) against a sidecar', () => {
  let app: Running;
  let sidecar: Sidecar;
  /** Raw header pairs of each request the sidecar forwarded to the app, by x-harness-id. */
  const forwarded = new Map<string, HeaderList>();
  let seq = 0;

  beforeAll(async () => {
    app = await listen((req, res) => {
      const pairs: HeaderList = [];
      for (let i = 0; i < req.rawHeaders.length; i += 2) pairs.push([req.rawHeaders[i], req.rawHeaders[i + 1]]);
      forwarded.set(String(req.headers['x-harness-id']), pairs);
      req.resume();
      req.on('end', () => res.end('ok'));
    });
    sidecar = await startSidecar({
      service: 'harness-target', appPort: app.port, inboundPort: 0, outboundPort: 0, adminPort: 0, accessLog: false,
    });
  });
  afterAll(async () => {
    await sidecar?.close({ drainMs: 100 });
    await app?.close();
  });

  /** The harness's make_request with one callback: what the sidecar forwarded for these headers. */
  async function makeRequest(headers: HeaderList): Promise<HeaderList> {
    const id = String(++seq);
    const body = '[]';
    const text = `POST /test HTTP/1.1\r\nHost: 127.0.0.1:${sidecar.inboundPort}\r\nx-harness-id: ${id}\r\n` +
      headers.map(([k, v]) => `${k}: ${v}\r\n`).join('') +
      `content-type: application/json\r\ncontent-length: ${body.length}\r\nconnection: close\r\n\r\n${body}`;
    const reply = await new Promise<string>((resolve, reject) => {
      const s = connect(sidecar.inboundPort, '127.0.0.1', () => s.write(text));
      let out = '';
      s.on('data', (c: Buffer) => { out += c.toString('latin1'); });
      s.on('close', () => resolve(out));
      s.on('error', reject);
      s.setTimeout(5000, () => s.destroy());
    });
    expect(reply, 'the sidecar answered').toMatch(/^HTTP\/1\.1 200 /);
    const got = forwarded.get(id);
    expect(got, 'your test service failed to make a callback to the test harness').toBeDefined();
    return got!;
  }

  /** make_single_request_and_get_tracecontext: exactly one traceparent, every tracestate header parsed. */
  async function tracecontext(headers: HeaderList) {
    const out = await makeRequest(headers);
    const tps = out.filter(([k]) => /^traceparent$/i.test(k));
    expect(tps, 'expect one traceparent header').toHaveLength(1);
    const traceparent = parseTraceparent(tps[0][1]);
    const tracestate = new Tracestate();
    for (const [k, v] of out) if (/^tracestate$/i.test(k)) tracestate.fromString(v);
    return { traceparent, tracestate };
  }

  const TP = '00-12345678901234567890123456789012-1234567890123456-00';
  const TRACE = '12345678901234567890123456789012';
  /** Cases whose only check is that this traceparent was not continued. */
  const newTrace = async (value: string) => {
    const { traceparent } = await tracecontext([['traceparent', value]]);
    expect(traceparent.traceId).not.toBe(TRACE);
    return traceparent;
  };
  const sameTrace = async (headers: HeaderList) => {
    const r = await tracecontext(headers);
    expect(r.traceparent.traceId).toBe(TRACE);
    return r;
  };

  describe('TraceContextTest: traceparent', () => {
    it('test_both_traceparent_and_tracestate_missing', async () => {
      await tracecontext([]);
    });
    it('test_traceparent_included_tracestate_missing', async () => {
      const { traceparent } = await sameTrace([['traceparent', '00-12345678901234567890123456789012-1234567890123456-01']]);
      expect(traceparent.parentId).not.toBe('1234567890123456');
    });
    it('test_traceparent_duplicated', async () => {
      const { traceparent } = await tracecontext([
        ['traceparent', '00-12345678901234567890123456789011-1234567890123456-01'],
        ['traceparent', '00-12345678901234567890123456789012-1234567890123456-01'],
      ]);
      expect(traceparent.traceId).not.toBe('12345678901234567890123456789011');
      expect(traceparent.traceId).not.toBe(TRACE);
    });
    it('test_traceparent_header_name', async () => {
      for (const name of ['trace-parent', 'trace.parent']) {
        const { traceparent } = await tracecontext([[name, '00-12345678901234567890123456789012-1234567890123456-01']]);
        expect(traceparent.traceId).not.toBe(TRACE);
      }
    });
    it('test_traceparent_header_name_valid_casing', async () => {
      for (const name of ['TraceParent', 'TrAcEpArEnT', 'TRACEPARENT']) await sameTrace([[name, '00-12345678901234567890123456789012-1234567890123456-01']]);
    });
    it('test_traceparent_version_0x00', async () => {
      await newTrace('00-12345678901234567890123456789012-1234567890123456-01.');
      await newTrace('00-12345678901234567890123456789012-1234567890123456-01-what-the-future-will-be-like');
    });
    it('test_traceparent_version_0xcc', async () => {
      await sameTrace([['traceparent', 'cc-12345678901234567890123456789012-1234567890123456-01']]);
      await sameTrace([['traceparent', 'cc-12345678901234567890123456789012-1234567890123456-01-what-the-future-will-be-like']]);
      await newTrace('cc-12345678901234567890123456789012-1234567890123456-01.what-the-future-will-be-like');
    });
    it('test_traceparent_version_0xff', async () => {
      await newTrace('ff-12345678901234567890123456789012-1234567890123456-01');
    });
    it('test_traceparent_version_illegal_characters', async () => {
      await newTrace('.0-12345678901234567890123456789012-1234567890123456-01');
      await newTrace('0.-12345678901234567890123456789012-1234567890123456-01');
    });
    it('test_traceparent_version_too_long', async () => {
      await newTrace('000-12345678901234567890123456789012-1234567890123456-01');
      await newTrace('0000-12345678901234567890123456789012-1234567890123456-01');
    });
    it('test_traceparent_version_too_short', async () => {
      await newTrace('0-12345678901234567890123456789012-1234567890123456-01');
    });
    it('test_traceparent_trace_id_all_zero', async () => {
      const tp = await newTrace('00-00000000000000000000000000000000-1234567890123456-01');
      expect(tp.traceId).not.toBe('0'.repeat(32));
    });
    it('test_traceparent_trace_id_illegal_characters', async () => {
      await newTrace('00-.2345678901234567890123456789012-1234567890123456-01');
      await newTrace('00-1234567890123456789012345678901.-1234567890123456-01');
    });
    it('test_traceparent_trace_id_too_long', async () => {
      const tp = await newTrace('00-123456789012345678901234567890123-1234567890123456-01');
      expect(tp.traceId).not.toBe('23456789012345678901234567890123');
    });
    it('test_traceparent_trace_id_too_short', async () => {
      await newTrace('00-1234567890123456789012345678901-1234567890123456-01');
    });
    it('test_traceparent_parent_id_all_zero', async () => {
      await newTrace('00-12345678901234567890123456789012-0000000000000000-01');
    });
    it('test_traceparent_parent_id_illegal_characters', async () => {
      await newTrace('00-12345678901234567890123456789012-.234567890123456-01');
      await newTrace('00-12345678901234567890123456789012-123456789012345.-01');
    });
    it('test_traceparent_parent_id_too_long', async () => {
      await newTrace('00-12345678901234567890123456789012-12345678901234567-01');
    });
    it('test_traceparent_parent_id_too_short', async () => {
      await newTrace('00-12345678901234567890123456789012-123456789012345-01');
    });
    it('test_traceparent_trace_flags_illegal_characters', async () => {
      await newTrace('00-12345678901234567890123456789012-1234567890123456-.0');
      await newTrace('00-12345678901234567890123456789012-1234567890123456-0.');
    });
    it('test_traceparent_trace_flags_too_long', async () => {
      await newTrace('00-12345678901234567890123456789012-1234567890123456-001');
    });
    it('test_traceparent_trace_flags_too_short', async () => {
      await newTrace('00-12345678901234567890123456789012-1234567890123456-1');
    });
    it('test_traceparent_ows_handling', async () => {
      for (const v of [' %', '\t%', '% ', '%\t', '\t % \t']) {
        await sameTrace([['traceparent', v.replace('%', '00-12345678901234567890123456789012-1234567890123456-01')]]);
      }
    });
  });

  describe('TraceContextTest: tracestate', () => {
    it('test_tracestate_included_traceparent_missing', async () => {
      const one = await tracecontext([['tracestate', 'foo=1']]);
      const two = await tracecontext([['tracestate', 'foo=1,bar=2']]);
      expect(one.tracestate.size).toBe(two.tracestate.size);
    });
    it('test_tracestate_included_traceparent_included', async () => {
      const { tracestate } = await sameTrace([['traceparent', TP], ['tracestate', 'foo=1,bar=2']]);
      expect(tracestate.get('foo')).toBe('1');
      expect(tracestate.get('bar')).toBe('2');
    });
    it('test_tracestate_header_name', async () => {
      for (const name of ['trace-state', 'trace.state']) {
        const { tracestate } = await tracecontext([['traceparent', TP], [name, 'foo=1']]);
        expect(tracestate.has('foo')).toBe(false);
      }
    });
    it('test_tracestate_header_name_valid_casing', async () => {
      for (const name of ['TraceState', 'TrAcEsTaTe', 'TRACESTATE']) {
        const { tracestate } = await tracecontext([['traceparent', TP], [name, 'foo=1']]);
        expect(tracestate.get('foo')).toBe('1');
      }
    });
    it('test_tracestate_empty_header', async () => {
      const { tracestate } = await sameTrace([['traceparent', TP], ['tracestate', '']]);
      expect(tracestate.toString()).toBe('');
      for (const headers of [[['tracestate', 'foo=1'], ['tracestate', '']], [['tracestate', ''], ['tracestate', 'foo=1']]] as HeaderList[]) {
        const r = await sameTrace([['traceparent', TP], ...headers]);
        expect(r.tracestate.get('foo')).toBe('1');
      }
    });
    it('test_tracestate_multiple_headers_different_keys', async () => {
      const { tracestate } = await sameTrace([['traceparent', TP], ['tracestate', 'foo=1,bar=2'], ['tracestate', 'rojo=1,congo=2'], ['tracestate', 'baz=3']]);
      const s = tracestate.toString();
      const at = ['foo=1', 'bar=2', 'rojo=1', 'congo=2', 'baz=3'].map((m) => s.indexOf(m));
      expect(at.every((i) => i >= 0)).toBe(true);
      expect([...at].sort((a, b) => a - b)).toEqual(at);
    });
    it('test_tracestate_duplicated_keys', async () => {
      const cases: [HeaderList, string[]][] = [
        [[['tracestate', 'foo=1,foo=1']], ['foo=1']],
        [[['tracestate', 'foo=1,foo=2']], ['foo=1', 'foo=2']],
        [[['tracestate', 'foo=1'], ['tracestate', 'foo=1']], ['foo=1']],
        [[['tracestate', 'foo=1'], ['tracestate', 'foo=2']], ['foo=1', 'foo=2']],
      ];
      for (const [headers, anyOf] of cases) {
        const { tracestate } = await sameTrace([['traceparent', TP], ...headers]);
        expect(anyOf.some((m) => tracestate.toString().includes(m)), `${JSON.stringify(headers)} → ${tracestate.toString()}`).toBe(true);
      }
    });
    it('test_tracestate_all_allowed_characters', async () => {
      const lcalpha = Array.from({ length: 26 }, (_, i) => String.fromCharCode(0x61 + i)).join('');
      const keyWithoutVendor = `${lcalpha}0123456789_-*/`;
      const keyWithVendor = `${keyWithoutVendor}@a-z0-9_-*/`;
      const range = (a: number, b: number) => Array.from({ length: b - a + 1 }, (_, i) => String.fromCharCode(a + i)).join('');
      const value = range(0x20, 0x2b) + range(0x2d, 0x3c) + range(0x3e, 0x7e);
      for (const key of [keyWithoutVendor, keyWithVendor]) {
        const { tracestate } = await tracecontext([['traceparent', TP], ['tracestate', `${key}=${value}`]]);
        expect(tracestate.get(key)).toBe(value);
      }
    });
    it('test_tracestate_ows_handling', async () => {
      for (const v of ['foo=1 \t , \t bar=2, \t baz=3', 'foo=1\t \t,\t \tbar=2,\t \tbaz=3']) {
        const { tracestate } = await tracecontext([['traceparent', TP], ['tracestate', v]]);
        expect([tracestate.get('foo'), tracestate.get('bar'), tracestate.get('baz')]).toEqual(['1', '2', '3']);
      }
      for (const v of [' foo=1', '\tfoo=1', 'foo=1 ', 'foo=1\t', '\t foo=1 \t']) {
        const { tracestate } = await sameTrace([['traceparent', TP], ['tracestate', v]]);
        expect(tracestate.get('foo')).toBe('1');
      }
    });
    it('test_tracestate_key_illegal_characters', async () => {
      for (const [v, key] of [['foo =1', 'foo '], ['FOO=1', 'FOO'], ['foo.bar=1', 'foo.bar']]) {
        const { tracestate } = await tracecontext([['traceparent', TP], ['tracestate', v]]);
        expect(tracestate.has(key)).toBe(false);
      }
    });
    it('test_tracestate_key_illegal_vendor_format', async () => {
      for (const key of ['foo@', 'foo@@bar', 'foo@bar@baz']) {
        const { tracestate } = await tracecontext([['traceparent', TP], ['tracestate', `${key}=1,bar=2`]]);
        expect(tracestate.get(key), `${key}=1,bar=2 → ${tracestate.toString()}`).toBe('1');
        expect(tracestate.get('bar')).toBe('2');
      }
      const { tracestate } = await tracecontext([['traceparent', TP], ['tracestate', '@foo=1,bar=2']]);
      expect(tracestate.has('bar')).toBe(false);
    });
    it('test_tracestate_member_count_limit', async () => {
      const members = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => String(from + i).padStart(2, '0')).map((n) => `bar${n}=${n}`).join(',');
      const first30: HeaderList = [['tracestate', members(1, 10)], ['tracestate', members(11, 20)], ['tracestate', members(21, 30)]];
      const kept = await tracecontext([['traceparent', TP], ...first30, ['tracestate', members(31, 32)]]);
      expect(kept.tracestate.get('bar01')).toBe('01');
      expect(kept.tracestate.size).toBe(32);
      const dropped = await tracecontext([['traceparent', TP], ...first30, ['tracestate', members(31, 33)]]);
      expect(dropped.tracestate.has('bar01')).toBe(false);
    });
    it('test_tracestate_key_length_limit', async () => {
      for (const key of ['z'.repeat(256), `${'t'.repeat(241)}@${'v'.repeat(14)}`, `${'t'.repeat(242)}@v`, `t@${'v'.repeat(15)}`]) {
        const { tracestate } = await tracecontext([['traceparent', TP], ['tracestate', 'foo=1'], ['tracestate', `${key}=1`]]);
        expect(tracestate.get('foo'), `key of ${key.length}: ${key.slice(0, 20)}…`).toBe('1');
        expect(tracestate.get(key)).toBe('1');
      }
      const { tracestate } = await tracecontext([['traceparent', TP], ['tracestate', 'foo=1'], ['tracestate', `${'z'.repeat(257)}=1`]]);
      expect(tracestate.has('foo')).toBe(false);
    });
    it('test_tracestate_value_illegal_characters', async () => {
      const a = await tracecontext([['traceparent', TP], ['tracestate', 'foo=bar=baz']]);
      expect(a.tracestate.has('foo')).toBe(false);
      const b = await tracecontext([['traceparent', TP], ['tracestate', 'foo=,bar=3']]);
      expect(b.tracestate.has('foo')).toBe(false);
      expect(b.tracestate.has('bar')).toBe(false);
    });
  });
});
