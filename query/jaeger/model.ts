/**
 * The Jaeger JSON trace model, exactly as jaeger-query's HTTP API serves it
 * (jaegertracing/jaeger model/json/model.go) and as jaeger-ui and Grafana's Jaeger data source read it.
 */
export type JaegerValueType = 'string' | 'bool' | 'int64' | 'float64' | 'binary';

export interface JaegerKeyValue {
  key: string;
  type: JaegerValueType;
  value: string | number | boolean;
}

export interface JaegerLog {
  timestamp: number;
  fields: JaegerKeyValue[];
}

export interface JaegerReference {
  refType: 'CHILD_OF' | 'FOLLOWS_FROM';
  traceID: string;
  spanID: string;
}

export interface JaegerProcess {
  serviceName: string;
  tags: JaegerKeyValue[];
}

export interface JaegerSpan {
  traceID: string;
  spanID: string;
  flags?: number;
  operationName: string;
  references: JaegerReference[];
  startTime: number;
  duration: number;
  tags: JaegerKeyValue[];
  logs: JaegerLog[];
  processID: string;
  warnings: string[] | null;
}

export interface JaegerTrace {
  traceID: string;
  spans: JaegerSpan[];
  processes: Record<string, JaegerProcess>;
  warnings: string[] | null;
}

export interface JaegerDependencyLink {
  parent: string;
  child: string;
  callCount: number;
  /** meshtrace extension: calls whose child span failed. Jaeger clients ignore unknown keys. */
  errorCount?: number;
}

/** Every key always present, as jaeger-query's structuredResponse. */
export interface JaegerEnvelope<T> {
  data: T;
  total: number;
  limit: number;
  offset: number;
  errors: JaegerError[] | null;
}

export interface JaegerError {
  code?: number;
  msg: string;
  traceID?: string;
}
