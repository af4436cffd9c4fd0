/**
 * The OTLP trace schema (`trace.proto` beside this file), loaded with protobufjs once, when this
 * module is first imported. protobufjs generates specialised encode/decode functions per type on
 * first use, so decoding is fast after warm-up.
 */
import { fileURLToPath } from 'node:url';
import protobuf from 'protobufjs';

const protoPath = fileURLToPath(new URL('./trace.proto', import.meta.url));
const root = protobuf.loadSync(protoPath);

export const otlpTypes = {
  ExportTraceServiceRequest: root.lookupType('meshtrace.otlp.ExportTraceServiceRequest'),
  ExportTraceServiceResponse: root.lookupType('meshtrace.otlp.ExportTraceServiceResponse'),
  /** google.rpc.Status (the error body of OTLP/HTTP). */
  RpcStatus: root.lookupType('meshtrace.otlp.RpcStatus'),
  /** For tests and tools that build requests. */
  TracesData: root.lookupType('meshtrace.otlp.TracesData'),
} as const;

/** `Long` as protobufjs decodes 64-bit fields (long.js instance; only these members are used). */
export interface PbLong {
  low: number;
  high: number;
  unsigned: boolean;
  toString(): string;
}

/**
 * Shapes of decoded messages (protobufjs camelCases field names). Unset scalar fields read as the
 * proto3 default from the prototype; unset `bytes` read as an empty array; unset messages as null.
 */
export interface PbAnyValue {
  /** protobufjs' oneof getter: the name of the member that is set, or undefined. */
  readonly value?: string;
  stringValue?: string;
  boolValue?: boolean;
  intValue?: PbLong | number;
  doubleValue?: number;
  arrayValue?: { values: PbAnyValue[] } | null;
  kvlistValue?: { values: PbKeyValue[] } | null;
  bytesValue?: Uint8Array;
}

export interface PbKeyValue {
  key: string;
  value: PbAnyValue | null;
}

export interface PbEvent {
  timeUnixNano: PbLong | number;
  name: string;
  attributes: PbKeyValue[];
  droppedAttributesCount: number;
}

export interface PbLink {
  traceId: Uint8Array;
  spanId: Uint8Array;
  traceState: string;
  attributes: PbKeyValue[];
  droppedAttributesCount: number;
  flags: number;
}

export interface PbSpan {
  traceId: Uint8Array;
  spanId: Uint8Array;
  traceState: string;
  parentSpanId: Uint8Array;
  flags: number;
  name: string;
  kind: number;
  startTimeUnixNano: PbLong | number;
  endTimeUnixNano: PbLong | number;
  attributes: PbKeyValue[];
  droppedAttributesCount: number;
  events: PbEvent[];
  droppedEventsCount: number;
  links: PbLink[];
  droppedLinksCount: number;
  status: { message: string; code: number } | null;
}

export interface PbExportTraceServiceRequest {
  resourceSpans: Array<{
    resource: { attributes: PbKeyValue[]; droppedAttributesCount: number } | null;
    scopeSpans: Array<{
      scope: { name: string; version: string } | null;
      spans: PbSpan[];
    }>;
  }>;
}
