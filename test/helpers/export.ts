/**
 * One export through a real OpenTelemetry SDK exporter, with its result: the exporters swallow
 * failures inside a span processor, so tests that expect a refusal call `export` themselves.
 */
import { ExportResultCode } from '@opentelemetry/core';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor, type SpanExporter } from '@opentelemetry/sdk-trace-base';

export interface ExportOutcome { ok: boolean; error?: string; traceId: string }

export async function exportOneSpan(exporter: SpanExporter, service: string, name = 'op'): Promise<ExportOutcome> {
  const memory = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({ resource: resourceFromAttributes({ 'service.name': service }), spanProcessors: [new SimpleSpanProcessor(memory)] });
  const span = provider.getTracer('test').startSpan(name);
  span.end();
  await provider.forceFlush();
  const spans = memory.getFinishedSpans();
  const outcome = await new Promise<ExportOutcome>((resolve) =>
    exporter.export(spans, (r) => resolve({ ok: r.code === ExportResultCode.SUCCESS, error: r.error ? `${r.error.message} ${(r.error as { code?: unknown }).code ?? ''}` : undefined, traceId: span.spanContext().traceId })),
  );
  await exporter.shutdown();
  await provider.shutdown();
  return outcome;
}
