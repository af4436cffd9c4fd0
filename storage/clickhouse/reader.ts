/**
 * `TraceReader` on ClickHouse.
 *
 * Trace by id: `trace_index` (ordered by trace id) gives the traces' start range; spans are then
 * read in that range only (partition pruning by day, the trace_id bloom filter inside), and the
 * latest version of each span identity kept (`LIMIT 1 BY`), since ReplacingMergeTree merges
 * versions only eventually.
 *
 * Search: spans of the service (a prefix of the ordering key) in the time window, grouped by
 * trace; the operation and each tag must occur on some span of that group (the tag bloom filter
 * skips granules with none of the searched terms); the duration bound is checked against
 * `trace_index`. Newest first by trace start (see findTraceIds).
 */
import type { ClickHouseClient } from '@clickhouse/client';
import type { GetTracesQuery, TagNames, TraceQuery, TraceReader } from '../api.js';
import type { SpanBudget } from '../span-budget.js';
import { spanKindNames, type Operation, type SpanKind, type Trace } from '../../model/span.js';
import { TERMS_EXPR, type Schema } from './schema.js';
import { fromRow, resourceAttributes, SPAN_COLUMNS, tagTerm, type SpanRow } from './span-row.js';
import { num, rows, traceIdList } from './sql.js';
import { validateTraceQuery } from '../trace-query.js';

/** Candidate traces read per search query (at least; 2 × limit when larger). */
const MIN_PAGE = 100;
/** Candidate queries at most (pages over all slices): bounds a search whose matching spans start long after their traces. */
const MAX_PAGES = 20;
/**
 * Autocomplete (getTagNames / getTagValues) reads the newest day of spans, not the whole table: a
 * key that appeared only before that is rarely what a user is typing, and a scan of every span's
 * keys at 10 M spans is too slow for a keystroke. Tempo's tag search looks at recent blocks likewise.
 */
const AUTOCOMPLETE_WINDOW_US = 86_400_000_000;
/** Most values one getTagValues answer carries (the API's own cap is 1,000). */
const AUTOCOMPLETE_MAX_VALUES = 1_000;
/** Width of the newest slice of the search window, µs (see findTraceIds). */
const FIRST_SLICE_US = 60_000_000;

export class ClickHouseTraceReader implements TraceReader {
  constructor(private readonly client: ClickHouseClient, private readonly schema: Schema) {}

  async getTraces(q: GetTracesQuery, budget?: SpanBudget): Promise<Trace[]> {
    const asked = [...new Set(q.traceIds)];
    if (traceIdList(asked) === '[]') return [];
    // With a budget, each trace's span count comes first (a narrow read of three columns), so a
    // trace left out is never read and a cut one reads only its earliest spans.
    let whole = asked;
    let cut: { id: string; spans: number } | undefined;
    if (budget) {
      const counts = new Map((await rows<{ trace_id: string; n: unknown }>(this.client, `
        ${this.rangeOf(asked)}
        SELECT trace_id, uniqExact(span_id, kind) AS n FROM ${this.schema.table('spans')}
        WHERE trace_id IN ${traceIdList(asked)} AND start_us BETWEEN range.1 AND range.2
        GROUP BY trace_id`)).map((r) => [r.trace_id, num(r.n)]));
      whole = [];
      for (const id of asked) {
        const total = counts.get(id);
        if (total === undefined) continue;
        const admitted = budget.admit(id, total);
        if (admitted === total) whole.push(id);
        else if (admitted > 0) cut = { id, spans: admitted };
      }
    }
    const byTrace = new Map<string, Trace>();
    const collect = (found: SpanRow[]) => {
      for (const r of found) {
        let t = byTrace.get(r.trace_id);
        if (!t) byTrace.set(r.trace_id, (t = { traceId: r.trace_id, spans: [] }));
        t.spans.push(fromRow(r));
      }
    };
    // The time hints are not needed: trace_index knows each trace's range exactly.
    if (whole.length) collect(await rows<SpanRow>(this.client, `${this.latestSpans(whole)}`));
    if (cut) {
      collect(await rows<SpanRow>(this.client, `
        SELECT * FROM (${this.latestSpans([cut.id])})
        ORDER BY start_us, span_id
        LIMIT {n:UInt32}`, { n: cut.spans }));
    }
    // In the order asked for.
    const out: Trace[] = [];
    for (const id of asked) {
      const t = byTrace.get(id);
      if (t) out.push(t);
    }
    return out;
  }

  /** `WITH … AS range`: the start range of the traces `ids`, from trace_index. */
  private rangeOf(ids: string[]): string {
    return `WITH (SELECT (min(start_min), max(start_max)) FROM ${this.schema.table('trace_index')} WHERE trace_id IN ${traceIdList(ids)}) AS range`;
  }

