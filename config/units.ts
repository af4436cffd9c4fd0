/**
 * Human-friendly units for configuration values (`72h`, `20MiB`), shared by every component's
 * config schema. Pure functions; the zod schemas call them in transforms and name the field on failure.
 */
import { parseGoDurationUs } from '../query/duration.js';

/** `72h`, `30m`, `2d`, `0` → µs. Days are allowed here (retention is usually said in days). */
export function parseDurationUs(raw: string): number | undefined {
  const m = /^(\d+(?:\.\d+)?)d$/.exec(raw.trim());
  if (m) return Math.round(Number(m[1]) * 86_400_000_000);
  return parseGoDurationUs(raw);
}

const BYTE_UNITS: Record<string, number> = {
  '': 1, b: 1,
  k: 1e3, kb: 1e3, m: 1e6, mb: 1e6, g: 1e9, gb: 1e9, t: 1e12, tb: 1e12,
  ki: 1024, kib: 1024, mi: 1024 ** 2, mib: 1024 ** 2, gi: 1024 ** 3, gib: 1024 ** 3, ti: 1024 ** 4, tib: 1024 ** 4,
};

/** `1048576`, `20MiB`, `500MB`, `1.5GB` → bytes. */
export function parseBytes(raw: string): number | undefined {
  const m = /^(\d+(?:\.\d+)?)\s*([a-z]*)$/i.exec(raw.trim());
  if (!m) return undefined;
  const factor = BYTE_UNITS[m[2].toLowerCase()];
  if (factor === undefined) return undefined;
  return Math.round(Number(m[1]) * factor);
}
