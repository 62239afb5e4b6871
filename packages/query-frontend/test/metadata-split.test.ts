/**
 * Label names, label values and series requests through the frontend (split by day, cold and
 * cached) equal the querier's own answers over ranges crossing midnights, within a day, partly
 * outside the data and of one instant; past days are answered from the cache on the second request.
 */
import { Labels } from '@strata/model';
import type { TenantLimits } from '@strata/api';
import { MemoryCache } from '@strata/query-frontend';
import { DAY, DAYS, T0, TENANT, metricValue, startRig, type Rig } from './setup.js';

const H = 3_600_000;
const RANGES: [string, number, number][] = [
  ['all days', T0, T0 + DAYS * DAY],
  ['across one midnight', T0 + DAY - 5 * H, T0 + DAY + 2 * H + 30_000],
  ['across two midnights, off the minute', T0 + 10 * H + 1234, T0 + 2 * DAY + 7 * H + 999],
  ['one hour', T0 + 600 * 120_000 + 60_000, T0 + 650 * 120_000],
  ['before the data, into it', T0 - 2 * DAY, T0 + 3 * H],
  ['one instant', T0 + DAY, T0 + DAY],
];

const REQUESTS: [string, Record<string, string | string[]>][] = [
  ['/api/v1/labels', {}],
  ['/api/v1/labels', { 'match[]': 'up' }],
  ['/api/v1/label/job/values', {}],
  ['/api/v1/label/instance/values', { 'match[]': ['up', 'memory_bytes{job="db"}'] }],
  ['/api/v1/label/__name__/values', {}],
  ['/api/v1/series', { 'match[]': 'up' }],
  ['/api/v1/series', { 'match[]': ['{job="api"}', 'memory_bytes'] }],
];

async function get(base: string, path: string, params: Record<string, string | string[]>, start: number, end: number) {
  const q = new URLSearchParams({ start: String(start / 1000), end: String(end / 1000) });
  for (const [k, v] of Object.entries(params)) for (const x of Array.isArray(v) ? v : [v]) q.append(k, x);
  const r = await fetch(`${base}${path}?${q}`);
  return { status: r.status, body: (await r.json()) as { data: unknown[] } };
}

jest.setTimeout(120_000);
let rig: Rig;
const NOW = T0 + DAYS * DAY + H;
/** The tenant's max_query_lookback (0 = none), read by the frontend at each request. */
let lookback = 0;
beforeAll(async () => {
  rig = await startRig({
    cache: new MemoryCache(16 * 1024 * 1024, 0),
    now: () => NOW,
    frontend: { limits: () => ({ maxQueryLookback: lookback }) as TenantLimits },
  });
}, 60_000);
afterAll(() => rig?.close());

describe.each(RANGES)('%s', (_name, start, end) => {
  test.each(REQUESTS)('%s %p: cold and cached equal the querier', async (path, params) => {
    const direct = await get(rig.querierUrl, path, params, start, end);
    expect(direct.status).toBe(200);
    expect(direct.body.data.length).toBeGreaterThan(0);
    expect(await get(rig.frontendUrl, path, params, start, end)).toEqual(direct);
    expect(await get(rig.frontendUrl, path, params, start, end)).toEqual(direct);
  });
});

test('past days came from the cache', async () => {
  expect(await metricValue(rig.registry, 'strata_query_frontend_results_cache_lookups_total', { result: 'hit' })).toBeGreaterThan(
    RANGES.length * REQUESTS.length,
  );
});

test('a late series in a cached day is in the next answer (the generation of its hour moved)', async () => {
  // One piece inside a past day, cached by the first request.
  const [start, end] = [T0 + DAY, T0 + DAY + 6 * H];
  const match = { 'match[]': '{job="x"}' };
  expect((await get(rig.frontendUrl, '/api/v1/series', match, start, end)).body.data).toEqual([]);
  const t = T0 + DAY + 5 * H;
  const app = (await rig.db.tenant(TENANT)).appender();
  app.append(app.ref(Labels.fromObject({ __name__: 'late_series', job: 'x' })), t, 1);
  await app.commit();
  // What the receiver's late-data hook does after committing a sample older than the freshness window.
  rig.generations.bump(TENANT, t, t);
  const after = await get(rig.frontendUrl, '/api/v1/series', match, start, end);
  expect(after.body.data).toEqual([{ __name__: 'late_series', job: 'x' }]);
  expect(after).toEqual(await get(rig.querierUrl, '/api/v1/series', match, start, end));
});

describe('max_query_lookback moves the start of label and series requests forward, as Mimir does', () => {
  afterEach(() => (lookback = 0));
  const min = NOW - 1.5 * DAY;
  test.each(REQUESTS)('%s %p', async (path, params) => {
    lookback = 1.5 * DAY;
    const clamped = await get(rig.querierUrl, path, params, min, NOW);
    expect(clamped.body.data.length).toBeGreaterThan(0);
    // A range reaching before the lookback answers as if it started there, cold and cached.
    expect(await get(rig.frontendUrl, path, params, T0, NOW)).toEqual(clamped);
    expect(await get(rig.frontendUrl, path, params, T0, NOW)).toEqual(clamped);
    // So does a request without a start (all time).
    const q = new URLSearchParams({ end: String(NOW / 1000) });
    for (const [k, v] of Object.entries(params)) for (const x of Array.isArray(v) ? v : [v]) q.append(k, x);
    expect(await (await fetch(`${rig.frontendUrl}${path}?${q}`)).json()).toEqual(clamped.body);
    // A range wholly before it is an empty success.
    expect(await get(rig.frontendUrl, path, params, T0, min - 1)).toEqual({ status: 200, body: { status: 'success', data: [] } });
    // Which is not what the data holds there.
    expect((await get(rig.querierUrl, path, params, T0, min - 1)).body.data.length).toBeGreaterThan(0);
  });
});
