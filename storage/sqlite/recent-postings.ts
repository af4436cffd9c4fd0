/**
 * Recent postings: the index entries of the last few write batches, one row per batch, before
 * they are merged into `postings` / `postings_single`. Pure functions, no I/O.
 *
 * Why: every batch adds entries for hundreds of terms, and a term-keyed b-tree places them all
 * over the current hour's region of the index. Written per batch, each commit re-wrote most of
 * that region's pages to the WAL (measured: ~5 KB written per span stored, for ~150 B kept).
 * One append-only row per batch dirties a few pages; merging every `MERGE_ROWS` batches touches
 * each index page once for many batches and collapses a term's entries of those batches into
 * one block (fewer, larger rows).
 *
 * Row blob = fixed 24-byte records sorted by (term, bucket descending, start descending):
 *   [term u48][bucket u32][start_off u32][spread_us u32][trace u48], little-endian.
 * Fixed size so a search finds a term's records by binary search without decoding the row.
 */
import type { PostingEntry } from './posting-block.js';
import { HOUR_US } from './schema.js';

export const RECORD_BYTES = 24;

/** A posting entry with its term and hour bucket. */
export interface RecentEntry extends PostingEntry {
  term: number;
  bucket: number;
}

/** Packs one batch's postings (hour → term → entries), sorted for binary search. */
export function encodeRecent(postings: Map<number, Map<number, PostingEntry[]>>): { blob: Buffer; n: number; maxBucket: number } {
  let n = 0;
  let distinct = 0;
  for (const byTerm of postings.values()) {
    distinct += byTerm.size;
    for (const entries of byTerm.values()) n += entries.length;
  }
  const hours = [...postings.keys()].sort((a, b) => b - a);
  // Terms are < 2^47: a Float64Array sorts them numerically without a comparator.
  const terms = new Float64Array(distinct);
  let t = 0;
  for (const byTerm of postings.values()) for (const term of byTerm.keys()) terms[t++] = term;
  terms.sort();
  const blob = Buffer.allocUnsafe(n * RECORD_BYTES);
  let o = 0;
  for (let i = 0; i < terms.length; i++) {
    const term = terms[i];
    if (i > 0 && term === terms[i - 1]) continue; // the same term in two hours
    for (const bucket of hours) {
      const entries = postings.get(bucket)!.get(term);
      if (!entries) continue;
      if (entries.length > 1) entries.sort(newestFirst);
      for (const e of entries) {
        blob.writeUIntLE(term, o, 6);
        blob.writeUInt32LE(bucket, o + 6);
        blob.writeUInt32LE(e.startOff, o + 10);
        blob.writeUInt32LE(e.spreadUs, o + 14);
        blob.writeUIntLE(e.trace, o + 18, 6);
        o += RECORD_BYTES;
      }
    }
  }
  return { blob, n, maxBucket: hours.length ? hours[0] : -1 };
}

const newestFirst = (a: PostingEntry, b: PostingEntry) => b.startOff - a.startOff || b.trace - a.trace;

function readRecord(blob: Uint8Array, i: number): RecentEntry {
  const b = Buffer.isBuffer(blob) ? blob : Buffer.from(blob.buffer, blob.byteOffset, blob.byteLength);
  const o = i * RECORD_BYTES;
  return { term: b.readUIntLE(o, 6), bucket: b.readUInt32LE(o + 6), startOff: b.readUInt32LE(o + 10), spreadUs: b.readUInt32LE(o + 14), trace: b.readUIntLE(o + 18, 6) };
}

/** Every record of a row, in blob order. */
export function decodeRecent(blob: Uint8Array): RecentEntry[] {
  if (blob.length % RECORD_BYTES !== 0) throw new Error(`recent postings: length ${blob.length} is not a multiple of ${RECORD_BYTES}`);
  const out: RecentEntry[] = new Array(blob.length / RECORD_BYTES);
  for (let i = 0; i < out.length; i++) out[i] = readRecord(blob, i);
  return out;
}

