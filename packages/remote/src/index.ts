export * from './pb-reader.js';
export * from './pb-writer.js';
export * from './write-batch.js';
export * from './write-v1.js';
export * from './labels-v1.js';
export * from './write-v2.js';
export * from './snappy.js';
export * from './read.js';
