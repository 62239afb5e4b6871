export { bucketByteSource, type Bucket } from './bucket.js';
export { FilesystemBucket } from './filesystem.js';
export { bucketFromConfig } from './config.js';
export { instrumentBucket } from './metrics.js';
