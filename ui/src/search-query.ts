/**
 * The search form's state and its two encodings: the page URL (`/search?service=…`, compatible
 * with Jaeger UI's links: `tags` is a JSON object, `lookback` like `1h`, `start`/`end` in µs for
 * a custom range) and the `/api/traces` query string.
 */

export interface SearchState {
  service: string;
  operation: string;
  /** logfmt text as typed: `http.status_code=500 error=true`. */
  tags: string;
  /** `1h`, `2d`, … or `custom` (then `startUs`/`endUs` apply). */
  lookback: string;
  /** µs since the epoch; 0 = unset. */
  startUs: number;
  endUs: number;
  /** Go duration strings (`100ms`); '' = no bound. */
  minDuration: string;
  maxDuration: string;
  limit: number;
  /** A TraceQL query (`api/ext/search`); when set it is the search, the Jaeger fields aside from lookback and limit are ignored. */
  q: string;
}

export const LOOKBACKS: [string, string][] = [
  ['5m', 'Last 5 minutes'], ['15m', 'Last 15 minutes'], ['30m', 'Last 30 minutes'], ['1h', 'Last hour'],
  ['2h', 'Last 2 hours'], ['6h', 'Last 6 hours'], ['12h', 'Last 12 hours'], ['24h', 'Last 24 hours'],
  ['2d', 'Last 2 days'], ['7d', 'Last 7 days'], ['custom', 'Custom range'],
];

export const DEFAULT_LIMIT = 20;

export function defaultSearch(): SearchState {
  return { service: '', operation: '', tags: '', lookback: '1h', startUs: 0, endUs: 0, minDuration: '', maxDuration: '', limit: DEFAULT_LIMIT, q: '' };
}

/** Parses `k=v k2="v 2"` into a map. Throws an Error naming the bad token. */
export function parseLogfmt(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  const re = /\s*([^\s=]+)=("((?:[^"\\]|\\.)*)"|\S*)/y;
  let pos = 0;
  const s = text.trim();
  while (pos < s.length) {
    re.lastIndex = pos;
    const m = re.exec(s);
    if (!m) {
      const bad = s.slice(pos).trim().split(/\s+/)[0];
      throw new Error(`tags: expected key=value, got "${bad}"`);
    }
    out[m[1]] = m[3] !== undefined ? m[3].replace(/\\(.)/g, '$1') : m[2];
    pos = re.lastIndex;
    while (pos < s.length && /\s/.test(s[pos])) pos++;
  }
  return out;
}

export function toLogfmt(tags: Record<string, string>): string {
  return Object.entries(tags)
    .map(([k, v]) => `${k}=${/[\s"]/.test(v) || v === '' ? JSON.stringify(v) : v}`)
    .join(' ');
}

const GO_DURATION = /^(\d+(\.\d+)?(ns|us|µs|μs|ms|s|m|h))+$/;

/** '' when valid, else a message naming the field. */
export function validateSearch(s: SearchState): string {
  if (s.minDuration && !GO_DURATION.test(s.minDuration)) return `Min duration: "${s.minDuration}" is not a duration like 100ms, 1.5s`;
  if (s.maxDuration && !GO_DURATION.test(s.maxDuration)) return `Max duration: "${s.maxDuration}" is not a duration like 100ms, 1.5s`;
  if (!(s.limit > 0)) return 'Limit: must be a positive number';
  if (s.lookback === 'custom' && s.startUs && s.endUs && s.endUs < s.startUs) return 'Custom range: end is before start';
  try {
    parseLogfmt(s.tags);
  } catch (e) {
    return (e as Error).message;
  }
  return '';
}

export function searchFromURL(query: string): SearchState {
  const p = new URLSearchParams(query);
  const d = defaultSearch();
  let tags = '';
  const raw = p.get('tags');
  if (raw) {
    try {
      const obj = JSON.parse(raw) as unknown;
      tags = obj && typeof obj === 'object' ? toLogfmt(obj as Record<string, string>) : raw;
    } catch {
      tags = raw;
    }
  }
  const num = (k: string) => Number(p.get(k) ?? 0) || 0;
  return {
    service: p.get('service') ?? '',
    operation: p.get('operation') ?? '',
    tags,
    lookback: p.get('lookback') || d.lookback,
    startUs: num('start'),
    endUs: num('end'),
    minDuration: p.get('minDuration') ?? '',
    maxDuration: p.get('maxDuration') ?? '',
    limit: num('limit') || d.limit,
    q: p.get('q') ?? '',
  };
}

