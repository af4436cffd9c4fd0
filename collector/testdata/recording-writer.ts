/**
 * A real, in-memory `SpanWriter` for collector tests: keeps every committed batch. While `hold()`
 * is in force each write waits for `release()` (a slow disk); `failNext` fails the next write.
 */
import type { Span } from '../../model/span.js';
import type { SpanWriter } from '../../storage/api.js';

export class RecordingWriter implements SpanWriter {
  batches: Span[][] = [];
  started = 0;
  failNext: Error | undefined;
  /** Fails every write whose batch holds a span this returns true for (a poison span). */
  refuse: ((s: Span) => boolean) | undefined;
  private holding = false;
  private blocked: Array<() => void> = [];

  hold(): void {
    this.holding = true;
  }

  /** Lets every blocked write (and later ones) proceed. */
  release(): void {
    this.holding = false;
    for (const open of this.blocked.splice(0)) open();
  }

  async writeSpans(batch: readonly Span[]): Promise<void> {
    this.started++;
    const fail = this.failNext;
    this.failNext = undefined;
    if (this.holding) await new Promise<void>((r) => this.blocked.push(r));
    if (fail) throw fail;
    const refuse = this.refuse;
    if (refuse && batch.some((s) => refuse(s))) throw new Error(`refused span in a batch of ${batch.length}`);
    this.batches.push([...batch]);
  }

  get spans(): Span[] {
    return this.batches.flat();
  }

  /** Span names per committed batch. */
  get names(): string[][] {
    return this.batches.map((b) => b.map((s) => s.name));
  }
}
