/**
 * The querier's two rounds over real heads behind real HTTP servers: a metric large on one
 * receiver and small on another must get both parts, although it is in the top list of only one.
 * Against the exact figures of the union of the series written.
 */
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import fs from 'node:fs';
import type { AddressInfo } from 'node:net';
import { Labels } from '@strata/model';
import { mountCardinalityApi, Router } from '@strata/api';
import { TSDB } from '@strata/tsdb';
import { ClusterCardinality, mountClusterCardinality } from './cluster-cardinality.js';

const tenancy = { multiTenancy: true, header: 'X-Scope-OrgID' };
const servers: http.Server[] = [];
const dbs: TSDB[] = [];
let dir: string;

function serve(router: Router): Promise<string> {
  const srv = http.createServer((req, res) => {
    const m = router.match(req.method ?? 'GET', new URL(req.url ?? '/', 'http://x').pathname);
    if (m && m !== 'method-not-allowed') return void m.handler(req, res, m.params);
    res.writeHead(404).end();
  });
  servers.push(srv);
  return new Promise((r) => srv.listen(0, '127.0.0.1', () => r(`http://127.0.0.1:${(srv.address() as AddressInfo).port}`)));
}

async function receiver(series: Labels[]): Promise<string> {
  const db = await TSDB.open({ dir: fs.mkdtempSync(path.join(dir, 'r-')), fsync: 'none', head: { outOfOrderWindowMs: 0, maxSeries: 0 } });
  dbs.push(db);
  const app = (await db.tenant('t')).appender();
  for (const l of series) app.append(app.ref(l), 1000, 1);
  await app.commit();
  const router = new Router();
  mountCardinalityApi(router, { tenancy, source: (t) => db.openTenant(t)?.cardinality() });
  return serve(router);
}

const L = (o: Record<string, string>) => Labels.fromObject(o);

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'strata-cluster-card-'));
});

afterAll(async () => {
  for (const s of servers) await new Promise((r) => s.close(r));
  for (const d of dbs) await d.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

test('a key in the top list of one receiver only gets every receiver part (second round)', async () => {
  // Receiver A: `hot` has 100 series, 15 small metrics 1 each. Receiver B: `hot` has 5 other series,
  // 15 metrics of 20 each, so `hot` is 16th there, outside B's top 12 (2 * limit + 10 with limit 1).
  // All counts stay within the sketches' exact range: the answers are exact.
  const a = [...Array.from({ length: 100 }, (_, i) => L({ __name__: 'hot', id: `a${i}` }))];
  for (let m = 0; m < 15; m++) a.push(L({ __name__: `m${m}`, id: 'a' }));
  const b = Array.from({ length: 5 }, (_, i) => L({ __name__: 'hot', id: `b${i}` }));
  for (let m = 0; m < 15; m++) for (let i = 0; i < 20; i++) b.push(L({ __name__: `m${m}`, id: `b${i}` }));
  // A store without the endpoints (a store gateway) and one that is down are left out.
  const urls = [await receiver(a), await receiver(b), await serve(new Router()), 'http://127.0.0.1:1'];
  const router = new Router();
  mountClusterCardinality(router, {
    tenancy,
    cluster: new ClusterCardinality({ urls: () => urls, tenantHeader: tenancy.header, timeoutMs: 5000 }),
  });
  const q = await serve(router);
  const get = async (p: string) => {
    const r = await fetch(`${q}${p}`, { headers: { 'X-Scope-OrgID': 't' } });
    expect(r.status).toBe(200);
    return (await r.json()) as any;
  };
  const status = (await get('/api/v1/status/tsdb?limit=1')).data;
  expect(status.headStats.numSeries).toBe(a.length + b.length);
  expect(status.seriesCountByMetricName).toEqual([{ name: 'hot', value: 105 }]);
  const pairs = (await get('/api/v1/status/tsdb?limit=30')).data.seriesCountByLabelValuePair;
  expect(pairs.find((p: { name: string }) => p.name === '__name__=hot')).toEqual({ name: '__name__=hot', value: 105 });
  // label_values: b0..b4 have 16 series (15 metrics and `hot`), b5..b19 15, a0..a99 one each, `a` 15.
  const values = await get('/api/v1/cardinality/label_values?label_names[]=id&limit=2');
  expect(values.labels[0]).toEqual({
    label_name: 'id',
    label_values_count: 100 + 20 + 1,
    series_count: a.length + b.length,
    cardinality: [
      { label_value: 'b0', series_count: 16 },
      { label_value: 'b1', series_count: 16 },
    ],
  });
  expect((await fetch(`${q}/api/v1/cardinality/label_values`, { headers: { 'X-Scope-OrgID': 't' } })).status).toBe(400);
});
