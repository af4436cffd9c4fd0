import type { FilterChain } from '../filters/chain.js';
import type { Exchange } from '../filters/types.js';
import type { DownstreamRequest, DownstreamResponse } from '../http/downstream.js';
import { attempt, forward, sendLocalReply, type AttemptHandle, type ForwardOptions } from '../http/forward.js';
import { FAULT_ABORT_BODY } from './fault.js';
import { newSpanId } from '../propagation/ids.js';
import type { SpanEvent } from '../spans/span.js';
import { addEvent, MeshEvent, nowMs, retryReason, settleAttempt, startAttempt, traced, type AttemptRecord, type EventTarget } from './mesh-trace.js';
import { backoffMs, bodyFitsRetryBuffer, DEFAULT_RETRY_ON, isRetriable, type AttemptOutcome } from './retry.js';
import type { TrafficDecision } from './state.js';

/**
 * The listener's terminal step. An exchange without a traffic decision (no route policy, no
 * outlier detection) is forwarded once, streaming, exactly as before. Otherwise this runs what
 * the route filter decided and filters cannot do, being synchronous: the fault delay, retries
 * with back-off, and reporting each try's result to outlier detection.
 *
 * Retries follow Envoy: a try is retried only when its result is retriable, nothing has been sent
 * downstream yet, tries remain, and the request body is held (none, or Content-Length ≤ 64 KiB;
 * otherwise one streamed try). Each retry waits a jittered back-off, picks an endpoint again
 * through the balancer and sends `x-envoy-attempt-count`. The route timeout runs from the end of
 * the request to the response headers across all tries; `perTryTimeoutMs` bounds each try.
 * Exhausted on a retriable result: that result goes downstream with `URX` added.
 *
 * For a sampled trace each decision becomes a span event (proxy/traffic/mesh-trace.ts), and each
 * try of a call that was retried its own CLIENT span whose id is the traceparent sent on that try.
 */
export function routeExchange(ex: Exchange, req: DownstreamRequest, res: DownstreamResponse, chain: FilterChain, o: ForwardOptions): void {
  const t = ex.traffic;
  if (t === undefined || !t.active) { forward(ex, req, res, chain, o); return; }
  if (t.reject) {
    if (traced(ex)) rejectEvent(ex, t);
    // Drain (bounded by the client) so keep-alive survives a refused request with a body.
    req.resume();
    sendLocalReply(ex, res, chain, t.reject);
    return;
  }
  new PolicyRun(ex, req, res, chain, o, t).start();
}

function rejectEvent(ex: Exchange, t: TrafficDecision): void {
  const us = t.upstream;
  if (t.overflow) {
    addEvent(ex, MeshEvent.overflow, {
      'meshtrace.upstream': us.name, 'meshtrace.overflow.limit': t.overflow.limit,
      'meshtrace.overflow.max': t.overflow.max, 'meshtrace.overflow.current': t.overflow.current,
    });
  } else noHealthyEvent(ex, t);
}

function noHealthyEvent(ex: Exchange, t: TrafficDecision): void {
  const us = t.upstream;
  addEvent(ex, MeshEvent.noHealthyUpstream, {
    'meshtrace.upstream': us.name, 'meshtrace.upstream.endpoints': us.endpoints.length, 'meshtrace.upstream.ejected': us.ejected().join(','),
  });
}

const isFailure = (out: AttemptOutcome) => out.kind === 'response' ? out.status >= 500 : out.kind !== 'other';

class PolicyRun implements EventTarget {
  private gone = false;
  private wait?: NodeJS.Timeout;
  private routeTimer?: NodeJS.Timeout;
  private routeTimedOut = false;
  private current?: AttemptHandle;
  private tries = 0;
  /** Sampled trace: record events and per-try spans. */
  private readonly traced: boolean;
  private lastBackoffMs = 0;
  /** When the first try went out: it gets a span of its own only if it is retried. */
  private firstStartMs = 0;
  /** The first try's per-try events (timeout, ejection), held until it is known whether it is the only try. */
  events?: SpanEvent[];

  constructor(
    private readonly ex: Exchange, private readonly req: DownstreamRequest, private readonly res: DownstreamResponse,
    private readonly chain: FilterChain, private readonly o: ForwardOptions, private readonly t: TrafficDecision,
  ) { this.traced = traced(ex); }

