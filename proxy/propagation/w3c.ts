import { type HeaderBag, type SpanContext, isValidSpanId, isValidTraceId, single } from './context.js';

/**
 * W3C Trace Context (https://www.w3.org/TR/trace-context/): `traceparent` and `tracestate`.
 *
 * Invalid input is ignored (the caller starts a new trace): wrong lengths, uppercase hex,
 * all-zero ids, version `ff`, a version-00 header with trailing data, a repeated header.
 * Future versions (01–fe) are parsed by their first four fields, as the spec requires.
 */
const TRACEPARENT = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-.*)?$/;

/** Most tracestate members a header may carry (spec: 32). */
export const MAX_TRACESTATE_MEMBERS = 32;

export function parseTraceparent(value: string | undefined): SpanContext | undefined {
  if (!value) return undefined;
  const m = TRACEPARENT.exec(value.trim());
  if (!m) return undefined;
  const [, version, traceId, spanId, flags, rest] = m;
  if (version === 'ff') return undefined;
  if (version === '00' && rest !== undefined) return undefined;
  if (!isValidTraceId(traceId) || !isValidSpanId(spanId)) return undefined;
  return { traceId, spanId, sampled: (parseInt(flags, 16) & 1) === 1 };
}

/**
 * Level 2 key grammar (trace-context-2, "key"): a lowercase letter or digit, then up to 255 of
 * `a-z 0-9 _ - * / @`. It replaces Level 1's `tenant@vendor` form (tenant ≤ 241, vendor ≤ 14
 * characters, one `@`), so `foo@`, `foo@@bar` and `t@` + 15 characters are valid keys; Level 1
 * keys all still match. The W3C harness checks this grammar at its default strict level.
 */
const TS_KEY = /^[a-z0-9][_0-9a-z\-*/@]{0,255}$/;
const TS_VALUE = /^[\x20-\x2b\x2d-\x3c\x3e-\x7e]{0,255}[\x21-\x2b\x2d-\x3c\x3e-\x7e]$/;

/**
 * Normalise a tracestate header (several headers are one list, combined in order): members
 * validated, empty members skipped, OWS around members removed. Returns undefined, i.e. the
 * whole tracestate is discarded, when a member breaks the grammar (the spec's "failed to parse":
 * forwarding part of a list we cannot read could hand a vendor a truncated state of its own) or
 * when it has more than 32 members (the spec's limit; cutting some off would be a mutation the
 * harness's `test_tracestate_member_count_limit` refuses). A repeated key keeps its first
 * (left-most, most recent) member and drops the later ones, which the spec allows.
 */
export function parseTracestate(value: string | string[] | undefined): string | undefined {
  if (value === undefined) return undefined;
  const joined = Array.isArray(value) ? value.join(',') : value;
  const members: string[] = [];
  const seen = new Set<string>();
  for (const raw of joined.split(',')) {
    const member = raw.trim();
    if (!member) continue;
    const eq = member.indexOf('=');
    if (eq <= 0) return undefined;
    const key = member.slice(0, eq);
    const val = member.slice(eq + 1);
    if (!TS_KEY.test(key) || !TS_VALUE.test(val)) return undefined;
    if (seen.has(key)) continue;
    seen.add(key);
    if (members.length === MAX_TRACESTATE_MEMBERS) return undefined;
    members.push(`${key}=${val}`);
  }
  return members.length ? members.join(',') : undefined;
}

export function extractW3C(headers: HeaderBag): SpanContext | undefined {
  const ctx = parseTraceparent(single(headers, 'traceparent'));
  if (!ctx) return undefined;
  const ts = parseTracestate(headers['tracestate']);
  if (ts) ctx.traceState = ts;
  return ctx;
}

export function formatTraceparent(ctx: SpanContext): string {
  return `00-${ctx.traceId}-${ctx.spanId}-${ctx.sampled || ctx.debug ? '01' : '00'}`;
}

export function injectW3C(ctx: SpanContext, out: Record<string, string | string[]>): void {
  out['traceparent'] = formatTraceparent(ctx);
  if (ctx.traceState) out['tracestate'] = ctx.traceState;
}
