/**
 * What every bookshop service shares: OpenTelemetry tracing, an HTTP server whose requests become
 * SERVER spans, calls to other services through the sidecar, and the demo's behaviour knobs.
 *
 * The services are plain Node (no build step, no meshtrace code): they are what a user's own
 * services look like behind a meshtrace sidecar. `meshtrace inject` gives them:
 *   PORT                          where to listen (the sidecar forwards inbound requests there)
 *   HTTP_PROXY                    the sidecar's outbound listener: calls to http://reviews/… go there
 *   OTEL_EXPORTER_OTLP_ENDPOINT   the collector (unset: no spans are exported)
 *   OTEL_SERVICE_NAME             the service name
 * and the demo adds SERVICE_VERSION (resource `service.version`) and the knobs below.
 *
 * Behaviour knobs (environment, read once at start):
 *   BOOKSHOP_LATENCY_SCALE  multiplies every simulated delay (default 1; 0 = no artificial latency)
 *   BOOKSHOP_ERROR_RATE     probability that details or ratings answers 500 (default 0.02)
 *   BOOKSHOP_SLOW_RATE      probability that a ratings lookup takes 300–700 ms more (default 0.05)
 *   BOOKSHOP_UNAVAILABLE_RATE  ratings: probability of answering 503 at once, as a flaky version
 *                           does (default 0; the demo's ratings v2 has 0.2: one call in five)
 *   BOOKSHOP_TRACE_UI       productpage: the meshtrace UI's URL, for a link to each page's trace
 */
import http from 'node:http';
import { context, propagation, ROOT_CONTEXT, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BatchSpanProcessor, NodeTracerProvider } from '@opentelemetry/sdk-trace-node';

/** @param {string} name @param {number} dflt */
function envNumber(name, dflt) {
  const raw = process.env[name];
  if (raw === undefined || raw.trim() === '') return dflt;
  const n = Number(raw);
  if (!Number.isFinite(n) || n < 0) {
    process.stderr.write(`bookshop: ${name} must be a number ≥ 0, got '${raw}'\n`);
    process.exit(2);
  }
  return n;
}

export const knobs = {
  latencyScale: envNumber('BOOKSHOP_LATENCY_SCALE', 1),
  errorRate: envNumber('BOOKSHOP_ERROR_RATE', 0.02),
  slowRate: envNumber('BOOKSHOP_SLOW_RATE', 0.05),
  unavailableRate: envNumber('BOOKSHOP_UNAVAILABLE_RATE', 0),
};

/** Waits a random time in [minMs, maxMs], scaled by BOOKSHOP_LATENCY_SCALE. */
export function work(minMs, maxMs) {
  const ms = (minMs + Math.random() * (maxMs - minMs)) * knobs.latencyScale;
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** True with probability p. */
export const chance = (p) => Math.random() < p;

/**
 * Headers an app forwards from its inbound request to its outbound calls, as Istio asks apps to.
 * The trace context itself (traceparent/tracestate) is written by the OTel propagator from the
 * app's active span, so the sidecar's CLIENT span nests under the app's own span.
 */
const FORWARDED = ['x-request-id', 'baggage', 'x-meshtrace-debug', 'end-user', 'user-agent'];

const serviceName = process.env.OTEL_SERVICE_NAME ?? 'bookshop';
const serviceVersion = process.env.SERVICE_VERSION ?? 'v1';
const endpoint = process.env.OTEL_EXPORTER_OTLP_ENDPOINT;

const provider = new NodeTracerProvider({
  resource: resourceFromAttributes({
    'service.name': serviceName,
    'service.version': serviceVersion,
    'service.instance.id': `${serviceName}-${serviceVersion}-${process.pid}`,
    'telemetry.sdk.language': 'nodejs',
  }),
  spanProcessors: endpoint
    // A short delay so the demo's first trace shows up within a second or two.
    ? [new BatchSpanProcessor(new OTLPTraceExporter({ url: `${endpoint.replace(/\/+$/, '')}/v1/traces` }), { scheduledDelayMillis: 500 })]
    : [],
});
// Registers the AsyncLocalStorage context manager (active spans survive awaits) and W3C propagation.
provider.register({ propagator: new W3CTraceContextPropagator() });

export const tracer = trace.getTracer(`bookshop-${serviceName}`, '1.0.0');
export const service = { name: serviceName, version: serviceVersion };

/** Runs fn inside a child span of the active one (a "db lookup", a "render"). */
export function inSpan(name, attributes, fn) {
  return tracer.startActiveSpan(name, { attributes }, async (span) => {
    try {
      return await fn(span);
    } catch (err) {
      span.recordException(err);
      span.setStatus({ code: SpanStatusCode.ERROR, message: err.message });
      throw err;
    } finally {
      span.end();
    }
  });
}

export class HttpError extends Error {
  constructor(status, message) { super(message); this.status = status; }
}

const proxy = process.env.HTTP_PROXY || process.env.http_proxy ? new URL(process.env.HTTP_PROXY || process.env.http_proxy) : undefined;
const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });

