import { describe, expect, it } from 'vitest';
import type { Trace } from '../model/span.js';
import { TraceCache } from './trace-cache.js';

const trace = (id: string, n: number) => ({ traceId: id, spans: Array.from({ length: n }, (_, k) => ({ spanId: `s${k}` })) }) as unknown as Trace;

describe('TraceCache', () => {
  it('evicts least recently used traces to stay within maxSpans', () => {
    const c = new TraceCache({ maxSpans: 10, ttlMs: 1000 });
    c.set('a', trace('a', 4));
    c.set('b', trace('b', 4));
    expect(c.get('a')).toBeDefined(); // a is now most recent
    c.set('c', trace('c', 4));
    expect(c.get('b')).toBeUndefined();
    expect(c.get('a')).toBeDefined();
    expect(c.size).toEqual({ traces: 2, spans: 8 });
    c.set('huge', trace('huge', 11));
    expect(c.get('huge')).toBeUndefined();
  });

  it('expires entries and indexes spans by id', () => {
    let now = 0;
    const c = new TraceCache({ maxSpans: 10, ttlMs: 1000, now: () => now });
    c.set('a', trace('a', 3));
    expect(c.getSpan('a', 's2')).toMatchObject({ spanId: 's2' });
    now = 1000;
    expect(c.getSpan('a', 's2')).toBeUndefined();
    expect(c.size.spans).toBe(0);
  });
});
