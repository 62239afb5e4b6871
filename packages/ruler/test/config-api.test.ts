/**
 * Mimir's ruler configuration API over a real HTTP server and a real bucket (a local folder and
 * s3rver), driven with requests shaped as mimirtool sends them (pkg/mimirtool/client/rules.go:
 * no Content-Type, the tenant in X-Scope-OrgID, namespace and group url.PathEscape'd, bodies from
 * Go's yaml.Marshal of a rule group, indented by four). Then the ruler evaluating what was stored,
 * per tenant.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { HttpServer, Router } from '@strata/api';
import { Labels, Matcher } from '@strata/model';
import { bucketFromConfig, FilesystemBucket, type Bucket } from '@strata/objstore';
import { Engine } from '@strata/promql';
import { TSDB } from '@strata/tsdb';
import pino from 'pino';
import { Registry } from 'prom-client';
import YAML from 'yaml';
import { startS3Server, type S3Server } from '../../objstore/test/s3-server.js';
import { mountRulerConfigApi, type RulerLimits } from '../src/config-api.js';
import { BucketRuleStore, decodeName, encodeName } from '../src/rule-store.js';
import { Ruler } from '../src/ruler.js';
import { engineQueries } from '../src/sources.js';
import fc from 'fast-check';

const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'strata-ruler-config-'));

/** What Go's yaml.Marshal prints for a rule group (mimirtool's request body). */
const GROUP_A = `name: group-a
interval: 30s
rules:
    - record: job:up:sum
      expr: sum by (job) (up)
    - alert: JobDown
      expr: job:up:sum == 0
      for: 5m
      labels:
        severity: page
      annotations:
        summary: '{{ $labels.job }} is down'
`;

test('names are Go base64.URLEncoding (padded) and round-trip; other segments are not ours', () => {
  expect(encodeName('a')).toBe('YQ==');
  expect(encodeName('team/alerts')).toBe('dGVhbS9hbGVydHM=');
  fc.assert(fc.property(fc.string({ unit: 'grapheme' }), (s) => decodeName(encodeName(s)) === s));
  for (const bad of ['YQ', 'a+b=', 'not base64!', '/w==']) expect(decodeName(bad)).toBeUndefined();
});

