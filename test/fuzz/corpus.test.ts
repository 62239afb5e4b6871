/**
 * Every committed seed and regression input of every fuzz target, replayed under the fuzzer's
 * invariant: what the fuzzer once found stays fixed without running the fuzzer.
 */
import fs from 'node:fs';
import path from 'node:path';
import { checkOne } from './target.js';
import { TARGETS } from './targets.js';

const root = path.resolve(__dirname, '../..');

describe.each(TARGETS.map((t) => [t.name, t] as const))('fuzz corpus %s', (_name, target) => {
  const dir = path.join(root, target.corpus);
  const files = fs.existsSync(dir) ? fs.readdirSync(dir).sort() : [];
  test('has seeds', () => expect(files.length).toBeGreaterThan(0));
  test('every input holds the invariant', async () => {
    const failures: string[] = [];
    for (const f of files) {
      const finding = await checkOne(target, fs.readFileSync(path.join(dir, f)));
      if (finding) failures.push(`${f}: ${finding.kind}: ${finding.message.split('\n')[0]}`);
    }
    expect(failures).toEqual([]);
  });
});
