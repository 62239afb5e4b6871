export * from './query-api.js';
