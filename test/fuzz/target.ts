/**
 * Fuzz targets: fast-check properties over the parsers that read untrusted input, shared by the
 * property tests beside each module (`*.fuzz.test.ts`, a small budget in `npm test`) and by
 * `npm run fuzz` (test/fuzz/run.ts, a large budget, with a corpus under test/fuzz/corpus/).
 *
 * A target generates inputs — valid structures and mutations of valid encodings (and of corpus
 * seeds), not only random noise — and checks its invariants: only the module's typed error is
 * thrown (or its error result returned), nothing the spec forbids is accepted, and what is
 * accepted round-trips. `check` throws on a broken invariant and otherwise returns a short label
 * of the outcome; the runner saves the first small input of each new label as corpus.
 */
import { AssertionError } from 'node:assert';
import fc from 'fast-check';

export interface FuzzTarget<T = any> {
  name: string;
  /**
   * Relative cost of one input (1 = a header parse; a round trip through the SDK serializers is
   * ~20): `npm run fuzz` shares its budget inversely to it, `npm test` runs fewer of the costly.
   */
  cost?: number;
  /** Inputs near the valid ones; `seeds` are corpus inputs to mutate around (may be empty). */
  arbitrary(seeds: readonly T[]): fc.Arbitrary<T>;
  /** Throws when an invariant breaks; otherwise a short label of what happened (for the corpus). */
  check(input: T): string;
  /** Corpus form of an input (text); default JSON. */
  save?(input: T): string;
  load?(text: string): T;
}

export const saveInput = <T>(t: FuzzTarget<T>, input: T): string => (t.save ? t.save(input) : JSON.stringify(input));
export const loadInput = <T>(t: FuzzTarget<T>, text: string): T => (t.load ? t.load(text) : (JSON.parse(text) as T));

/** Byte inputs are kept as base64 in the corpus. */
export const bytesCodec = {
  save: (b: Uint8Array) => Buffer.from(b).toString('base64'),
  load: (s: string) => new Uint8Array(Buffer.from(s.trim(), 'base64')),
};
/** String inputs are kept verbatim. */
export const textCodec = { save: (s: string) => s, load: (s: string) => s };

/**
 * Runs `fn`; an error of one of `allowed` is the expected refusal (its label is returned), any
 * other error is the bug the fuzzer looks for and is rethrown.
 */
export function onlyTyped<R>(allowed: readonly (abstract new (...args: any[]) => Error)[], fn: () => R): { ok: R } | { refused: Error } {
  try {
    return { ok: fn() };
  } catch (err) {
    if (allowed.some((E) => err instanceof E)) return { refused: err as Error };
    if (err instanceof AssertionError) throw err;
    const e = err instanceof Error ? err : new Error(String(err));
    throw new AssertionError({ message: `unexpected ${e.name}: ${e.message}\n${e.stack ?? ''}` });
  }
}

/** The first words of a refusal, for an outcome label (numbers and quoted parts blanked). */
export function refusalLabel(err: Error): string {
  return `${err.name}:${err.message.replace(/'[^']*'|"[^"]*"|\d+/g, '_').slice(0, 48)}`;
}

// ---- mutation near valid inputs ------------------------------------------------------------

const NASTY_CHARS = ['-', '0', 'f', 'F', 'A', ' ', '\t', '\u0000', '%', '"', '\\', '{', '}', '[', ']', ',', ':', '=', ';', '.', 'e', '+', 'é', '😀', '\uD800', '\u2028', '\uFEFF', 'µ', 'x'];

type StrOp =
  | { op: 'insert'; at: number; text: string }
  | { op: 'delete'; at: number; len: number }
  | { op: 'replace'; at: number; text: string }
  | { op: 'duplicate'; at: number; len: number }
  | { op: 'truncate'; at: number }
  | { op: 'case'; at: number; len: number };

const charArb = fc.oneof(fc.constantFrom(...NASTY_CHARS), fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }), fc.string({ minLength: 1, maxLength: 3 }));
const strOp: fc.Arbitrary<StrOp> = fc.oneof(
  fc.record({ op: fc.constant('insert' as const), at: fc.nat(), text: charArb }),
  fc.record({ op: fc.constant('delete' as const), at: fc.nat(), len: fc.integer({ min: 1, max: 8 }) }),
  fc.record({ op: fc.constant('replace' as const), at: fc.nat(), text: charArb }),
  fc.record({ op: fc.constant('duplicate' as const), at: fc.nat(), len: fc.integer({ min: 1, max: 16 }) }),
  fc.record({ op: fc.constant('truncate' as const), at: fc.nat() }),
  fc.record({ op: fc.constant('case' as const), at: fc.nat(), len: fc.integer({ min: 1, max: 40 }) }),
);

