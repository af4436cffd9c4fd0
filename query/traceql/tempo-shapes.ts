/**
 * Search matches → Grafana Tempo's search response shapes (tempopb SearchResponse /
 * TraceSearchMetadata / SpanSet, as Tempo's HTTP API renders them in JSON): 64-bit numbers as
 * decimal strings, ids hex, `spanSet` (deprecated in Tempo, still read by older Grafana) and
 * `spanSets`.
 */
import { type Attribute, type Span, spanKindNames } from '../../model/span.js';
import { attributeToOtlp, type OtlpKeyValue } from '../otlp-json/any-value.js';
import type { Field } from './ast.js';
import type { TraceQLMatch } from './search.js';

export interface TempoSpan {
  spanID: string;
  name: string;
  startTimeUnixNano: string;
  durationNanos: string;
  attributes?: OtlpKeyValue[];
}

export interface TempoSpanSet {
  spans: TempoSpan[];
  matched: number;
}

export interface TempoTraceSearchMetadata {
  traceID: string;
  rootServiceName: string;
  rootTraceName?: string;
  startTimeUnixNano: string;
  durationMs: number;
  spanSet: TempoSpanSet;
  spanSets: TempoSpanSet[];
}

/** What Tempo says for a trace whose root span has not arrived (Grafana shows it as is). */
export const NO_ROOT_SPAN = '<root span not yet received>';

const nanos = (us: number): string => (BigInt(us) * 1000n).toString();
const STATUS_NAMES = ['unset', 'ok', 'error'];

/** The span's value of a field for the answer (intrinsics already carried elsewhere are left out). */
function fieldAttribute(f: Field, s: Span): OtlpKeyValue | undefined {
  if (f.kind === 'intrinsic') {
    if (f.name === 'status') return { key: 'status', value: { stringValue: STATUS_NAMES[s.status.code] ?? 'unset' } };
    if (f.name === 'kind') return { key: 'kind', value: { stringValue: spanKindNames[s.kind] || 'unspecified' } };
    return undefined;
  }
  const find = (attrs: readonly Attribute[]) => attrs.find((a) => a.key === f.name);
  const a = f.scope === 'span' ? find(s.attributes) : f.scope === 'resource' ? find(s.resource.attributes) : (find(s.attributes) ?? find(s.resource.attributes));
  return a ? attributeToOtlp(a) : undefined;
}

export function toTempoMetadata(m: TraceQLMatch, fields: readonly Field[], spss: number): TempoTraceSearchMetadata {
  const { index } = m;
  const spans: TempoSpan[] = m.spans.slice(0, spss).map((s) => {
    const attributes = fields.map((f) => fieldAttribute(f, s)).filter((a): a is OtlpKeyValue => a !== undefined);
    return {
      spanID: s.spanId,
      name: s.name,
      startTimeUnixNano: nanos(s.startTimeUs),
      durationNanos: nanos(s.durationUs),
      ...(attributes.length ? { attributes } : {}),
    };
  });
  const spanSet = { spans, matched: m.spans.length };
  return {
    traceID: index.trace.traceId,
    rootServiceName: index.root?.resource.serviceName ?? NO_ROOT_SPAN,
    ...(index.root ? { rootTraceName: index.root.name } : {}),
    startTimeUnixNano: nanos(index.startUs),
    durationMs: Math.floor(index.durationUs / 1000),
    spanSet,
    spanSets: [spanSet],
  };
}
