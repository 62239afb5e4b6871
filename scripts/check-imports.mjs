#!/usr/bin/env node
// Guards the layering (`npm run check:imports`, run by .ci/run):
//  - libraries never import components, and components never import each other (only the cli
//    wires components together);
//  - no cycle of value imports between source files (type-only imports are erased at compile
//    time, so a cycle through them cannot change what runs first, and is allowed).
// Reads the sources as text: every `import`/`export ... from` of a relative path or an
// @strata/<package> name in packages/*/src (tests excluded).
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const LIBRARIES = new Set(['model', 'tsdb', 'promql', 'remote', 'objstore', 'ring', 'api', 'logs']);
const COMPONENTS = new Set(['receiver', 'store-gateway', 'querier', 'query-frontend', 'compactor', 'ruler', 'ui']);
const WIRING = new Set(['cli']);

const problems = [];
const packages = fs.readdirSync(path.join(root, 'packages')).filter((p) => fs.existsSync(path.join(root, 'packages', p, 'src')));
for (const p of packages) {
  if (!LIBRARIES.has(p) && !COMPONENTS.has(p) && !WIRING.has(p))
    problems.push(`packages/${p}: not classified as a library, a component or the cli in scripts/check-imports.mjs`);
}

function sources(dir) {
  const out = [];
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const f = path.join(dir, e.name);
    if (e.isDirectory()) out.push(...sources(f));
    else if (e.name.endsWith('.ts') && !e.name.endsWith('.test.ts')) out.push(f);
  }
  return out;
}

// import x from '...'; import { a, type b } from '...'; import '...'; export * from '...'; export { a } from '...'
const IMPORT = /^\s*(import|export)\s+(type\s+)?([^'";]*?)\s*(?:from\s+)?['"]([^'"]+)['"]/gm;

/** Value imports of a file: resolved paths of repository files (type-only imports left out). */
function valueImports(file, text) {
  const out = [];
  for (const m of text.matchAll(IMPORT)) {
    const [, kind, typeOnly, clause, spec] = m;
    if (typeOnly) continue;
    // `import { type A, type B } from` imports nothing at run time either.
    const names = /^\{([^}]*)\}$/.exec(clause.trim());
    if (names && names[1].split(',').every((n) => n.trim() === '' || n.trim().startsWith('type '))) continue;
    if (kind === 'export' && clause.trim() === '' && !spec) continue;
    let target;
    if (spec.startsWith('.')) target = path.resolve(path.dirname(file), spec.replace(/\.js$/, '.ts'));
    else if (spec.startsWith('@strata/')) target = path.join(root, 'packages', spec.slice('@strata/'.length), 'src', 'index.ts');
    else continue;
    out.push({ spec, target });
  }
  return out;
}

const graph = new Map();
for (const p of packages) {
  for (const file of sources(path.join(root, 'packages', p, 'src'))) {
    const text = fs.readFileSync(file, 'utf8');
    const deps = valueImports(file, text);
    graph.set(
      file,
      deps.map((d) => d.target),
    );
    // Layering counts type imports too: a library that names a component's types depends on it.
    for (const m of text.matchAll(IMPORT)) {
      const spec = m[4];
      if (!spec.startsWith('@strata/')) continue;
      const to = spec.slice('@strata/'.length);
      const rel = path.relative(root, file);
      if (LIBRARIES.has(p) && COMPONENTS.has(to)) problems.push(`${rel}: library ${p} imports component ${to}`);
      if (COMPONENTS.has(p) && COMPONENTS.has(to) && to !== p)
        problems.push(`${rel}: component ${p} imports component ${to} (only the cli wires components together)`);
    }
  }
}

// Cycles: depth-first search, reporting each cycle once by its smallest rotation.
const seen = new Set();
const cycles = new Set();
const stack = [];
const onStack = new Set();
function visit(f) {
  if (onStack.has(f)) {
    const cyc = stack.slice(stack.indexOf(f));
    const names = cyc.map((x) => path.relative(root, x));
    const start = names.indexOf([...names].sort()[0]);
    cycles.add([...names.slice(start), ...names.slice(0, start)].join(' -> '));
    return;
  }
  if (seen.has(f) || !graph.has(f)) return;
  seen.add(f);
  stack.push(f);
  onStack.add(f);
  for (const d of graph.get(f)) visit(d);
  stack.pop();
  onStack.delete(f);
}
for (const f of graph.keys()) visit(f);
for (const c of cycles) problems.push(`import cycle: ${c} -> (back to the first)`);

if (problems.length > 0) {
  for (const p of problems) process.stderr.write(`${p}\n`);
  process.stderr.write(`check-imports: ${problems.length} problem(s)\n`);
  process.exit(1);
}
process.stdout.write(`check-imports: ${graph.size} files, layering kept, no import cycles\n`);
