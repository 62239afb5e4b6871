/**
 * Mimir's legacy ruler configuration paths (/api/v1/rules[/{namespace}[/{group}]]), which
 * `mimirtool rules --use-legacy-routes` calls, over a real HTTP server, a real bucket and a real
 * ruler: the same answers as under /prometheus/config/v1/rules, and GET /api/v1/rules at the root
 * still Prometheus' JSON read API for everyone but mimirtool (and clients asking for YAML).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { HttpServer, Router } from '@strata/api';
import { FilesystemBucket } from '@strata/objstore';
import pino from 'pino';
import { Registry } from 'prom-client';
import YAML from 'yaml';
import { mountRulerConfigApi, wantsRuleConfig } from '../src/config-api.js';
import { BucketRuleStore } from '../src/rule-store.js';
import { Ruler } from '../src/ruler.js';
import { mountRulesApi } from '../src/rules-api.js';
import type { IncomingMessage } from 'node:http';

/** Go's yaml.Marshal of a rule group, as mimirtool sends it. */
const GROUP = `name: latency
interval: 1m
rules:
    - record: job:latency:p99
      expr: histogram_quantile(0.99, sum by (job, le) (rate(latency_bucket[5m])))
`;

const MIMIRTOOL = { 'User-Agent': 'mimirtool/2.14.0', 'X-Scope-OrgID': 'tenant-1' };

let server: HttpServer;
let root: string;
let ruler: Ruler;
let dir: string;

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'strata-ruler-legacy-'));
  const store = new BucketRuleStore(new FilesystemBucket(dir));
  const unused = { instant: async () => ({ labels: [], values: new Float64Array(0) }), lastSamples: async () => [] };
  ruler = new Ruler({
    ruleFiles: [],
    tenant: 'anonymous',
    store,
    defaultIntervalMs: 60_000,
    queries: unused,
    writer: { write: async () => undefined },
  });
  const router = new Router(['', '/prometheus']);
  const tenancy = { multiTenancy: true, header: 'X-Scope-OrgID' };
  const config = mountRulerConfigApi(router, {
    store,
    tenancy,
    limits: () => ({ maxRulesPerRuleGroup: 20, maxRuleGroupsPerTenant: 70 }),
    onChange: () => void ruler.reload(),
  });
  mountRulesApi(router, ruler, tenancy, config);
  server = new HttpServer({ router, registry: new Registry(), logger: pino({ level: 'silent' }) });
  const addr = await server.listen('127.0.0.1:0');
  root = `http://127.0.0.1:${addr.port}`;
});

afterAll(async () => {
  await ruler.stop();
  await server.close(0);
  fs.rmSync(dir, { recursive: true, force: true });
});

async function call(method: string, url: string, headers: Record<string, string> = MIMIRTOOL, body?: string) {
  const res = await fetch(root + url, { method, headers, body });
  return { status: res.status, type: res.headers.get('content-type') ?? '', text: await res.text() };
}

test('load, get, list, delete through /api/v1/rules answer as /prometheus/config/v1/rules does', async () => {
  const ns = encodeURIComponent('team/latency');
  const created = await call('POST', `/api/v1/rules/${ns}`, MIMIRTOOL, GROUP);
  expect([created.status, JSON.parse(created.text)]).toEqual([202, { status: 'success', data: null, errorType: '', error: '' }]);

  // Each legacy path answers exactly what its current path answers.
  for (const sub of ['', `/${ns}`, `/${ns}/latency`, '/nope', `/${ns}/nope`]) {
    const legacy = await call('GET', `/api/v1/rules${sub}`);
    const current = await call('GET', `/prometheus/config/v1/rules${sub}`);
    expect([sub, legacy.status, legacy.type, legacy.text]).toEqual([sub, current.status, current.type, current.text]);
  }
  const listed = await call('GET', '/api/v1/rules');
  expect([listed.status, listed.type]).toEqual([200, 'application/yaml']);
  expect(YAML.parse(listed.text)).toEqual({ 'team/latency': [YAML.parse(GROUP)] });
  expect((await call('GET', '/api/v1/rules/nope')).status).toBe(404);

  // Invalid groups: the same 400 with promtool's problems.
  const bad = await call('POST', `/api/v1/rules/${ns}`, MIMIRTOOL, 'name: broken\nrules:\n    - record: x\n      expr: sum(\n');
  expect(bad.status).toBe(400);
  expect(bad.text).toMatch(/could not parse expression.*err-strata-invalid-rule-group/s);

  // The ruler took the group: Prometheus' read API (JSON) lists it at the root and under /prometheus.
  await ruler.reload();
  for (const prefix of ['', '/prometheus']) {
    const read = await call('GET', `${prefix}/api/v1/rules`, { 'X-Scope-OrgID': 'tenant-1', Accept: 'application/json' });
    expect([prefix, read.status, read.type]).toEqual([prefix, 200, expect.stringMatching(/^application\/json/)]);
    const groups = JSON.parse(read.text).data.groups as { name: string; file: string; rules: { name: string }[] }[];
    expect(groups.map((g) => [g.file, g.name, g.rules.map((r) => r.name)])).toEqual([['team/latency', 'latency', ['job:latency:p99']]]);
  }
  // mimirtool under /prometheus/api/v1/rules gets the read API too, as from Mimir.
  expect((await call('GET', '/prometheus/api/v1/rules')).type).toMatch(/^application\/json/);

  // Deleting the group, then the namespace (404 once empty), through the legacy paths.
  expect((await call('DELETE', `/api/v1/rules/${ns}/latency`)).status).toBe(202);
  expect((await call('GET', `/api/v1/rules/${ns}/latency`)).status).toBe(404);
  expect((await call('POST', `/api/v1/rules/${ns}`, MIMIRTOOL, GROUP)).status).toBe(202);
  expect((await call('DELETE', `/api/v1/rules/${ns}`)).status).toBe(202);
  expect((await call('DELETE', `/api/v1/rules/${ns}`)).status).toBe(404);
  const empty = await call('GET', '/api/v1/rules');
  expect([empty.status, empty.text]).toEqual([404, 'no rule groups found (err-strata-rule-group-not-found)\n']);
  // Without a tenant, 401 as on the current paths.
  expect((await call('GET', `/api/v1/rules/${ns}`, { 'User-Agent': 'mimirtool/2.14.0' })).status).toBe(401);
});

test.each([
  ['/api/v1/rules', { 'user-agent': 'mimirtool/2.14.0' }, true],
  ['/api/v1/rules?x=1', { 'user-agent': 'cortextool/0.10.7' }, true],
  ['/api/v1/rules', { accept: 'application/yaml' }, true],
  ['/api/v1/rules', { accept: 'text/x-yaml, */*' }, true],
  ['/api/v1/rules', { 'user-agent': 'Grafana/11.3.0', accept: 'application/json' }, false],
  ['/api/v1/rules', {}, false],
  ['/prometheus/api/v1/rules', { 'user-agent': 'mimirtool/2.14.0' }, false],
])('GET %s with %j wants the configuration listing: %s', (url, headers, want) => {
  expect(wantsRuleConfig({ url, headers } as unknown as IncomingMessage)).toBe(want);
});
