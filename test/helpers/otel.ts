/**
 * Real OpenTelemetry SDK peers: a tracer provider per service exporting over OTLP/HTTP
 * (protobuf or JSON) to the server under test.
 */
import { OTLPTraceExporter as ProtoExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { OTLPTraceExporter as JsonExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { defaultResource, resourceFromAttributes } from '@opentelemetry/resources';
import { BatchSpanProcessor, BasicTracerProvider } from '@opentelemetry/sdk-trace-base';

export function sdkProvider(opts: { otlpHttpUrl: string; service: string; encoding: 'protobuf' | 'json'; resource?: Record<string, string | number | boolean> }) {
  const url = `${opts.otlpHttpUrl}/v1/traces`;
  const exporter = opts.encoding === 'protobuf' ? new ProtoExporter({ url }) : new JsonExporter({ url });
  const provider = new BasicTracerProvider({
    // Like a real app: the SDK's default resource (telemetry.sdk.*) plus the service's own.
    resource: defaultResource().merge(resourceFromAttributes({ 'service.name': opts.service, ...opts.resource })),
    spanProcessors: [new BatchSpanProcessor(exporter, { scheduledDelayMillis: 50 })],
  });
  return provider;
}