/** The records of `term` in a row (bucket descending, newest first), found by binary search. */
export function recentOfTerm(blob: Uint8Array, term: number): RecentEntry[] {
  if (blob.length % RECORD_BYTES !== 0) throw new Error(`recent postings: length ${blob.length} is not a multiple of ${RECORD_BYTES}`);
  const b = Buffer.isBuffer(blob) ? blob : Buffer.from(blob.buffer, blob.byteOffset, blob.byteLength);
  let lo = 0;
  let hi = blob.length / RECORD_BYTES;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (b.readUIntLE(mid * RECORD_BYTES, 6) < term) lo = mid + 1; else hi = mid;
  }
  const out: RecentEntry[] = [];
  const n = blob.length / RECORD_BYTES;
  for (let i = lo; i < n && b.readUIntLE(i * RECORD_BYTES, 6) === term; i++) out.push(readRecord(b, i));
  return out;
}

const INITIAL_ENTRIES = 4096;

/**
 * One batch's postings while the writer gathers them: one entry per (trace, hour, term) holding
 * the earliest and latest start of the trace's spans that carry the term, kept in flat columns
 * (no object per entry: the writer notes ~10 terms per span). `encode` packs them exactly as
 * `encodeRecent` packs the same entries.
 */
export class RecentPostingsBuilder {
  private term = new Float64Array(INITIAL_ENTRIES);
  private bucket = new Float64Array(INITIAL_ENTRIES);
  private min = new Float64Array(INITIAL_ENTRIES);
  private max = new Float64Array(INITIAL_ENTRIES);
  private trace = new Float64Array(INITIAL_ENTRIES);
  /** Entries gathered since `reset`. */
  n = 0;
  private readonly newestFirst = (a: number, b: number): number =>
    this.bucket[b] - this.bucket[a] || this.min[b] - this.min[a] || this.trace[b] - this.trace[a];

  reset(): void {
    this.n = 0;
  }

  /** A new entry for a span starting at `start` (µs); returns its index for `widen`. */
  add(bucket: number, term: number, start: number, trace: number): number {
    if (this.n === this.term.length) this.grow();
    const i = this.n++;
    this.term[i] = term;
    this.bucket[i] = bucket;
    this.min[i] = start;
    this.max[i] = start;
    this.trace[i] = trace;
    return i;
  }

  /** Another span of entry `i`'s trace carrying its term in its hour. */
  widen(i: number, start: number): void {
    if (start < this.min[i]) this.min[i] = start;
    else if (start > this.max[i]) this.max[i] = start;
  }

  private grow(): void {
    const size = this.term.length * 2;
    const bigger = (a: Float64Array) => {
      const b = new Float64Array(size);
      b.set(a);
      return b;
    };
    this.term = bigger(this.term);
    this.bucket = bigger(this.bucket);
    this.min = bigger(this.min);
    this.max = bigger(this.max);
    this.trace = bigger(this.trace);
  }

  /** The row blob of the entries gathered (sorted as `encodeRecent` sorts). */
  encode(): { blob: Buffer; n: number; maxBucket: number } {
    const n = this.n;
    // Each term's entries as a linked list (`next`), its head in `heads`.
    const heads = new Map<number, number>();
    const next = new Int32Array(n);
    let maxBucket = -1;
    for (let i = n - 1; i >= 0; i--) {
      const t = this.term[i];
      next[i] = heads.get(t) ?? -1;
      heads.set(t, i);
      if (this.bucket[i] > maxBucket) maxBucket = this.bucket[i];
    }
    // Terms are < 2^47: a Float64Array sorts them numerically without a comparator.
    const terms = new Float64Array(heads.size);
    let k = 0;
    for (const t of heads.keys()) terms[k++] = t;
    terms.sort();
    const blob = Buffer.allocUnsafe(n * RECORD_BYTES);
    const group: number[] = [];
    let o = 0;
    for (let j = 0; j < terms.length; j++) {
      const term = terms[j];
      group.length = 0;
      for (let i = heads.get(term)!; i !== -1; i = next[i]) group.push(i);
      if (group.length > 1) group.sort(this.newestFirst);
      for (const i of group) {
        const bucket = this.bucket[i];
        blob.writeUIntLE(term, o, 6);
        blob.writeUInt32LE(bucket, o + 6);
        blob.writeUInt32LE(this.min[i] - bucket * HOUR_US, o + 10);
        blob.writeUInt32LE(this.max[i] - this.min[i], o + 14);
        blob.writeUIntLE(this.trace[i], o + 18, 6);
        o += RECORD_BYTES;
      }
    }
    return { blob, n, maxBucket };
  }
}
