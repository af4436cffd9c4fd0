/**
 * A bound on the spans one read loads: every span of a query response is in memory at once (model
 * objects, then the serialized JSON), so an unbounded read of a large search or a huge trace could
 * exhaust the heap or exceed V8's string limit ("Invalid string length"). The query API creates one
 * budget per response and passes it to `TraceReader.getTraces` / `findTraces`; the backend asks
 * `admit` before loading each trace, in result order, so what is left out is never read.
 *
 * One policy for every backend (here, not in each backend): a trace that fits in what is left is
 * loaded whole; the first trace that does not fit is left out with every trace after it, so a
 * search answer stays its most recent traces; except that when nothing was loaded yet the trace is
 * cut to the budget (an answer with no trace would show nothing), keeping its earliest spans.
 */
export interface CutTrace {
  /** Spans loaded. */
  loaded: number;
  /** Spans the store holds for the trace (as counted at write time). */
  total: number;
}

export class SpanBudget {
  private spent = 0;
  /** Ids of traces left out whole, in result order. */
  readonly omittedTraceIds: string[] = [];
  /** Traces returned with only part of their spans: id → counts. */
  readonly cutTraces = new Map<string, CutTrace>();

  constructor(readonly maxSpans: number) {
    if (!Number.isSafeInteger(maxSpans) || maxSpans <= 0) throw new Error(`SpanBudget: maxSpans must be a positive integer, got ${maxSpans}`);
  }

  /**
   * How many of the trace's `total` spans the reader may load: `total` (whole), fewer (cut: load
   * that many, earliest first) or 0 (left out: do not read it).
   */
  admit(traceId: string, total: number): number {
    if (this.omittedTraceIds.length === 0 && this.spent + total <= this.maxSpans) {
      this.spent += total;
      return total;
    }
    if (this.spent === 0 && this.omittedTraceIds.length === 0) {
      this.spent = this.maxSpans;
      this.cutTraces.set(traceId, { loaded: this.maxSpans, total });
      return this.maxSpans;
    }
    this.omittedTraceIds.push(traceId);
    return 0;
  }

  /** Spans admitted so far. */
  get spentSpans(): number {
    return this.spent;
  }

  /** Whether the read returned less than it found (a trace left out or cut). */
  get exceeded(): boolean {
    return this.omittedTraceIds.length > 0 || this.cutTraces.size > 0;
  }
}
