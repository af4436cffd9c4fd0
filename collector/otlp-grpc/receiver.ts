/**
 * OTLP/gRPC receiver: `opentelemetry.proto.collector.trace.v1.TraceService/Export` (default :4317).
 * grpc-js carries the raw request bytes (identity (de)serializers) into the same protobuf decoder
 * and pipeline as OTLP/HTTP, so both transports behave identically. Status mapping per the OTLP
 * spec: undecodable → INVALID_ARGUMENT; pipeline full or storage down → UNAVAILABLE (retryable);
 * messages above the receive limit → RESOURCE_EXHAUSTED (enforced by grpc-js, also after
 * `grpc-encoding: gzip` decompression).
 */
import * as grpc from '@grpc/grpc-js';
import type { Logger } from 'pino';
import type { Authenticator } from '../../security/authenticator.js';
import type { TlsSource } from '../../security/tls.js';
import { payloadFailureOf, STORAGE_RETRY_AFTER_SECONDS, type Component, type PayloadConsumer } from '../pipeline.js';
import { encodeExportResponse } from '../otlp/response.js';
import type { TenantGuard } from '../../tenancy/tenancy.js';

export interface OtlpGrpcConfig {
  host: string;
  /** 0 = any free port. */
  port: number;
  /** Largest accepted message, bytes (after decompression). gRPC's default is 4 MiB. */
  maxReceiveMessageBytes: number;
}

export const defaultOtlpGrpcConfig = (): OtlpGrpcConfig => ({ host: '0.0.0.0', port: 4317, maxReceiveMessageBytes: 4 * 1024 * 1024 });

const identity = (b: Buffer): Buffer => b;

export const TRACE_SERVICE_DEFINITION: grpc.ServiceDefinition = {
  Export: {
    path: '/opentelemetry.proto.collector.trace.v1.TraceService/Export',
    requestStream: false,
    responseStream: false,
    requestSerialize: identity,
    requestDeserialize: identity,
    responseSerialize: identity,
    responseDeserialize: identity,
  },
};

export type OtlpGrpcReceiver = Component & { address(): { host: string; port: number } };

/** The peer's address without its port (`ipv4:127.0.0.1:5000` → `127.0.0.1`), for per-address throttling. */
function peerAddress(peer: string): string {
  const p = peer.replace(/^ipv[46]:/, '');
  const m = /^\[(.*)\]:\d+$/.exec(p) ?? /^(.*):\d+$/.exec(p);
  return m ? m[1] : p;
}

export function createOtlpGrpcReceiver(opts: {
  config: OtlpGrpcConfig;
  consumer: PayloadConsumer;
  /**
   * Tenancy on: a call must carry one valid tenant in the metadata key `tenancy.header` — missing →
   * UNAUTHENTICATED, unknown or repeated → PERMISSION_DENIED (Jaeger's codes), nothing stored.
   * Checked after authentication.
   */
  tenancy?: TenantGuard;
  logger?: Logger;
  /** Set: Export needs `authorization` metadata with the `ingest` role (UNAUTHENTICATED / PERMISSION_DENIED otherwise). */
  auth?: Authenticator;
  /** Set: TLS (mutual when the source has a client CA), following the source's reloads. */
  tls?: TlsSource;
}): OtlpGrpcReceiver {
  const { config, consumer, logger, auth, tenancy } = opts;
  let server: grpc.Server | undefined;
  let boundPort = config.port;

  const exportHandler: grpc.handleUnaryCall<Buffer, Buffer> = (call, callback) => {
    if (auth) {
      const header = call.metadata.get('authorization')[0];
      auth.check(typeof header === 'string' ? header : undefined, 'ingest', { listener: 'otlp-grpc', address: peerAddress(call.getPeer()) }).then(
        (d) => {
          if (d.ok) return store(call, callback);
          callback({ code: d.status === 401 ? grpc.status.UNAUTHENTICATED : grpc.status.PERMISSION_DENIED, details: d.message });
        },
        (err: unknown) => callback({ code: grpc.status.INTERNAL, details: (err as Error).message }),
      );
      return;
    }
    store(call, callback);
  };

  const store: grpc.handleUnaryCall<Buffer, Buffer> = (call, callback) => {
    const tenant = tenancy?.check(call.metadata.get(tenancy.header));
    if (tenant?.refusal) {
      callback({ code: tenant.refusal.reason === 'missing' ? grpc.status.UNAUTHENTICATED : grpc.status.PERMISSION_DENIED, details: tenant.refusal.message });
      return;
    }
    consumer.consumePayload('otlp-protobuf', call.request, tenant?.tenant).then(
      (r) => callback(null, encodeExportResponse('protobuf', r.rejectedSpans, r.errorMessage)),
      (err: unknown) => {
        const f = payloadFailureOf(err);
        if (f.kind === 'invalid') {
          callback({ code: grpc.status.INVALID_ARGUMENT, details: f.message });
          return;
        }
        if (f.kind === 'storage' && !f.reported) logger?.error({ err }, 'OTLP/gRPC export failed');
        const md = new grpc.Metadata();
        md.set('retry-after', String(f.kind === 'queue-full' ? f.retryAfterSeconds : STORAGE_RETRY_AFTER_SECONDS));
        callback({ code: grpc.status.UNAVAILABLE, details: f.kind === 'queue-full' ? f.message : 'storage unavailable', metadata: md });
      },
    );
  };

  return {
    async start() {
      server = new grpc.Server({ 'grpc.max_receive_message_length': config.maxReceiveMessageBytes });
      server.addService(TRACE_SERVICE_DEFINITION, { Export: exportHandler });
      const host = config.host.includes(':') ? `[${config.host}]` : config.host;
      boundPort = await new Promise<number>((resolve, reject) =>
        server!.bindAsync(`${host}:${config.port}`, opts.tls ? opts.tls.grpcCredentials(true) : grpc.ServerCredentials.createInsecure(), (err, port) => (err ? reject(err) : resolve(port))),
      );
      logger?.info({ port: boundPort }, 'OTLP/gRPC receiver listening');
    },
    async shutdown() {
      const s = server;
      server = undefined;
      if (!s) return;
      // tryShutdown waits for in-flight calls (their spans are being committed); force after 10 s.
      await new Promise<void>((resolve) => {
        const timer = setTimeout(() => {
          s.forceShutdown();
          resolve();
        }, 10_000);
        s.tryShutdown(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    },
    address: () => ({ host: config.host, port: boundPort }),
  };
}
