/**
 * Go's time.ParseDuration, which the Jaeger API uses for minDuration/maxDuration/lookback:
 * a sequence of decimal numbers with units `ns`, `us`/`µs`/`μs`, `ms`, `s`, `m`, `h`
 * (e.g. `300ms`, `1.5h`, `2h45m`), optionally signed; `0` alone is allowed.
 * Returns microseconds (fractions of a microsecond are truncated), or undefined if malformed.
 */
const UNIT_US: Record<string, number> = {
  ns: 0.001,
  us: 1,
  'µs': 1,
  'μs': 1,
  ms: 1_000,
  s: 1_000_000,
  m: 60_000_000,
  h: 3_600_000_000,
};

const PART = /(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h)/y;

export function parseGoDurationUs(input: string): number | undefined {
  let s = input.trim();
  let sign = 1;
  if (s.startsWith('-') || s.startsWith('+')) {
    if (s[0] === '-') sign = -1;
    s = s.slice(1);
  }
  if (s === '0') return 0;
  if (s === '') return undefined;
  let total = 0;
  PART.lastIndex = 0;
  while (PART.lastIndex < s.length) {
    const start = PART.lastIndex;
    const m = PART.exec(s);
    if (!m || m.index !== start) return undefined;
    total += Number(m[1]) * UNIT_US[m[2]];
  }
  return sign * Math.trunc(total);
}
