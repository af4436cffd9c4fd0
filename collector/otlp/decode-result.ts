/**
 * What both OTLP decoders (protobuf, JSON) return, and the per-span checks they share.
 */
import {
  DEFAULT_SERVICE_NAME,
  type Attribute,
  type Resource,
} from '../../model/span.js';
import { InvalidSpanError } from './errors.js';
import { ZERO_SPAN_ID, ZERO_TRACE_ID } from './ids.js';
import type { Span } from '../../model/span.js';

export interface DecodeResult {
  /** Valid spans, normalized to the span model. Spans of one resource/scope share those objects. */
  spans: Span[];
  /** Spans dropped as invalid (→ `partialSuccess.rejectedSpans`); 0 on full success. */
  rejectedSpans: number;
  /** Why spans were dropped (the first few reasons); '' when none were. */
  errorMessage: string;
}

/** Keeps the rejected-span count and the first few reasons (a bad batch may hold thousands). */
export class Rejections {
  static readonly MAX_MESSAGES = 5;
  count = 0;
  private readonly messages: string[] = [];
  private omitted = 0;

  add(spans: number, message: string): void {
    this.count += spans;
    if (this.messages.length < Rejections.MAX_MESSAGES) this.messages.push(message);
    else this.omitted++;
  }

  result(spans: Span[]): DecodeResult {
    if (this.count === 0) return { spans, rejectedSpans: 0, errorMessage: '' };
    const more = this.omitted > 0 ? `; and ${this.omitted} more` : '';
    return {
      spans,
      rejectedSpans: this.count,
      errorMessage: `${this.count} invalid span(s) rejected: ${this.messages.join('; ')}${more}`,
    };
  }
}

/** The model resource: `service.name` (string form; default 'unknown_service') plus all attributes. */
export function makeResource(attributes: Attribute[]): Resource {
  let serviceName = DEFAULT_SERVICE_NAME;
  for (const a of attributes) {
    if (a.key === 'service.name') {
      const v = typeof a.value === 'string' ? a.value : String(a.value);
      if (v !== '') serviceName = v;
      break;
    }
  }
  return { serviceName, attributes };
}

/** Largest µs timestamp accepted: keeps times exact as doubles (that is the year 2255). */
export const MAX_TIME_US = Number.MAX_SAFE_INTEGER;

/**
 * An event's time, checked like the span's: beyond 2^53 µs it would be stored inexact (found by
 * fuzzing: `timeUnixNano` "11000000000000000000" was accepted as 1.1e16 µs).
 */
export function eventTimeUs(us: number, field: string): number {
  if (!(us >= 0) || us > MAX_TIME_US) throw new InvalidSpanError(`${field} must be a time before 2255`);
  return us;
}

/**
 * Why a span's envelope is invalid, or undefined when it is valid. Ids are lowercase hex already
 * (an all-zero parent already mapped to ''); times are µs.
 */
export function spanProblem(
  traceId: string,
  spanId: string,
  parentSpanId: string,
  startUs: number,
  endUs: number,
  kind: number,
  statusCode: number,
): string | undefined {
  if (traceId.length !== 32) return `traceId must be 16 bytes, got ${traceId.length / 2}`;
  if (traceId === ZERO_TRACE_ID) return 'traceId must not be all zeros';
  if (spanId.length !== 16) return `spanId must be 8 bytes, got ${spanId.length / 2}`;
  if (spanId === ZERO_SPAN_ID) return 'spanId must not be all zeros';
  if (parentSpanId.length !== 0 && parentSpanId.length !== 16) {
    return `parentSpanId must be empty or 8 bytes, got ${parentSpanId.length / 2}`;
  }
  if (!(startUs > 0) || startUs > MAX_TIME_US) return 'startTimeUnixNano must be a time after 1970 and before 2255';
  if (!(endUs >= startUs) || endUs > MAX_TIME_US) return 'endTimeUnixNano must not be before startTimeUnixNano';
  if (!(kind >= 0 && kind <= 5 && Number.isInteger(kind))) return `kind ${kind} is not a SpanKind (0-5)`;
  if (!(statusCode >= 0 && statusCode <= 2 && Number.isInteger(statusCode))) {
    return `status.code ${statusCode} is not a StatusCode (0-2)`;
  }
  return undefined;
}