  /** The latest version of each span of the traces `ids` (ReplacingMergeTree merges only eventually). */
  private latestSpans(ids: string[]): string {
    return `${this.rangeOf(ids)}
      SELECT ${SPAN_COLUMNS.join(', ')} FROM ${this.schema.table('spans')}
      WHERE trace_id IN ${traceIdList(ids)} AND start_us BETWEEN range.1 AND range.2
      ORDER BY version DESC
      LIMIT 1 BY trace_id, span_id, kind`;
  }

  async findTraces(q: TraceQuery, budget?: SpanBudget): Promise<Trace[]> {
    const ids = await this.findTraceIds(q);
    return ids.length ? this.getTraces({ traceIds: ids }, budget) : [];
  }

  /**
   * Candidates come from `spans` ordered by their earliest matching span, newest first, a page at
   * a time; the result is ordered by trace start (`trace_index`), as the SQLite backend orders.
   * A trace starts no later than its earliest matching span, so once a page ends before the
   * `limit`-th best trace start found so far, no later candidate can enter the result.
   *
   * The window is read in slices, newest first (1 min, then 4× wider each time): a search for the
   * newest traces of a busy service aggregates the last minutes, not the whole window. Every trace
   * not seen yet has its matching spans before the slices read, so it starts before them: once
   * the `limit`-th best start is at or after the slices' start, the search is done. With more than
   * one required term (operation and tags must each match some span of the trace, possibly in
   * different slices) the window is read whole.
   */
  async findTraceIds(q: TraceQuery): Promise<string[]> {
    validateTraceQuery(q);
    const pageSize = Math.max(2 * q.limit, MIN_PAGE);
    const found = new Map<string, number>();
    let best: { id: string; start: number }[] = [];
    const better = (a: { id: string; start: number }, b: { id: string; start: number }) => b.start - a.start || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
    const full = () => best.length === q.limit;
    const sliced = (q.operationName !== undefined ? 1 : 0) + Object.keys(q.tags ?? {}).length <= 1;
    let pages = 0;
    let hi = q.startTimeMaxUs;
    for (let width = FIRST_SLICE_US; hi >= q.startTimeMinUs && pages < MAX_PAGES; width *= 4) {
      const lo = sliced ? Math.max(q.startTimeMinUs, hi - width + 1) : q.startTimeMinUs;
      for (let page = 0; pages < MAX_PAGES; page++) {
        const candidates = await this.candidates(q, lo, hi, page * pageSize, pageSize);
        if (candidates.length === 0) break;
        pages++;
        const fresh = candidates.filter((c) => !found.has(c.trace_id));
        const starts = fresh.length ? await this.traceStarts(fresh.map((c) => c.trace_id)) : new Map<string, number>();
        for (const c of fresh) found.set(c.trace_id, starts.get(c.trace_id) ?? num(c.first_match));
        best = [...best, ...fresh.map((c) => ({ id: c.trace_id, start: found.get(c.trace_id) as number }))].sort(better).slice(0, q.limit);
        const lastFirstMatch = num(candidates[candidates.length - 1].first_match);
        if (full() && lastFirstMatch < best[best.length - 1].start) return best.map((b) => b.id);
        if (candidates.length < pageSize) break;
      }
      if (full() && best[best.length - 1].start >= lo) break;
      hi = lo - 1;
    }
    return best.map((b) => b.id);
  }

  /** One page of matching traces with their earliest matching span start, newest first. */
  private async candidates(q: TraceQuery, lo: number, hi: number, offset: number, size: number): Promise<{ trace_id: string; first_match: unknown }[]> {
    const params: Record<string, unknown> = { tmin: lo, tmax: hi, size, offset };
    const where = ['start_us BETWEEN {tmin:Int64} AND {tmax:Int64}'];
    if (q.serviceName !== undefined) {
      where.push('service = {service:String}');
      params.service = q.serviceName;
    }
    // Each required term must occur on some span of the trace (in the window, of the service).
    const required: string[] = [];
    if (q.operationName !== undefined) {
      required.push('name = {operation:String}');
      params.operation = q.operationName;
    }
    Object.entries(q.tags ?? {}).forEach(([k, v], i) => {
      // TERMS_EXPR verbatim: the tag bloom filter is built on that expression.
      required.push(`has(${TERMS_EXPR}, {tag${i}:String})`);
      params[`tag${i}`] = tagTerm(k, v);
    });
    // Rows with none of the terms cannot help: the OR lets the bloom filter skip their granules.
    if (required.length) where.push(`(${required.join(' OR ')})`);
    const having = required.length > 1 ? `HAVING ${required.map((r) => `countIf(${r}) > 0`).join(' AND ')}` : '';
    let duration = '';
    if (q.durationMinUs !== undefined || q.durationMaxUs !== undefined) {
      params.dmin = q.durationMinUs ?? 0;
      params.dmax = q.durationMaxUs ?? Number.MAX_SAFE_INTEGER;
      duration = `WHERE trace_id IN (
        SELECT trace_id FROM ${this.schema.table('trace_index')}
        WHERE trace_id IN (SELECT trace_id FROM matching)
        GROUP BY trace_id HAVING max(end_max) - min(start_min) BETWEEN {dmin:Int64} AND {dmax:Int64})`;
    }
    return rows(this.client, `
      WITH matching AS (
        SELECT trace_id, min(start_us) AS first_match FROM ${this.schema.table('spans')}
        WHERE ${where.join(' AND ')}
        GROUP BY trace_id ${having})
      SELECT trace_id, first_match FROM matching ${duration}
      ORDER BY first_match DESC, trace_id
      LIMIT {size:UInt32} OFFSET {offset:UInt64}`, params);
  }

