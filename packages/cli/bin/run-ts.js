#!/usr/bin/env node
// Development and tests only: runs a TypeScript entry file through tsx's loader,
// `node --conditions=strata-src run-ts.js file.ts args...`. The strata-src condition makes
// @strata/* packages resolve to their src/*.ts instead of the compiled dist/*.js.
import { register } from 'tsx/esm/api';
import { register as registerCjs } from 'tsx/cjs/api';
import { pathToFileURL } from 'node:url';
import path from 'node:path';

register();
registerCjs();
const [, , file, ...rest] = process.argv;
process.argv = [process.argv[0], file, ...rest];
await import(pathToFileURL(path.resolve(file)).href);
