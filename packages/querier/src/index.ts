export * from './query-api.js';
export * from './promql-api.js';
