/**
 * test/traceql-api.test.ts unchanged, against `--storage clickhouse` (embedded ClickHouse: see
 * startTestServer in helpers/server.ts): TraceQL search, the Tempo API and autocomplete of
 * attribute names and values (ClickHouseTraceReader.getTagNames / getTagValues).
 */
import { afterAll } from 'vitest';

process.env.MESHTRACE_TEST_STORAGE = 'clickhouse';
// A worker process may run other files after this one: they get SQLite again.
afterAll(() => { delete process.env.MESHTRACE_TEST_STORAGE; });
await import('./traceql-api.test.js');
