/** Human formatting of µs durations and epoch-µs times. */

/** `us` µs as the shortest readable unit: 850μs, 12.3ms, 1.25s, 2m 5s. */
export function formatDuration(us: number): string {
  if (!Number.isFinite(us)) return '–';
  const a = Math.abs(us);
  if (a < 1000) return `${round(us, a < 10 ? 2 : a < 100 ? 1 : 0)}μs`;
  if (a < 1_000_000) return `${round(us / 1000, a < 10_000 ? 2 : a < 100_000 ? 1 : 0)}ms`;
  if (a < 60_000_000) return `${round(us / 1e6, 2)}s`;
  const min = Math.floor(a / 60_000_000);
  return `${us < 0 ? '-' : ''}${min}m ${Math.round((a - min * 60_000_000) / 1e6)}s`;
}

function round(x: number, digits: number): string {
  return String(Number(x.toFixed(digits)));
}

/** Local date and time with milliseconds, e.g. `2026-11-25 16:44:23.123`. */
export function formatTime(epochUs: number): string {
  const d = new Date(epochUs / 1000);
  const p = (x: number, w = 2) => String(x).padStart(w, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}.${p(d.getMilliseconds(), 3)}`;
}

/** "3 minutes ago"; `nowMs` is injectable for tests. */
export function relativeAge(epochUs: number, nowMs = Date.now()): string {
  const s = Math.max(0, Math.round((nowMs - epochUs / 1000) / 1000));
  const unit = (v: number, u: string) => `${v} ${u}${v === 1 ? '' : 's'} ago`;
  if (s < 60) return unit(s, 'second');
  if (s < 3600) return unit(Math.floor(s / 60), 'minute');
  if (s < 86400) return unit(Math.floor(s / 3600), 'hour');
  return unit(Math.floor(s / 86400), 'day');
}

/** A tag value as display text (objects as JSON). Always a string: the UI renders it as text only. */
export function valueText(v: unknown): string {
  if (typeof v === 'string') return v;
  if (v === null || v === undefined) return '';
  if (typeof v === 'object') return JSON.stringify(v);
  return String(v);
}
