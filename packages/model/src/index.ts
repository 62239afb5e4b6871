export * from './labels.js';
export * from './matchers.js';
export * from './regex.js';
export * from './pace.js';
export * from './storage.js';
export * from './errors.js';
export * from './merge.js';
export * from './tenant-id.js';
