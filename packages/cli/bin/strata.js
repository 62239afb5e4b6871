#!/usr/bin/env node
// Entry point of the `strata` command: loads the TypeScript sources through tsx.
import { register } from 'tsx/esm/api';

register();
await import(new URL('../src/main.ts', import.meta.url).href);
