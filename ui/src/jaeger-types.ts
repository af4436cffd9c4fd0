/**
 * The Jaeger query API's JSON shapes (jaeger `model/json/model.go`), as the UI receives them.
 * Times are microseconds since the epoch; durations microseconds.
 */
export interface KV {
  key: string;
  type: 'string' | 'bool' | 'int64' | 'float64' | 'binary' | string;
  value: unknown;
}
export interface Log {
  timestamp: number;
  fields: KV[];
}
export interface Ref {
  refType: 'CHILD_OF' | 'FOLLOWS_FROM';
  traceID: string;
  spanID: string;
}
export interface Span {
  traceID: string;
  spanID: string;
  flags?: number;
  operationName: string;
  references: Ref[];
  startTime: number;
  duration: number;
  tags: KV[];
  logs: Log[];
  processID: string;
  warnings: string[] | null;
}
export interface Process {
  serviceName: string;
  tags: KV[];
}
export interface Trace {
  traceID: string;
  spans: Span[];
  processes: Record<string, Process>;
  warnings: string[] | null;
  /** Spans a TraceQL query matched (`api/ext/search` only). */
  matchedSpanIDs?: string[];
}
export interface ApiError {
  code?: number;
  msg: string;
  traceID?: string;
}
/** Every Jaeger API response: all keys always present. */
export interface Envelope<T> {
  data: T;
  total: number;
  limit: number;
  offset: number;
  errors: ApiError[] | null;
}
export interface DependencyLink {
  parent: string;
  child: string;
  callCount: number;
}

/** meshtrace extension `GET /api/ext/traces/:id/compact`: the server's own type (erased at build). */
export type { CompactTrace } from '../../query/compact-trace.js';
