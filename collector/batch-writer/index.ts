export { BatchWriter, type BatchWriterCounters } from './batch-writer.js';
export {
  batchWriterConfigSchema,
  defaultBatchWriterConfig,
  parseBatchWriterConfig,
  type BatchWriterConfig,
} from './config.js';
