export * from './ast.js';
export * from './parser/index.js';
