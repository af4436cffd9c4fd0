/**
 * The embedded ClickHouse HTTP server, checked through the production client and plain fetch
 * (what curl sends): the parts of the HTTP interface the ClickHouse backend and tests rely on.
 */
import { createClient, ClickHouseError, type ClickHouseClient } from '@clickhouse/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bindParams, startEmbeddedClickHouse, type EmbeddedClickHouse } from './clickhouse-http.js';

describe('embedded ClickHouse HTTP server', () => {
  let ch: EmbeddedClickHouse;
  let client: ClickHouseClient;
  beforeAll(async () => {
    ch = await startEmbeddedClickHouse();
    await ch.query('CREATE DATABASE IF NOT EXISTS http_test');
    client = createClient({ url: ch.url, database: 'http_test' });
  });
  afterAll(async () => {
    await client?.close();
    await ch?.close();
  });

  it('answers /ping like ClickHouse, and the client ping succeeds', async () => {
    const r = await fetch(`${ch.url}/ping`);
    expect(r.status).toBe(200);
    expect(await r.text()).toBe('Ok.\n');
    expect((await client.ping()).success).toBe(true);
  });

  it('runs commands, inserts rows from the body and selects in the formats the client asks for', async () => {
    await client.command({ query: 'CREATE TABLE t (id UInt32, name String, tags Array(String)) ENGINE = MergeTree ORDER BY id' });
    await client.insert({ table: 't', values: [{ id: 1, name: 'a', tags: ['x'] }, { id: 2, name: "it's \\ \"q\"", tags: [] }], format: 'JSONEachRow' });
    const rows = await (await client.query({ query: 'SELECT id, name, tags FROM t ORDER BY id', format: 'JSONEachRow' })).json();
    expect(rows).toEqual([{ id: 1, name: 'a', tags: ['x'] }, { id: 2, name: "it's \\ \"q\"", tags: [] }]);
    const json = await (await client.query({ query: 'SELECT count() AS n FROM t', format: 'JSON' })).json<{ n: string | number }>();
    expect(json.data.map((r) => Number(r.n))).toEqual([2]);
    const compact = await (await client.query({ query: 'SELECT id FROM t ORDER BY id', format: 'JSONCompactEachRow' })).json();
    expect(compact).toEqual([[1], [2]]);
    expect(await (await client.query({ query: 'SELECT id, name FROM t WHERE id = 1', format: 'TabSeparated' })).text()).toBe('1\ta\n');
  });

  it('binds query parameters of any type, including strings needing escapes and arrays', async () => {
    const rs = await client.query({
      query: 'SELECT {s:String} AS s, toString({n:Int64}) AS n, {a:Array(String)} AS a, count() AS c FROM {tbl:Identifier}',
      query_params: { s: "quote ' tab \t back \\ nl \n", n: -9007199254740993n, a: ["x'y", 'z'], tbl: 't' },
      format: 'JSONEachRow',
    });
    const [row] = await rs.json<{ s: string; n: string | number; a: string[]; c: string | number }>();
    expect(row.s).toBe("quote ' tab \t back \\ nl \n");
    expect(String(row.n)).toBe('-9007199254740993');
    expect(row.a).toEqual(["x'y", 'z']);
    // A placeholder-looking text without a type (ZooKeeper path macros) is left alone.
    expect(bindParams("SELECT '/t/{shard}', {x:UInt8}", new Map([['x', '1']]))).toBe("SELECT '/t/{shard}', CAST('1' AS UInt8)");
  });

  it('takes the query from the URL as curl does, with database= and default_format=', async () => {
    const r = await fetch(`${ch.url}/?database=http_test&default_format=JSONEachRow&query=${encodeURIComponent('SELECT max(id) AS m FROM t')}`);
    expect(r.status).toBe(200);
    expect(await r.text()).toBe('{"m":2}\n');
  });

  it('reports errors as ClickHouse does: status, exception code header, parseable body', async () => {
    const r = await fetch(`${ch.url}/?query=${encodeURIComponent('SELECT * FROM no_such_table')}`, { method: 'POST' });
    expect(r.status).toBe(404);
    expect(r.headers.get('x-clickhouse-exception-code')).toBe('60');
    expect(await r.text()).toMatch(/^Code: 60\. DB::Exception: .*\(UNKNOWN_TABLE\)/);
    const err = await client.query({ query: 'SELEC 1', format: 'JSON' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ClickHouseError);
    expect((err as ClickHouseError).code).toBe('62');
    expect((err as ClickHouseError).type).toBe('SYNTAX_ERROR');
    const missing = await client.query({ query: 'SELECT {p:String}', format: 'JSON' }).catch((e: unknown) => e);
    expect((missing as ClickHouseError).type).toBe('UNKNOWN_QUERY_PARAMETER');
  });

  it('applies settings from the URL to that query only', async () => {
    const get = (extra: string) => fetch(`${ch.url}/?${extra}query=${encodeURIComponent("SELECT getSetting('max_threads') = 3 AS set")}`).then((r) => r.text());
    expect(await get('max_threads=3&')).toBe('1\n');
    expect(await get('')).toBe('0\n');
    const bad = await fetch(`${ch.url}/?no_such_setting=1&query=SELECT%201`);
    expect(bad.status).not.toBe(200);
    expect(bad.headers.get('x-clickhouse-exception-code')).toBe('115'); // UNKNOWN_SETTING
  });

  it('refuses connections while down, then serves again', async () => {
    ch.setDown(true);
    const down = createClient({ url: ch.url, request_timeout: 2000 });
    try {
      await expect(down.query({ query: 'SELECT 1', format: 'JSON' })).rejects.toThrow();
      ch.setDown(false);
      expect(await (await down.query({ query: 'SELECT 1 AS one', format: 'JSONEachRow' })).json()).toEqual([{ one: 1 }]);
    } finally {
      ch.setDown(false);
      await down.close();
    }
  });
});
