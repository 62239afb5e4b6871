/**
 * Per-tenant query limits through `strata all` (frontend in front of its querier), read from the
 * limits file under Mimir's keys: each refusal has its status, stable ID and the limit's flag,
 * and a tenant without overrides is unaffected. A tenant with query_sharding_total_shards gets the
 * answers of the unsharded tenant holding the same data.
 */
import fs from 'node:fs';
import path from 'node:path';
import { Labels } from '@strata/model';
import { encodeWriteRequestV1, snappyEncode } from '@strata/remote';
import { startStrata, stop, tempDir, type Strata } from './harness.js';

const MIN = 60_000;
const SERIES = 20;
let strata: Strata;
const end = Math.floor(Date.now() / MIN) * MIN - 10 * MIN;
const start = end - 180 * MIN;
const TENANTS = ['free', 'short', 'lookback', 'few', 'bytes', 'cheap', 'sharded'];

async function push(tenant: string): Promise<void> {
  const times: number[] = [];
  for (let t = start - 60 * MIN; t <= end; t += MIN) times.push(t);
  const series = Array.from({ length: SERIES }, (_, i) => ({
    labels: Labels.fromObject({ __name__: 'lim_test', i: String(i) }),
    timestamps: times,
    values: times.map((t) => (t - start) / MIN + i),
  }));
  const r = await fetch(`${strata.url}/api/v1/write`, {
    method: 'POST',
    body: snappyEncode(encodeWriteRequestV1(series)),
    headers: {
      'Content-Type': 'application/x-protobuf',
      'Content-Encoding': 'snappy',
      'X-Prometheus-Remote-Write-Version': '0.1.0',
      'X-Scope-OrgID': tenant,
    },
  });
  expect([200, 204]).toContain(r.status);
}

async function query(tenant: string, q: string, from = start, to = end, step = 60): Promise<{ http: number; body: any }> {
  const params = new URLSearchParams({ query: q, start: String(from / 1000), end: String(to / 1000), step: String(step) });
  const r = await fetch(`${strata.url}/api/v1/query_range?${params}`, { headers: { 'X-Scope-OrgID': tenant } });
  return { http: r.status, body: await r.json() };
}

async function instant(tenant: string, q: string, time = end): Promise<{ http: number; body: any }> {
  const params = new URLSearchParams({ query: q, time: String(time / 1000) });
  const r = await fetch(`${strata.url}/api/v1/query?${params}`, { headers: { 'X-Scope-OrgID': tenant } });
  return { http: r.status, body: await r.json() };
}

beforeAll(async () => {
  const dir = tempDir('limits');
  const file = path.join(dir, 'limits.yaml');
  fs.writeFileSync(
    file,
    [
      'overrides:',
      '  short: { max_total_query_length: 1h, max_query_length: 2h }',
      '  lookback: { max_query_lookback: 1h }',
      '  few: { max_fetched_series_per_query: 5 }',
      '  bytes: { max_fetched_chunk_bytes_per_query: 100 }',
      '  cheap: { max_estimated_query_cost: 1000 }',
      '  sharded: { query_sharding_total_shards: 4 }',
      '',
    ].join('\n'),
  );
  strata = await startStrata({ args: ['--auth.multitenancy-enabled=true', `--limits.file=${file}`] });
  for (const t of TENANTS) await push(t);
}, 120_000);
afterAll(async () => {
  if (strata) await stop(strata);
});

test('a tenant without overrides runs every query', async () => {
  const r = await query('free', 'sum(rate(lim_test[5m]))');
  expect(r.http).toBe(200);
  expect(r.body.data.result).toHaveLength(1);
  expect(r.body.data.result[0].values).toHaveLength(181);
  expect((await query('free', 'lim_test')).body.data.result).toHaveLength(SERIES);
});

test('max_total_query_length and max_query_length: 400 with their IDs and flags', async () => {
  const total = await query('short', 'lim_test');
  expect(total.http).toBe(400);
  expect(total.body.errorType).toBe('bad_data');
  expect(total.body.error).toMatch(/err-strata-max-total-query-length/);
  expect(total.body.error).toMatch(/query length: 3h, limit: 1h/);
  expect(total.body.error).toMatch(/--limits\.max-total-query-length/);
  // 50 minutes of steps, but a 30m window an hour back: 2h20m read, over 2h.
  const reads = await query('short', 'rate(lim_test[30m] offset 1h)', end - 50 * MIN);
  expect(reads.http).toBe(400);
  expect(reads.body.error).toMatch(/err-strata-max-query-length/);
  expect(reads.body.error).toMatch(/range and lookback: 2h20m, limit: 2h/);
  expect((await instant('short', 'count_over_time(lim_test[3h])')).http).toBe(400);
  const fits = await query('short', 'rate(lim_test[30m])', end - 50 * MIN);
  expect(fits.http).toBe(200);
  expect(fits.body.data.result).toHaveLength(SERIES);
});

