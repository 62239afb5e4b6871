export * from './lru.js';
export * from './sharding.js';
export * from './gateway.js';
