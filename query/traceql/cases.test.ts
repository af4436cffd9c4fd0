/** The TraceQL case table (cases.ts) on the SQLite store, a fresh file. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll } from 'vitest';
import { openSqliteStorage } from '../../storage/sqlite/index.js';
import { runTraceQLCases } from './cases.js';

const dir = mkdtempSync(join(tmpdir(), 'meshtrace-traceql-cases-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

runTraceQLCases('sqlite', async () => openSqliteStorage({ path: join(dir, 'traces.db') }));
