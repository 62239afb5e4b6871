/**
 * Query sharding, differentially: on random data, every shardable aggregation answered by the
 * frontend in 3 and 8 shards (each tenant its own query_sharding_total_shards), cold and from
 * the cache, equals the querier's answer to the whole query (values to within float rounding:
 * the shards sum in another order); queries that cannot be sharded go whole and are unchanged.
 * Expressions built on shardable aggregations (binary operations, nested aggregations) are
 * sharded leg by leg and equal the whole query too.
 * Instant queries likewise, each shard a one-step range query at the query's time.
 */
import { Labels, mulberry32 } from '@strata/model';
import type { TSDB } from '@strata/tsdb';
import type { TenantLimits } from '@strata/api';
import { MemoryCache } from '@strata/query-frontend';
import { DAY, T0, metricValue, rangeQuery, startRig, type Rig } from './setup.js';

const SCRAPE = 120_000;
const DATA_DAYS = 2;

/** Gauges and counters over 3 jobs × 16 instances, random values, some series living part of the time, counters resetting. */
async function fillRandom(db: TSDB, tenant: string): Promise<void> {
  const rnd = mulberry32(20261201);
  const app = (await db.tenant(tenant)).appender();
  const series: { ref: number; counter: boolean; from: number; to: number; v: number }[] = [];
  const n = (DATA_DAYS * DAY) / SCRAPE;
  for (let j = 0; j < 3; j++)
    for (let i = 0; i < 16; i++)
      for (const counter of [false, true]) {
        const labels = Labels.fromObject({ __name__: counter ? 'rnd_counter' : 'rnd_gauge', job: `j${j}`, instance: `i${i}` });
        // A quarter of the series start late or end early.
        const from = rnd() < 0.125 ? Math.floor(rnd() * n) : 0;
        const to = rnd() < 0.125 ? Math.floor(from + rnd() * (n - from)) : n;
        series.push({ ref: app.ref(labels), counter, from, to, v: 0 });
      }
  for (let k = 0; k < n; k++) {
    for (const s of series) {
      if (k < s.from || k >= s.to) continue;
      if (s.counter) s.v = rnd() < 0.002 ? 0 : s.v + Math.floor(rnd() * 100);
      else s.v = rnd() * 1000 - 200;
      app.append(s.ref, T0 + k * SCRAPE, s.v);
    }
    if (k % 500 === 499) await app.commit();
  }
  await app.commit();
}

const SHARDABLE = [
  'sum(rnd_gauge)',
  'sum by (job) (rate(rnd_counter[5m]))',
  'sum without (instance) (rnd_gauge)',
  'count(rnd_gauge)',
  'count by (job) (rnd_gauge > 300)',
  'min by (job) (rnd_gauge)',
  'max(rnd_gauge offset 1h)',
  'max by (instance) (max_over_time(rnd_gauge[30m]))',
  'avg(rnd_gauge)',
  'avg by (job) (irate(rnd_counter[10m]))',
  'group by (job) (rnd_gauge)',
  'topk(3, rnd_gauge)',
  // topk/bottomk over values without ties: among equal values Prometheus keeps an arbitrary one,
  // and so does a shard (rates of the integer counters tie often).
  'topk by (job) (2, deriv(rnd_gauge[10m]))',
  'bottomk(4, rnd_gauge)',
  'bottomk without (instance) (1, rnd_gauge)',
  'sum(quantile_over_time(0.9, rnd_gauge[10m]))',
  'sum(abs(rnd_gauge - 500))',
  'count(-rnd_gauge)',
  'sum by (job) (clamp(rnd_gauge, 0, 500))',
  'max(max_over_time(rate(rnd_counter[5m])[1h:5m]))',
  `sum(rnd_gauge @ ${(T0 + DAY) / 1000})`,
  'sum(increase(rnd_counter[1h] offset 30m))',
  '(sum by (job) (delta(rnd_gauge[15m])))',
  'min(changes(rnd_gauge[1h]) * 2)',
  // anchored and smoothed read more samples of the same series, which its shard holds.
  'sum by (job) (increase(rnd_counter[1h] anchored))',
  'avg(rate(rnd_counter[10m] offset 5m smoothed))',
  'max(rnd_gauge smoothed)',
  // Built on shardable aggregations: each leg sharded, the rest evaluated over the merged legs.
  'sum(rnd_gauge) / count(rnd_gauge)',
  'sum(sum by (job) (rnd_gauge))',
  'sum by (job) (rate(rnd_counter[5m])) / on (job) group_left count by (job) (rnd_gauge)',
  'sum by (job) (rate(rnd_counter[5m])) / on (job) sum by (job) (rnd_gauge > 0)',
  'max(sum by (job, instance) (rnd_gauge)) - min(rnd_gauge offset 10m)',
  'sum by (job) (rnd_gauge) > bool 1000',
  'sum by (job) (rnd_gauge) > 4000',
  'quantile(0.5, sum by (instance) (rnd_gauge))',
  'topk(2, sum by (instance) (rnd_gauge))',
  'sum by (job) (rnd_gauge) and on (job) count by (job) (rnd_gauge > 600)',
  'label_replace(sum by (job) (rnd_gauge), "team", "t$1", "job", "j(.*)")',
  'abs(sum(rnd_gauge)) * 2 + 1',
  'sum by (job) (rnd_gauge) / ignoring (job) group_left sum(rnd_gauge)',
  'sum(rnd_gauge) / scalar(count(rnd_gauge))',
  'avg(rnd_gauge) - avg(rnd_gauge offset 1h)',
  'vector(scalar(sum(rnd_gauge)))',
  // A fill modifier between legs is evaluated over the merged legs like any operation.
  'sum by (job) (rnd_gauge > 500) + on (job) fill(0) sum by (job) (rnd_counter > 900)',
];