/**
 * GET http://<service><path> through the sidecar (HTTP_PROXY, absolute-form target), forwarding
 * the inbound request's headers and the active trace context. Resolves with the parsed JSON body
 * and status; rejects on connection errors and after 5 s.
 */
export function call(target, path, inbound) {
  /** @type {Record<string, string>} */
  const headers = { accept: 'application/json' };
  for (const h of FORWARDED) {
    const v = inbound.headers[h];
    if (typeof v === 'string') headers[h] = v;
  }
  propagation.inject(context.active(), headers);
  const opts = proxy
    ? { host: proxy.hostname, port: Number(proxy.port || 80), path: `http://${target}${path}`, headers: { ...headers, host: target } }
    : { host: target, port: 80, path, headers };
  return new Promise((resolve, reject) => {
    const req = http.request({ ...opts, method: 'GET', agent }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c) => { body += c; });
      res.on('end', () => {
        let json;
        try { json = JSON.parse(body); } catch { json = undefined; }
        resolve({ status: res.statusCode ?? 0, body: json });
      });
      res.on('error', reject);
    });
    req.setTimeout(5_000, () => req.destroy(new Error(`${target}: no answer within 5 s`)));
    req.on('error', reject);
    req.end();
  });
}

/**
 * Starts the service. `routes`: [method, pattern, template, handler]; a handler gets
 * { req, url, params } and returns { status?, type?, headers?, body } (objects are sent as JSON). Each
 * request is a SERVER span named `<METHOD> <template>`, a child of the caller's context.
 */
export function serve(routes) {
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://local');
    let params;
    const route = routes.find(([method, pattern]) => method === req.method && (params = pattern.exec(url.pathname)));
    if (url.pathname === '/health') return void res.end('ok');
    const parent = propagation.extract(ROOT_CONTEXT, req.headers);
    const template = route ? route[2] : 'unmatched';
    const span = tracer.startSpan(`${req.method} ${template}`, {
      kind: SpanKind.SERVER,
      attributes: { 'http.request.method': req.method ?? 'GET', 'url.path': url.pathname, 'http.route': template, 'service.version': serviceVersion },
    }, parent);
    context.with(trace.setSpan(parent, span), async () => {
      let status = 200;
      try {
        if (!route) throw new HttpError(404, `no route for ${req.method} ${url.pathname}`);
        const out = await route[3]({ req, url, params: params?.groups ?? {} });
        status = out.status ?? 200;
        const isText = typeof out.body === 'string';
        res.writeHead(status, { 'content-type': out.type ?? (isText ? 'text/plain; charset=utf-8' : 'application/json'), ...out.headers });
        res.end(isText ? out.body : JSON.stringify(out.body));
      } catch (err) {
        status = err instanceof HttpError ? err.status : 500;
        if (status >= 500) span.recordException(err);
        res.writeHead(status, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ error: err.message, service: serviceName }));
      } finally {
        span.setAttribute('http.response.status_code', status);
        if (status >= 500) span.setStatus({ code: SpanStatusCode.ERROR, message: `HTTP ${status}` });
        span.end();
      }
    });
  });
  server.keepAliveTimeout = 10_000;
  const port = Number(process.env.PORT ?? 9080);
  const host = process.env.HOST ?? '127.0.0.1';
  server.listen(port, host, () => {
    process.stdout.write(`${JSON.stringify({ msg: 'bookshop service listening', service: serviceName, version: serviceVersion, port })}\n`);
  });
  let stopping = false;
  const stop = () => {
    if (stopping) return;
    stopping = true;
    server.close();
    server.closeIdleConnections();
    // Send the spans still queued, but never hang the shutdown on an unreachable collector.
    const done = setTimeout(() => process.exit(0), 3_000);
    provider.shutdown().finally(() => { clearTimeout(done); process.exit(0); });
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  // Started by `meshtrace demo`: stdin is a pipe from the demo process, so its end means the demo
  // is gone (even killed with SIGKILL); exit then, and `inject` takes the sidecar down with us.
  if (process.env.BOOKSHOP_EXIT_ON_STDIN_EOF === '1') {
    process.stdin.on('end', stop).on('close', stop).on('error', stop).resume();
  }
  return server;
}
