/**
 * The OTLP/HTTP trace receiver: `POST /v1/traces` (protobuf or JSON), per
 * opentelemetry-proto docs/specification.md.
 *
 * Why `node:http` and not fastify (used by the query API): this is one endpoint whose every
 * response is dictated by OTLP — success and error bodies are protobuf or JSON messages in the
 * request's encoding, status codes follow the spec's retry rules — so fastify's routing,
 * content-type parsers, JSON serializer and error shape would all have to be overridden. The body
 * must be inflated as a stream with the limit checked while inflating, which means owning the
 * request stream anyway. What is left is the per-request overhead of the hooks and reply objects,
 * on the collector's hottest path. Plain node:http keeps it to parsing, decoding and one write.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { type Authenticator, WWW_AUTHENTICATE } from '../../security/authenticator.js';
import type { TlsSource } from '../../security/tls.js';
import { payloadHttpAnswer, type Component, type PayloadConsumer, type PayloadResult } from '../pipeline.js';
import { createCors } from '../http/cors.js';
import { createHttpListener } from '../http/listener.js';
import {
  BadContentEncodingError,
  BodyTooLargeError,
  parseContentCoding,
  readBody,
  RequestAbortedError,
} from '../http/read-body.js';
import {
  encodeExportResponse,
  encodeRpcStatus,
  otlpContentType,
  RpcCode,
  type OtlpEncoding,
} from '../otlp/response.js';
import type { TenantGuard } from '../../tenancy/tenancy.js';
import { parseOtlpHttpConfig, type OtlpHttpConfig } from './config.js';

export const OTLP_TRACES_PATH = '/v1/traces';

export type OtlpHttpReceiver = Component & { address(): { host: string; port: number } };

/** The media type without parameters (`application/json; charset=utf-8` → json). */
export function otlpEncodingOf(contentType: string | undefined): OtlpEncoding | undefined {
  if (contentType === undefined) return undefined;
  const semi = contentType.indexOf(';');
  const media = (semi === -1 ? contentType : contentType.slice(0, semi)).trim().toLowerCase();
  if (media === 'application/x-protobuf') return 'protobuf';
  if (media === 'application/json') return 'json';
  return undefined;
}

/**
 * Builds the receiver (not yet listening). `config` fields left out take the defaults of
 * `defaultOtlpHttpConfig()`; an invalid config throws `CollectorConfigError` naming the fields.
 */
