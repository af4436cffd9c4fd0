/**
 * The collector, assembled: receivers (OTLP/HTTP; OTLP/gRPC and Zipkin v2 when their ports are
 * set) → batch writer → the storage's `SpanWriter`.
 *
 * ```ts
 * const collector = createCollector({ config: { host, otlpHttpPort: 4318 }, writer: storage.writer, logger });
 * await collector.start();          // listening; spans are acknowledged only once committed
 * collector.otlpHttpAddress().port; // the bound port (useful with port 0)
 * await collector.shutdown();       // stop receivers (in-flight requests finish), then drain the queue
 * ```
 */
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { Authenticator } from '../security/authenticator.js';
import type { TlsSource } from '../security/tls.js';
import type { SpanWriter } from '../storage/api.js';
import { BatchWriter, type BatchWriterCounters } from './batch-writer/batch-writer.js';
import { parseCollectorConfig, type CollectorConfig } from './config.js';
import { ListenError, type ReceiverPortSetting } from './config-error.js';
import { createOtlpGrpcReceiver, type OtlpGrpcReceiver } from './otlp-grpc/receiver.js';
import { createOtlpHttpReceiver } from './otlp-http/receiver.js';
import { DecodeStage } from './decode-stage.js';
import type { Component, PayloadConsumer } from './pipeline.js';
import { addSpanLimitCounts, zeroSpanLimitCounts, type SpanLimitCounts } from './span-limits.js';
import { createZipkinReceiver, type ZipkinReceiver } from './zipkin/receiver.js';
import type { TenantGuard } from '../tenancy/tenancy.js';

export {
  collectorConfigSchema,
  defaultCollectorConfig,
  parseCollectorConfig,
  type CollectorConfig,
} from './config.js';
export { CollectorConfigError, ListenError, listenFailureReason } from './config-error.js';
export type { BatchWriterCounters } from './batch-writer/batch-writer.js';
export {
  payloadFailureOf,
  QueueFullError,
  StorageRefusedError,
  type Component,
  type PayloadConsumer,
  type PayloadFailure,
  type PayloadFormat,
  type PayloadResult,
  type SpanConsumer,
} from './pipeline.js';
export { DecodeStage, decodePayload, decodeRequest } from './decode-stage.js';
export { defaultSpanLimits, SpanLimiter, type SpanLimitCounts, type SpanLimits } from './span-limits.js';
export { BatchWriter, type BatchSink } from './batch-writer/batch-writer.js';

/**
 * What sits behind the receivers when it is not built here: decodes and stores payloads
 * (e.g. the all-in-one server's ingest worker thread). Started before the receivers, stopped
 * (drained) after them.
 */
export interface IngestStage extends PayloadConsumer, Component {
  counters(): BatchWriterCounters;
}

export interface Collector extends Component {
  /** The validated configuration in force (defaults filled in). */
  readonly config: CollectorConfig;
  /** Where the OTLP/HTTP receiver listens; valid after `start`. */
  otlpHttpAddress(): { host: string; port: number };
  /** Where the OTLP/gRPC receiver listens; undefined when `otlpGrpcPort` is null. Valid after `start`. */
  otlpGrpcAddress(): { host: string; port: number } | undefined;
  /** Where the Zipkin receiver listens; undefined when `zipkinPort` is null. Valid after `start`. */
  zipkinAddress(): { host: string; port: number } | undefined;
  /** The batch writer's counters (plain numbers, a snapshot). */
  counters(): BatchWriterCounters;
  /** What the span limits cut since start, over every receiver (a snapshot). */
  limitCounters(): SpanLimitCounts;
}

/** What the collector writes into: a storage writer it batches for, or a stage of its own (e.g. a worker thread). */
export type CollectorIntake = { writer: SpanWriter; ingest?: never } | { ingest: IngestStage; writer?: never };

/**
 * Tenancy on the receivers: the guard that refuses a request without a valid tenant before its body
 * is read, and one intake per tenant (its own store), so one tenant's spans cannot reach another's.
 */
export interface CollectorTenancy {
  guard: TenantGuard;
  /** Exactly the guard's tenants. */
  intakes: ReadonlyMap<string, CollectorIntake>;
}

/** In-thread pipeline unless the intake brings its own stage: decode → batch writer → writer. */
function stageOf(intake: CollectorIntake, config: CollectorConfig): IngestStage {
  if (intake.ingest) return intake.ingest;
  const batchWriter = new BatchWriter(intake.writer, {
    maxBatchSpans: config.maxBatchSpans,
    flushIntervalMs: config.flushIntervalMs,
    maxQueueSpans: config.maxQueueSpans,
  });
  const decode = new DecodeStage(batchWriter, config.spanLimits);
  return {
    consumePayload: (format, body) => decode.consumePayload(format, body),
    start: () => batchWriter.start(),
    shutdown: () => batchWriter.shutdown(),
    counters: () => batchWriter.counters(),
  };
}

/**
 * One stage per tenant behind one face: a payload goes to the stage of the tenant the receiver
 * checked, and nowhere else. Started in order (a failed start stops those started), stopped
 * (drained) together; counters are the sums.
 */
