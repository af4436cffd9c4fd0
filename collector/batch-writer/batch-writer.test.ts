import { describe, expect, it } from 'vitest';
import type { Span } from '../../model/span.js';
import { QueueFullError } from '../pipeline.js';
import { BatchWriter } from './batch-writer.js';
import { parseBatchWriterConfig, type BatchWriterConfig } from './config.js';
import { CollectorConfigError } from '../config-error.js';
import { RecordingWriter } from '../testdata/recording-writer.js';

function spans(prefix: string, n: number): Span[] {
  return Array.from({ length: n }, (_, i) => ({ name: `${prefix}${i}` }) as Span);
}

const turn = () => new Promise<void>((r) => setImmediate(r));
async function settled(p: Promise<unknown>): Promise<'pending' | 'resolved' | 'rejected'> {
  let state: 'pending' | 'resolved' | 'rejected' = 'pending';
  p.then(() => (state = 'resolved'), () => (state = 'rejected'));
  await turn();
  await turn();
  return state;
}

function make(config: Partial<BatchWriterConfig> = {}) {
  const writer = new RecordingWriter();
  const bw = new BatchWriter(writer, parseBatchWriterConfig({ flushIntervalMs: 0, ...config }));
  return { writer, bw };
}

describe('BatchWriter', () => {
  it('writes concurrent requests in one call and resolves only after the commit', async () => {
    const { writer, bw } = make();
    writer.hold();
    const a = bw.consume(spans('a', 2));
    const b = bw.consume(spans('b', 3));
    expect(await settled(a)).toBe('pending');
    expect(writer.started).toBe(1);
    expect(writer.names).toEqual([]);
    writer.release();
    await Promise.all([a, b]);
    expect(writer.names).toEqual([['a0', 'a1', 'b0', 'b1', 'b2']]);
    expect(bw.counters()).toEqual({ acceptedSpans: 5, refusedSpans: 0, writtenSpans: 5, failedSpans: 0, writes: 1, splitRetries: 0, queuedSpans: 0 });
  });

  it('group-commits what arrives while a write is in flight into the next write', async () => {
    const { writer, bw } = make();
    writer.hold();
    const first = bw.consume(spans('a', 1));
    await turn();
    expect(writer.started).toBe(1);
    const later = [bw.consume(spans('b', 1)), bw.consume(spans('c', 1)), bw.consume(spans('d', 1))];
    await turn();
    expect(writer.started).toBe(1); // waits for the first write: flushIntervalMs 0, batch not full
    writer.release();
    await first;
    await Promise.all(later);
    expect(writer.names).toEqual([['a0'], ['b0', 'c0', 'd0']]);
  });

  it('starts another write when the gathered batch is full, and caps batches at maxBatchSpans', async () => {
    const { writer, bw } = make({ maxBatchSpans: 4 });
    writer.hold();
    const all = [bw.consume(spans('a', 1))];
    await turn();
    for (const p of ['b', 'c', 'd', 'e', 'f']) all.push(bw.consume(spans(p, 1)));
    expect(writer.started).toBe(2); // four gathered spans make a full batch
    writer.release();
    await Promise.all(all);
    expect(writer.names).toEqual([['a0'], ['b0', 'c0', 'd0', 'e0'], ['f0']]);
  });

  it('writes a request larger than maxBatchSpans whole', async () => {
    const { writer, bw } = make({ maxBatchSpans: 2 });
    await bw.consume(spans('x', 5));
    expect(writer.names).toEqual([['x0', 'x1', 'x2', 'x3', 'x4']]);
  });

  it('starts a write for waiting spans after flushIntervalMs when an earlier write stalls', async () => {
    const { writer, bw } = make({ flushIntervalMs: 20 });
    writer.hold();
    const slow = bw.consume(spans('s', 1));
    await turn();
    const waiting = bw.consume(spans('w', 1));
    await turn();
    expect(writer.started).toBe(1);
    await new Promise((r) => setTimeout(r, 60));
    expect(writer.started).toBe(2);
    writer.release();
    await Promise.all([slow, waiting]);
    expect(writer.spans.map((s) => s.name).sort()).toEqual(['s0', 'w0']);
  });

  it('refuses with QueueFullError at once when the queue is full, and accepts again after a write', async () => {
    const { writer, bw } = make({ maxQueueSpans: 5, maxBatchSpans: 5 });
    writer.hold();
    const a = bw.consume(spans('a', 3));
    const b = bw.consume(spans('b', 2));
    const refused = bw.consume(spans('c', 1));
    await expect(refused).rejects.toBeInstanceOf(QueueFullError);
    await expect(refused).rejects.toMatchObject({ retryAfterSeconds: 1, message: expect.stringContaining('maxQueueSpans (5)') });
    expect(bw.counters()).toMatchObject({ acceptedSpans: 5, refusedSpans: 1, queuedSpans: 5 });
    writer.release();
    await Promise.all([a, b]);
    await bw.consume(spans('c', 1));
    expect(writer.spans.map((s) => s.name)).toEqual(['a0', 'a1', 'a2', 'b0', 'b1', 'c0']);
  });

  it('accepts a request larger than maxQueueSpans when the queue is empty', async () => {
    const { writer, bw } = make({ maxQueueSpans: 2, maxBatchSpans: 1 });
    await bw.consume(spans('x', 3));
    expect(writer.spans.map((s) => s.name)).toHaveLength(3);
  });

  it('rejects the consumers of a failed write with the storage error; later writes still land', async () => {
    const { writer, bw } = make();
    writer.failNext = new Error('disk I/O error');
    await expect(bw.consume(spans('a', 2))).rejects.toThrow('disk I/O error');
    await bw.consume(spans('b', 1));
    expect(writer.spans.map((s) => s.name)).toEqual(['b0']);
    expect(bw.counters()).toMatchObject({ failedSpans: 2, writtenSpans: 1, queuedSpans: 0 });
  });

  it('retries a failed grouped write one request at a time, so only the bad request fails', async () => {
    const { writer, bw } = make();
    writer.refuse = (s) => s.name === 'poison0';
    const good1 = bw.consume(spans('a', 2));
    const bad = bw.consume(spans('poison', 1));
    const good2 = bw.consume(spans('b', 1));
    await expect(bad).rejects.toThrow('refused span in a batch of 1');
    await Promise.all([good1, good2]);
    expect(writer.names.sort()).toEqual([['a0', 'a1'], ['b0']]);
    expect(bw.counters()).toMatchObject({ writtenSpans: 3, failedSpans: 1, splitRetries: 1, writes: 4, queuedSpans: 0 });
  });

  it('shutdown writes everything accepted, waits for it, then refuses new spans', async () => {
    const { writer, bw } = make({ maxBatchSpans: 2, flushIntervalMs: 0 });
    writer.hold();
    const accepted = [bw.consume(spans('a', 2)), bw.consume(spans('b', 2)), bw.consume(spans('c', 1))];
    await turn();
    let done = false;
    const shut = bw.shutdown().then(() => (done = true));
    await turn();
    expect(done).toBe(false);
    await expect(bw.consume(spans('late', 1))).rejects.toBeInstanceOf(QueueFullError);
    writer.release();
    await shut;
    await Promise.all(accepted);
    expect(writer.spans.map((s) => s.name).sort()).toEqual(['a0', 'a1', 'b0', 'b1', 'c0']);
    expect(bw.counters()).toMatchObject({ acceptedSpans: 5, writtenSpans: 5, refusedSpans: 1, queuedSpans: 0 });
  });

  it('resolves an empty consume at once without writing', async () => {
    const { writer, bw } = make();
    await bw.consume([]);
    expect(writer.started).toBe(0);
  });
});

describe('parseBatchWriterConfig', () => {
  it('fills defaults', () => {
    expect(parseBatchWriterConfig()).toEqual({ maxBatchSpans: 2000, flushIntervalMs: 50, maxQueueSpans: 100000 });
  });
  it('names every bad field', () => {
    let err: unknown;
    try {
      parseBatchWriterConfig({ maxBatchSpans: -1, flushIntervalMs: 1.5, maxQueueSpans: 0 });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(CollectorConfigError);
    const problems = (err as CollectorConfigError).problems.join('\n');
    expect(problems).toContain('maxBatchSpans: must not be negative');
    expect(problems).toContain('flushIntervalMs: must be an integer');
    expect(problems).toContain('maxQueueSpans: must be greater than zero');
  });
  it('checks that the queue holds a full batch', () => {
    expect(() => parseBatchWriterConfig({ maxBatchSpans: 500, maxQueueSpans: 100 })).toThrow('maxQueueSpans: must be at least maxBatchSpans (500)');
  });
});