function applyStrOp(s: string, o: StrOp): string {
  const at = s.length === 0 ? 0 : o.at % (s.length + 1);
  switch (o.op) {
    case 'insert': return s.slice(0, at) + o.text + s.slice(at);
    case 'delete': return s.slice(0, at) + s.slice(at + o.len);
    case 'replace': return s.slice(0, at) + o.text + s.slice(at + o.text.length);
    case 'duplicate': return s.slice(0, at + o.len) + s.slice(at, at + o.len) + s.slice(at + o.len);
    case 'truncate': return s.slice(0, at);
    case 'case': {
      const part = s.slice(at, at + o.len);
      const flipped = part === part.toUpperCase() ? part.toLowerCase() : part.toUpperCase();
      return s.slice(0, at) + flipped + s.slice(at + o.len);
    }
  }
}

/** `base` strings with one to four edits (inserted nasty characters, cuts, duplicates, case flips). */
export function mutatedString(base: fc.Arbitrary<string>): fc.Arbitrary<string> {
  return fc.tuple(base, fc.array(strOp, { minLength: 1, maxLength: 4 })).map(([s, ops]) => ops.reduce(applyStrOp, s));
}

type ByteOp =
  | { op: 'flip'; at: number; bit: number }
  | { op: 'set'; at: number; value: number }
  | { op: 'insert'; at: number; bytes: Uint8Array }
  | { op: 'delete'; at: number; len: number }
  | { op: 'duplicate'; at: number; len: number }
  | { op: 'truncate'; at: number };

const boundaryByte = fc.oneof(fc.constantFrom(0x00, 0x01, 0x7f, 0x80, 0xff, 0x0a, 0x12, 0x1a, 0x22, 0x08, 0x10), fc.integer({ min: 0, max: 255 }));
const byteOp: fc.Arbitrary<ByteOp> = fc.oneof(
  fc.record({ op: fc.constant('flip' as const), at: fc.nat(), bit: fc.integer({ min: 0, max: 7 }) }),
  fc.record({ op: fc.constant('set' as const), at: fc.nat(), value: boundaryByte }),
  fc.record({ op: fc.constant('insert' as const), at: fc.nat(), bytes: fc.uint8Array({ minLength: 1, maxLength: 10 }) }),
  fc.record({ op: fc.constant('delete' as const), at: fc.nat(), len: fc.integer({ min: 1, max: 16 }) }),
  fc.record({ op: fc.constant('duplicate' as const), at: fc.nat(), len: fc.integer({ min: 1, max: 32 }) }),
  fc.record({ op: fc.constant('truncate' as const), at: fc.nat() }),
);

function applyByteOp(b: Uint8Array, o: ByteOp): Uint8Array {
  const at = b.length === 0 ? 0 : o.at % (b.length + 1);
  const cat = (...parts: Uint8Array[]) => new Uint8Array(Buffer.concat(parts));
  switch (o.op) {
    case 'flip': { if (!b.length) return b; const c = b.slice(); c[at % b.length] ^= 1 << o.bit; return c; }
    case 'set': { if (!b.length) return b; const c = b.slice(); c[at % b.length] = o.value; return c; }
    case 'insert': return cat(b.subarray(0, at), o.bytes, b.subarray(at));
    case 'delete': return cat(b.subarray(0, at), b.subarray(at + o.len));
    case 'duplicate': return cat(b.subarray(0, at + o.len), b.subarray(at, at + o.len), b.subarray(at + o.len));
    case 'truncate': return b.subarray(0, at);
  }
}

/** `base` byte strings with one to four edits (bit flips, boundary bytes, cuts, duplicated runs). */
export function mutatedBytes(base: fc.Arbitrary<Uint8Array>): fc.Arbitrary<Uint8Array> {
  return fc.tuple(base, fc.array(byteOp, { minLength: 1, maxLength: 4 })).map(([b, ops]) => ops.reduce(applyByteOp, b));
}

/** `gen` or, when there are corpus seeds, sometimes one of them. */
export function withSeeds<T>(gen: fc.Arbitrary<T>, seeds: readonly T[]): fc.Arbitrary<T> {
  return seeds.length ? fc.oneof({ arbitrary: gen, weight: 4 }, { arbitrary: fc.constantFrom(...seeds), weight: 1 }) : gen;
}

// ---- common generators ---------------------------------------------------------------------

export const hexOf = (chars: number): fc.Arbitrary<string> =>
  fc.string({ unit: fc.constantFrom(...'0123456789abcdef'), minLength: chars, maxLength: chars });
/** Lowercase hex, not all zeros (a valid W3C/OTLP id). */
export const validHex = (chars: number): fc.Arbitrary<string> => hexOf(chars).filter((h) => /[1-9a-f]/.test(h));
