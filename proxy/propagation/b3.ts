import { type HeaderBag, type SpanContext, isValidSpanId, single } from './context.js';

/**
 * Zipkin B3 (https://github.com/openzipkin/b3-propagation), single `b3` header and multi `X-B3-*`.
 * 64-bit trace ids are left-padded to 128 bits. A sampling-only `b3: 0|1|d` yields a
 * {@link SamplingHint} without a context: the caller starts a new trace with that decision.
 */
export interface SamplingHint {
  sampled: boolean;
  debug: boolean;
}

export type B3Result = { context: SpanContext } | { hint: SamplingHint } | undefined;

const HEX_TRACE = /^([0-9a-f]{16}|[0-9a-f]{32})$/;

function normTraceId(id: string): string | undefined {
  if (!HEX_TRACE.test(id)) return undefined;
  const padded = id.padStart(32, '0');
  return /^0+$/.test(padded) ? undefined : padded;
}

/** Parses `0`, `1`, `d` (single) or `0`, `1`, `true`, `false` (multi, legacy). */
function parseSampling(v: string | undefined, allowDebug: boolean): SamplingHint | undefined | null {
  if (v === undefined) return undefined; // absent: defer
  switch (v.toLowerCase()) {
    case '1': case 'true': return { sampled: true, debug: false };
    case '0': case 'false': return { sampled: false, debug: false };
    case 'd': return allowDebug ? { sampled: true, debug: true } : null;
    default: return null; // malformed
  }
}

export function extractB3Single(headers: HeaderBag): B3Result {
  const raw = single(headers, 'b3');
  if (!raw) return undefined;
  const parts = raw.trim().split('-');
  if (parts.length === 1) {
    const hint = parseSampling(parts[0], true);
    return hint ? { hint } : undefined;
  }
  if (parts.length > 4) return undefined;
  const [t, s, sampling, parent] = parts;
  const traceId = normTraceId(t);
  if (!traceId || !isValidSpanId(s)) return undefined;
  if (parent !== undefined && !/^[0-9a-f]{16}$/.test(parent)) return undefined;
  const hint = parseSampling(sampling, true);
  if (hint === null) return undefined;
  // Deferred sampling: B3 lets the receiver decide; a proxy that records is the receiver here.
  const ctx: SpanContext = { traceId, spanId: s, sampled: hint ? hint.sampled : true };
  if (hint?.debug) ctx.debug = true;
  return { context: ctx };
}

export function extractB3Multi(headers: HeaderBag): B3Result {
  const t = single(headers, 'x-b3-traceid');
  const s = single(headers, 'x-b3-spanid');
  const flags = single(headers, 'x-b3-flags');
  const debug = flags === '1';
  const hint = parseSampling(single(headers, 'x-b3-sampled'), false);
  if (hint === null) return undefined;
  if (t === undefined && s === undefined) {
    if (debug) return { hint: { sampled: true, debug: true } };
    return hint ? { hint } : undefined;
  }
  const traceId = t !== undefined ? normTraceId(t.trim()) : undefined;
  if (!traceId || s === undefined || !isValidSpanId(s.trim())) return undefined;
  const ctx: SpanContext = { traceId, spanId: s.trim(), sampled: debug || (hint ? hint.sampled : true) };
  if (debug) ctx.debug = true;
  return { context: ctx };
}

export function injectB3Single(ctx: SpanContext, out: Record<string, string | string[]>): void {
  out['b3'] = `${ctx.traceId}-${ctx.spanId}-${ctx.debug ? 'd' : ctx.sampled ? '1' : '0'}`;
}

export function injectB3Multi(ctx: SpanContext, out: Record<string, string | string[]>): void {
  out['x-b3-traceid'] = ctx.traceId;
  out['x-b3-spanid'] = ctx.spanId;
  // B3: debug implies accept; X-B3-Sampled must not be sent alongside X-B3-Flags: 1.
  if (ctx.debug) out['x-b3-flags'] = '1';
  else out['x-b3-sampled'] = ctx.sampled ? '1' : '0';
}
