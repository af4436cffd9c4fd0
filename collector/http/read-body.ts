/**
 * Reads a request body into one Buffer with a size limit, inflating gzip/deflate as the bytes
 * arrive. The limit applies to the raw body and to the inflated bytes as they are produced, so a
 * compression bomb is stopped after at most `maxBytes` (+ one zlib chunk) of output, not after
 * inflating it all.
 */
import type { IncomingMessage } from 'node:http';
import zlib from 'node:zlib';

export type ContentCoding = 'identity' | 'gzip' | 'deflate';

/** The body (raw or inflated) exceeds the limit → 413. */
export class BodyTooLargeError extends Error {
  constructor(readonly limitBytes: number, inflated: boolean) {
    super(`request body exceeds the limit of ${limitBytes} bytes${inflated ? ' after decompression' : ''}`);
    this.name = 'BodyTooLargeError';
  }
}

/** The compressed body is corrupt → 400. */
export class BadContentEncodingError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'BadContentEncodingError';
  }
}

/** The client went away before the body was complete (nobody to answer). */
export class RequestAbortedError extends Error {
  constructor() {
    super('request aborted by the client');
    this.name = 'RequestAbortedError';
  }
}

/**
 * `Content-Encoding` → coding; undefined for codings this server cannot decode (→ 415).
 * Absent, empty and `identity` mean no coding.
 */
export function parseContentCoding(header: string | undefined): ContentCoding | undefined {
  if (header === undefined) return 'identity';
  const v = header.trim().toLowerCase();
  if (v === '' || v === 'identity') return 'identity';
  if (v === 'gzip' || v === 'x-gzip') return 'gzip';
  if (v === 'deflate') return 'deflate';
  return undefined;
}

/**
 * Resolves with the (inflated) body. Rejects with `BodyTooLargeError`, `BadContentEncodingError`
 * or `RequestAbortedError`; on rejection it stops reading and leaves the rest of the request to
 * be discarded (Node drains an unread request body once the response is sent).
 */
export function readBody(req: IncomingMessage, opts: { maxBytes: number; coding: ContentCoding }): Promise<Buffer> {
  const { maxBytes, coding } = opts;
  return new Promise<Buffer>((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let rawSize = 0;
    let done = false;
    const inflater = coding === 'gzip' ? zlib.createGunzip() : coding === 'deflate' ? zlib.createInflate() : undefined;

    const finish = (err: Error | undefined): void => {
      if (done) return;
      done = true;
      req.off('data', onRaw);
      req.off('end', onRawEnd);
      req.off('error', onAbort);
      req.off('close', onClose);
      if (inflater) {
        inflater.off('data', onBytes);
        inflater.off('end', onBytesEnd);
        // A destroyed zlib stream stops inflating at once; keep a listener so late errors are not thrown.
        inflater.on('error', () => {});
        if (err) inflater.destroy();
      }
      if (err) {
        req.resume();
        reject(err);
      } else {
        resolve(chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, size));
      }
    };

    const onBytes = (chunk: Buffer): void => {
      size += chunk.length;
      if (size > maxBytes) return finish(new BodyTooLargeError(maxBytes, inflater !== undefined));
      chunks.push(chunk);
    };
    const onBytesEnd = (): void => finish(undefined);
    const onRaw = (chunk: Buffer): void => {
      if (!inflater) return onBytes(chunk);
      rawSize += chunk.length;
      if (rawSize > maxBytes) return finish(new BodyTooLargeError(maxBytes, false));
      // Backpressure: do not read faster than zlib inflates.
      if (!inflater.write(chunk)) {
        req.pause();
        inflater.once('drain', () => {
          if (!done) req.resume();
        });
      }
    };
    const onRawEnd = (): void => {
      if (inflater) inflater.end();
      else finish(undefined);
    };
    const onAbort = (): void => finish(new RequestAbortedError());
    const onClose = (): void => {
      if (!req.complete) finish(new RequestAbortedError());
    };

    if (inflater) {
      inflater.on('data', onBytes);
      inflater.on('end', onBytesEnd);
      inflater.on('error', (err) => finish(new BadContentEncodingError(`invalid ${coding} body: ${err.message}`)));
    }
    req.on('data', onRaw);
    req.on('end', onRawEnd);
    req.on('error', onAbort);
    req.on('close', onClose);
  });
}
