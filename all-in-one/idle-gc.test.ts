import { describe, expect, it } from 'vitest';
import { getHeapStatistics } from 'node:v8';
import { createIdleGc, exposeGc } from './idle-gc.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('idle GC after ingest bursts', () => {
  it('collects once the worker is idle after enough bytes, and not while work is in flight', async () => {
    let gcs = 0;
    const idle = createIdleGc({ thresholdBytes: 1000, idleMs: 30, gc: () => gcs++ });
    idle.started(600);
    idle.finished();
    await sleep(60);
    expect(gcs).toBe(0); // below the threshold

    idle.started(600);
    idle.started(10);
    idle.finished(); // one still in flight
    await sleep(60);
    expect(gcs).toBe(0);
    idle.finished();
    idle.started(1); // work again before the idle period is over
    await sleep(10);
    idle.finished();
    await sleep(60);
    expect(gcs).toBe(1);
    expect(idle.collections()).toBe(1);

    // The byte count starts again after a collection.
    idle.started(10);
    idle.finished();
    await sleep(60);
    expect(gcs).toBe(1);
    idle.stop();
  });

  it('exposeGc returns V8’s collector: dead objects are freed without any allocation pressure', () => {
    const gc = exposeGc();
    gc();
    const before = getHeapStatistics().used_heap_size;
    let garbage: unknown[] | undefined = Array.from({ length: 300_000 }, (_, i) => ({ i, s: `span-${i}` }));
    expect(getHeapStatistics().used_heap_size - before).toBeGreaterThan(10e6);
    garbage = undefined;
    void garbage;
    gc();
    expect(getHeapStatistics().used_heap_size - before).toBeLessThan(5e6);
  });
});
