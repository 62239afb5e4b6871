export * from './query-api.js';
export * from './promql-api.js';
export * from './fanout.js';
export * from './remote-store.js';
export * from './remote-metadata.js';