const NOT_SHARDABLE = [
  'rnd_gauge',
  'quantile(0.5, rnd_gauge)',
  'sum(label_replace(rnd_gauge, "x", "$1", "instance", "(.*)"))',
  'sum(rnd_gauge * on (job, instance) rnd_counter)',
  'topk(scalar(count(rnd_gauge)) / 10, rnd_gauge)',
  'stddev(rnd_gauge)',
  'count_values("v", rnd_gauge > 700)',
  'sum(rnd_gauge and rnd_counter)',
  // Around shardable aggregations, but reading series, other times or names of its own.
  'sum(rnd_gauge) / on () group_right rnd_gauge',
  'max_over_time(sum(rnd_gauge)[1h:5m])',
  'absent(sum(rnd_gauge))',
  'info(sum by (instance, job) (rnd_gauge))',
  // step() of a shard's one-step range query is not the query's.
  'sum(rnd_gauge offset step())',
];

const TENANTS: [string, number][] = [
  ['s3', 3],
  ['s8', 8],
];

/** Equal but for float rounding: same series, steps and strings for non-numbers; numbers within 1e-9 relative. */
function sameAnswer(got: any, want: any): string | undefined {
  if (got.status !== want.status) return `status ${got.status} != ${want.status}: ${JSON.stringify(got.body).slice(0, 300)}`;
  const g = got.body.data.result as { metric: Record<string, string>; values: [number, string][] }[];
  const w = want.body.data.result as typeof g;
  if (g.length !== w.length) return `${g.length} series, want ${w.length}`;
  for (let i = 0; i < w.length; i++) {
    if (JSON.stringify(g[i].metric) !== JSON.stringify(w[i].metric))
      return `series ${i}: ${JSON.stringify(g[i].metric)} != ${JSON.stringify(w[i].metric)}`;
    if (g[i].values.length !== w[i].values.length)
      return `${JSON.stringify(w[i].metric)}: ${g[i].values.length} steps, want ${w[i].values.length}`;
    for (let k = 0; k < w[i].values.length; k++) {
      const [gt, gv] = g[i].values[k];
      const [wt, wv] = w[i].values[k];
      if (gt !== wt) return `${JSON.stringify(w[i].metric)}: step ${gt} != ${wt}`;
      const a = Number(gv);
      const b = Number(wv);
      const close =
        gv === wv || (Number.isFinite(a) && Number.isFinite(b) && Math.abs(a - b) <= 1e-9 * Math.max(1, Math.abs(a), Math.abs(b)));
      if (!close) return `${JSON.stringify(w[i].metric)} at ${wt}: ${gv} != ${wv}`;
    }
  }
  return undefined;
}

const RANGES: [string, number, number, number][] = [
  ['2 days, step 20m, across midnight', T0 + 3 * 3_600_000 + 7_000, T0 + 2 * DAY - 60_000, 1_200_000],
  ['3 hours, step 1m', T0 + DAY - 2 * 3_600_000, T0 + DAY + 3_600_000, 60_000],
];

jest.setTimeout(300_000);
let rig: Rig;
beforeAll(async () => {
  const shards = new Map(TENANTS);
  rig = await startRig({
    cache: new MemoryCache(64 * 1024 * 1024, 0),
    now: () => T0 + 3 * DAY,
    tenants: TENANTS.map(([t]) => t),
    fill: fillRandom,
    frontend: { limits: (t: string) => ({ queryShardingTotalShards: shards.get(t) ?? 0 }) as TenantLimits },
  });
}, 120_000);
afterAll(() => rig?.close());

