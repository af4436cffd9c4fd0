/**
 * What the HTTP routes ask of storage, with adjusters applied: the one place that knows
 * `raw=true` means "skip adjusters". Routes stay thin and never touch SQL.
 */
import type { Trace } from '../model/span.js';
import type { DependencyReader, TraceQuery, TraceReader } from '../storage/api.js';
import { type Adjuster, applyAdjusters } from './adjusters/index.js';

export interface QueryServiceDeps {
  reader: TraceReader;
  dependencies: DependencyReader;
  adjusters: readonly Adjuster[];
}

export class QueryService {
  constructor(private readonly deps: QueryServiceDeps) {}

  get reader(): TraceReader {
    return this.deps.reader;
  }

  get dependencies(): DependencyReader {
    return this.deps.dependencies;
  }

  async getTraces(traceIds: string[], opts: { raw?: boolean; startTimeMinUs?: number; startTimeMaxUs?: number } = {}): Promise<Trace[]> {
    const traces = await this.deps.reader.getTraces({ traceIds, startTimeMinUs: opts.startTimeMinUs, startTimeMaxUs: opts.startTimeMaxUs });
    return opts.raw ? traces : traces.map((t) => this.adjust(t));
  }

  async findTraces(q: TraceQuery, opts: { raw?: boolean } = {}): Promise<Trace[]> {
    const traces = await this.deps.reader.findTraces(q);
    return opts.raw ? traces : traces.map((t) => this.adjust(t));
  }

  adjust(trace: Trace): Trace {
    return applyAdjusters(trace, this.deps.adjusters);
  }
}
