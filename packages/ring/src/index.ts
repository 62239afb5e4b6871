export * from './config.js';
export * from './hash.js';
export * from './hashring.js';
export * from './watcher.js';
