/**
 * The TraceQL case table (cases.ts) on the ClickHouse store: the real engine (chdb) behind the
 * embedded HTTP interface, reached by the production client (as storage/clickhouse/clickhouse-storage.test.ts).
 */
import { afterAll, beforeAll } from 'vitest';
import { openClickHouseStorage } from '../../storage/clickhouse/index.js';
import { startEmbeddedClickHouse, type EmbeddedClickHouse } from '../../test/support/clickhouse-http.js';
import { runTraceQLCases } from './cases.js';

let ch: EmbeddedClickHouse;
beforeAll(async () => { ch = await startEmbeddedClickHouse(); });
afterAll(async () => { await ch?.close(); });

runTraceQLCases('clickhouse', () => openClickHouseStorage({ url: ch.url, database: 'traceql_cases' }));
