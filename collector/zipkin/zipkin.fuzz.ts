/**
 * Fuzz targets of the Zipkin v2 decoder (see test/fuzz/target.ts): generated span arrays
 * serialized as JSON (round trip), and mutations of that JSON text.
 */
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { assertModelSpan } from '../otlp/otlp.fuzz.js';
import { InvalidRequestError } from '../otlp/errors.js';
import { type FuzzTarget, hexOf, mutatedString, onlyTyped, refusalLabel, textCodec, validHex, withSeeds } from '../../test/fuzz/target.js';
import { decodeZipkinJson } from './decode.js';

interface ZipkinSpec {
  traceId: string;
  id: string;
  parentId?: string;
  name?: string;
  kind?: string;
  timestamp: number;
  duration?: number;
  localEndpoint?: { serviceName?: string };
  remoteEndpoint?: { serviceName?: string; ipv4?: string; port?: number };
  annotations?: { timestamp: number; value: string }[];
  tags?: Record<string, string>;
}

const time = fc.oneof(fc.integer({ min: 1, max: 2 ** 52 }), fc.constant(Number.MAX_SAFE_INTEGER));
const zipkinSpan: fc.Arbitrary<ZipkinSpec> = fc.record({
  traceId: fc.oneof(validHex(32), validHex(16), fc.constant('0'.repeat(32)), hexOf(7)),
  id: fc.oneof(validHex(16), fc.constant('0'.repeat(16))),
  parentId: fc.option(validHex(16), { nil: undefined }),
  name: fc.option(fc.string({ maxLength: 12 }), { nil: undefined }),
  kind: fc.option(fc.constantFrom('CLIENT', 'SERVER', 'PRODUCER', 'CONSUMER', 'client', 'BOGUS'), { nil: undefined }),
  timestamp: time,
  duration: fc.option(fc.oneof(fc.nat({ max: 10 ** 9 }), time), { nil: undefined }),
  localEndpoint: fc.option(fc.record({ serviceName: fc.string({ maxLength: 8 }) }), { nil: undefined }),
  remoteEndpoint: fc.option(fc.record({ serviceName: fc.string({ maxLength: 8 }), ipv4: fc.ipV4(), port: fc.integer({ min: 0, max: 70000 }) }), { nil: undefined }),
  annotations: fc.option(fc.array(fc.record({ timestamp: time, value: fc.string({ maxLength: 8 }) }), { maxLength: 3 }), { nil: undefined }),
  tags: fc.option(fc.dictionary(fc.oneof(fc.string({ minLength: 1, maxLength: 8 }), fc.constantFrom('error', 'otel.status_code', 'otel.scope.name', '__proto__')), fc.string({ maxLength: 8 }), { maxKeys: 4 }), { nil: undefined }),
}, { requiredKeys: ['traceId', 'id', 'timestamp'] });

const spansJson = fc.array(zipkinSpan, { maxLength: 4 }).map((s) => JSON.stringify(s));

export const zipkinFuzzTargets: FuzzTarget[] = [
  {
    name: 'zipkin-roundtrip',
    cost: 6,
    arbitrary: () => fc.array(zipkinSpan, { minLength: 1, maxLength: 4 }),
    check(input: ZipkinSpec[]) {
      const r = decodeZipkinJson(JSON.stringify(input));
      assert.equal(r.spans.length + r.rejectedSpans, input.length);
      for (const s of r.spans) assertModelSpan(s);
      // Every valid span is kept, with its ids and times as sent.
      for (const z of input) {
        const valid = !/^0+$/.test(z.traceId) && !/^0+$/.test(z.id) && (z.kind === undefined || /^(client|server|producer|consumer)$/i.test(z.kind)) &&
          (z.remoteEndpoint?.port ?? 0) <= 65535 && z.timestamp + (z.duration ?? 0) <= Number.MAX_SAFE_INTEGER;
        const got = r.spans.find((s) => s.spanId === z.id && s.traceId === z.traceId.padStart(32, '0') && s.startTimeUs === z.timestamp);
        assert.equal(!!got, valid, `span ${JSON.stringify(z)} ${valid ? 'lost' : 'accepted'}`);
        if (got) assert.equal(got.durationUs, z.duration ?? 0);
      }
      return `ok:${r.rejectedSpans > 0}`;
    },
  } satisfies FuzzTarget<ZipkinSpec[]>,
  {
    name: 'zipkin',
    cost: 6,
    arbitrary: (seeds) => mutatedString(withSeeds(spansJson, seeds as string[])),
    check(input: string) {
      const r = onlyTyped([InvalidRequestError], () => decodeZipkinJson(input));
      if ('refused' in r) return refusalLabel(r.refused);
      for (const s of r.ok.spans) assertModelSpan(s);
      return `ok:${Math.min(r.ok.spans.length, 3)}:${r.ok.errorMessage.replace(/\[\d+\]|\d+/g, '_').slice(0, 50)}`;
    },
    ...textCodec,
  } satisfies FuzzTarget<string>,
];
