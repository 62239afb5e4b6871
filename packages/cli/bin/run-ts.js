#!/usr/bin/env node
// Runs a TypeScript entry file through tsx's loader: `node run-ts.js file.ts args...`.
import { register } from 'tsx/esm/api';
import { register as registerCjs } from 'tsx/cjs/api';
import { pathToFileURL } from 'node:url';
import path from 'node:path';

register();
registerCjs();
const [, , file, ...rest] = process.argv;
process.argv = [process.argv[0], file, ...rest];
await import(pathToFileURL(path.resolve(file)).href);