function tenantStages(tenancy: CollectorTenancy, config: CollectorConfig): IngestStage {
  const stages = new Map<string, IngestStage>();
  for (const tenant of tenancy.guard.tenants) {
    const intake = tenancy.intakes.get(tenant);
    if (!intake) throw new Error(`createCollector: no intake for tenant '${tenant}'`);
    stages.set(tenant, stageOf(intake, config));
  }
  let started: IngestStage[] = [];
  const stopStarted = async () => {
    const toStop = started;
    started = [];
    await Promise.all(toStop.map((s) => s.shutdown()));
  };
  return {
    consumePayload(format, body, tenant) {
      const stage = tenant === undefined ? undefined : stages.get(tenant);
      // The receivers refuse such requests first; this is the second lock, not the answer a client sees.
      if (!stage) return Promise.reject(new Error(`no store for tenant ${JSON.stringify(tenant)}`));
      return stage.consumePayload(format, body);
    },
    async start() {
      try {
        for (const s of stages.values()) {
          await s.start();
          started.push(s);
        }
      } catch (err) {
        await stopStarted();
        throw err;
      }
    },
    shutdown: stopStarted,
    counters() {
      const sum = { acceptedSpans: 0, refusedSpans: 0, writtenSpans: 0, failedSpans: 0, writes: 0, splitRetries: 0, queuedSpans: 0 } satisfies BatchWriterCounters;
      for (const s of stages.values()) {
        const c = s.counters();
        for (const k of Object.keys(sum) as (keyof BatchWriterCounters)[]) sum[k] += c[k];
      }
      return sum;
    },
  };
}

/**
 * Builds the collector; throws `CollectorConfigError` (naming every bad field) for an invalid
 * `config`. Missing fields take the defaults of `defaultCollectorConfig()`. With `tenancy`, every
 * receiver requires a tenant and each tenant's spans go to its own intake.
 */
export function createCollector(deps: {
  config?: Partial<CollectorConfig>;
  logger: Logger;
  /** Set: every receiver needs a credential with the `ingest` role. */
  auth?: Authenticator;
  /** Set: every receiver serves TLS (mutual when the source has a client CA). */
  tls?: TlsSource;
  /** Set: the OTLP/HTTP port also answers `GET /metrics` from this registry. */
  metrics?: Registry;
} & (CollectorIntake | { tenancy: CollectorTenancy; writer?: never; ingest?: never })): Collector {
  const config = parseCollectorConfig(deps.config);
  const { logger } = deps;
  const tenancy = 'tenancy' in deps ? deps.tenancy : undefined;
  const stage: IngestStage = tenancy ? tenantStages(tenancy, config) : stageOf(deps as CollectorIntake, config);
  const guard = tenancy?.guard;
  // Every receiver's results pass here: the span-limit counts add up whichever thread (and tenant) decoded.
  const limited = zeroSpanLimitCounts();
  const counted: IngestStage = {
    consumePayload: async (format, body, tenant) => {
      const result = await stage.consumePayload(format, body, tenant);
      addSpanLimitCounts(limited, result.limited);
      return result;
    },
    start: () => stage.start(),
    shutdown: () => stage.shutdown(),
    counters: () => stage.counters(),
  };
  const otlpHttp = createOtlpHttpReceiver({
    config: {
      host: config.host,
      port: config.otlpHttpPort,
      maxRequestBodyBytes: config.maxRequestBodyBytes,
      corsAllowedOrigins: config.corsAllowedOrigins,
    },
    consumer: counted,
    tenancy: guard,
    logger: logger.child({ receiver: 'otlp-http' }),
    auth: deps.auth,
    tls: deps.tls,
    metrics: deps.metrics,
  });
  let otlpGrpc: OtlpGrpcReceiver | undefined;
  if (config.otlpGrpcPort !== null) {
    otlpGrpc = createOtlpGrpcReceiver({
      config: { host: config.host, port: config.otlpGrpcPort, maxReceiveMessageBytes: config.otlpGrpcMaxMessageBytes },
      consumer: counted,
      tenancy: guard,
      logger: logger.child({ receiver: 'otlp-grpc' }),
      auth: deps.auth,
      tls: deps.tls,
    });
  }
  let zipkin: ZipkinReceiver | undefined;
  if (config.zipkinPort !== null) {
    zipkin = createZipkinReceiver({
      config: {
        host: config.host,
        port: config.zipkinPort,
        maxRequestBodyBytes: config.maxRequestBodyBytes,
        corsAllowedOrigins: config.corsAllowedOrigins,
      },
      consumer: counted,
      tenancy: guard,
      logger: logger.child({ receiver: 'zipkin' }),
      auth: deps.auth,
      tls: deps.tls,
    });
  }
  // Started in this order and stopped in reverse: storage-facing first, so nothing is accepted
  // before it can be written, and receivers stop before the queue is drained.
  // Each receiver with the setting that chose its port, to name it when the port cannot be had.
  const components: { component: Component; port?: ReceiverPortSetting }[] = [{ component: stage }, { component: otlpHttp, port: 'otlpHttpPort' }];
  if (otlpGrpc) components.push({ component: otlpGrpc, port: 'otlpGrpcPort' });
  if (zipkin) components.push({ component: zipkin, port: 'zipkinPort' });
  let started: Component[] = [];

  async function stopStarted(): Promise<void> {
    const toStop = started.reverse();
    started = [];
    for (const c of toStop) await c.shutdown();
  }

  return {
    config,
    async start() {
      try {
        for (const { component, port } of components) {
          try {
            await component.start();
          } catch (err) {
            throw port ? new ListenError(port, config.host, config[port] ?? 0, err) : err;
          }
          started.push(component);
        }
      } catch (err) {
        await stopStarted();
        throw err;
      }
    },
    shutdown: stopStarted,
    otlpHttpAddress: () => otlpHttp.address(),
    otlpGrpcAddress: () => otlpGrpc?.address(),
    zipkinAddress: () => zipkin?.address(),
    counters: () => stage.counters(),
    limitCounters: () => ({ ...limited }),
  };
}