describe.each(RANGES)('%s', (_name, start, end, step) => {
  test.each(SHARDABLE)('%s: in 3 and 8 shards, cold and cached, equals the whole query', async (q) => {
    for (const [tenant, n] of TENANTS) {
      const h = { 'X-Scope-OrgID': tenant };
      const direct = await rangeQuery(rig.querierUrl, q, start, end, step, h);
      expect(direct.status).toBe(200);
      expect((direct.body.data as { result: unknown[] }).result.length).toBeGreaterThan(0);
      const before = await metricValue(rig.registry, 'strata_query_frontend_sharded_queries_total');
      const cold = await rangeQuery(rig.frontendUrl, q, start, end, step, h);
      expect(await metricValue(rig.registry, 'strata_query_frontend_sharded_queries_total')).toBe(before + 1);
      expect(sameAnswer(cold, direct) && `${n} shards, cold: ${sameAnswer(cold, direct)}`).toBeUndefined();
      const warm = await rangeQuery(rig.frontendUrl, q, start, end, step, h);
      expect(warm).toEqual(cold);
    }
  });

  test.each(NOT_SHARDABLE)('%s: not shardable, sent whole, the querier answer', async (q) => {
    const h = { 'X-Scope-OrgID': 's8' };
    const before = await metricValue(rig.registry, 'strata_query_frontend_sharded_queries_total');
    const got = await rangeQuery(rig.frontendUrl, q, start, end, step, h);
    expect(got).toEqual(await rangeQuery(rig.querierUrl, q, start, end, step, h));
    expect(await metricValue(rig.registry, 'strata_query_frontend_sharded_queries_total')).toBe(before);
  });
});

/** An instant query's answer in the range shape sameAnswer compares: one step per series, sorted by labels. */
async function instantQuery(base: string, query: string, time: number, headers: Record<string, string>) {
  const res = await fetch(`${base}/api/v1/query`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
    body: new URLSearchParams({ query, time: String(time / 1000) }).toString(),
  });
  const body = (await res.json()) as any;
  if (body.status !== 'success') return { status: res.status, body };
  expect(body.data.resultType).toBe('vector');
  const result = (body.data.result as { metric: Record<string, string>; value: [number, string] }[])
    .map((r) => ({ metric: r.metric, values: [r.value], labels: Labels.fromObject(r.metric) }))
    .sort((a, b) => Labels.compare(a.labels, b.labels))
    .map(({ metric, values }) => ({ metric, values }));
  return { status: res.status, body: { ...body, data: { resultType: 'vector', result } } };
}

const INSTANTS: [string, number][] = [
  ['an instant inside the data, off the minute', T0 + DAY + 7_123],
  ['an instant near the end of the data', T0 + 2 * DAY - 60_000],
];

describe.each(INSTANTS)('instant query at %s', (_name, time) => {
  test.each(SHARDABLE)('%s: in 3 and 8 shards equals the whole query', async (q) => {
    for (const [tenant, n] of TENANTS) {
      const h = { 'X-Scope-OrgID': tenant };
      const direct = await instantQuery(rig.querierUrl, q, time, h);
      expect(direct.status).toBe(200);
      expect(direct.body.data.result.length).toBeGreaterThan(0);
      const before = await metricValue(rig.registry, 'strata_query_frontend_sharded_queries_total');
      const got = await instantQuery(rig.frontendUrl, q, time, h);
      expect(await metricValue(rig.registry, 'strata_query_frontend_sharded_queries_total')).toBe(before + 1);
      expect(sameAnswer(got, direct) && `${n} shards: ${sameAnswer(got, direct)}`).toBeUndefined();
    }
  });

  test.each(NOT_SHARDABLE)('%s: not shardable, sent whole, the querier answer', async (q) => {
    const h = { 'X-Scope-OrgID': 's8' };
    const before = await metricValue(rig.registry, 'strata_query_frontend_sharded_queries_total');
    expect(await instantQuery(rig.frontendUrl, q, time, h)).toEqual(await instantQuery(rig.querierUrl, q, time, h));
    expect(await metricValue(rig.registry, 'strata_query_frontend_sharded_queries_total')).toBe(before);
  });
});

test('each shard runs its own query downstream: shards × legs per fetched split', async () => {
  const before = await metricValue(rig.registry, 'strata_query_frontend_shard_queries_total');
  // Not cached yet: one split (a range inside one day), 8 shards, avg's two legs.
  await rangeQuery(rig.frontendUrl, 'avg by (job) (rnd_gauge * 3)', T0 + 3_600_000, T0 + 2 * 3_600_000, 60_000, { 'X-Scope-OrgID': 's8' });
  expect(await metricValue(rig.registry, 'strata_query_frontend_shard_queries_total')).toBe(before + 16);
});
