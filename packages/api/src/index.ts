export * from './router.js';
export * from './respond.js';
export * from './params.js';
export * from './tenant.js';
export * from './server.js';
export * from './series-api.js';
export * from './selectors.js';
export * from './status-api.js';
