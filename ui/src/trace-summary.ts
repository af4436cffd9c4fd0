/** One search result's summary, computed from the Jaeger trace without building the full model. */
import type { Trace } from './jaeger-types.js';
import { isErrorSpan, parentSpanId } from './trace-model.js';

export interface TraceSummary {
  traceID: string;
  /** Service and operation of the root span, or of the earliest span when the root is missing. */
  rootService: string;
  rootOperation: string;
  /** False when no span of the trace is a root (the root never arrived). */
  hasRoot: boolean;
  startUs: number;
  durationUs: number;
  spanCount: number;
  errorCount: number;
  /** [service, span count], most spans first. */
  services: [string, number][];
}

export function summarizeTrace(t: Trace): TraceSummary {
  const ids = new Set<string>();
  for (const s of t.spans) ids.add(s.spanID);
  let start = Infinity;
  let end = -Infinity;
  let errors = 0;
  let root: (typeof t.spans)[number] | undefined;
  let earliest: (typeof t.spans)[number] | undefined;
  const perService = new Map<string, number>();
  for (const s of t.spans) {
    if (s.startTime < start) start = s.startTime;
    if (s.startTime + s.duration > end) end = s.startTime + s.duration;
    if (isErrorSpan(s.tags)) errors++;
    const svc = t.processes[s.processID]?.serviceName ?? s.processID;
    perService.set(svc, (perService.get(svc) ?? 0) + 1);
    const pid = parentSpanId(s);
    if (pid === undefined && (!root || s.startTime < root.startTime)) root = s;
    if (!earliest || s.startTime < earliest.startTime) earliest = s;
  }
  const head = root ?? earliest;
  return {
    traceID: t.traceID,
    rootService: head ? t.processes[head.processID]?.serviceName ?? head.processID : '',
    rootOperation: head?.operationName ?? '',
    hasRoot: !!root,
    startUs: t.spans.length ? start : 0,
    durationUs: t.spans.length ? end - start : 0,
    spanCount: t.spans.length,
    errorCount: errors,
    services: [...perService].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0])),
  };
}

export type SortKey = 'recent' | 'longest' | 'shortest' | 'spans';

export function sortSummaries(list: TraceSummary[], key: SortKey): TraceSummary[] {
  const out = [...list];
  const cmp: Record<SortKey, (a: TraceSummary, b: TraceSummary) => number> = {
    recent: (a, b) => b.startUs - a.startUs,
    longest: (a, b) => b.durationUs - a.durationUs,
    shortest: (a, b) => a.durationUs - b.durationUs,
    spans: (a, b) => b.spanCount - a.spanCount,
  };
  return out.sort(cmp[key]);
}
