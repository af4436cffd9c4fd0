export { openClickHouseStorage } from './clickhouse-storage.js';
export type { ClickHouseStorage, ClickHouseStorageOptions } from './clickhouse-storage.js';
export { ClickHouseWriteError } from './writer.js';