describe.each(['filesystem', 's3rver'])('over a %s bucket', (kind) => {
  let bucket: Bucket;
  let s3: S3Server | undefined;
  let server: HttpServer;
  let base: string;
  let limits: RulerLimits;
  let changes = 0;

  beforeAll(async () => {
    if (kind === 's3rver') {
      s3 = await startS3Server('strata');
      bucket = bucketFromConfig({
        type: 'S3',
        config: {
          bucket: 'strata',
          endpoint: `127.0.0.1:${s3.port}`,
          insecure: true,
          access_key: 'S3RVER',
          secret_key: 'S3RVER',
          region: 'us-east-1',
        },
      });
    } else bucket = new FilesystemBucket(tmp());
    const router = new Router(['', '/prometheus']);
    mountRulerConfigApi(router, {
      store: new BucketRuleStore(bucket),
      tenancy: { multiTenancy: true, header: 'X-Scope-OrgID' },
      limits: () => limits,
      onChange: () => changes++,
    });
    server = new HttpServer({ router, registry: new Registry(), logger: pino({ level: 'silent' }) });
    const addr = await server.listen('127.0.0.1:0');
    base = `http://127.0.0.1:${addr.port}/prometheus/config/v1/rules`;
  }, 60_000);
  beforeEach(() => {
    limits = { maxRulesPerRuleGroup: 20, maxRuleGroupsPerTenant: 70 };
  });
  afterAll(async () => {
    await server?.close(0);
    await bucket?.close();
    await s3?.close();
  });

  /** One mimirtool request: the path after the API prefix, already escaped. */
  async function call(method: string, p: string, tenant = 'tenant-1', body?: string) {
    const headers: Record<string, string> = { 'User-Agent': 'mimirtool/2.14.0' };
    if (tenant) headers['X-Scope-OrgID'] = tenant;
    const res = await fetch(base + p, { method, headers, body });
    return { status: res.status, type: res.headers.get('content-type') ?? '', text: await res.text() };
  }

  test('a tenant without groups gets 404 "no rule groups found"; without a tenant, 401', async () => {
    const r = await call('GET', '', 'empty-tenant');
    expect([r.status, r.text]).toEqual([404, 'no rule groups found (err-strata-rule-group-not-found)\n']);
    expect((await call('GET', '', '')).status).toBe(401);
  });

  test('load, get, list, delete: the statuses and bodies mimirtool expects', async () => {
    const ns = 'team/alerts one';
    const esc = encodeURIComponent(ns);
    const created = await call('POST', `/${esc}`, 'tenant-1', GROUP_A);
    expect([created.status, created.type, JSON.parse(created.text)]).toEqual([
      202,
      'application/json',
      { status: 'success', data: null, errorType: '', error: '' },
    ]);
    expect(changes).toBeGreaterThan(0);
    // Stored where Mimir's bucket client puts it.
    expect(await bucket.exists(`rules/tenant-1/${encodeName(ns)}/${encodeName('group-a')}`)).toBe(true);

    const got = await call('GET', `/${esc}/group-a`);
    expect([got.status, got.type]).toEqual([200, 'application/yaml']);
    expect(YAML.parse(got.text)).toEqual(YAML.parse(GROUP_A));

    await call('POST', '/other', 'tenant-1', 'name: g2\nrules:\n    - record: r2\n      expr: vector(1)\n');
    const all = await call('GET', '');
    expect(all.status).toBe(200);
    expect(YAML.parse(all.text)).toEqual({
      other: [{ name: 'g2', rules: [{ record: 'r2', expr: 'vector(1)' }] }],
      [ns]: [YAML.parse(GROUP_A)],
    });
    expect(YAML.parse((await call('GET', '/other')).text)).toEqual({
      other: [{ name: 'g2', rules: [{ record: 'r2', expr: 'vector(1)' }] }],
    });
    // Another tenant sees none of it.
    expect((await call('GET', '', 'tenant-2')).status).toBe(404);
    expect((await call('GET', `/${esc}/group-a`, 'tenant-2')).status).toBe(404);

    // Posting the same group again replaces it.
    expect((await call('POST', `/${esc}`, 'tenant-1', GROUP_A.replace('30s', '1m'))).status).toBe(202);
    expect(YAML.parse((await call('GET', `/${esc}/group-a`)).text).interval).toBe('1m');

    expect((await call('DELETE', `/${esc}/group-a`)).status).toBe(202);
    const gone = await call('GET', `/${esc}/group-a`);
    expect([gone.status, gone.text]).toEqual([404, 'group does not exist (err-strata-rule-group-not-found)\n']);
    expect((await call('DELETE', `/${esc}/group-a`)).status).toBe(404);
    expect((await call('DELETE', '/other')).status).toBe(202);
    const ns404 = await call('DELETE', '/other');
    expect([ns404.status, ns404.text]).toEqual([404, 'group namespace does not exist (err-strata-rule-group-not-found)\n']);
    expect((await call('GET', '')).status).toBe(404);
  });

  test('a JSON body (what Grafana posts) is a YAML body too', async () => {
    const body = JSON.stringify({ name: 'from-grafana', interval: '1m', rules: [{ alert: 'A', expr: 'vector(1) > 0', for: '1m' }] });
    expect((await call('POST', '/grafana', 'tenant-3', body)).status).toBe(202);
    expect(YAML.parse((await call('GET', '/grafana/from-grafana', 'tenant-3')).text)).toEqual(JSON.parse(body));
    expect((await call('DELETE', '/grafana', 'tenant-3')).status).toBe(202);
  });

  // Each bad group is refused with the message `promtool check rules` gives, the namespace in place of the file.
  test.each([
    [
      'an unparsable expression',
      'name: g\nrules:\n    - record: r\n      expr: sum(\n',
      /^ns: 4:13: group "g", rule 1, "r": could not parse expression/,
    ],
    ['a bad metric name', 'name: g\nrules:\n    - record: "bad name"\n      expr: up\n', /invalid recording rule name: bad name/],
    ['no group name', 'rules:\n    - record: r\n      expr: up\n', /Groupname must not be empty/],
    ['an unknown field', 'name: g\nrulez: []\n', /field rulez not found in type rulefmt.RuleGroup/],
    [
      'a bad template',
      'name: g\nrules:\n    - alert: A\n      expr: up\n      annotations:\n        x: "{{ .Foo "\n',
      /error parsing template x/,
    ],
    ['not YAML', 'name: [g\n', /yaml:/],
    ['a list instead of a group', '- name: g\n', /a rule group must be a map/],
  ])('%s: 400 with the validation error, nothing stored', async (_what, body, message) => {
    const r = await call('POST', '/ns', 'tenant-4', body);
    expect(r.status).toBe(400);
    expect(r.text).toMatch(message);
    expect(r.text).toMatch(/\(err-strata-invalid-rule-group\)\n$/);
    expect((await call('GET', '', 'tenant-4')).status).toBe(404);
  });

  test('limits: rules per group and groups per tenant, 400 with their IDs; replacing a group adds none', async () => {
    limits = { maxRulesPerRuleGroup: 2, maxRuleGroupsPerTenant: 2 };
    const group = (name: string, rules: number) =>
      `name: ${name}\nrules:\n${Array.from({ length: rules }, (_, i) => `    - record: r${i}\n      expr: vector(${i})\n`).join('')}`;
    const tooMany = await call('POST', '/ns', 'tenant-5', group('big', 3));
    expect(tooMany.status).toBe(400);
    expect(tooMany.text).toMatch(/rules per rule group limit \(limit: 2 actual: 3\).*err-strata-ruler-max-rules-per-rule-group/);
    expect((await call('POST', '/ns', 'tenant-5', group('a', 2))).status).toBe(202);
    expect((await call('POST', '/ns2', 'tenant-5', group('b', 1))).status).toBe(202);
    const third = await call('POST', '/ns', 'tenant-5', group('c', 1));
    expect(third.status).toBe(400);
    expect(third.text).toMatch(/rule groups limit \(limit: 2 actual: 3\).*err-strata-ruler-max-rule-groups-per-tenant/);
    expect((await call('POST', '/ns', 'tenant-5', group('a', 1))).status).toBe(202);
    // Other tenants have their own count; 0 is unlimited.
    expect((await call('POST', '/ns', 'tenant-6', group('c', 1))).status).toBe(202);
    limits = { maxRulesPerRuleGroup: 0, maxRuleGroupsPerTenant: 0 };
    expect((await call('POST', '/ns', 'tenant-5', group('c', 30))).status).toBe(202);
  });
});

