import { type HeaderBag, type SpanContext, isValidSpanId, single } from './context.js';

/**
 * Jaeger's native `uber-trace-id: {trace-id}:{span-id}:{parent-span-id}:{flags}`
 * (https://www.jaegertracing.io/docs/client-libraries/#propagation-format). Ids are hex of
 * variable length (leading zeros may be dropped) and are left-padded; the value may be
 * URL-encoded (`%3A`). Flags: bit 1 sampled, bit 2 debug. `uberctx-*` baggage headers pass through.
 */
export function extractJaeger(headers: HeaderBag): SpanContext | undefined {
  let raw = single(headers, 'uber-trace-id');
  if (!raw) return undefined;
  if (raw.includes('%')) {
    try { raw = decodeURIComponent(raw); } catch { return undefined; }
  }
  const parts = raw.trim().split(':');
  if (parts.length !== 4) return undefined;
  const [t, s, , f] = parts;
  if (!/^[0-9a-f]{1,32}$/.test(t) || !/^[0-9a-f]{1,16}$/.test(s) || !/^[0-9a-f]{1,2}$/.test(f)) return undefined;
  const traceId = t.padStart(32, '0');
  const spanId = s.padStart(16, '0');
  if (/^0+$/.test(traceId) || !isValidSpanId(spanId)) return undefined;
  const flags = parseInt(f, 16);
  const ctx: SpanContext = { traceId, spanId, sampled: (flags & 1) === 1 };
  if (flags & 2) { ctx.debug = true; ctx.sampled = true; }
  return ctx;
}

export function injectJaeger(ctx: SpanContext, out: Record<string, string | string[]>): void {
  const flags = (ctx.sampled || ctx.debug ? 1 : 0) | (ctx.debug ? 2 : 0);
  // The parent field is deprecated in Jaeger clients; `0` is what they send.
  out['uber-trace-id'] = `${ctx.traceId}:${ctx.spanId}:0:${flags.toString(16)}`;
}
