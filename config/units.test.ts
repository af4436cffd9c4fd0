import { describe, expect, it } from 'vitest';
import { parseBytes, parseDurationUs } from './units.js';

describe('config units', () => {
  it('parses durations with days', () => {
    expect(parseDurationUs('72h')).toBe(259_200_000_000);
    expect(parseDurationUs('2d')).toBe(172_800_000_000);
    expect(parseDurationUs('0')).toBe(0);
    expect(parseDurationUs('soon')).toBeUndefined();
  });
  it('parses byte sizes in SI and IEC units', () => {
    expect(parseBytes('20MiB')).toBe(20 * 1024 * 1024);
    expect(parseBytes('500MB')).toBe(500_000_000);
    expect(parseBytes('1024')).toBe(1024);
    expect(parseBytes('1.5 GiB')).toBe(1.5 * 1024 ** 3);
    expect(parseBytes('12 parsecs')).toBeUndefined();
  });
});
