/**
 * The frontend's answers (split by day, cold cache, warm cache, range sliding forward) equal the
 * querier's own answers to the unsplit query, for dashboard queries and PromQL forms whose
 * windows, offsets, subqueries and `@` cross the split boundaries.
 */
import { MemoryCache } from '@strata/query-frontend';
import { DAY, DAYS, T0, metricValue, rangeQuery, startRig, type Rig } from './setup.js';

const EXPRESSIONS = [
  // dashboard panels
  'sum by (job) (rate(http_requests_total[5m]))',
  'sum by (job, code) (increase(http_requests_total[1h]))',
  'sum(rate(http_requests_total{code="500"}[5m])) / sum(rate(http_requests_total[5m]))',
  'histogram_quantile(0.9, sum by (le, job) (rate(latency_seconds_bucket[5m])))',
  'avg by (instance) (memory_bytes)',
  'max_over_time(memory_bytes[1h])',
  'topk(2, sum by (instance) (rate(http_requests_total[5m])))',
  'count(up == 1)',
  'up',
  'absent(up{job="nope"})',
  // windows, offsets and subqueries across split boundaries
  'rate(http_requests_total{instance="a:9100"}[2h])',
  'memory_bytes offset 1d',
  'memory_bytes offset -2h',
  'deriv(memory_bytes[30m] offset 6h)',
  'max_over_time(rate(http_requests_total[5m])[2h:7m])',
  'min_over_time(sum(memory_bytes)[3h:])',
  'changes(up[6h])',
  'resets(http_requests_total[1d])',
  'predict_linear(memory_bytes[1h], 3600)',
  'memory_bytes @ ' + (T0 + DAY + 3_600_000) / 1000,
  'rate(http_requests_total[5m] @ ' + (T0 + 2 * DAY) / 1000 + ')',
  // duration expressions: step() is every split's step
  'rate(http_requests_total[step()*3])',
  'memory_bytes offset min_of(step(), 1h)',
  // anchored and smoothed read a lookback before the range, smoothed one after it too
  'sum by (job) (increase(http_requests_total[1h] anchored))',
  'rate(http_requests_total{instance="a:9100"}[2h] smoothed)',
  'changes(up[6h] anchored)',
  'memory_bytes offset -2h smoothed',
  // not split: reads the query's own range
  'memory_bytes @ start()',
  'rate(http_requests_total[10m] @ end())',
  'max_over_time(memory_bytes[min_of(range(), 1d)])',
  'memory_bytes offset (range() / 4)',
  // no data at all, scalars and time
  'vector(1)',
  'time()',
  'timestamp(up{instance="a:9100"})',
  'scalar(sum(up))',
  'label_replace(up, "host", "$1", "instance", "(.*):.*")',
  'sort_desc(sum by (job) (memory_bytes))',
  'count_values("v", up)',
  'quantile(0.5, memory_bytes)',
  'sum(memory_bytes) - on() group_left sum(memory_bytes offset 1h)',
  'sum by (instance) (memory_bytes) + fill(0) sum by (instance) (up{job="nope"})',
];

/** Ranges over the data: crossing one and two UTC midnights, off the step grid, and fine-grained. */
const RANGES: [string, number, number, number][] = [
  ['2 days, step 5m', T0 + 6 * 3_600_000 + 17_000, T0 + 2 * DAY + 20 * 3_600_000, 300_000],
  ['across one midnight, step 1m', T0 + DAY - 3 * 3_600_000, T0 + DAY + 2 * 3_600_000 + 30_000, 60_000],
  ['step longer than a day', T0, T0 + DAYS * DAY, 30 * 3_600_000],
];

jest.setTimeout(120_000);
let rig: Rig;
const now = T0 + DAYS * DAY + 3_600_000;
beforeAll(async () => {
  rig = await startRig({ cache: new MemoryCache(64 * 1024 * 1024, 0), now: () => now });
}, 60_000);
afterAll(() => rig.close());

describe.each(RANGES)('%s', (_name, start, end, step) => {
  test.each(EXPRESSIONS)('%s: cold, warm and sliding equal the querier', async (q) => {
    const direct = await rangeQuery(rig.querierUrl, q, start, end, step);
    expect(direct.status).toBe(200);
    const cold = await rangeQuery(rig.frontendUrl, q, start, end, step);
    expect(cold).toEqual(direct);
    const warm = await rangeQuery(rig.frontendUrl, q, start, end, step);
    expect(warm).toEqual(direct);
    // A dashboard refresh: the range moves forward by two steps (part cached, part new).
    const slid = await rangeQuery(rig.frontendUrl, q, start + 2 * step, end + 2 * step, step);
    expect(slid).toEqual(await rangeQuery(rig.querierUrl, q, start + 2 * step, end + 2 * step, step));
  });
});

test('errors are the querier own', async () => {
  for (const [q, s, e, st] of [
    ['rate(', T0, T0 + DAY, 60_000],
    ['up', T0 + DAY, T0, 60_000],
    ['up[5m]', T0, T0 + DAY, 60_000],
    ['up', T0, T0 + 30 * DAY, 60_000],
  ] as const) {
    expect(await rangeQuery(rig.frontendUrl, q, s, e, st)).toEqual(await rangeQuery(rig.querierUrl, q, s, e, st));
  }
});

test('the answers above came from splits and the cache (not all passed through)', async () => {
  const r = rig.registry;
  expect(await metricValue(r, 'strata_query_frontend_split_queries_total')).toBeGreaterThan(EXPRESSIONS.length * RANGES.length * 3);
  expect(await metricValue(r, 'strata_query_frontend_results_cache_lookups_total', { result: 'hit' })).toBeGreaterThan(EXPRESSIONS.length);
  expect(await metricValue(r, 'strata_query_frontend_results_cache_lookups_total', { result: 'partial' })).toBeGreaterThan(
    EXPRESSIONS.length,
  );
});