export function createOtlpHttpReceiver(deps: {
  config: Partial<OtlpHttpConfig>;
  consumer: PayloadConsumer;
  /** Tenancy on: a request must name a valid tenant (else 401, nothing read or stored). */
  tenancy?: TenantGuard;
  logger: Logger;
  /** Set: `POST /v1/traces` needs a credential with the `ingest` role (401/403 otherwise). */
  auth?: Authenticator;
  /** Set: HTTPS (mutual TLS when the source has a client CA). */
  tls?: TlsSource;
  /** Set: `GET /metrics` answers this registry in Prometheus text (open, like a health check). */
  metrics?: Registry;
}): OtlpHttpReceiver {
  const config = parseOtlpHttpConfig(deps.config);
  const { consumer, logger, tenancy, auth, metrics } = deps;
  const cors = createCors({ allowedOrigins: config.corsAllowedOrigins, methods: 'POST, OPTIONS' });
  const maxBytes = config.maxRequestBodyBytes;

  function send(res: ServerResponse, status: number, enc: OtlpEncoding, body: Buffer): void {
    res.statusCode = status;
    res.setHeader('Content-Type', otlpContentType[enc]);
    res.setHeader('Content-Length', body.length);
    res.end(body);
  }

  function sendStatus(res: ServerResponse, status: number, enc: OtlpEncoding, code: number, message: string): void {
    send(res, status, enc, encodeRpcStatus(enc, code, message));
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    cors.apply(req, res);
    const url = req.url ?? '';
    const q = url.indexOf('?');
    const path = q === -1 ? url : url.slice(0, q);
    if (path === '/metrics' && metrics && req.method === 'GET') {
      const text = Buffer.from(await metrics.metrics());
      res.setHeader('Content-Type', metrics.contentType);
      res.setHeader('Content-Length', text.length);
      return void res.end(text);
    }
    if (path !== OTLP_TRACES_PATH) {
      return sendStatus(res, 404, 'json', RpcCode.NOT_FOUND, `no such endpoint ${path}; OTLP traces go to POST ${OTLP_TRACES_PATH}`);
    }
    if (cors.handlePreflight(req, res)) return;
    if (auth) {
      const d = await auth.check(req.headers.authorization, 'ingest', { listener: 'otlp-http', address: req.socket.remoteAddress ?? '' });
      if (!d.ok) {
        if (d.status === 401) res.setHeader('WWW-Authenticate', WWW_AUTHENTICATE);
        return sendStatus(res, d.status, otlpEncodingOf(req.headers['content-type']) ?? 'json', d.status === 401 ? RpcCode.UNAUTHENTICATED : RpcCode.PERMISSION_DENIED, d.message);
      }
    }
    if (req.method !== 'POST') {
      res.setHeader('Allow', 'POST, OPTIONS');
      if (req.method === 'OPTIONS') {
        res.statusCode = 204;
        res.end();
        return;
      }
      return sendStatus(res, 405, 'json', RpcCode.UNIMPLEMENTED, `method ${req.method} not allowed; use POST`);
    }
    const enc = otlpEncodingOf(req.headers['content-type']);
    if (!enc) {
      return sendStatus(
        res,
        415,
        'json',
        RpcCode.INVALID_ARGUMENT,
        `unsupported Content-Type ${JSON.stringify(req.headers['content-type'] ?? '')}; use application/x-protobuf or application/json`,
      );
    }
    const coding = parseContentCoding(req.headers['content-encoding']);
    if (!coding) {
      return sendStatus(
        res,
        415,
        enc,
        RpcCode.INVALID_ARGUMENT,
        `unsupported Content-Encoding ${JSON.stringify(req.headers['content-encoding'])}; use gzip, deflate or none`,
      );
    }
    // Before the body is read: a refused tenant costs no decoding (Jaeger's gRPC tap handle, for the same reason).
    const tenant = tenancy?.check(req.headersDistinct[tenancy.header]);
    if (tenant?.refusal) {
      return sendStatus(res, 401, enc, tenant.refusal.reason === 'missing' ? RpcCode.UNAUTHENTICATED : RpcCode.PERMISSION_DENIED, tenant.refusal.message);
    }
    const declared = Number(req.headers['content-length']);
    if (declared > maxBytes) {
      return sendStatus(res, 413, enc, RpcCode.RESOURCE_EXHAUSTED, `request body of ${declared} bytes exceeds the limit of ${maxBytes} bytes`);
    }

    let body: Buffer;
    try {
      body = await readBody(req, { maxBytes, coding });
    } catch (err) {
      if (err instanceof BodyTooLargeError) return sendStatus(res, 413, enc, RpcCode.RESOURCE_EXHAUSTED, err.message);
      if (err instanceof BadContentEncodingError) return sendStatus(res, 400, enc, RpcCode.INVALID_ARGUMENT, err.message);
      if (err instanceof RequestAbortedError) return void res.destroy();
      throw err;
    }

    let result: PayloadResult;
    try {
      result = await consumer.consumePayload(enc === 'protobuf' ? 'otlp-protobuf' : 'otlp-json', body, tenant?.tenant);
    } catch (err) {
      const a = payloadHttpAnswer(err, logger);
      if (a.retryAfterSeconds !== undefined) res.setHeader('Retry-After', String(a.retryAfterSeconds));
      return sendStatus(res, a.status, enc, a.status === 400 ? RpcCode.INVALID_ARGUMENT : RpcCode.UNAVAILABLE, a.message);
    }
    if (result.rejectedSpans > 0) {
      logger.debug({ rejectedSpans: result.rejectedSpans, reason: result.errorMessage }, 'rejected invalid spans');
    }
    send(res, 200, enc, encodeExportResponse(enc, result.rejectedSpans, result.errorMessage));
  }

  const listener = createHttpListener({
    host: config.host,
    port: config.port,
    handler: handle,
    logger,
    tls: deps.tls && { source: deps.tls, mutual: true },
  });
  return {
    async start() {
      await listener.start();
      logger.info({ ...listener.address(), path: OTLP_TRACES_PATH }, 'OTLP/HTTP receiver listening');
    },
    shutdown: () => listener.shutdown(),
    address: () => listener.address(),
  };
}
