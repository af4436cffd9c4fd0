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
import type { SpanWriter } from '../storage/api.js';
import { BatchWriter, type BatchWriterCounters } from './batch-writer/batch-writer.js';
import { parseCollectorConfig, type CollectorConfig } from './config.js';
import { ListenError, type ReceiverPortSetting } from './config-error.js';
import { createOtlpGrpcReceiver, type OtlpGrpcReceiver } from './otlp-grpc/receiver.js';
import { createOtlpHttpReceiver } from './otlp-http/receiver.js';
import { DecodeStage } from './decode-stage.js';
import type { Component, PayloadConsumer } from './pipeline.js';
import { createZipkinReceiver, type ZipkinReceiver } from './zipkin/receiver.js';

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
export { BatchWriter } from './batch-writer/batch-writer.js';

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
}

/**
 * Builds the collector; throws `CollectorConfigError` (naming every bad field) for an invalid
 * `config`. Missing fields take the defaults of `defaultCollectorConfig()`.
 */
export function createCollector(deps: {
  config?: Partial<CollectorConfig>;
  logger: Logger;
} & ({ writer: SpanWriter; ingest?: never } | { ingest: IngestStage; writer?: never })): Collector {
  const config = parseCollectorConfig(deps.config);
  const { logger } = deps;
  // In-thread pipeline unless the caller brings its own stage: decode → batch writer → writer.
  let stage: IngestStage;
  if (deps.ingest) {
    stage = deps.ingest;
  } else {
    const batchWriter = new BatchWriter(deps.writer, {
      maxBatchSpans: config.maxBatchSpans,
      flushIntervalMs: config.flushIntervalMs,
      maxQueueSpans: config.maxQueueSpans,
    });
    const decode = new DecodeStage(batchWriter);
    stage = {
      consumePayload: (format, body) => decode.consumePayload(format, body),
      start: () => batchWriter.start(),
      shutdown: () => batchWriter.shutdown(),
      counters: () => batchWriter.counters(),
    };
  }
  const otlpHttp = createOtlpHttpReceiver({
    config: {
      host: config.host,
      port: config.otlpHttpPort,
      maxRequestBodyBytes: config.maxRequestBodyBytes,
      corsAllowedOrigins: config.corsAllowedOrigins,
    },
    consumer: stage,
    logger: logger.child({ receiver: 'otlp-http' }),
  });
  let otlpGrpc: OtlpGrpcReceiver | undefined;
  if (config.otlpGrpcPort !== null) {
    otlpGrpc = createOtlpGrpcReceiver({
      config: { host: config.host, port: config.otlpGrpcPort, maxReceiveMessageBytes: config.otlpGrpcMaxMessageBytes },
      consumer: stage,
      logger: logger.child({ receiver: 'otlp-grpc' }),
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
      consumer: stage,
      logger: logger.child({ receiver: 'zipkin' }),
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
  };
}
