/**
 * Search terms: what the `postings` index is keyed by, and the exact predicates that confirm a
 * candidate. Pure functions, no I/O.
 *
 * A term is a 47-bit hash (fits SQLite's 6-byte integer) of a typed string:
 *   any span            "\0"
 *   service             "\1" service
 *   service+operation   "\2" service "\0" operation
 *   tag                 "\3" key "\0" value-as-string
 * The resource attribute `service.name` is not indexed as a tag when it equals the span's service:
 * a `service.name=X` tag query uses the service term X instead (one term per trace saved).
 * Collisions only add candidates: every candidate is confirmed against the stored spans
 * (`spanHasTag`), so results are exact.
 *
 * Tags a span carries (what `TraceQuery.tags` matches): its attributes, its resource attributes,
 * its events' attributes, its events' names under the key `event`, and — because Jaeger shows
 * them as span tags and users search for them — `span.kind` (lowercase name, when not
 * unspecified), `error=true` and `otel.status_code=ERROR` for ERROR status, `otel.status_code=OK`
 * for OK status.
 */
import { type Attribute, type Span, SpanKind, StatusCode, attributeValueAsString, spanKindNames } from '../../model/span.js';

/** cyrb53 (public domain) cut to 47 bits: fast, well mixed, non-negative. */
export function hash47(str: string): number {
  let h1 = 0xdeadbeef;
  let h2 = 0x41c6ce57;
  for (let i = 0; i < str.length; i++) {
    const ch = str.charCodeAt(i);
    h1 = Math.imul(h1 ^ ch, 2654435761);
    h2 = Math.imul(h2 ^ ch, 1597334677);
  }
  h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507);
  h1 ^= Math.imul(h2 ^ (h2 >>> 13), 3266489909);
  h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507);
  h2 ^= Math.imul(h1 ^ (h1 >>> 13), 3266489909);
  return 4294967296 * (32767 & h2) + (h1 >>> 0);
}

export const ANY_TERM = hash47('\0');
export const SERVICE_NAME_KEY = 'service.name';
export const serviceTerm = (service: string): number => hash47('\u0001' + service);
export const operationTerm = (service: string, operation: string): number => hash47('\u0002' + service + '\0' + operation);
export const tagTerm = (key: string, value: string): number => hash47('\u0003' + key + '\0' + value);
/** The term a tag query uses: `service.name` goes through the service term (see above). */
export const tagQueryTerm = (key: string, value: string): number => (key === SERVICE_NAME_KEY ? serviceTerm(value) : tagTerm(key, value));

/** Calls `fn` for each tag of the span's attributes list (not resource, not events). */
export function forEachAttributeTag(attrs: readonly Attribute[], fn: (key: string, value: string) => void): void {
  for (const a of attrs) fn(a.key, attributeValueAsString(a));
}

/** Tags derived from kind and status (see the module comment). */
export function forEachDerivedTag(kind: SpanKind, statusCode: number, fn: (key: string, value: string) => void): void {
  if (kind !== SpanKind.UNSPECIFIED && spanKindNames[kind]) fn('span.kind', spanKindNames[kind]);
  if (statusCode === StatusCode.ERROR) {
    fn('error', 'true');
    fn('otel.status_code', 'ERROR');
  } else if (statusCode === StatusCode.OK) {
    fn('otel.status_code', 'OK');
  }
}

/**
 * Tags of the span itself: attributes, events (attributes and name as `event`) and derived tags.
 * Resource attributes are left out: the writer hashes them once per resource, not per span.
 */
export function forEachSpanOwnTag(span: Pick<Span, 'attributes' | 'events' | 'kind' | 'status'>, fn: (key: string, value: string) => void): void {
  forEachAttributeTag(span.attributes, fn);
  for (const e of span.events) {
    fn('event', e.name);
    forEachAttributeTag(e.attributes, fn);
  }
  forEachDerivedTag(span.kind, span.status.code, fn);
}

/** Exact check of one tag against the span's own tags (resource attributes checked separately). */
export function spanOwnTagMatches(span: Pick<Span, 'attributes' | 'events' | 'kind' | 'status'>, key: string, value: string): boolean {
  let found = false;
  forEachSpanOwnTag(span, (k, v) => {
    if (!found && k === key && v === value) found = true;
  });
  return found;
}

/** Exact check of one tag against a span including its resource attributes. */
export function spanHasTag(span: Span, key: string, value: string): boolean {
  for (const a of span.resource.attributes) if (a.key === key && attributeValueAsString(a) === value) return true;
  return spanOwnTagMatches(span, key, value);
}
