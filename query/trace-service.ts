/**
 * What the HTTP routes ask of storage, with adjusters applied: the one place that knows
 * `raw=true` means "skip adjusters" and that every read is held to the server's span budget
 * (query/limits.ts). Routes stay thin and never touch SQL.
 */
import type { Trace } from '../model/span.js';
import type { DependencyReader, TraceQuery, TraceReader } from '../storage/api.js';
import type { SpanBudget } from '../storage/span-budget.js';
import { type Adjuster, applyAdjusters } from './adjusters/index.js';
import { cutTraceWarning, DEFAULT_QUERY_LIMITS, newSpanBudget, type QueryLimits } from './limits.js';

export interface QueryServiceDeps {
  reader: TraceReader;
  dependencies: DependencyReader;
  adjusters: readonly Adjuster[];
  /** Per-response bounds; default `DEFAULT_QUERY_LIMITS`. */
  limits?: QueryLimits;
}

/** Traces read under one span budget: what was left out or cut is in `budget`. */
export interface BudgetedTraces {
  traces: Trace[];
  budget: SpanBudget;
}

export class QueryService {
  readonly limits: QueryLimits;

  constructor(private readonly deps: QueryServiceDeps) {
    this.limits = deps.limits ?? DEFAULT_QUERY_LIMITS;
  }

  get reader(): TraceReader {
    return this.deps.reader;
  }

  get dependencies(): DependencyReader {
    return this.deps.dependencies;
  }

  async getTraces(traceIds: string[], opts: { raw?: boolean; startTimeMinUs?: number; startTimeMaxUs?: number } = {}): Promise<BudgetedTraces> {
    const budget = newSpanBudget(this.limits);
    const traces = await this.deps.reader.getTraces({ traceIds, startTimeMinUs: opts.startTimeMinUs, startTimeMaxUs: opts.startTimeMaxUs }, budget);
    return { traces: this.finish(traces, budget, opts.raw), budget };
  }

  async findTraces(q: TraceQuery, opts: { raw?: boolean } = {}): Promise<BudgetedTraces> {
    const budget = newSpanBudget(this.limits);
    const traces = await this.deps.reader.findTraces(q, budget);
    return { traces: this.finish(traces, budget, opts.raw), budget };
  }

  adjust(trace: Trace): Trace {
    return applyAdjusters(trace, this.deps.adjusters);
  }

  /** Adjusts (unless raw) and gives a trace the budget cut a warning saying so (raw or not: it is not the stored trace). */
  private finish(traces: Trace[], budget: SpanBudget, raw: boolean | undefined): Trace[] {
    return traces.map((t) => {
      const out = raw ? t : this.adjust(t);
      const cut = budget.cutTraces.get(t.traceId);
      if (cut) out.warnings = [...(out.warnings ?? []), cutTraceWarning(cut.loaded, cut.total, budget.maxSpans)];
      return out;
    });
  }
}
