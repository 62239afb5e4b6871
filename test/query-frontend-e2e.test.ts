/**
 * The query frontend in `strata all` (on by default) and as `strata query-frontend` in front of
 * it: a late sample pushed into a range the results cache holds is in the next answer.
 */
import { Labels } from '@strata/model';
import { encodeWriteRequestV1, snappyEncode } from '@strata/remote';
import { getJson, startStrata, stop, type Strata } from './harness.js';

const MIN = 60_000;
let strata: Strata;
let frontend: Strata;
// Sample times on whole minutes, the newest well outside the 1m freshness window.
const end = Math.floor(Date.now() / MIN) * MIN - 10 * MIN;
const start = end - 180 * MIN;
const late = end - 90 * MIN;

async function push(url: string, times: number[]): Promise<void> {
  const series = [
    { labels: Labels.fromObject({ __name__: 'late_test', job: 'x' }), timestamps: times, values: times.map((t) => (t - start) / MIN) },
  ];
  const r = await fetch(`${url}/api/v1/write`, {
    method: 'POST',
    body: snappyEncode(encodeWriteRequestV1(series)),
    headers: { 'Content-Type': 'application/x-protobuf', 'Content-Encoding': 'snappy', 'X-Prometheus-Remote-Write-Version': '0.1.0' },
  });
  expect([200, 204]).toContain(r.status);
}

/** The steps of count_over_time over a window holding exactly one scrape: where samples are. */
async function presentSteps(url: string): Promise<number[]> {
  const q = encodeURIComponent('count_over_time(late_test[30s])');
  const r = await getJson(`${url}/api/v1/query_range?query=${q}&start=${start / 1000}&end=${end / 1000}&step=60`);
  expect(r.status).toBe('success');
  return (r.data.result[0]?.values ?? []).map((v: [number, string]) => v[0] * 1000);
}

async function counter(url: string, name: string, labels: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${name}{${labels}}`));
  return line ? Number(line.split(' ').pop()) : 0;
}

beforeAll(async () => {
  strata = await startStrata({ args: ['--receiver.out-of-order-window=6h'] });
  frontend = await startStrata({ component: 'query-frontend', args: [`--query-frontend.downstream-url=${strata.url}`] });
  const times: number[] = [];
  for (let t = start; t <= end; t += MIN) if (t !== late) times.push(t);
  await push(strata.url, times);
}, 120_000);
afterAll(async () => {
  await Promise.all([frontend && stop(frontend), strata && stop(strata)]);
});

test('a late sample into a cached range is in the next answer (strata all, and a query-frontend in front of it)', async () => {
  const all = 181;
  const before = await presentSteps(strata.url);
  expect(before).toHaveLength(all - 1);
  expect(before).not.toContain(late);
  // Warm: answered from the cache (the hit counter moves), and unchanged.
  const hits = await counter(strata.url, 'strata_query_frontend_results_cache_lookups_total', 'result="hit"');
  expect(await presentSteps(strata.url)).toEqual(before);
  expect(await counter(strata.url, 'strata_query_frontend_results_cache_lookups_total', 'result="hit"')).toBeGreaterThan(hits);
  // The standalone frontend answers the same through strata all's own frontend.
  expect(await presentSteps(frontend.url)).toEqual(before);

  await push(strata.url, [late]);
  const after = await presentSteps(strata.url);
  expect(after).toHaveLength(all);
  expect(after).toContain(late);
});

test('the other read endpoints pass through the frontend', async () => {
  const labels = await getJson(`${strata.url}/api/v1/labels`);
  expect(labels.status).toBe('success');
  expect(labels.data).toEqual(expect.arrayContaining(['__name__', 'job']));
  const values = await getJson(`${frontend.url}/api/v1/label/job/values`);
  expect(values.status).toBe('success');
  expect(values.data).toEqual(['x']);
  // GET-only querier endpoints are passed as GET.
  for (const path of ['/api/v1/metadata', '/api/v1/status/stores'])
    expect((await getJson(`${frontend.url}${path}`)).status).toBe('success');
  const instant = await getJson(`${frontend.url}/api/v1/query?query=late_test&time=${end / 1000}`);
  expect(instant.data.result).toEqual([{ metric: { __name__: 'late_test', job: 'x' }, value: [end / 1000, '180'] }]);
});
