/**
 * A ClickHouse HTTP interface (the subset @clickhouse/client and curl use) in front of an
 * in-process chdb Session: the real engine, reached by the production client over real HTTP.
 *
 * Served: `GET /ping` and `GET /`; queries from the `query` URL parameter and/or the body
 * (ClickHouse concatenates them: `INSERT … FORMAT X` in the URL, the rows in the body);
 * `database`, `default_format`, `param_*` (query parameters) and settings parameters (settings
 * chdb has no use for over HTTP are ignored, the others are passed as `SETTINGS`); errors as
 * ClickHouse sends them (`Code: N. DB::Exception: … (NAME)` body, HTTP status from the code,
 * `X-ClickHouse-Exception-Code`) so the client raises a ClickHouseError.
 *
 * Not served: sessions (`session_id`), compression, multipart parameters, streaming of large
 * results (each result is buffered), authentication (user/password are accepted and ignored).
 *
 * chdb allows one session per process and its session has one current database, so queries run
 * one at a time (a promise chain) and each switches the database when it differs.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Session, type ChdbResult } from 'chdb';

export interface EmbeddedClickHouse {
  /** `http://127.0.0.1:PORT` */
  url: string;
  port: number;
  /** Runs SQL directly on the engine (setup, assertions); same queue as HTTP queries. */
  query(sql: string, format?: string): Promise<string>;
  /** Refuse connections from now on (a ClickHouse that went down) or accept them again. */
  setDown(down: boolean): void;
  /**
   * Accept requests but never answer them (a ClickHouse too slow to answer) or serve again; the
   * held requests are then dropped unanswered, never run.
   */
  setStalled(stalled: boolean): void;
  /** Called with each HTTP query's SQL and the settings SET for it (`name = value`); undefined to stop. */
  onQuery(listener: ((q: { sql: string; settings: string[] }) => void) | undefined): void;
  close(): Promise<void>;
}

export interface EmbeddedClickHouseOptions {
  /** Data directory of the chdb session; a temporary one (removed on close) when absent. */
  dataDir?: string;
  /** 0 (default) = an ephemeral port. */
  port?: number;
  /** Always 127.0.0.1 unless given. */
  host?: string;
}

/** URL parameters that are not settings. */
const NON_SETTINGS = new Set([
  'query', 'database', 'default_format', 'query_id', 'session_id', 'session_timeout', 'session_check',
  'user', 'password', 'role', 'compress', 'decompress', 'quota_key', 'buffer_size', 'wait_end_of_query',
]);
/**
 * Settings ignored: those about the HTTP exchange itself (chdb has no HTTP layer). Everything
 * else, async_insert and wait_for_async_insert included, is SET on the engine for the query
 * (chdb accepts async inserts; with wait_for_async_insert=1 the insert returns once written).
 */
const HTTP_ONLY_SETTINGS = new Set([
  'enable_http_compression', 'send_progress_in_http_headers', 'http_headers_progress_interval_ms',
  'http_zlib_compression_level', 'cancel_http_readonly_queries_on_client_close',
  'http_response_buffer_size', 'output_format_json_quote_64bit_integers_in_http', 'http_wait_end_of_query',
]);

/** ClickHouse's HTTP status for an exception code (HTTPHandler's mapping, the common cases). */
function httpStatusOf(code: number): number {
  if ([516, 192, 193, 194, 195, 196, 197].includes(code)) return 401; // authentication
  if ([497, 164].includes(code)) return 403; // access denied, readonly
  if ([60, 81, 16, 47, 36, 46].includes(code)) return 404; // unknown table/database/column/identifier/function
  if ([62, 26, 27, 6, 41, 53, 69, 70, 72, 73, 117, 130, 131, 32, 33, 38, 349].includes(code)) return 400; // syntax, parse, type
  if (code === 159) return 504; // timeout
  return 500;
}

const EXCEPTION_NAME = /\(([A-Z0-9_]{3,})\)/;

interface ChdbError extends Error { code?: unknown; clickhouseCode?: unknown }

