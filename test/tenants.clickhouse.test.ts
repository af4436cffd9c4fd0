/**
 * test/tenants.test.ts unchanged, against `--storage clickhouse` (embedded ClickHouse: see
 * startTestServer in helpers/server.ts): each tenant in its own database `<database>_<tenant>`.
 */
import { afterAll } from 'vitest';

process.env.MESHTRACE_TEST_STORAGE = 'clickhouse';
// A worker process may run other files after this one: they get SQLite again.
afterAll(() => { delete process.env.MESHTRACE_TEST_STORAGE; });
await import('./tenants.test.js');
