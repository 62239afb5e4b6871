#!/usr/bin/env node
// Compiles every package's src/**/*.ts (tests excluded) to dist/*.js with source maps: what the
// `strata` command and `npm start` run. Type-checking is `npm run typecheck` (tsc); this only
// strips types, file by file, so a build of the whole repository takes well under a second.
// Runs on `npm ci`/`npm install` (the root package's prepare script) and before the tests.
import { build } from 'esbuild';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const packagesDir = path.join(root, 'packages');

function sources(dir) {
  const out = [];
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) out.push(...sources(p));
    else if (e.name.endsWith('.ts') && !e.name.endsWith('.test.ts') && !e.name.endsWith('.d.ts')) out.push(p);
  }
  return out;
}

const started = performance.now();
let files = 0;
for (const name of fs.readdirSync(packagesDir)) {
  const src = path.join(packagesDir, name, 'src');
  if (!fs.existsSync(src)) continue;
  const dist = path.join(packagesDir, name, 'dist');
  // A file removed from src must not linger in dist.
  fs.rmSync(dist, { recursive: true, force: true });
  const entryPoints = sources(src);
  files += entryPoints.length;
  await build({
    entryPoints,
    outdir: dist,
    outbase: src,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    sourcemap: 'linked',
    // Keep source paths relative so traces name src/*.ts files that exist on any machine.
    sourceRoot: '',
    logLevel: 'warning',
  });
}
if (!process.argv.includes('--quiet'))
  process.stdout.write(`built ${files} files in ${((performance.now() - started) / 1000).toFixed(2)} s\n`);
