/**
 * A cardinality explosion, simulated over HTTP against a real TSDB and a limits file that is
 * edited live: one tenant starts sending `user_id` on one metric with many values. The
 * per-metric value-cardinality limit rejects exactly the series with values beyond the limit;
 * the tenant's other metrics and another tenant are unaffected; a bad edit of the limits file
 * is refused as a whole and shown with its position; a relabel rule added to the file contains
 * the explosion without touching the sender. The growth API names the exploding metric and
 * label, and the series-created counter stays bounded to the top metric plus `__other__`.
 */
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import { Registry } from 'prom-client';
import { Labels, Matcher } from '@strata/model';
import { encodeWriteRequestV1, snappyEncode, type SeriesToWrite } from '@strata/remote';
import { TSDB } from '@strata/tsdb';
import { Limits, mountCardinalityApi, mountLimitsApi, Router, type TenantLimits } from '@strata/api';
import { MetadataStore } from './metadata-store.js';
import { createWriteHandler } from './write-handler.js';
import { SeriesGrowth } from './series-growth.js';

const DEFAULTS: TenantLimits = {
  ingestionRate: 0,
  ingestionBurstSize: 0,
  maxGlobalSeriesPerUser: 0,
  maxLabelNamesPerSeries: 30,
  maxLabelNameLength: 1024,
  maxLabelValueLength: 2048,
};
const LIMIT = 500;
// CI sends 5,000 user_id values; the full simulation is 1M, run with
// `STRATA_EXPLOSION_USERS=1000000 npx jest packages/receiver/src/cardinality-explosion.test.ts`.
const USERS = Number(process.env.STRATA_EXPLOSION_USERS ?? 5000);
jest.setTimeout(Math.max(30_000, USERS * 2));
const BATCH = 1000;
if (USERS % BATCH !== 0) throw new Error(`STRATA_EXPLOSION_USERS must be a multiple of ${BATCH}`);
const NOW = Date.now();