  /** Trace id → start of its first span. */
  private async traceStarts(ids: string[]): Promise<Map<string, number>> {
    const found = await rows<{ trace_id: string; start: unknown }>(this.client,
      `SELECT trace_id, min(start_min) AS start FROM ${this.schema.table('trace_index')} WHERE trace_id IN ${traceIdList(ids)} GROUP BY trace_id`);
    return new Map(found.map((r) => [r.trace_id, num(r.start)]));
  }

  /** Start of the autocomplete window: a day before the newest trace's start (trace_index is one row per trace and write). */
  private autocompleteSince(): string {
    return `(SELECT max(start_min) FROM ${this.schema.table('trace_index')}) - ${AUTOCOMPLETE_WINDOW_US}`;
  }

  async getTagNames(): Promise<TagNames> {
    const spans = this.schema.table('spans');
    const since = this.autocompleteSince();
    const [span, resources] = await Promise.all([
      rows<{ key: string }>(this.client, `SELECT DISTINCT arrayJoin(attr_keys) AS key FROM ${spans} WHERE start_us >= ${since} ORDER BY key LIMIT 10000`),
      rows<{ resource: string }>(this.client, `SELECT DISTINCT resource FROM ${spans} WHERE start_us >= ${since} LIMIT 10000`),
    ]);
    const resource = new Set<string>();
    for (const r of resources) for (const k of resourceAttributes(r.resource)[0]) resource.add(k);
    return { span: span.map((r) => r.key), resource: [...resource].sort() };
  }

  async getTagValues(q: { scope: 'span' | 'resource'; key: string }): Promise<string[]> {
    const spans = this.schema.table('spans');
    const since = this.autocompleteSince();
    if (q.scope === 'resource') {
      const found = await rows<{ resource: string }>(this.client, `SELECT DISTINCT resource FROM ${spans} WHERE start_us >= ${since} LIMIT 10000`);
      const values = new Set<string>();
      for (const r of found) {
        const [keys, types, vals] = resourceAttributes(r.resource);
        keys.forEach((k, i) => { if (k === q.key && types[i] === 'string') values.add(vals[i]); });
      }
      return [...values].sort().slice(0, AUTOCOMPLETE_MAX_VALUES);
    }
    // String values only, as SQLite's catalog keeps: numbers and booleans are typed into a query, not picked.
    const found = await rows<{ value: string }>(this.client, `
      SELECT DISTINCT attr_values[i] AS value FROM ${spans}
      ARRAY JOIN arrayEnumerate(attr_keys) AS i
      WHERE start_us >= ${since} AND has(attr_keys, {key:String}) AND attr_keys[i] = {key:String} AND attr_types[i] = 'string'
      ORDER BY value LIMIT ${AUTOCOMPLETE_MAX_VALUES}`, { key: q.key });
    return found.map((r) => r.value);
  }

  async getServices(): Promise<string[]> {
    const found = await rows<{ service: string }>(this.client, `SELECT DISTINCT service FROM ${this.schema.table('operations')} ORDER BY service`);
    return found.map((r) => r.service);
  }

  async getOperations(q: { serviceName: string; spanKind?: SpanKind }): Promise<Operation[]> {
    const params: Record<string, unknown> = { service: q.serviceName };
    let kind = '';
    if (q.spanKind !== undefined) {
      kind = 'AND kind = {kind:UInt8}';
      params.kind = q.spanKind;
    }
    const found = await rows<{ name: string; kind: unknown }>(this.client,
      `SELECT DISTINCT name, kind FROM ${this.schema.table('operations')} WHERE service = {service:String} ${kind}`, params);
    const ops = found.map((r) => ({ name: r.name, spanKind: spanKindNames[num(r.kind) as SpanKind] ?? '' }));
    // Sorted by name, then by the kind's name (as the API shows it), in JS string order.
    return ops.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : a.spanKind < b.spanKind ? -1 : a.spanKind > b.spanKind ? 1 : 0));
  }
}
