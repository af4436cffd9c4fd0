/**
 * The whole request cannot be decoded (malformed protobuf, invalid JSON, wrong structure above
 * the span level). Receivers answer 400 with a google.rpc.Status INVALID_ARGUMENT carrying
 * `message`, which names what is wrong.
 */
export class InvalidRequestError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InvalidRequestError';
  }
}

/**
 * One field of one span (or of its resource/scope) is invalid: the span is rejected and counted
 * in `partialSuccess`; the rest of the request is kept. `message` names the field.
 */
export class InvalidSpanError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InvalidSpanError';
  }
}
