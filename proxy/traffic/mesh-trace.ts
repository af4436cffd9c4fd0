import { performance } from 'node:perf_hooks';
import type { Exchange } from '../filters/types.js';
import { inject, type SpanContext } from '../propagation/index.js';
import { newSpanId } from '../propagation/ids.js';
import type { AttributeValue, SpanEvent } from '../spans/span.js';
import type { AttemptOutcome } from './retry.js';

/**
 * What the mesh did to a request, kept for its trace (issue 12): span events for each decision
 * (route, fault, overflow, ejection, no healthy upstream, timeout, retry) and, once a call is
 * retried, one record per try, each recorded as its own CLIENT span under the logical call
 * (proxy/spans/recorder.ts). A call that is not retried stays one span. Only requests whose trace is sampled get any of it, and nothing is
 * allocated until the mesh acts, so a plain forwarded request costs nothing more.
 *
 * Names and attributes are documented in proxy/README.md ("The mesh in the trace").
 */

export const MeshEvent = {
  route: 'meshtrace.route',
  faultDelay: 'meshtrace.fault.delay',
  faultAbort: 'meshtrace.fault.abort',
  overflow: 'meshtrace.overflow',
  ejection: 'meshtrace.ejection',
  noHealthyUpstream: 'meshtrace.no_healthy_upstream',
  timeout: 'meshtrace.timeout',
  retry: 'meshtrace.retry',
} as const;

/** One try of a retried call: becomes a CLIENT span, child of the exchange's logical span. */
export interface AttemptRecord {
  spanId: string;
  startMs: number;
  /** 0 while the try is the one answering: it ends with the exchange. */
  endMs: number;
  host: string;
  port: number;
  /** Back-off waited before this try, ms (0 for the first). */
  backoffMs: number;
  /** Upstream response status; 0 = none (connection failure, reset, timeout). */
  status: number;
  errorType?: string;
  /** Response flag the try came to without a response (UF, UT, UH). */
  flag?: string;
  events?: SpanEvent[];
}

/** Anything a span is made from: the exchange (the logical span) or one of its tries. */
export interface EventTarget { events?: SpanEvent[] }

export const nowMs = (): number => performance.timeOrigin + performance.now();

/** Whether the exchange's span is recorded: only then is any of this worth allocating. */
export const traced = (ex: Exchange): boolean => ex.trace?.context.sampled === true;

export function addEvent(target: EventTarget, name: string, attributes: Record<string, AttributeValue>, timeMs = nowMs()): void {
  (target.events ??= []).push({ name, timeMs, attributes });
}

/**
 * Starts a try's span: a new span id under the exchange's, injected into the headers sent
 * upstream, so the upstream's SERVER span for this try is its child.
 */
export function startAttempt(ex: Exchange, backoffMs: number): AttemptRecord {
  const t = ex.trace!;
  const ctx: SpanContext = { traceId: t.context.traceId, spanId: newSpanId(), sampled: true };
  if (t.context.debug) ctx.debug = true;
  if (t.context.traceState) ctx.traceState = t.context.traceState;
  inject(ctx, t.propagators, ex.headers);
  const up = ex.upstream!;
  const a: AttemptRecord = { spanId: ctx.spanId, startMs: nowMs(), endMs: 0, host: up.host, port: up.port, backoffMs, status: 0 };
  (ex.attempts ??= []).push(a);
  return a;
}

/** Records how a try went (before anything went downstream). */
export function settleAttempt(a: AttemptRecord, o: AttemptOutcome): void {
  if (o.kind === 'response') {
    a.status = o.status;
    if (o.status >= 500) a.errorType = String(o.status);
    return;
  }
  a.errorType = o.kind === 'timeout' ? 'timeout' : o.code;
  a.flag = o.kind === 'timeout' ? 'UT' : o.kind === 'resolve' ? 'UH' : 'UF';
}

/** Why a try is retried, in Envoy's terms: the status, or the kind of failure. */
export const retryReason = (o: AttemptOutcome): string => o.kind === 'response' ? String(o.status) : o.kind;
