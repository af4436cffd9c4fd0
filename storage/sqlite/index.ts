export { openSqliteStorage, sqliteStorageOptionsSchema } from './sqlite-storage.js';
export type { SqliteStorage, SqliteStorageOptions } from './sqlite-storage.js';
