/**
 * The Zipkin v2 receiver: `POST /api/v2/spans` with a JSON array of spans (gzip/deflate allowed),
 * answered 202 once the spans are committed. Zipkin's own server answers errors in plain text;
 * so does this one. Zipkin has no partial-success response: when some spans are invalid the
 * rest are stored and the 202 body says what was dropped; when all are, it is a 400.
 * node:http rather than fastify for the same reasons as the OTLP/HTTP receiver (see there).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import { type Authenticator, WWW_AUTHENTICATE } from '../../security/authenticator.js';
import type { TlsSource } from '../../security/tls.js';
import { createCors } from '../http/cors.js';
import { createHttpListener } from '../http/listener.js';
import {
  BadContentEncodingError,
  BodyTooLargeError,
  parseContentCoding,
  readBody,
  RequestAbortedError,
} from '../http/read-body.js';
import { payloadHttpAnswer, type Component, type PayloadConsumer, type PayloadResult } from '../pipeline.js';
import type { TenantGuard } from '../../tenancy/tenancy.js';

export const ZIPKIN_SPANS_PATH = '/api/v2/spans';

export interface ZipkinConfig {
  /** Interface to listen on. */
  host: string;
  /** TCP port (conventionally 9411); 0 = any free port. */
  port: number;
  /** Largest request body, bytes, raw and after decompression; larger → 413. */
  maxRequestBodyBytes: number;
  /** Origins browsers may post from (`*` = any; empty = no CORS). */
  corsAllowedOrigins: string[];
}

export type ZipkinReceiver = Component & { address(): { host: string; port: number } };

export function createZipkinReceiver(deps: {
  config: ZipkinConfig;
  consumer: PayloadConsumer;
  /** Tenancy on: a request must name a valid tenant (else 401, nothing read or stored). */
  tenancy?: TenantGuard;
  logger: Logger;
  /** Set: posting spans needs a credential with the `ingest` role (401/403 otherwise). */
  auth?: Authenticator;
  /** Set: HTTPS (mutual TLS when the source has a client CA). */
  tls?: TlsSource;
}): ZipkinReceiver {
  const { config, consumer, logger, auth, tenancy } = deps;
  const cors = createCors({ allowedOrigins: config.corsAllowedOrigins, methods: 'POST, OPTIONS' });
  const maxBytes = config.maxRequestBodyBytes;

  function text(res: ServerResponse, status: number, message: string): void {
    const body = Buffer.from(message === '' ? '' : `${message}\n`);
    res.statusCode = status;
    if (body.length > 0) res.setHeader('Content-Type', 'text/plain; charset=utf-8');
    res.setHeader('Content-Length', body.length);
    res.end(body);
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    cors.apply(req, res);
    const url = req.url ?? '';
    const q = url.indexOf('?');
    const path = q === -1 ? url : url.slice(0, q);
    if (path !== ZIPKIN_SPANS_PATH) return text(res, 404, `no such endpoint ${path}; Zipkin v2 spans go to POST ${ZIPKIN_SPANS_PATH}`);
    if (cors.handlePreflight(req, res)) return;
    if (auth) {
      const d = await auth.check(req.headers.authorization, 'ingest', { listener: 'zipkin', address: req.socket.remoteAddress ?? '' });
      if (!d.ok) {
        if (d.status === 401) res.setHeader('WWW-Authenticate', WWW_AUTHENTICATE);
        return text(res, d.status, d.message);
      }
    }
    if (req.method !== 'POST') {
      res.setHeader('Allow', 'POST, OPTIONS');
      return text(res, 405, `method ${req.method} not allowed; use POST`);
    }
    const ct = (req.headers['content-type'] ?? 'application/json').split(';')[0].trim().toLowerCase();
    if (ct !== 'application/json') {
      return text(res, 415, `unsupported Content-Type ${JSON.stringify(ct)}; only Zipkin v2 JSON (application/json) is accepted`);
    }
    const coding = parseContentCoding(req.headers['content-encoding']);
    if (!coding) return text(res, 415, `unsupported Content-Encoding ${JSON.stringify(req.headers['content-encoding'])}`);
    const tenant = tenancy?.check(req.headersDistinct[tenancy.header]);
    if (tenant?.refusal) return text(res, 401, tenant.refusal.message);
    const declared = Number(req.headers['content-length']);
    if (declared > maxBytes) return text(res, 413, `request body of ${declared} bytes exceeds the limit of ${maxBytes} bytes`);

    let body: Buffer;
    try {
      body = await readBody(req, { maxBytes, coding });
    } catch (err) {
      if (err instanceof BodyTooLargeError) return text(res, 413, err.message);
      if (err instanceof BadContentEncodingError) return text(res, 400, err.message);
      if (err instanceof RequestAbortedError) return void res.destroy();
      throw err;
    }
    if (body.length === 0) return text(res, 202, '');

    let result: PayloadResult;
    try {
      result = await consumer.consumePayload('zipkin-json', body, tenant?.tenant);
    } catch (err) {
      const a = payloadHttpAnswer(err, logger);
      if (a.retryAfterSeconds !== undefined) res.setHeader('Retry-After', String(a.retryAfterSeconds));
      return text(res, a.status, a.message);
    }
    if (result.acceptedSpans === 0 && result.rejectedSpans > 0) return text(res, 400, result.errorMessage);
    text(res, 202, result.errorMessage);
  }

  const listener = createHttpListener({ host: config.host, port: config.port, handler: handle, logger, tls: deps.tls && { source: deps.tls, mutual: true } });
  return {
    async start() {
      await listener.start();
      logger.info({ ...listener.address(), path: ZIPKIN_SPANS_PATH }, 'Zipkin receiver listening');
    },
    shutdown: () => listener.shutdown(),
    address: () => listener.address(),
  };
}
