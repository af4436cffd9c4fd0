/**
 * test/query-api.test.ts unchanged, against `--storage clickhouse` (embedded ClickHouse: see
 * startTestServer in helpers/server.ts).
 */
process.env.MESHTRACE_TEST_STORAGE = 'clickhouse';
await import('./query-api.test.js');
