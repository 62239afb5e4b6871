export { parse } from './parser.js';
export { FUNCTIONS, type FunctionSignature } from './functions.js';
export { parseDurationLiteral, parseNumberLiteral, unquoteString } from './literals.js';
