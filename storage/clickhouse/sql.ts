/**
 * Small helpers shared by the ClickHouse reader and writer.
 */
import type { ClickHouseClient } from '@clickhouse/client';

const HEX = /^[0-9a-f]+$/;

/**
 * A literal array of trace ids, for `trace_id IN […]`. Ids are inlined rather than bound as a
 * parameter because a batch can hold thousands (too long for the URL, where HTTP parameters
 * go); only lowercase hex ids are accepted, so inlining cannot inject anything. Others are
 * dropped: no stored trace has such an id.
 */
export function traceIdList(ids: Iterable<string>): string {
  const ok: string[] = [];
  for (const id of ids) if (id.length === 32 && HEX.test(id)) ok.push(`'${id}'`);
  return `[${ok.join(',')}]`;
}

/** Rows of a SELECT (JSONEachRow). */
export async function rows<T>(client: ClickHouseClient, query: string, params?: Record<string, unknown>): Promise<T[]> {
  const rs = await client.query({ query, format: 'JSONEachRow', ...(params ? { query_params: params } : {}) });
  return rs.json<T>();
}

/** JSON output may quote 64-bit integers (output_format_json_quote_64bit_integers): accept both. */
export const num = (v: unknown): number => (typeof v === 'number' ? v : Number(v));
