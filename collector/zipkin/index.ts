export { createZipkinReceiver, ZIPKIN_SPANS_PATH, type ZipkinConfig, type ZipkinReceiver } from './receiver.js';
export { decodeZipkinJson } from './decode.js';