/** The page URL query string (no leading `?`). Empty fields are left out. */
export function searchToURL(s: SearchState): string {
  const p = new URLSearchParams();
  if (s.q.trim()) p.set('q', s.q);
  if (s.service) p.set('service', s.service);
  if (s.operation) p.set('operation', s.operation);
  if (s.tags.trim()) p.set('tags', JSON.stringify(parseLogfmt(s.tags)));
  p.set('lookback', s.lookback);
  if (s.lookback === 'custom') {
    if (s.startUs) p.set('start', String(s.startUs));
    if (s.endUs) p.set('end', String(s.endUs));
  }
  if (s.minDuration) p.set('minDuration', s.minDuration);
  if (s.maxDuration) p.set('maxDuration', s.maxDuration);
  p.set('limit', String(s.limit));
  return p.toString();
}

/** Lookback as ms (`1h` → 3 600 000); NaN when malformed. */
export function lookbackMs(lookback: string): number {
  const m = /^(\d+)([mhd])$/.exec(lookback);
  if (!m) return NaN;
  return Number(m[1]) * { m: 60_000, h: 3_600_000, d: 86_400_000 }[m[2] as 'm' | 'h' | 'd'];
}

/** The search window in µs, resolved against `nowMs`. */
function windowUs(s: SearchState, nowMs: number): [number, number] {
  let end = nowMs * 1000;
  let start = end - 3_600_000_000;
  if (s.lookback === 'custom') {
    if (s.endUs) end = s.endUs;
    start = s.startUs || end - 3_600_000_000;
  } else {
    const ms = lookbackMs(s.lookback);
    if (Number.isFinite(ms)) start = end - ms * 1000;
  }
  return [Math.floor(start), Math.floor(end)];
}

/** The `api/ext/search` query string of a TraceQL search. */
export function traceqlToApi(s: SearchState, nowMs: number): string {
  const [start, end] = windowUs(s, nowMs);
  return new URLSearchParams({ q: s.q, start: String(start), end: String(end), limit: String(s.limit) }).toString();
}

/** The `/api/traces` query string for this search, with the time window resolved against `nowMs`. */
export function searchToApi(s: SearchState, nowMs: number): string {
  const p = new URLSearchParams();
  p.set('service', s.service);
  if (s.operation) p.set('operation', s.operation);
  const tags = parseLogfmt(s.tags);
  if (Object.keys(tags).length) p.set('tags', JSON.stringify(tags));
  if (s.minDuration) p.set('minDuration', s.minDuration);
  if (s.maxDuration) p.set('maxDuration', s.maxDuration);
  const [start, end] = windowUs(s, nowMs);
  p.set('start', String(start));
  p.set('end', String(end));
  p.set('limit', String(s.limit));
  p.set('lookback', s.lookback);
  return p.toString();
}

/**
 * "Mesh acted" filters: the indexed span attributes a meshtrace sidecar sets when it retried,
 * injected a fault, refused or ejected (proxy/README.md, "The mesh in the trace"). Each is an
 * ordinary tag, so the same search works in Jaeger UI and Grafana.
 */
export const MESH_FILTERS: [tag: string, label: string][] = [
  ['meshtrace.retried=true', 'Retried'],
  ['meshtrace.fault=delay', 'Fault: delay injected'],
  ['meshtrace.fault=abort', 'Fault: abort injected'],
  ['meshtrace.overflow=true', 'Circuit breaker overflow'],
  ['meshtrace.ejection=true', 'Outlier ejection'],
  ['meshtrace.no_healthy_upstream=true', 'No healthy upstream'],
  ['meshtrace.timeout=route', 'Route timeout'],
  ['meshtrace.timeout=per_try', 'Per-try timeout'],
];
const MESH_KEYS = new Set(MESH_FILTERS.map(([t]) => t.slice(0, t.indexOf('='))));

/** The mesh filter the tags text holds ('' for none or when it does not parse). */
export function meshFilterOf(tags: string): string {
  try {
    const t = parseLogfmt(tags);
    return MESH_FILTERS.find(([f]) => { const [k, v] = f.split('='); return t[k] === v; })?.[0] ?? '';
  } catch {
    return '';
  }
}

/** `tags` with its mesh filter replaced by `filter` ('' removes it); other tags kept. Unparsable text is kept as is. */
export function withMeshFilter(tags: string, filter: string): string {
  let t: Record<string, string>;
  try { t = parseLogfmt(tags); } catch { return tags; }
  for (const k of Object.keys(t)) if (MESH_KEYS.has(k)) delete t[k];
  if (filter) { const i = filter.indexOf('='); t[filter.slice(0, i)] = filter.slice(i + 1); }
  return toLogfmt(t);
}
