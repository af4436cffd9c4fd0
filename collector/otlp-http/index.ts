export { createOtlpHttpReceiver, OTLP_TRACES_PATH, type OtlpHttpReceiver } from './receiver.js';
export { defaultOtlpHttpConfig, otlpHttpConfigSchema, parseOtlpHttpConfig, type OtlpHttpConfig } from './config.js';
