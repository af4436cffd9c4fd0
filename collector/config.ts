/**
 * The collector's whole configuration (what `createCollector` takes), flat so the CLI and the
 * all-in-one server can map flags onto it one to one. Each component still validates its own slice.
 */
import { z } from 'zod';
import { batchWriterConfigSchema, defaultBatchWriterConfig } from './batch-writer/config.js';
import { parseConfig } from './config-error.js';
import { corsOriginSchema, defaultOtlpHttpConfig, portSchema } from './otlp-http/config.js';
import { defaultSpanLimits, type SpanLimits } from './span-limits.js';

export interface CollectorConfig {
  /** Interface every receiver listens on ('0.0.0.0' = all IPv4). */
  host: string;
  /** OTLP/HTTP port (`POST /v1/traces`); 0 = any free port. */
  otlpHttpPort: number;
  /**
   * OTLP/gRPC port (`TraceService/Export`, conventionally 4317); 0 = any free port; null = no
   * gRPC receiver (the default).
   */
  otlpGrpcPort: number | null;
  /** Largest OTLP/gRPC message, bytes, after decompression (gRPC's customary 4 MiB); larger → RESOURCE_EXHAUSTED. */
  otlpGrpcMaxMessageBytes: number;
  /**
   * Zipkin v2 JSON port (`POST /api/v2/spans`, conventionally 9411); 0 = any free port;
   * null = no Zipkin receiver (the default, as in Jaeger where it is opt-in).
   */
  zipkinPort: number | null;
  /** Largest request body, bytes, raw and after decompression; larger → 413. */
  maxRequestBodyBytes: number;
  /** Spans accepted but not yet committed before receivers answer 503 + Retry-After. */
  maxQueueSpans: number;
  /** Most spans per storage write (transaction); 0 = one write per request. */
  maxBatchSpans: number;
  /** Longest a span waits behind an in-flight write before another write starts, ms; 0 = no timer. */
  flushIntervalMs: number;
  /** Origins browsers may send spans from (CORS); `*` = any; empty = none. */
  corsAllowedOrigins: string[];
  /** Attributes, value length, events, links per span and spans per trace kept (collector/span-limits.ts). */
  spanLimits: SpanLimits;
}

export const defaultCollectorConfig = (): CollectorConfig => {
  const http = defaultOtlpHttpConfig();
  return {
    host: http.host,
    otlpHttpPort: http.port,
    otlpGrpcPort: null,
    otlpGrpcMaxMessageBytes: 4 * 1024 * 1024,
    zipkinPort: null,
    maxRequestBodyBytes: http.maxRequestBodyBytes,
    ...defaultBatchWriterConfig(),
    corsAllowedOrigins: http.corsAllowedOrigins,
    spanLimits: defaultSpanLimits(),
  };
};

const batchFields = batchWriterConfigSchema.shape;

const limit = z.number().int('must be an integer').min(0, 'must not be negative (0 = no limit)');
export const spanLimitsSchema = z.object({
  maxAttributes: limit,
  maxAttributeValueLength: limit,
  maxEvents: limit,
  maxLinks: limit,
  maxSpansPerTrace: limit,
});

export const collectorConfigSchema = z
  .object({
    host: z.string().min(1, 'must not be empty'),
    otlpHttpPort: portSchema,
    otlpGrpcPort: portSchema.nullable(),
    otlpGrpcMaxMessageBytes: z.number().int('must be an integer').min(1, 'must be greater than zero'),
    zipkinPort: portSchema.nullable(),
    maxRequestBodyBytes: z.number().int('must be an integer').min(1, 'must be greater than zero'),
    maxQueueSpans: batchFields.maxQueueSpans,
    maxBatchSpans: batchFields.maxBatchSpans,
    flushIntervalMs: batchFields.flushIntervalMs,
    corsAllowedOrigins: z.array(corsOriginSchema),
    spanLimits: spanLimitsSchema,
  })
  .superRefine((c, ctx) => {
    if (c.maxBatchSpans > c.maxQueueSpans) {
      ctx.addIssue({ code: 'custom', path: ['maxQueueSpans'], message: `must be at least maxBatchSpans (${c.maxBatchSpans})` });
    }
    const ports: Array<[keyof CollectorConfig, number | null]> = [
      ['otlpHttpPort', c.otlpHttpPort],
      ['otlpGrpcPort', c.otlpGrpcPort],
      ['zipkinPort', c.zipkinPort],
    ];
    const seen = new Map<number, string>();
    for (const [name, port] of ports) {
      if (port === null || port === 0) continue;
      const other = seen.get(port);
      if (other) ctx.addIssue({ code: 'custom', path: [name], message: `must differ from ${other} (${port})` });
      else seen.set(port, name);
    }
  });

/** Defaults overlaid with `given`, validated; throws `CollectorConfigError` naming every bad field. */
export function parseCollectorConfig(given: Partial<CollectorConfig> = {}): CollectorConfig {
  return parseConfig(collectorConfigSchema, defaultCollectorConfig(), given);
}
