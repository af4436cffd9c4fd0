import type { IncomingMessage } from 'node:http';
import { Readable } from 'node:stream';
import zlib from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { BadContentEncodingError, BodyTooLargeError, parseContentCoding, readBody } from './read-body.js';

/**
 * A request-like stream over `chunks`, produced lazily one event-loop turn apart (as from a
 * socket); `pulled` counts chunks handed out.
 */
function fakeRequest(chunks: Iterable<Buffer>): { req: IncomingMessage; pulled: () => number } {
  let pulled = 0;
  async function* gen() {
    for (const c of chunks) {
      await new Promise((r) => setImmediate(r));
      pulled++;
      yield c;
    }
  }
  const stream = Readable.from(gen(), { objectMode: false });
  // IncomingMessage sets `complete` once the whole body has arrived.
  stream.on('end', () => Object.assign(stream, { complete: true }));
  return { req: stream as unknown as IncomingMessage, pulled: () => pulled };
}

describe('readBody', () => {
  const payload = Buffer.from('x'.repeat(10_000));

  it('returns identity, gzip and deflate bodies', async () => {
    const parts = (b: Buffer) => [b.subarray(0, 100), b.subarray(100)];
    expect(await readBody(fakeRequest(parts(payload)).req, { maxBytes: 20_000, coding: 'identity' })).toEqual(payload);
    expect(await readBody(fakeRequest(parts(zlib.gzipSync(payload))).req, { maxBytes: 20_000, coding: 'gzip' })).toEqual(payload);
    expect(await readBody(fakeRequest(parts(zlib.deflateSync(payload))).req, { maxBytes: 20_000, coding: 'deflate' })).toEqual(payload);
  });

  it('rejects raw and inflated bodies over the limit', async () => {
    await expect(readBody(fakeRequest([payload]).req, { maxBytes: 9_999, coding: 'identity' })).rejects.toBeInstanceOf(BodyTooLargeError);
    await expect(readBody(fakeRequest([zlib.gzipSync(payload)]).req, { maxBytes: 9_999, coding: 'gzip' })).rejects.toThrow(
      'request body exceeds the limit of 9999 bytes after decompression',
    );
  });

  it('stops a gzip bomb soon after the inflated size passes the limit, long before its end', async () => {
    // 1024 gzip members of 1 MiB of zeros: 1 GiB inflated. The limit is 2 MiB, i.e. ~2 members.
    const member = zlib.gzipSync(Buffer.alloc(1024 * 1024), { level: 9 });
    const { req, pulled } = fakeRequest(Array.from({ length: 1024 }, () => member));
    let pulledAtRejection = -1;
    await readBody(req, { maxBytes: 2 * 1024 * 1024, coding: 'gzip' }).catch((err) => {
      pulledAtRejection = pulled();
      expect(err).toBeInstanceOf(BodyTooLargeError);
    });
    expect(pulledAtRejection).toBeGreaterThan(0);
    expect(pulledAtRejection).toBeLessThan(64);
  });

  it('rejects a corrupt gzip body', async () => {
    await expect(readBody(fakeRequest([Buffer.from('plain text')]).req, { maxBytes: 1000, coding: 'gzip' })).rejects.toBeInstanceOf(
      BadContentEncodingError,
    );
  });
});

describe('parseContentCoding', () => {
  it('maps header values', () => {
    expect(parseContentCoding(undefined)).toBe('identity');
    expect(parseContentCoding(' GZIP ')).toBe('gzip');
    expect(parseContentCoding('x-gzip')).toBe('gzip');
    expect(parseContentCoding('deflate')).toBe('deflate');
    expect(parseContentCoding('br')).toBeUndefined();
  });
});
