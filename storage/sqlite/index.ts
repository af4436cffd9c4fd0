export { openSqliteStorage, sqliteStorageOptionsSchema } from './sqlite-storage.js';
export type { PreparedSpanWriter, SqliteStorage, SqliteStorageOptions } from './sqlite-storage.js';
export { prepareBatch, PrepareCache } from './prepared-batch.js';
