import { describe, expect, it } from 'vitest';
import type { Span } from '../model/span.js';
import { applyNameLimits, limitName, NAME_LIMITS } from './name-limits.js';

describe('name limits', () => {
  it('replaces control characters: whitespace ones with a space, the rest with U+FFFD', () => {
    expect(limitName('GET /a\u0000b', 100)).toBe('GET /a\uFFFDb');
    expect(limitName('SELECT *\n  FROM t\twhere\r', 100)).toBe('SELECT *   FROM t where ');
    expect(limitName('bell\u0007del\u007f', 100)).toBe('bell\uFFFDdel\uFFFD');
    const ok = 'plain name';
    expect(limitName(ok, 100)).toBe(ok);
  });

  it('cuts long names to the limit with an ellipsis, never splitting a surrogate pair', () => {
    expect(limitName('x'.repeat(100_000), 10)).toBe(`${'x'.repeat(9)}…`);
    expect(limitName('x'.repeat(10), 10)).toBe('x'.repeat(10));
    const emoji = `${'a'.repeat(8)}😀😀`; // 8 + 4 code units
    const cut = limitName(emoji, 10);
    expect(cut).toBe(`${'a'.repeat(8)}…`);
    expect(cut.length).toBeLessThanOrEqual(10);
  });

  it('cleans service names once per shared resource and span names per span, counting changes', () => {
    const resource = { serviceName: `svc\u0000${'s'.repeat(1000)}`, attributes: [{ key: 'service.name', type: 'string' as const, value: `svc\u0000${'s'.repeat(1000)}` }] };
    const span = (name: string) => ({ name, resource }) as unknown as Span;
    const spans = [span('ok'), span('o'.repeat(5000)), span('also ok')];
    expect(applyNameLimits(spans)).toBe(2);
    expect(resource.serviceName.length).toBe(NAME_LIMITS.serviceName);
    expect(resource.serviceName.startsWith('svc\uFFFDs')).toBe(true);
    expect(resource.attributes[0].value).toBe(resource.serviceName);
    expect(spans[1].name.length).toBe(NAME_LIMITS.operationName);
    expect(spans.map((s) => s.name.length)).toEqual([2, NAME_LIMITS.operationName, 7]);
    // Already clean: nothing changes, nothing is counted.
    expect(applyNameLimits(spans)).toBe(0);
  });
});