function exceptionOf(err: unknown): { code: number; text: string } {
  const e = err as ChdbError;
  const message = e instanceof Error ? e.message : String(err);
  const m = /Code: (\d+)\./.exec(message);
  const code = typeof e.clickhouseCode === 'number' ? e.clickhouseCode : m ? Number(m[1]) : 1001;
  // The client parses `Code: N. DB::Exception: message (NAME)`; keep chdb's text when it has that shape.
  const text = m && EXCEPTION_NAME.test(message) ? message : `Code: ${code}. DB::Exception: ${message} (STD_EXCEPTION)`;
  return { code, text: `${text.trimEnd()}\n` };
}

/** Unescapes a query-parameter value from the TSV-escaped form clients send it in. */
function unescapeTsv(v: string): string {
  return v.replace(/\\(.)/gs, (_, c: string) => ({ t: '\t', n: '\n', r: '\r', b: '\b', f: '\f', '0': '\0' } as Record<string, string>)[c] ?? c);
}

const quoteString = (v: string): string => `'${v.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;

/**
 * Substitutes `{name:Type}` placeholders with `CAST('value' AS Type)`: the engine parses the
 * value as text of that type, as the server does for HTTP parameters. Identifiers are quoted.
 */
export function bindParams(sql: string, params: Map<string, string>): string {
  if (params.size === 0) return sql;
  return sql.replace(/\{([A-Za-z_][A-Za-z0-9_]*)\s*:\s*([^{}]+?)\s*\}/g, (whole, name: string, type: string) => {
    const raw = params.get(name);
    if (raw === undefined) {
      throw Object.assign(new Error(`Code: 456. DB::Exception: Substitution \`${name}\` is not set. (UNKNOWN_QUERY_PARAMETER)`), { clickhouseCode: 456 });
    }
    // A scalar arrives TSV-escaped; a composite arrives in its quoted text form, escapes and all,
    // which the engine's parser of that type reads (as the server's `deserializeTextEscaped` does).
    const value = /^(Array|Tuple|Map)\(/.test(type) ? raw : unescapeTsv(raw);
    if (type === 'Identifier') return `\`${value.replace(/`/g, '\\`')}\``;
    return `CAST(${quoteString(value)} AS ${type})`;
  });
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

/** Does the statement already say how its result is formatted (or is it one with no result)? */
const HAS_FORMAT = /\bFORMAT\s+[A-Za-z]+\s*;?\s*$/i;
const IS_INSERT = /^\s*INSERT\b/i;

