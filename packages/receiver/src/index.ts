export * from './limits.js';
export * from './metadata-store.js';
export * from './validate.js';
export * from './write-handler.js';
export * from './distributor.js';
export * from './memory-budget.js';
export * from './forward-auth.js';
