/**
 * Go's time.ParseDuration, which the Jaeger API uses for minDuration/maxDuration/lookback:
 * a sequence of decimal numbers with units `ns`, `us`/`µs`/`μs`, `ms`, `s`, `m`, `h`
 * (e.g. `300ms`, `1.5h`, `2h45m`), optionally signed; `0` alone is allowed.
 * Returns microseconds (fractions of a microsecond are truncated), or undefined if malformed.
 */
/** Nanoseconds per unit: Go sums whole nanoseconds, so the sum is exact (a double sum was not). */
const UNIT_NS: Record<string, bigint> = {
  ns: 1n,
  us: 1_000n,
  'µs': 1_000n,
  'μs': 1_000n,
  ms: 1_000_000n,
  s: 1_000_000_000n,
  m: 60_000_000_000n,
  h: 3_600_000_000_000n,
};

const PART = /(\d+)?(?:\.(\d*))?(ns|us|µs|μs|ms|s|m|h)/y;

export function parseGoDurationUs(input: string): number | undefined {
  let s = input.trim();
  let negative = false;
  if (s.startsWith('-') || s.startsWith('+')) {
    negative = s[0] === '-';
    s = s.slice(1);
  }
  if (s === '0') return 0;
  if (s === '') return undefined;
  // Exact, like Go: '999ns5000.0h' summed as doubles came out 1 µs too long (found by fuzzing).
  let totalNs = 0n;
  PART.lastIndex = 0;
  while (PART.lastIndex < s.length) {
    const start = PART.lastIndex;
    const m = PART.exec(s);
    if (!m || m.index !== start) return undefined;
    const [, whole, frac, unit] = m;
    if (whole === undefined && !frac) return undefined; // '.s' and 's' have no digits
    const perUnit = UNIT_NS[unit];
    totalNs += BigInt(whole ?? '0') * perUnit;
    // Go keeps the fraction's digits to the nanosecond, truncating the rest.
    if (frac) totalNs += (BigInt(frac) * perUnit) / 10n ** BigInt(frac.length);
  }
  const us = Number(totalNs / 1000n);
  return negative && us !== 0 ? -us : us;
}
