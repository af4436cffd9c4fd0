/**
 * W3C Baggage (https://www.w3.org/TR/baggage/). The proxy does not add or change baggage: it
 * forwards the header, dropping it only when malformed or over the spec's limits, so a
 * bad entry cannot poison every downstream service.
 */
export interface BaggageEntry {
  key: string;
  value: string;
  /** Raw `;`-separated properties after the value, kept verbatim. */
  properties?: string;
}

/** Spec limits: at most 64 list-members, at most 8192 bytes in total. */
export const MAX_BAGGAGE_MEMBERS = 64;
export const MAX_BAGGAGE_BYTES = 8192;

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const VALUE = /^[\x21\x23-\x2b\x2d-\x3a\x3c-\x5b\x5d-\x7e]*$/;

/** Parses a baggage header; undefined when malformed or over the limits. Values are percent-decoded. */
export function parseBaggage(value: string | string[] | undefined): BaggageEntry[] | undefined {
  if (value === undefined) return undefined;
  const joined = Array.isArray(value) ? value.join(',') : value;
  if (Buffer.byteLength(joined) > MAX_BAGGAGE_BYTES) return undefined;
  const out: BaggageEntry[] = [];
  for (const raw of joined.split(',')) {
    const member = raw.trim();
    if (!member) continue;
    const semi = member.indexOf(';');
    const kv = semi === -1 ? member : member.slice(0, semi);
    const eq = kv.indexOf('=');
    if (eq <= 0) return undefined;
    const key = kv.slice(0, eq).trim();
    const rawValue = kv.slice(eq + 1).trim();
    if (!TOKEN.test(key) || !VALUE.test(rawValue)) return undefined;
    let decoded: string;
    try { decoded = decodeURIComponent(rawValue); } catch { return undefined; }
    const entry: BaggageEntry = { key, value: decoded };
    // An empty property list (`k=v;`) is no properties: kept as '', it did not survive
    // serialize → parse (found by fuzzing).
    const properties = semi === -1 ? '' : member.slice(semi + 1).trim();
    if (properties) entry.properties = properties;
    out.push(entry);
  }
  if (out.length > MAX_BAGGAGE_MEMBERS) return undefined;
  return out;
}

export function serializeBaggage(entries: readonly BaggageEntry[]): string {
  return entries
    .map((e) => `${e.key}=${encodeURIComponent(e.value)}${e.properties ? `;${e.properties}` : ''}`)
    .join(',');
}
