/**
 * Limits on the names a span brings in: its service name and its operation (span) name. They are
 * listed in the UI's drop-downs, stored in the services/operations tables and returned by
 * `/api/services`; a NUL byte or a 100k-character name sent by a buggy or hostile client would be
 * stored and listed as sent. The receivers keep the span and clean the name instead (dropping the
 * span would lose data over a cosmetic problem):
 *  - control characters (U+0000–U+001F, U+007F): tab, CR and LF become a space, the rest U+FFFD;
 *  - longer than the limit: cut to the limit, the last character being '…' (never splitting a
 *    surrogate pair).
 * Other attribute values are not cleaned (they are shown as text and searched exactly); their size is
 * bounded by the span limits (span-limits.ts).
 */
import type { Span } from '../model/span.js';

export const NAME_LIMITS = {
  /** Characters (UTF-16 code units) in a service name. */
  serviceName: 256,
  /** Characters (UTF-16 code units) in an operation (span) name. */
  operationName: 1024,
} as const;

const CONTROL = /[\u0000-\u001f\u007f]/;
const CONTROL_ALL = /[\u0000-\u001f\u007f]/g;

/** `name` within `max` characters and free of control characters; the same string when it was. */
export function limitName(name: string, max: number): string {
  let out = name;
  if (CONTROL.test(out)) out = out.replace(CONTROL_ALL, (c) => (c === '\t' || c === '\n' || c === '\r' ? ' ' : '\uFFFD'));
  if (out.length > max) {
    let cut = max - 1;
    const last = out.charCodeAt(cut - 1);
    if (last >= 0xd800 && last <= 0xdbff) cut--; // a high surrogate whose pair would be cut off
    out = `${out.slice(0, cut)}…`;
  }
  return out;
}

/**
 * Cleans the service and operation names of `spans` in place; returns how many names changed
 * (a shared resource's service name counts once).
 */
export function applyNameLimits(spans: Span[]): number {
  let changed = 0;
  let lastResource: Span['resource'] | undefined;
  for (const span of spans) {
    // Spans of one resource share the object, and arrive together: check it once per run.
    if (span.resource !== lastResource) {
      lastResource = span.resource;
      const svc = span.resource.serviceName;
      if (svc.length > NAME_LIMITS.serviceName || CONTROL.test(svc)) {
        const clean = limitName(svc, NAME_LIMITS.serviceName);
        span.resource.serviceName = clean;
        // The attribute it came from says the same, so process tags and the name agree.
        for (const a of span.resource.attributes) if (a.key === 'service.name' && a.type === 'string') a.value = clean;
        changed++;
      }
    }
    const name = span.name;
    if (name.length > NAME_LIMITS.operationName || CONTROL.test(name)) {
      span.name = limitName(name, NAME_LIMITS.operationName);
      changed++;
    }
  }
  return changed;
}
