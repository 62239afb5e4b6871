/**
 * docs/format/ is the one description of each byte format; encoders and decoders name their
 * file (and section). This keeps those pointers from dangling when a doc or heading moves.
 */
import fs from 'node:fs';
import path from 'node:path';
import { REPO } from './harness.js';

/** GitHub's anchor of a Markdown heading: lower case, punctuation dropped, spaces to hyphens. */
const anchor = (heading: string) =>
  heading
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N} _-]/gu, '')
    .replace(/ /g, '-');

function sources(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) return e.name === 'node_modules' || e.name === 'dist' ? [] : sources(p);
    return e.name.endsWith('.ts') ? [p] : [];
  });
}

test('every docs/format reference in the code names an existing file and heading', () => {
  const refs = sources(path.join(REPO, 'packages')).flatMap((f) =>
    [...fs.readFileSync(f, 'utf8').matchAll(/docs\/format\/([a-z0-9-]+\.md)(?:#([a-z0-9-]+))?/g)].map((m) => ({
      from: path.relative(REPO, f),
      doc: m[1],
      section: m[2],
    })),
  );
  expect(refs.length).toBeGreaterThan(8);
  const broken = refs.filter(({ doc, section }) => {
    const file = path.join(REPO, 'docs', 'format', doc);
    if (!fs.existsSync(file)) return true;
    if (!section) return false;
    const headings = fs
      .readFileSync(file, 'utf8')
      .split('\n')
      .filter((l) => l.startsWith('#'))
      .map((l) => anchor(l.replace(/^#+/, '')));
    return !headings.includes(section);
  });
  expect(broken).toEqual([]);
});
