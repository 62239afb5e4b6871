/**
 * A group over a real TSDB and the PromQL engine: failing queries and limits mark a rule
 * unhealthy while the rest keep evaluating; stale markers end series a rule stopped producing;
 * the for state survives a restart (restored from ALERTS_FOR_STATE, shifted by the downtime);
 * a reload of the rule files with a bad file keeps the previous groups.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Labels } from '@strata/model';
import { Engine } from '@strata/promql';
import { STALE_NAN, TSDB } from '@strata/tsdb';
import { Registry } from 'prom-client';
import { Group } from '../src/group.js';
import type { RuleQueries, RuleWriter } from '../src/interfaces.js';
import { parseRuleFile } from '../src/rule-file.js';
import { Ruler } from '../src/ruler.js';
import { AlertingRule } from '../src/rules.js';
import { engineQueries } from '../src/sources.js';

let dir: string;
let db: TSDB;
beforeEach(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'strata-group-'));
  db = await TSDB.open({ dir, fsync: 'none', head: { outOfOrderWindowMs: 1e12, maxSeries: 0 }, compactIntervalMs: 0 });
});
afterEach(async () => {
  await db.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

async function store(): Promise<{
  queries: RuleQueries;
  writer: RuleWriter;
  put: (name: string, labels: Record<string, string>, t: number, v: number) => Promise<void>;
}> {
  const tenant = await db.tenant('t');
  const write = async (ls: Labels[], ts: ArrayLike<number>, vs: ArrayLike<number>) => {
    const a = tenant.appender();
    for (let i = 0; i < ls.length; i++) a.append(a.ref(ls[i]), ts[i], vs[i]);
    await a.commit();
  };
  return {
    queries: engineQueries(new Engine({ timeoutMs: 10_000 }), { querier: () => tenant.querier() }),
    writer: { write: (_t, s) => write(s.labels, s.timestamps, s.values) },
    // A typed array keeps the stale marker's NaN bits (a JavaScript array of doubles may not).
    put: (name, labels, t, v) => write([Labels.fromObject({ __name__: name, ...labels })], [t], Float64Array.of(v)),
  };
}

function group(
  text: string,
  s: { queries: RuleQueries; writer: RuleWriter },
  extra: Partial<ConstructorParameters<typeof Group>[0]> = {},
): Group {
  const [spec] = parseRuleFile('rules.yml', text);
  return new Group({ tenant: 't', spec, defaultIntervalMs: 60_000, queries: s.queries, writer: s.writer, ...extra });
}

const MIN = 60_000;

test('a failing rule is unhealthy with its error; the rules after it still run', async () => {
  const s = await store();
  await s.put('x', { i: '1' }, 0, 1);
  await s.put('x', { i: '2' }, 0, 2);
  const g = group(
    [
      'groups:',
      '  - name: g',
      '    limit: 1',
      '    rules:',
      '      - record: too_many',
      '        expr: x',
      '      - record: fails',
      '        expr: x + on() group_left x',
      '      - record: fine',
      '        expr: sum(x)',
    ].join('\n'),
    s,
  );
  await g.eval(MIN);
  expect(g.rules.map((r) => [r.name, r.health, r.lastError])).toEqual([
    ['too_many', 'err', 'exceeded limit of 1 with 2 series'],
    ['fails', 'err', expect.stringMatching(/many-to-many|duplicate|multiple matches/i)],
    ['fine', 'ok', ''],
  ]);
  const out = await s.queries.instant('t', 'fine', MIN);
  expect([...out.values]).toEqual([3]);
});

test('a query error from the store (e.g. timeout) marks the rule unhealthy and is counted', async () => {
  const s = await store();
  const registry = new Registry();
  const { RulerMetrics } = await import('../src/metrics.js');
  const metrics = new RulerMetrics(registry);
  const failing: RuleQueries = { ...s.queries, instant: async () => Promise.reject(new Error('query timed out')) };
  const g = group(
    'groups:\n  - name: g\n    rules:\n      - record: r\n        expr: vector(1)\n',
    { queries: failing, writer: s.writer },
    { metrics },
  );
  await g.eval(MIN);
  expect([g.rules[0].health, g.rules[0].lastError]).toEqual(['err', 'query timed out']);
  expect((await registry.getSingleMetric('strata_ruler_evaluation_failures_total')!.get()).values[0].value).toBe(1);
});

test('a series a rule stops producing ends with a stale marker', async () => {
  const s = await store();
  await s.put('x', { i: '1' }, 0, 1);
  await s.put('x', { i: '2' }, 0, 2);
  await s.put('x', { i: '1' }, MIN, 1);
  await s.put('x', { i: '2' }, MIN, STALE_NAN);
  const g = group('groups:\n  - name: g\n    rules:\n      - record: copy\n        expr: x\n', s);
  await g.eval(0);
  await g.eval(MIN);
  // Without the stale marker, copy{i="2"} would still be visible for the lookback delta.
  const at = await s.queries.instant('t', 'copy', MIN + 1000);
  expect(at.labels.map((l) => l.get('i'))).toEqual(['1']);
});

test('the for state survives a restart: the alert fires after the rest of its for, not all of it', async () => {
  const s = await store();
  const text = 'groups:\n  - name: g\n    rules:\n      - alert: Down\n        expr: up == 0\n        for: 4m\n';
  for (let t = 0; t <= 20 * MIN; t += MIN) await s.put('up', { job: 'a' }, t, 0);
  const before = group(text, s);
  (before.rules[0] as AlertingRule).restored = true;
  for (let t = 0; t <= 2 * MIN; t += MIN) await before.eval(t);
  expect((before.rules[0] as AlertingRule).activeAlerts().map((a) => a.state)).toEqual(['pending']);
  // Down for 3 minutes; then a new ruler starts, evaluates twice and restores (as Prometheus does).
  const after = group(text, s, { forGracePeriodMs: 0 });
  await after.eval(5 * MIN);
  await after.eval(6 * MIN);
  await after.restoreForState(6 * MIN);
  const rule = after.rules[0] as AlertingRule;
  // Pending 2m before the stop, so 2m are left: activeAt moves by the 4m of downtime.
  expect(rule.activeAlerts()[0].activeAt).toBe(0 + 4 * MIN);
  await after.eval(7 * MIN);
  expect(rule.activeAlerts()[0].state).toBe('pending');
  await after.eval(8 * MIN);
  expect(rule.activeAlerts()[0].state).toBe('firing');
});

test('a restored alert gets at least the grace period before firing', async () => {
  const s = await store();
  const text = 'groups:\n  - name: g\n    rules:\n      - alert: Down\n        expr: up == 0\n        for: 10m\n';
  for (let t = 0; t <= 30 * MIN; t += MIN) await s.put('up', { job: 'a' }, t, 0);
  const before = group(text, s);
  (before.rules[0] as AlertingRule).restored = true;
  for (let t = 0; t <= 9 * MIN; t += MIN) await before.eval(t);
  const after = group(text, s, { forGracePeriodMs: 5 * MIN });
  await after.eval(10 * MIN);
  await after.restoreForState(10 * MIN);
  // 1m left is less than the 5m grace: it fires 5m after the restore.
  expect((after.rules[0] as AlertingRule).activeAlerts()[0].activeAt).toBe(10 * MIN + 5 * MIN - 10 * MIN);
});

test('a reload with a bad rule file keeps the previous groups; a good one replaces them, keeping alert state', async () => {
  const s = await store();
  const file = path.join(dir, 'r.yml');
  fs.writeFileSync(file, 'groups:\n  - name: one\n    rules:\n      - alert: A\n        expr: vector(1)\n        for: 1h\n');
  const ruler = new Ruler({
    ruleFiles: [path.join(dir, '*.yml')],
    tenant: 't',
    defaultIntervalMs: MIN,
    queries: s.queries,
    writer: s.writer,
  });
  expect(await ruler.reload()).toEqual({ ok: true, problems: [] });
  const [g1] = ruler.groupsOf('t');
  await g1.eval(MIN);
  fs.writeFileSync(file, 'groups:\n  - name: one\n    rules:\n      - alert: A\n        expr: vector(1\n');
  const bad = await ruler.reload();
  expect(bad.ok).toBe(false);
  expect(bad.problems[0]).toMatch(/r\.yml: 5:15: group "one", rule 1, "A": could not parse expression/);
  expect(ruler.groupsOf('t')).toEqual([g1]);
  fs.writeFileSync(
    file,
    'groups:\n  - name: one\n    rules:\n      - alert: A\n        expr: vector(1)\n        for: 1h\n      - record: r\n        expr: vector(2)\n',
  );
  expect((await ruler.reload()).ok).toBe(true);
  const [g2] = ruler.groupsOf('t');
  expect(g2).not.toBe(g1);
  expect(g2.rules.map((r) => r.name)).toEqual(['A', 'r']);
  expect((g2.rules[0] as AlertingRule).activeAlerts()[0].activeAt).toBe(MIN);
  expect(ruler.groupsOf('other')).toEqual([]);
  await ruler.stop();
});

test('an alert resolved before the restart (its for-state series ended stale) is not restored', async () => {
  const s = await store();
  const text = 'groups:\n  - name: g\n    rules:\n      - alert: Down\n        expr: up == 0\n        for: 4m\n';
  for (let t = 0; t <= 2 * MIN; t += MIN) await s.put('up', { job: 'a' }, t, 0);
  await s.put('up', { job: 'a' }, 3 * MIN, 1);
  for (let t = 4 * MIN; t <= 20 * MIN; t += MIN) await s.put('up', { job: 'a' }, t, 0);
  const before = group(text, s);
  (before.rules[0] as AlertingRule).restored = true;
  for (let t = 0; t <= 3 * MIN; t += MIN) await before.eval(t);
  const after = group(text, s, { forGracePeriodMs: 0 });
  await after.eval(5 * MIN);
  await after.restoreForState(5 * MIN);
  // The new episode started at 5m; the old activeAt (0) must not come back.
  expect((after.rules[0] as AlertingRule).activeAlerts()[0].activeAt).toBe(5 * MIN);
});

test('rulers sharing the rule files evaluate each group exactly once between them', async () => {
  const s = await store();
  const file = path.join(dir, 'many.yml');
  const names = Array.from({ length: 20 }, (_, i) => `g${i}`);
  fs.writeFileSync(
    file,
    'groups:\n' + names.map((n) => `  - name: ${n}\n    rules:\n      - record: r_${n}\n        expr: vector(1)\n`).join(''),
  );
  // Any deterministic owner function of the key will do here; the CLI wires rendezvous hashing.
  const ownerOf = (key: string) => (key.split('').reduce((h, c) => (h * 31 + c.charCodeAt(0)) >>> 0, 7) % 2 === 0 ? 'a' : 'b');
  const rulers = ['a', 'b'].map(
    (self) =>
      new Ruler({
        ruleFiles: [file],
        tenant: 't',
        defaultIntervalMs: MIN,
        queries: s.queries,
        writer: s.writer,
        owns: (k) => ownerOf(k) === self,
      }),
  );
  for (const r of rulers) await r.reload();
  const [a, b] = rulers.map((r) => r.groupsOf('t').map((g) => g.name));
  expect(a.length).toBeGreaterThan(0);
  expect(b.length).toBeGreaterThan(0);
  expect([...a, ...b].sort()).toEqual([...names].sort());
  expect(a.filter((n) => b.includes(n))).toEqual([]);
  for (const r of rulers) await r.stop();
});

test('a rule query is aborted after the query timeout, and by stop(); the next rule still runs', async () => {
  const s = await store();
  const seen: string[] = [];
  // A store that answers only when its query is aborted, with the reason it was given.
  const hanging: RuleQueries = {
    ...s.queries,
    instant: (tenant, expr, t, signal) =>
      expr === 'vector(2)'
        ? s.queries.instant(tenant, expr, t, signal)
        : new Promise((_, reject) =>
            signal!.addEventListener('abort', () => {
              seen.push(expr);
              reject(signal!.reason as Error);
            }),
          ),
  };
  const text =
    'groups:\n  - name: g\n    rules:\n      - record: slow\n        expr: vector(1)\n      - record: fast\n        expr: vector(2)\n';
  const g = group(text, { queries: hanging, writer: s.writer }, { queryTimeoutMs: 50 });
  await g.eval(MIN);
  expect(g.rules.map((r) => [r.name, r.health, r.lastError])).toEqual([
    ['slow', 'err', 'rule query timed out after 50 ms'],
    ['fast', 'ok', ''],
  ]);
  // A query in flight when the group stops is aborted at once, not after its timeout.
  const long = group(text, { queries: hanging, writer: s.writer }, { queryTimeoutMs: 600_000 });
  const started = Date.now();
  const running = long.eval(2 * MIN);
  await new Promise((r) => setTimeout(r, 20));
  await long.stop();
  await running;
  expect(Date.now() - started).toBeLessThan(30_000);
  expect(long.rules[0].health).toBe('err');
  expect(seen).toEqual(['vector(1)', 'vector(1)']);
});