test('max_query_lookback leaves out the steps before it; a query wholly before it is empty', async () => {
  const r = await query('lookback', 'sum(lim_test)');
  expect(r.http).toBe(200);
  const times: number[] = r.body.data.result[0].values.map((v: [number, string]) => v[0] * 1000);
  const min = Date.now() - 3_600_000;
  expect(times[0]).toBeGreaterThanOrEqual(min - 60_000);
  expect(times[0]).toBeLessThanOrEqual(min + 60_000);
  expect(times[times.length - 1]).toBe(end);
  // The steps kept are the query's own (on its grid), with their values.
  const free = await query('free', 'sum(lim_test)');
  const freeValues = new Map(free.body.data.result[0].values.map((v: [number, string]) => [v[0], v[1]]));
  for (const [t, v] of r.body.data.result[0].values) expect(freeValues.get(t)).toBe(v);
  const old = await query('lookback', 'sum(lim_test)', start, start + 30 * MIN);
  expect(old.http).toBe(200);
  expect(old.body.data.result).toEqual([]);
  expect((await instant('lookback', 'lim_test', start)).body.data.result).toEqual([]);
});

test('max_fetched_series_per_query and max_fetched_chunk_bytes_per_query: 422 from the querier', async () => {
  const many = await query('few', 'sum(lim_test)');
  expect(many.http).toBe(422);
  expect(many.body.errorType).toBe('execution');
  expect(many.body.error).toMatch(/err-strata-max-fetched-series-per-query/);
  expect(many.body.error).toMatch(/limit of 5/);
  expect(many.body.error).toMatch(/--limits\.max-fetched-series-per-query or the max_fetched_series_per_query override/);
  const some = await query('few', 'sum(lim_test{i=~"[1-5]"})');
  expect(some.http).toBe(200);
  const bytes = await instant('bytes', 'count_over_time(lim_test[3h])');
  expect(bytes.http).toBe(422);
  expect(bytes.body.error).toMatch(/err-strata-max-fetched-chunk-bytes-per-query/);
  expect((await instant('free', 'count_over_time(lim_test[3h])')).http).toBe(200);
});

test('max_estimated_query_cost: refused before execution with the estimate and the limit', async () => {
  // 20 series × 181 steps.
  const r = await query('cheap', 'sum(rate(lim_test[5m]))');
  expect(r.http).toBe(422);
  expect(r.body.error).toMatch(/err-strata-max-estimated-query-cost/);
  expect(r.body.error).toMatch(/estimated cost is 3620 .*matches 20 series evaluated 181 times.*above the limit of 1000/);
  // One series, or a coarser step, is under it.
  expect((await query('cheap', 'rate(lim_test{i="3"}[5m])')).http).toBe(200);
  expect((await query('cheap', 'sum(rate(lim_test[5m]))', start, end, 600)).http).toBe(200);
  // A subquery multiplies the evaluations: 20 series × 1 step × 61 inner steps.
  const sub = await instant('cheap', 'max_over_time(sum(lim_test)[1h:1m])');
  expect(sub.http).toBe(422);
  expect(sub.body.error).toMatch(/estimated cost is 1220/);
});

async function counter(name: string): Promise<number> {
  const text = await (await fetch(`${strata.url}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  return line ? Number(line.split(' ').pop()) : 0;
}

test('query_sharding_total_shards: sharded answers equal the unsharded tenant', async () => {
  for (const q of ['sum(rate(lim_test[5m]))', 'max by (i) (lim_test)', 'avg(lim_test)', 'count(lim_test > 100)', 'topk(3, lim_test)']) {
    const before = await counter('strata_query_frontend_sharded_queries_total');
    // query_sharding_total_shards makes these shardable queries run as shards (the counter says so).
    const sharded = await query('sharded', q);
    expect(await counter('strata_query_frontend_sharded_queries_total')).toBe(before + 1);
    expect(sharded.http).toBe(200);
    const whole = await query('free', q);
    expect(sharded.body.data.result.length).toBeGreaterThan(0);
    // The same series and steps; values to within float rounding (shards sum in another order).
    const shape = (b: any) => b.data.result.map((r: any) => [r.metric, r.values.map((v: [number, string]) => v[0])]);
    expect(shape(sharded.body)).toEqual(shape(whole.body));
    const values = (b: any): number[] => b.data.result.flatMap((r: any) => r.values.map((v: [number, string]) => Number(v[1])));
    const w = values(whole.body);
    values(sharded.body).forEach((v, i) => expect(v).toBeCloseTo(w[i], 9));
  }
});
