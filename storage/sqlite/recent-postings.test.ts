import { describe, expect, it } from 'vitest';
import type { PostingEntry } from './posting-block.js';
import { decodeRecent, encodeRecent, RecentPostingsBuilder, RECORD_BYTES, recentOfTerm } from './recent-postings.js';
import { HOUR_US } from './schema.js';

describe('recent postings row', () => {
  const postings = new Map<number, Map<number, PostingEntry[]>>([
    [500_001, new Map([
      [2 ** 47 - 1, [{ startOff: 10, spreadUs: 0, trace: 7 }]],
      [42, [{ startOff: 5, spreadUs: 1, trace: 1 }, { startOff: 3_599_999_999, spreadUs: 2, trace: 2 ** 48 - 1 }]],
    ])],
    [500_000, new Map([[42, [{ startOff: 99, spreadUs: 3, trace: 3 }]], [7, [{ startOff: 1, spreadUs: 0, trace: 4 }]]])],
  ]);

  it('sorts records by term, then bucket and start newest first, and finds a term by binary search', () => {
    const { blob, n, maxBucket } = encodeRecent(postings);
    expect(n).toBe(5);
    expect(blob.length).toBe(5 * RECORD_BYTES);
    expect(maxBucket).toBe(500_001);
    expect(decodeRecent(blob).map((r) => [r.term, r.bucket, r.startOff, r.trace])).toEqual([
      [7, 500_000, 1, 4],
      [42, 500_001, 3_599_999_999, 2 ** 48 - 1],
      [42, 500_001, 5, 1],
      [42, 500_000, 99, 3],
      [2 ** 47 - 1, 500_001, 10, 7],
    ]);
    expect(recentOfTerm(blob, 42).map((r) => [r.bucket, r.startOff, r.spreadUs, r.trace])).toEqual([
      [500_001, 3_599_999_999, 2, 2 ** 48 - 1], [500_001, 5, 1, 1], [500_000, 99, 3, 3],
    ]);
    expect(recentOfTerm(blob, 2 ** 47 - 1)).toHaveLength(1);
    expect(recentOfTerm(blob, 8)).toEqual([]);
    expect(recentOfTerm(blob, 0)).toEqual([]);
  });

  it('rejects a truncated row', () => {
    const { blob } = encodeRecent(postings);
    expect(() => recentOfTerm(blob.subarray(0, 30), 42)).toThrow(/multiple of 24/);
  });

  it('the builder packs the entries it gathered (widened by later spans) as encodeRecent packs them', () => {
    const b = new RecentPostingsBuilder();
    b.add(1, 5, 0, 1); // dropped by reset
    b.reset();
    const at = (bucket: number, off: number) => bucket * HOUR_US + off;
    // The same entries as `postings` above, noted in another order, some through several spans.
    const i = b.add(500_001, 42, at(500_001, 5), 1);
    b.widen(i, at(500_001, 6));
    b.add(500_000, 7, at(500_000, 1), 4);
    const j = b.add(500_001, 42, at(500_001, 3_599_999_999), 2 ** 48 - 1);
    b.widen(j, at(500_001, 3_599_999_999));
    b.add(500_001, 2 ** 47 - 1, at(500_001, 10), 7);
    const k = b.add(500_000, 42, at(500_000, 102), 3);
    b.widen(k, at(500_000, 99));
    b.widen(k, at(500_000, 100));
    // Growth past the initial columns keeps what was gathered.
    for (let n = 0; n < 4200; n++) b.add(400_000, 2 ** 40 + n, at(400_000, n), n);
    const want = new Map<number, Map<number, PostingEntry[]>>([
      [500_001, new Map([
        [2 ** 47 - 1, [{ startOff: 10, spreadUs: 0, trace: 7 }]],
        [42, [{ startOff: 5, spreadUs: 1, trace: 1 }, { startOff: 3_599_999_999, spreadUs: 0, trace: 2 ** 48 - 1 }]],
      ])],
      [500_000, new Map([[42, [{ startOff: 99, spreadUs: 3, trace: 3 }]], [7, [{ startOff: 1, spreadUs: 0, trace: 4 }]]])],
      [400_000, new Map(Array.from({ length: 4200 }, (_, n) => [2 ** 40 + n, [{ startOff: n, spreadUs: 0, trace: n }]]))],
    ]);
    const got = b.encode();
    const expected = encodeRecent(want);
    expect(got.n).toBe(4205);
    expect(got.maxBucket).toBe(500_001);
    expect(decodeRecent(got.blob)).toEqual(decodeRecent(expected.blob));
    expect(got.blob.equals(expected.blob)).toBe(true);
    b.reset();
    expect(b.encode()).toMatchObject({ n: 0, maxBucket: -1 });
  });
});
