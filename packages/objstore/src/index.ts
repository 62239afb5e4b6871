export * from './bucket.js';
export * from './filesystem.js';
export * from './s3.js';
export * from './prefixed.js';
export * from './config.js';
export * from './metrics.js';