describe('the ruler evaluates every tenant’s stored groups', () => {
  let dir: string;
  let db: TSDB;
  beforeEach(async () => {
    dir = tmp();
    db = await TSDB.open({ dir, fsync: 'none', head: { outOfOrderWindowMs: 1e12, maxSeries: 0 }, compactIntervalMs: 0 });
  });
  afterEach(async () => {
    await db.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test('per tenant, reloaded on change; a bad stored group keeps its previous version, the rest load', async () => {
    const store = new BucketRuleStore(new FilesystemBucket(path.join(dir, 'bucket')));
    const queryable = { querier: (t: string) => db.openTenant(t)?.querier() ?? emptyQuerier() };
    const ruler = new Ruler({
      ruleFiles: [],
      tenant: 'anonymous',
      store,
      defaultIntervalMs: 60_000,
      queries: engineQueries(new Engine({ timeoutMs: 10_000 }), queryable),
      writer: {
        async write(tenant, s) {
          const a = (await db.tenant(tenant)).appender();
          for (let i = 0; i < s.labels.length; i++) a.append(a.ref(s.labels[i]), s.timestamps[i], s.values[i]);
          await a.commit();
        },
      },
    });
    await store.set('t1', 'ns', 'g', 'name: g\nrules:\n  - record: one\n    expr: vector(1)\n');
    await store.set('t2', 'ns', 'g', 'name: g\nrules:\n  - record: two\n    expr: vector(2)\n');
    expect(await ruler.reload()).toEqual({ ok: true, problems: [] });
    const [g1] = ruler.groupsOf('t1');
    const [g2] = ruler.groupsOf('t2');
    expect([g1.file, g1.name, g1.rules[0].name, g2.rules[0].name]).toEqual(['ns', 'g', 'one', 'two']);
    await g1.eval(60_000);
    await g2.eval(60_000);
    const read = async (tenant: string, name: string) =>
      (await db
        .openTenant(tenant)
        ?.querier()
        .select([new Matcher('=', '__name__', name)], { start: 0, end: 120_000 })) ?? [];
    expect((await read('t1', 'one')).map((s) => [s.labels.toString(), [...s.values]])).toEqual([
      [Labels.fromObject({ __name__: 'one' }).toString(), [1]],
    ]);
    expect(await read('t1', 'two')).toEqual([]);
    expect((await read('t2', 'two')).length).toBe(1);

    // A reload with nothing changed keeps the very same groups running.
    await ruler.reload();
    expect(ruler.groupsOf('t1')[0]).toBe(g1);
    // t1's group breaks: it keeps running as it was; t2's change applies.
    await store.set('t1', 'ns', 'g', 'name: g\nrules:\n  - record: one\n    expr: vector(1\n');
    await store.set('t2', 'ns', 'g', 'name: g\nrules:\n  - record: two_b\n    expr: vector(2)\n');
    const r = await ruler.reload();
    expect(r.ok).toBe(false);
    expect(r.problems[0]).toMatch(/^tenant t1: ns: 4:11: group "g", rule 1, "one": could not parse expression/);
    expect(ruler.groupsOf('t1')).toEqual([g1]);
    expect(ruler.groupsOf('t2')[0].rules[0].name).toBe('two_b');
    // Deleted groups stop.
    await store.delete('t2', 'ns', 'g');
    await ruler.reload();
    expect(ruler.groupsOf('t2')).toEqual([]);
    await ruler.stop();
  });
});

test('rulers sharing the bucket evaluate each stored group exactly once between them', async () => {
  const dir = tmp();
  const store = new BucketRuleStore(new FilesystemBucket(dir));
  const keys: string[] = [];
  for (let t = 0; t < 3; t++)
    for (let g = 0; g < 6; g++) {
      await store.set(`t${t}`, `ns${g % 2}`, `g${g}`, `name: g${g}\nrules:\n  - record: r\n    expr: vector(1)\n`);
      keys.push(`t${t}/ns${g % 2}/g${g}`);
    }
  // Any deterministic owner function of the key will do here; the CLI wires rendezvous hashing.
  const ownerOf = (key: string) => (key.split('').reduce((h, c) => (h * 31 + c.charCodeAt(0)) >>> 0, 7) % 2 === 0 ? 'a' : 'b');
  const unused = { instant: async () => ({ labels: [], values: new Float64Array(0) }), lastSamples: async () => [] };
  const rulers = ['a', 'b'].map(
    (self) =>
      new Ruler({
        ruleFiles: [],
        tenant: 'anonymous',
        store,
        defaultIntervalMs: 60_000,
        queries: unused,
        writer: { write: async () => undefined },
        owns: (k) => ownerOf(k) === self,
      }),
  );
  for (const r of rulers) await r.reload();
  const evaluated = rulers.map((r) => ['t0', 't1', 't2'].flatMap((t) => r.groupsOf(t).map((g) => `${g.tenant}/${g.file}/${g.name}`)));
  expect(evaluated[0].length).toBeGreaterThan(0);
  expect(evaluated[1].length).toBeGreaterThan(0);
  expect([...evaluated[0], ...evaluated[1]].sort()).toEqual([...keys].sort());
  for (const r of rulers) await r.stop();
  fs.rmSync(dir, { recursive: true, force: true });
});

function emptyQuerier() {
  return {
    select: async () => [],
    series: async () => [],
    labelNames: async () => [],
    labelValues: async () => [],
  };
}
