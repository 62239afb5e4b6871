/**
 * Two `strata ruler` processes with the same rule files and --ruler.members share the groups:
 * each group is listed by exactly one of them; a ruler alone takes them all.
 */
import fs from 'node:fs';
import path from 'node:path';
import { getJson, startStrata, stop, tempDir, type Strata } from './harness.js';

jest.setTimeout(60_000);

describe('rulers sharing groups', () => {
  const procs: Strata[] = [];
  afterAll(async () => {
    for (const p of procs) await stop(p);
  });

  test('rendezvous hashing over --ruler.members assigns each group to one ruler', async () => {
    const dir = tempDir('ruler-members');
    const rules = path.join(dir, 'rules.yml');
    const names = Array.from({ length: 12 }, (_, i) => `group-${i}`);
    fs.writeFileSync(
      rules,
      'groups:\n' + names.map((n) => `  - name: ${n}\n    rules:\n      - record: r\n        expr: vector(1)\n`).join(''),
    );
    // Nothing answers on port 1: the rules fail, but the groups are listed all the same.
    const common = [
      `--ruler.rule-files=${rules}`,
      '--ruler.query-url=http://127.0.0.1:1',
      '--ruler.remote-write-url=http://127.0.0.1:1/api/v1/write',
    ];
    for (const name of ['ruler-a', 'ruler-b'])
      procs.push(await startStrata({ component: 'ruler', args: [...common, '--ruler.members=ruler-a,ruler-b', `--ruler.name=${name}`] }));
    procs.push(await startStrata({ component: 'ruler', args: common }));
    const groupsOf = async (p: Strata) => ((await getJson(`${p.url}/api/v1/rules`)).data.groups as { name: string }[]).map((g) => g.name);
    const [a, b, alone] = await Promise.all(procs.map(groupsOf));
    expect(a.length).toBeGreaterThan(0);
    expect(b.length).toBeGreaterThan(0);
    expect(a.filter((n) => b.includes(n))).toEqual([]);
    expect([...a, ...b].sort()).toEqual([...names].sort());
    expect([...alone].sort()).toEqual([...names].sort());
  });
});
