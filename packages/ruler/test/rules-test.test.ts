import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { testRuleFiles } from '../src/rules-test.js';

const PROMTOOL = '/usr/bin/promtool';
const dir = path.join(__dirname, 'unit-tests');

function promtool(file: string): { stdout: string; stderr: string; ok: boolean } {
  const r = spawnSync(PROMTOOL, ['test', 'rules', file], { encoding: 'utf8', timeout: 60_000 });
  return { stdout: r.stdout, stderr: r.stderr, ok: r.status === 0 };
}

async function strata(file: string): Promise<{ stdout: string; stderr: string; ok: boolean }> {
  const r = await testRuleFiles([file]);
  const join = (s: 'stdout' | 'stderr') =>
    r.printed
      .filter((p) => p.stream === s)
      .map((p) => p.text)
      .join('');
  return { stdout: join('stdout'), stderr: join('stderr'), ok: r.ok };
}

const rel = (f: string) => path.relative(process.cwd(), f);
const passing = fs.readdirSync(dir).filter((f) => f.endsWith('.test.yml'));
const failing = fs.readdirSync(path.join(dir, 'failing')).filter((f) => f.endsWith('.test.yml'));

describe('rule unit tests run by both the real promtool test rules and Strata', () => {
  test('the corpus is there', () => {
    expect(passing.length).toBeGreaterThanOrEqual(3);
    expect(failing.length).toBeGreaterThanOrEqual(2);
  });

  test.each(passing)('%s passes under both', async (f) => {
    const file = rel(path.join(dir, f));
    const p = promtool(file);
    expect({ ok: p.ok, stderr: p.stderr }).toEqual({ ok: true, stderr: '' });
    const s = await strata(file);
    expect(s).toEqual(p);
  });

  test.each(failing)('failing/%s fails under both with the same report', async (f) => {
    const file = rel(path.join(dir, 'failing', f));
    const p = promtool(file);
    expect(p.ok).toBe(false);
    const s = await strata(file);
    expect(s).toEqual(p);
  });
});
