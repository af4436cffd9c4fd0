/**
 * The ClickHouse backend on the real engine (chdb) through the production client over HTTP
 * (test/support/clickhouse-http.ts): the unchanged storage contract suite, plus what is
 * specific to this backend.
 */
import { afterAll, beforeAll } from 'vitest';
import { startEmbeddedClickHouse, type EmbeddedClickHouse } from '../../test/support/clickhouse-http.js';
import { runStorageContract } from '../contract.js';
import { openClickHouseStorage } from './index.js';

let ch: EmbeddedClickHouse;
let n = 0;
beforeAll(async () => { ch = await startEmbeddedClickHouse(); });
afterAll(async () => { await ch?.close(); });

// One engine per process (chdb): each storage gets a database of its own.
runStorageContract('clickhouse', () => openClickHouseStorage({ url: ch.url, database: `contract_${++n}` }));
