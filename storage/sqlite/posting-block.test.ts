import { describe, expect, it } from 'vitest';
import { decodeBlock, encodeBlock } from './posting-block.js';

describe('posting block', () => {
  it('packs entries newest first and unpacks them, extremes included', () => {
    const buf = encodeBlock([
      { startOff: 5, spreadUs: 0, trace: 1 },
      { startOff: 3_599_999_999, spreadUs: 12, trace: 2 ** 48 - 1 },
      { startOff: 70, spreadUs: 3_599_999_999, trace: 123_456_789 },
      { startOff: 70, spreadUs: 0, trace: 123_456_790 },
    ]);
    expect(decodeBlock(buf)).toEqual([
      { startOff: 3_599_999_999, spreadUs: 12, trace: 2 ** 48 - 1 },
      { startOff: 70, spreadUs: 0, trace: 123_456_790 },
      { startOff: 70, spreadUs: 3_599_999_999, trace: 123_456_789 },
      { startOff: 5, spreadUs: 0, trace: 1 },
    ]);
  });

  it('takes a few bytes per entry for the traces of one batch', () => {
    const entries = Array.from({ length: 100 }, (_, i) => ({ startOff: 1_800_000_000 + i * 200_000, spreadUs: i % 3 === 0 ? 0 : 30_000, trace: 50_000 + i }));
    const buf = encodeBlock(entries.map((e) => ({ ...e })));
    expect(buf.length).toBeLessThanOrEqual(100 * 7);
    expect(decodeBlock(buf)).toEqual([...entries].reverse());
  });

  it('rejects a truncated block', () => {
    const buf = encodeBlock([{ startOff: 3_000_000, spreadUs: 500, trace: 9 }]);
    expect(() => decodeBlock(buf.subarray(0, buf.length - 1))).toThrow(/truncated/);
  });
});
