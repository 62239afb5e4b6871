#!/usr/bin/env node
// Entry point of the `strata` command: runs the compiled JavaScript in ../dist (built by
// `npm ci`/`npm install` through the root package's prepare script, or `npm run build`).
// Stack traces map back to the TypeScript sources through the source maps beside each file.
import fs from 'node:fs';

process.setSourceMapsEnabled(true);
const main = new URL('../dist/main.js', import.meta.url);
if (!fs.existsSync(main)) {
  process.stderr.write('strata: the compiled code is missing (packages/cli/dist); run `npm run build` in the repository\n');
  process.exit(1);
}
await import(main.href);
