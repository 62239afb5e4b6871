export * from './meta.js';
export * from './ulid.js';
export * from './bytesource.js';
export * from './writer.js';
export * from './index-reader.js';
export * from './reader.js';
export * from './index-header.js';
export * from './block-set.js';
