import { describe, expect, it } from 'vitest';
import { decodeBlock, encodeBlock, ENTRY_BYTES } from './posting-block.js';

describe('posting block', () => {
  it('packs entries newest first and unpacks them', () => {
    const buf = encodeBlock([
      { startOff: 5, spreadUs: 0, trace: 1 },
      { startOff: 3_599_999_999, spreadUs: 12, trace: 2 ** 48 - 1 },
      { startOff: 70, spreadUs: 3_599_999_999, trace: 123_456_789 },
    ]);
    expect(buf.length).toBe(3 * ENTRY_BYTES);
    expect(decodeBlock(buf)).toEqual([
      { startOff: 3_599_999_999, spreadUs: 12, trace: 2 ** 48 - 1 },
      { startOff: 70, spreadUs: 3_599_999_999, trace: 123_456_789 },
      { startOff: 5, spreadUs: 0, trace: 1 },
    ]);
  });

  it('rejects a truncated block', () => {
    expect(() => decodeBlock(Buffer.alloc(15))).toThrow(/multiple of 14/);
  });
});