  start(): void {
    this.res.once('close', this.onClose);
    const f = this.t.fault;
    if (f && f.delayMs > 0) {
      this.ex.responseFlags.push('DI');
      if (this.traced) addEvent(this.ex, MeshEvent.faultDelay, { 'meshtrace.fault.delay_ms': f.delayMs, 'meshtrace.fault.percent': this.ex.trafficRoute?.route.fault?.delay?.percent ?? 100 });
      this.wait = setTimeout(() => { this.wait = undefined; this.afterDelay(); }, f.delayMs);
    } else this.afterDelay();
  }

  /** The client left: stop waiting. A try in flight notices by itself (DC). */
  private readonly onClose = () => {
    this.gone = true;
    if (this.wait) { clearTimeout(this.wait); this.wait = undefined; }
    if (this.routeTimer) { clearTimeout(this.routeTimer); this.routeTimer = undefined; }
  };

  private done(): void {
    this.res.off('close', this.onClose);
    if (this.routeTimer) { clearTimeout(this.routeTimer); this.routeTimer = undefined; }
  }

  private afterDelay(): void {
    if (this.gone) return;
    const { ex, req, res, chain, t } = this;
    if (t.fault && t.fault.abortStatus) {
      this.done();
      if (this.traced) addEvent(ex, MeshEvent.faultAbort, { 'meshtrace.fault.abort_status': t.fault.abortStatus, 'meshtrace.fault.percent': ex.trafficRoute?.route.fault?.abort?.percent ?? 100 });
      req.resume();
      sendLocalReply(ex, res, chain, { status: t.fault.abortStatus, body: FAULT_ABORT_BODY, flag: 'FI' });
      return;
    }
    const routeTimeoutMs = ex.timeoutMs ?? this.o.timeoutMs;
    const r = t.retry;
    if (!r || r.attempts === 0 || !bodyFitsRetryBuffer(req.headers)) {
      // One streamed try; its results still feed outlier detection.
      this.done();
      const per = r?.perTryTimeoutMs ?? 0;
      const perTry = per > 0 && (routeTimeoutMs === 0 || per < routeTimeoutMs);
      const timeoutMs = perTry ? per : routeTimeoutMs;
      if (r) this.countTry();
      attempt(ex, req, res, chain, this.o.dispatcher, {
        timeoutMs,
        decide: (out) => {
          if (this.traced && out.kind === 'timeout') this.timeoutEvent(ex, perTry ? 'per_try' : 'route', timeoutMs);
          this.report(out, ex);
          return false;
        },
      });
      return;
    }
    this.readBody((body) => {
      if (routeTimeoutMs > 0) this.routeTimer = setTimeout(this.onRouteTimeout, routeTimeoutMs);
      this.tryOnce(body);
    });
  }

  private readBody(then: (body: Buffer | null) => void): void {
    const { req } = this;
    if (req.readableEnded || (req.headers['content-length'] ?? '0') === '0') { req.resume(); then(null); return; }
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.once('end', () => { if (!this.gone) then(Buffer.concat(chunks)); });
  }

  private readonly onRouteTimeout = () => {
    this.routeTimer = undefined;
    this.routeTimedOut = true;
    if (this.traced) this.timeoutEvent(this.ex, 'route', this.ex.timeoutMs ?? this.o.timeoutMs);
    if (this.current) { this.current.abort('timeout'); return; } // the try answers 504 UT
    // Between tries (back-off): answer now.
    if (this.wait) { clearTimeout(this.wait); this.wait = undefined; }
    this.done();
    this.ex.error = 'upstream request timeout';
    sendLocalReply(this.ex, this.res, this.chain, { status: 504, body: 'upstream request timeout', flag: 'UT' });
  };

  private countTry(): void {
    this.tries++;
    this.ex.headers['x-envoy-attempt-count'] = String(this.tries);
    this.ex.attributes['meshtrace.retry.attempts'] = this.tries;
  }

  private timeoutEvent(on: EventTarget, kind: 'route' | 'per_try', ms: number): void {
    addEvent(on, MeshEvent.timeout, { 'meshtrace.timeout.kind': kind, 'meshtrace.timeout.ms': ms });
  }