export async function startEmbeddedClickHouse(opts: EmbeddedClickHouseOptions = {}): Promise<EmbeddedClickHouse> {
  const session = new Session(opts.dataDir);
  let queue: Promise<unknown> = Promise.resolve();
  let currentDb = 'default';
  let down = false;
  let stalled = false;
  const held = new Set<IncomingMessage>();
  let listener: ((q: { sql: string; settings: string[] }) => void) | undefined;

  /**
   * Runs on the engine, one at a time, in `database`, with `settings` (`name = value`) for this
   * query only: the session is shared, so they are SET before and reset to DEFAULT after.
   */
  const run = (sql: string, format: string, database?: string, settings: string[] = []): Promise<ChdbResult> => {
    const job = queue.then(async () => {
      if (database && database !== currentDb) {
        await session.queryAsync(`USE \`${database.replace(/`/g, '\\`')}\``);
        currentDb = database;
      }
      if (settings.length) await session.queryAsync(`SET ${settings.join(', ')}`);
      try {
        return await session.queryAsync(sql, { format });
      } finally {
        if (settings.length) await session.queryAsync(`SET ${settings.map((x) => `${x.split(' = ')[0]} = DEFAULT`).join(', ')}`);
      }
    });
    queue = job.catch(() => undefined);
    return job;
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (url.pathname === '/ping' || (url.pathname === '/' && req.method === 'GET' && !url.searchParams.has('query'))) {
      res.writeHead(200, { 'Content-Type': 'text/plain; charset=UTF-8' }).end('Ok.\n');
      return;
    }
    if (url.pathname !== '/') {
      const text = `Code: 0. DB::Exception: There is no handle ${url.pathname}. (UNKNOWN_EXCEPTION)\n`;
      res.writeHead(404, { 'Content-Type': 'text/plain; charset=UTF-8', 'X-ClickHouse-Exception-Code': '0' }).end(text);
      return;
    }
    const queryId = url.searchParams.get('query_id') ?? crypto.randomUUID();
    const base = { 'X-ClickHouse-Query-Id': queryId, 'X-ClickHouse-Server-Display-Name': 'meshtrace-embedded', 'X-ClickHouse-Timezone': 'UTC' };
    try {
      const body = req.method === 'POST' ? await readBody(req) : Buffer.alloc(0);
      const params = new Map<string, string>();
      const settings: string[] = [];
      for (const [k, v] of url.searchParams) {
        if (k.startsWith('param_')) params.set(k.slice(6), v);
        else if (!NON_SETTINGS.has(k) && !HTTP_ONLY_SETTINGS.has(k) && /^[A-Za-z_][A-Za-z0-9_]*$/.test(k)) settings.push(`${k} = ${/^-?\d+(\.\d+)?$/.test(v) ? v : quoteString(v)}`);
      }
      // As ClickHouse: the URL's query, then a newline-free join with the body (the INSERT's data).
      const urlQuery = url.searchParams.get('query') ?? '';
      const bodyText = body.toString('utf8');
      let sql: string;
      if (urlQuery && IS_INSERT.test(urlQuery)) sql = `${bindParams(urlQuery, params)}\n${bodyText}`;
      else sql = bindParams(urlQuery && bodyText ? `${urlQuery}\n${bodyText}` : urlQuery || bodyText, params);
      if (!sql.trim()) throw Object.assign(new Error('Code: 62. DB::Exception: Empty query. (SYNTAX_ERROR)'), { clickhouseCode: 62 });
      // Settings are SET around the statement (valid for every statement kind, INSERT data included).
      const format = url.searchParams.get('default_format') ?? 'TabSeparated';
      listener?.({ sql, settings });
      const out = await run(sql, IS_INSERT.test(sql) || HAS_FORMAT.test(sql) ? 'TabSeparated' : format, url.searchParams.get('database') ?? undefined, settings);
      const formatMatch = /\bFORMAT\s+([A-Za-z]+)\s*;?\s*$/i.exec(sql);
      const elapsedNs = String(Math.round(out.elapsed * 1e9));
      res.writeHead(200, {
        ...base,
        'Content-Type': 'text/plain; charset=UTF-8',
        'X-ClickHouse-Format': formatMatch?.[1] ?? format,
        // The client parses this for inserts and commands. chdb reports what it read; written
        // figures are not exposed per query, so they stay 0.
        'X-ClickHouse-Summary': JSON.stringify({
          read_rows: String(out.rowsRead), read_bytes: String(out.bytesRead), written_rows: '0', written_bytes: '0',
          total_rows_to_read: String(out.rowsRead), result_rows: '0', result_bytes: String(out.bytes().length), elapsed_ns: elapsedNs,
        }),
      }).end(Buffer.from(out.bytes()));
    } catch (err) {
      const { code, text } = exceptionOf(err);
      res.writeHead(httpStatusOf(code), { ...base, 'Content-Type': 'text/plain; charset=UTF-8', 'X-ClickHouse-Exception-Code': String(code) }).end(text);
    }
  };

  const server: Server = createServer((req, res) => {
    if (down) {
      req.socket.destroy();
      return;
    }
    if (stalled) {
      held.add(req);
      req.once('close', () => held.delete(req));
      return;
    }
    handle(req, res).catch((err: unknown) => {
      if (!res.headersSent) res.writeHead(500).end(String(err));
    });
  });
  const host = opts.host ?? '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, host, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://${host}:${port}`,
    port,
    query: async (sql, format = 'TabSeparated') => (await run(sql, format)).text(),
    setDown(d) {
      down = d;
      // Keep-alive sockets of the client would otherwise still reach the handler.
      if (d) server.closeAllConnections();
    },
    onQuery(l) {
      listener = l;
    },
    setStalled(s) {
      stalled = s;
      if (!s) {
        for (const req of held) req.socket.destroy();
        held.clear();
      }
    },
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await queue;
      session.close();
    },
  };
}