let dir: string;
let db: TSDB;
let limits: Limits;
let registry: Registry;
let srv: http.Server;
let base: string;
let limitsFile: string;
let growth: SeriesGrowth;

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'strata-explosion-'));
  limitsFile = path.join(dir, 'limits.yaml');
  fs.writeFileSync(limitsFile, `overrides:\n  victim:\n    max_label_value_cardinality_per_metric: ${LIMIT}\n`);
  registry = new Registry();
  // One metric per tenant exported by name: the bound is visible with two metrics.
  growth = new SeriesGrowth({ topMetrics: 1, maxMetricsPerTenant: 100, registry });
  db = await TSDB.open({
    dir: path.join(dir, 'tsdb'),
    fsync: 'none',
    head: { outOfOrderWindowMs: 0, maxSeries: 0 },
    onSeriesCreated: (t, pairs) => growth.created(t, pairs),
  });
  limits = new Limits({ defaults: DEFAULTS, overridesFile: limitsFile, reloadIntervalMs: 50 });
  const tenancy = { multiTenancy: true, header: 'X-Scope-OrgID' };
  const write = createWriteHandler({
    storage: db,
    limits,
    metadata: new MetadataStore(),
    registry,
    config: {
      maxRequestBytes: 16 * 1024 * 1024,
      maxInflightBytes: 64 * 1024 * 1024,
      multiTenancy: true,
      tenantHeader: tenancy.header,
      creationGracePeriodMs: 600_000,
      ingestionRateLimitStatus: 503,
      diskMinFreeBytes: 0,
      storagePath: dir,
    },
  });
  const router = new Router();
  mountCardinalityApi(router, {
    tenancy,
    source: (t) => db.openTenant(t)?.cardinality(),
    growth: (t, windowMs, top) => growth.sketches(t, windowMs, top),
  });
  mountLimitsApi(router, { tenancy, limits, usage: (t) => ({ active_series: db.openTenant(t)?.stats().numSeries ?? 0 }) });
  srv = http.createServer((req, res) => {
    if (req.url === '/api/v1/write') return void write(req, res);
    const m = router.match(req.method ?? 'GET', new URL(req.url ?? '/', 'http://x').pathname);
    if (m && m !== 'method-not-allowed') return void m.handler(req, res, m.params);
    res.writeHead(404).end();
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(srv.address() as AddressInfo).port}`;
});

afterAll(async () => {
  limits.stop();
  await new Promise((r) => srv.close(r));
  await db.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

function post(tenant: string, series: SeriesToWrite[]): Promise<{ status: number; body: string }> {
  const body = snappyEncode(encodeWriteRequestV1(series));
  return new Promise((resolve, reject) => {
    const req = http.request(
      `${base}/api/v1/write`,
      {
        method: 'POST',
        headers: { 'Content-Type': 'application/x-protobuf', 'Content-Encoding': 'snappy', 'X-Scope-OrgID': tenant },
      },
      (res) => {
        let b = '';
        res.on('data', (c) => (b += c));
        res.on('end', () => resolve({ status: res.statusCode!, body: b }));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

function get(p: string, tenant: string): Promise<{ status: number; json: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    http
      .get(`${base}${p}`, { headers: { 'X-Scope-OrgID': tenant } }, (res) => {
        let b = '';
        res.on('data', (c) => (b += c));
        res.on('end', () => resolve({ status: res.statusCode!, json: JSON.parse(b) }));
      })
      .on('error', reject);
  });
}

const one = (labels: Record<string, string>, t: number): SeriesToWrite => ({
  labels: Labels.fromObject(labels),
  timestamps: [t],
  values: [1],
});

const UP_SERIES = 100;
const upSeries = new Map<string, Set<number>>();
const upSent = (tenant: string): Set<number> => upSeries.get(tenant) ?? upSeries.set(tenant, new Set()).get(tenant)!;

/** The explosion: user_id values [from, to) on http_requests_total, plus the tenant's healthy metric. */
async function explode(tenant: string, from: number, to: number, t: number): Promise<number[]> {
  const statuses: number[] = [];
  for (let u = from; u < to; u += BATCH) {
    // The healthy metric: one `up` series per request, out of at most UP_SERIES whatever the size of
    // the simulation, so it stays well below the value limit and below the exploding metric's growth.
    const instance = (u / BATCH) % UP_SERIES;
    upSent(tenant).add(instance);
    const series = [one({ __name__: 'up', job: 'api', instance: `i${instance}` }, t)];
    for (let k = u; k < Math.min(to, u + BATCH); k++)
      series.push(one({ __name__: 'http_requests_total', job: 'api', user_id: String(k) }, t));
    statuses.push((await post(tenant, series)).status);
  }
  return statuses;
}

async function seriesOf(tenant: string, metric: string): Promise<Labels[]> {
  const q = (await db.tenant(tenant)).querier();
  return (await q.select([new Matcher('=', '__name__', metric)], { start: -Infinity, end: Infinity })).map((s) => s.labels);
}

const discarded = async (tenant: string, reason: string): Promise<number> => {
  const text = await registry.getSingleMetricAsString('strata_discarded_samples_total');
  const m = text.match(new RegExp(`reason="${reason}",tenant="${tenant}"} (\\d+)`));
  return m ? Number(m[1]) : 0;
};

async function until(what: string, done: () => Promise<boolean>): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (await done()) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`timed out waiting for ${what}`);
}

test('the value-cardinality limit rejects exactly the series beyond it; other metrics and tenants land', async () => {
  const statuses = await explode('victim', 0, USERS, NOW - 60_000);
  // Every request carries values beyond the limit (the first one holds 1000 of them): 400, the others landed.
  expect(statuses).toEqual(Array(USERS / BATCH).fill(400));
  const held = await seriesOf('victim', 'http_requests_total');
  expect(held.length).toBe(LIMIT);
  // Exactly the first LIMIT values sent, in order: no other series was rejected.
  expect(new Set(held.map((l) => Number(l.get('user_id'))))).toEqual(new Set(Array.from({ length: LIMIT }, (_, i) => i)));
  expect(await discarded('victim', 'max-label-value-cardinality-per-metric')).toBe(USERS - LIMIT);
  expect((await seriesOf('victim', 'up')).length).toBe(upSent('victim').size);
  // Another tenant sending the same explosion is not limited (no override) and is not slowed by the victim.
  expect(await explode('bystander', 0, 2 * LIMIT, NOW - 60_000)).toEqual([204]);
  expect((await seriesOf('bystander', 'http_requests_total')).length).toBe(2 * LIMIT);
  // Series already held keep receiving samples.
  expect((await post('victim', [one({ __name__: 'http_requests_total', job: 'api', user_id: '7' }, NOW - 30_000)])).status).toBe(204);
  const status = await get('/api/v1/status/limits', 'victim');
  expect(status.json.data).toMatchObject({
    tenant: 'victim',
    limits: { max_label_value_cardinality_per_metric: LIMIT },
    usage: { active_series: LIMIT + upSent('victim').size },
  });
});

test('the growth API names the exploding metric and label; the created counter stays bounded', async () => {
  // Up to here the victim created LIMIT http_requests_total series (one user_id each) and its `up` series.
  const victim = (await get('/api/v1/cardinality/growth?window=1h', 'victim')).json as any;
  expect(victim.window_seconds).toBe(3600);
  expect(victim.metrics[0]).toMatchObject({
    metric: 'http_requests_total',
    series_created: LIMIT,
    fastest_growing_label: 'user_id',
    labels: [
      { label_name: 'user_id', new_values: LIMIT },
      { label_name: 'job', new_values: 1 },
    ],
  });
  expect(victim.metrics[1]).toMatchObject({ metric: 'up', series_created: upSent('victim').size, fastest_growing_label: 'instance' });
  // The bystander's 1000 users are past the exact range: an estimate within 6.5%.
  const bystander = (await get('/api/v1/cardinality/growth?window=5m', 'bystander')).json as any;
  expect(bystander.metrics[0]).toMatchObject({ metric: 'http_requests_total', fastest_growing_label: 'user_id' });
  expect(Math.abs(bystander.metrics[0].series_created - 2 * LIMIT)).toBeLessThanOrEqual(0.065 * 2 * LIMIT);
  expect((await get('/api/v1/cardinality/growth?window=2h', 'victim')).status).toBe(400);

  // `up` came first and took the one exported place; the scrape re-ranks: http_requests_total is the top.
  const scrape = async () => {
    const text = await registry.getSingleMetricAsString('strata_tenant_series_created_total');
    return new Map([...text.matchAll(/tenant="victim",metric="([^"]+)"} (\d+)/g)].map((m) => [m[1], Number(m[2])] as const));
  };
  expect(await scrape()).toEqual(
    new Map([
      ['http_requests_total', 0],
      ['__other__', LIMIT + upSent('victim').size],
    ]),
  );
  // A new metric finds the one place taken: it counts under __other__, at most 2 series per tenant.
  await post('victim', [one({ __name__: 'node_boot_time_seconds', job: 'api' }, NOW - 20_000)]);
  expect(await scrape()).toEqual(
    new Map([
      ['http_requests_total', 0],
      ['__other__', LIMIT + upSent('victim').size + 1],
    ]),
  );
});

test('a bad edit of the limits file is refused as a whole, shown with its position; the limits stay', async () => {
  const loadedAt = ((await get('/api/v1/status/limits', 'victim')).json.data as { file: { loadedAt: string } }).file.loadedAt;
  fs.writeFileSync(
    limitsFile,
    [
      'overrides:',
      '  victim:',
      '    max_label_value_cardinality_per_metric: 100000',
      '    metric_relabel_configs:',
      '      - source_labels: [user_id]',
      '        regex: "(?!admin).*"',
      '        action: drop',
      '',
    ].join('\n'),
  );
  fs.utimesSync(limitsFile, new Date(), new Date(Date.now() + 5000));
  let file: { loadedAt: string; lastError?: { message: string; line: number; column: number } } | undefined;
  await until('the bad edit to be refused', async () => {
    file = ((await get('/api/v1/status/limits', 'victim')).json.data as { file: typeof file }).file;
    return file?.lastError !== undefined;
  });
  expect(file!.lastError).toMatchObject({ line: 6, column: 16, message: expect.stringMatching(/invalid regex/) });
  expect(file!.loadedAt).toBe(loadedAt);
  expect(limits.forTenant('victim').maxLabelValueCardinalityPerMetric).toBe(LIMIT); // not half-applied
  expect((await explode('victim', USERS, USERS + BATCH, NOW - 50_000))[0]).toBe(400);
});

test('a relabel rule added to the limits file live contains the explosion: 204, nothing new stored, drops counted', async () => {
  fs.writeFileSync(
    limitsFile,
    [
      'overrides:',
      '  victim:',
      `    max_label_value_cardinality_per_metric: ${LIMIT}`,
      '    metric_relabel_configs:',
      '      - source_labels: [__name__, user_id]',
      '        regex: "http_requests_total;.+"',
      '        action: drop',
      '',
    ].join('\n'),
  );
  fs.utimesSync(limitsFile, new Date(), new Date(Date.now() + 10_000));
  await until('the rule to be applied', async () => (limits.forTenant('victim').metricRelabelConfigs?.length ?? 0) === 1);
  const before = await discarded('victim', 'relabel');
  expect(await explode('victim', 2 * USERS, 3 * USERS, NOW - 40_000)).toEqual(Array(USERS / BATCH).fill(204));
  expect(await discarded('victim', 'relabel')).toBe(before + USERS);
  expect((await seriesOf('victim', 'http_requests_total')).length).toBe(LIMIT);
  // The tenant's healthy metric still lands; the effective rule is shown on Mimir's endpoint.
  expect((await seriesOf('victim', 'up')).length).toBe(upSent('victim').size);
  const user = await get('/api/v1/user_limits', 'victim');
  expect(user.json.metric_relabel_configs).toEqual([
    {
      source_labels: ['__name__', 'user_id'],
      separator: ';',
      regex: 'http_requests_total;.+',
      modulus: 0,
      target_label: '',
      replacement: '$1',
      action: 'drop',
    },
  ]);
});
