import { describe, expect, it } from 'vitest';
import { decodeBlock, encodeBlock, ENTRY_BYTES } from './posting-block.js';

describe('posting block', () => {
  it('packs entries newest first and unpacks them', () => {
    const id = (b: number) => Buffer.alloc(16, b);
    const buf = encodeBlock([
      { startOff: 5, spreadUs: 0, traceId: id(1) },
      { startOff: 3_599_999_999, spreadUs: 12, traceId: id(2) },
      { startOff: 70, spreadUs: 3, traceId: id(3) },
    ]);
    expect(buf.length).toBe(3 * ENTRY_BYTES);
    expect(decodeBlock(buf)).toEqual([
      { startOff: 3_599_999_999, spreadUs: 12, traceId: id(2) },
      { startOff: 70, spreadUs: 3, traceId: id(3) },
      { startOff: 5, spreadUs: 0, traceId: id(1) },
    ]);
  });

  it('rejects a truncated block', () => {
    expect(() => decodeBlock(Buffer.alloc(25))).toThrow(/multiple of 24/);
  });
});
