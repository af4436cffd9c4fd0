import { extractB3Multi, extractB3Single, injectB3Multi, injectB3Single, type SamplingHint } from './b3.js';
import { parseBaggage } from './baggage.js';
import type { HeaderBag, PropagatorName, SpanContext } from './context.js';
import { extractJaeger, injectJaeger } from './jaeger.js';
import { extractW3C, injectW3C } from './w3c.js';

export type { HeaderBag, PropagatorName, SpanContext } from './context.js';
export { propagatorNames } from './context.js';

/**
 * What a request carried. `context` is the remote parent (absent: start a new trace);
 * `format` names the header it came from; `hint` is a sampling decision without a parent
 * (`b3: 0`); `invalid` lists trace headers that were present but rejected — the request is
 * still served, with a new trace.
 */
export interface Extracted {
  context?: SpanContext;
  format?: PropagatorName;
  hint?: SamplingHint;
  invalid: PropagatorName[];
}

/** Every header a trace-context format writes; removed before injecting so no stale parent leaks. */
export const TRACE_HEADERS = [
  'traceparent', 'tracestate', 'b3', 'x-b3-traceid', 'x-b3-spanid', 'x-b3-parentspanid',
  'x-b3-sampled', 'x-b3-flags', 'uber-trace-id',
] as const;

/**
 * Extracts from every known format regardless of what is configured for injection (a mesh
 * meets callers of every kind), first valid wins: W3C, B3 single, B3 multi, Jaeger.
 */
export function extract(headers: HeaderBag): Extracted {
  const invalid: PropagatorName[] = [];
  let hint: SamplingHint | undefined;

  if (headers['traceparent'] !== undefined) {
    const ctx = extractW3C(headers);
    if (ctx) return { context: ctx, format: 'tracecontext', invalid };
    invalid.push('tracecontext');
  }
  if (headers['b3'] !== undefined) {
    const r = extractB3Single(headers);
    if (r && 'context' in r) return { context: r.context, format: 'b3', invalid };
    if (r) hint = r.hint;
    else invalid.push('b3');
  }
  if (headers['x-b3-traceid'] !== undefined || headers['x-b3-sampled'] !== undefined || headers['x-b3-flags'] !== undefined) {
    const r = extractB3Multi(headers);
    if (r && 'context' in r) return { context: r.context, format: 'b3multi', invalid };
    if (r) hint ??= r.hint;
    else invalid.push('b3multi');
  }
  if (headers['uber-trace-id'] !== undefined) {
    const ctx = extractJaeger(headers);
    if (ctx) return { context: ctx, format: 'jaeger', invalid };
    invalid.push('jaeger');
  }
  return hint ? { hint, invalid } : { invalid };
}

/**
 * Writes `ctx` into `out` (a header object about to be forwarded): W3C always, plus each
 * configured format. Removes every trace header first. tracestate goes with W3C; baggage and
 * Jaeger's `uberctx-*` headers are left as they are, except that a malformed baggage header is
 * dropped when `baggage` is configured.
 */
export function inject(ctx: SpanContext, formats: readonly PropagatorName[], out: Record<string, string | string[]>): void {
  for (const h of TRACE_HEADERS) delete out[h];
  injectW3C(ctx, out);
  for (const f of formats) {
    switch (f) {
      case 'tracecontext': break; // always written
      case 'b3': injectB3Single(ctx, out); break;
      case 'b3multi': injectB3Multi(ctx, out); break;
      case 'jaeger': injectJaeger(ctx, out); break;
      case 'baggage': {
        const b = out['baggage'];
        if (b !== undefined) {
          const parsed = parseBaggage(b);
          // Valid baggage is forwarded verbatim: re-encoding could change a value's bytes.
          if (parsed === undefined || parsed.length === 0) delete out['baggage'];
          else if (Array.isArray(b)) out['baggage'] = b.join(',');
        }
        break;
      }
    }
  }
}