  /** Feeds outlier detection; an ejection goes on the span of the try (`on`) whose result caused it. */
  private report(out: AttemptOutcome, on: EventTarget): void {
    // A route timeout ends the exchange, not the endpoint's health.
    if (this.routeTimedOut) return;
    const ej = this.t.upstream.report(this.t.endpoint, isFailure(out));
    if (ej && this.traced) {
      const od = this.t.upstream.policy?.outlierDetection;
      addEvent(on, MeshEvent.ejection, {
        'meshtrace.upstream': this.t.upstream.name, 'meshtrace.ejection.endpoint': ej.endpoint,
        'meshtrace.ejection.reason': `${ej.consecutiveErrors} consecutive errors (consecutive5xxErrors)`,
        'meshtrace.ejection.duration_ms': ej.durationMs, 'meshtrace.ejection.count': ej.timesEjected,
        'meshtrace.ejection.max_percent': od?.maxEjectionPercent ?? 0,
      });
    }
  }

  private tryOnce(body: Buffer | null): void {
    const { ex, t } = this;
    const r = t.retry!;
    this.countTry();
    // The first try goes out under the exchange's own span id (the tracing filter injected it): a
    // call that is not retried stays one CLIENT span, as without a retry policy. A later try gets
    // a span of its own, with its id in the headers it sends.
    let rec: AttemptRecord | undefined;
    if (this.traced) {
      if (this.tries === 1) this.firstStartMs = nowMs();
      else rec = startAttempt(ex, this.lastBackoffMs);
    }
    this.current = attempt(ex, this.req, this.res, this.chain, this.o.dispatcher, {
      buffered: { body },
      timeoutMs: r.perTryTimeoutMs ?? 0,
      decide: (out) => {
        const on: EventTarget = rec ?? this;
        if (rec) settleAttempt(rec, out);
        if (this.traced && out.kind === 'timeout' && !this.routeTimedOut) this.timeoutEvent(on, 'per_try', r.perTryTimeoutMs ?? 0);
        this.report(out, on);
        if (this.routeTimedOut || this.gone || !isRetriable(r, out)) { this.onlyTry(); this.done(); return false; }
        if (this.tries > r.attempts) {
          ex.responseFlags.push('URX');
          if (this.traced) addEvent(on, MeshEvent.retry, { 'meshtrace.retry.reason': retryReason(out), 'meshtrace.retry.exhausted': true, 'meshtrace.retry.attempts': r.attempts });
          this.onlyTry();
          this.done();
          return false;
        }
        this.current = undefined;
        t.upstream.owner.events.upstreamRetry(t.upstream.name);
        const wait = backoffMs(this.tries, t.upstream.owner.random());
        if (this.traced) {
          const tried = rec ?? this.splitFirstTry(out);
          tried.endMs = nowMs();
          addEvent(tried, MeshEvent.retry, {
            'meshtrace.retry.reason': retryReason(out), 'meshtrace.retry.retry_on': (r.retryOn ?? DEFAULT_RETRY_ON).join(','),
            'meshtrace.retry.next_attempt': this.tries + 1, 'meshtrace.retry.attempts': r.attempts, 'meshtrace.retry.backoff_ms': wait,
          }, tried.endMs);
          this.lastBackoffMs = wait;
        }
        this.wait = setTimeout(() => { this.wait = undefined; this.retry(body); }, wait);
        return true;
      },
    });
  }

  /**
   * The first try is retried: the exchange's span becomes the logical call (a new span id) and the
   * first try a span of its own under it, keeping the id its request carried upstream.
   */
  private splitFirstTry(out: AttemptOutcome): AttemptRecord {
    const { ex } = this;
    const t = ex.trace!;
    t.logicalSpanId = newSpanId();
    const up = ex.upstream!;
    const first: AttemptRecord = { spanId: t.context.spanId, startMs: this.firstStartMs, endMs: 0, host: up.host, port: up.port, backoffMs: 0, status: 0 };
    settleAttempt(first, out);
    first.events = this.events;
    this.events = undefined;
    ex.attempts = [first];
    return first;
  }

  /** No retry followed the first try: its events are the call's own. */
  private onlyTry(): void {
    if (!this.events) return;
    (this.ex.events ??= []).push(...this.events);
    this.events = undefined;
  }

  private retry(body: Buffer | null): void {
    if (this.gone || this.routeTimedOut) return;
    const { ex, t } = this;
    const e = t.upstream.pick();
    if (!e) {
      this.done();
      if (this.traced) noHealthyEvent(ex, t);
      sendLocalReply(ex, this.res, this.chain, { status: 503, body: 'no healthy upstream', flag: 'UH' });
      return;
    }
    t.endpoint = e;
    ex.upstream = { ...ex.upstream!, host: e.host, port: e.port };
    this.tryOnce(body);
  }
}
