/**
 * Cardinality endpoints of a real receiver process, per tenant: Mimir's
 * /api/v1/cardinality/{label_names,label_values} and Prometheus' /api/v1/status/tsdb. The
 * expected figures are computed from the series written, not written down.
 */
import { Labels } from '@strata/model';
import { encodeWriteRequestV1, snappyEncode } from '@strata/remote';
import { startStrata, stop, type Strata } from './harness.js';

jest.setTimeout(60_000);

const ENVS = ['prod', 'staging', 'dev'];
const JOBS = ['distributor', 'ingester', 'store-gateway', 'querier', 'compactor'];
const N = 1000;
const series = Array.from({ length: N }, (_, i) => ({ __name__: `metric_${i}`, env: ENVS[i % ENVS.length], job: JOBS[i % JOBS.length] }));

let s: Strata;

async function get(path: string, tenant = 'team-a'): Promise<{ status: number; body: any }> {
  const r = await fetch(`${s.url}${path}`, { headers: { 'X-Scope-OrgID': tenant } });
  return { status: r.status, body: await r.json() };
}

/** Series count per value of `name` among the series passing `keep`, largest first, then by value. */
function expectedValues(
  name: 'env' | 'job' | '__name__',
  keep: (x: (typeof series)[number]) => boolean = () => true,
): { label_value: string; series_count: number }[] {
  const m = new Map<string, number>();
  for (const x of series.filter(keep)) m.set(x[name], (m.get(x[name]) ?? 0) + 1);
  return [...m]
    .map(([label_value, series_count]) => ({ label_value, series_count }))
    .sort((a, b) => b.series_count - a.series_count || (a.label_value < b.label_value ? -1 : 1));
}

beforeAll(async () => {
  s = await startStrata({ component: 'receiver', args: ['--auth.multitenancy-enabled'] });
  const t = Date.now();
  const body = snappyEncode(encodeWriteRequestV1(series.map((x) => ({ labels: Labels.fromObject(x), timestamps: [t], values: [1] }))));
  const w = await fetch(`${s.url}/api/v1/write`, {
    method: 'POST',
    body,
    headers: { 'Content-Type': 'application/x-protobuf', 'Content-Encoding': 'snappy', 'X-Scope-OrgID': 'team-a' },
  });
  expect(w.status).toBe(204);
});

afterAll(async () => {
  if (s) await stop(s);
});

test('label_names: values per label name, largest first, totals complete under a limit', async () => {
  const all = await get('/prometheus/api/v1/cardinality/label_names');
  expect(all.body).toEqual({
    label_values_count_total: N + JOBS.length + ENVS.length,
    label_names_count: 3,
    cardinality: [
      { label_name: '__name__', label_values_count: N },
      { label_name: 'job', label_values_count: JOBS.length },
      { label_name: 'env', label_values_count: ENVS.length },
    ],
  });
  const limited = await get('/api/v1/cardinality/label_names?limit=1');
  expect(limited.body.cardinality).toEqual([{ label_name: '__name__', label_values_count: N }]);
  expect(limited.body.label_names_count).toBe(3);
  const selected = await get(`/api/v1/cardinality/label_names?selector=${encodeURIComponent('{job="ingester"}')}`);
  const ingester = series.filter((x) => x.job === 'ingester');
  expect(selected.body).toEqual({
    label_values_count_total: ingester.length + 1 + new Set(ingester.map((x) => x.env)).size,
    label_names_count: 3,
    cardinality: [
      { label_name: '__name__', label_values_count: ingester.length },
      { label_name: 'env', label_values_count: new Set(ingester.map((x) => x.env)).size },
      { label_name: 'job', label_values_count: 1 },
    ],
  });
});

test('label_values: series per value of each asked label, with a selector and a limit', async () => {
  const r = await get('/api/v1/cardinality/label_values?label_names[]=env&label_names[]=job');
  expect(r.body).toEqual({
    series_count_total: N,
    labels: [
      { label_name: 'env', label_values_count: ENVS.length, series_count: N, cardinality: expectedValues('env') },
      { label_name: 'job', label_values_count: JOBS.length, series_count: N, cardinality: expectedValues('job') },
    ],
  });
  const sel = await get(
    `/api/v1/cardinality/label_values?label_names[]=env&selector=${encodeURIComponent('{job=~"querier|compactor"}')}&limit=2`,
  );
  const keep = (x: (typeof series)[number]) => x.job === 'querier' || x.job === 'compactor';
  const want = expectedValues('env', keep);
  expect(sel.body.labels).toEqual([
    { label_name: 'env', label_values_count: want.length, series_count: series.filter(keep).length, cardinality: want.slice(0, 2) },
  ]);
  const unknown = await get('/api/v1/cardinality/label_values?label_names[]=nope');
  expect(unknown.body.labels).toEqual([{ label_name: 'nope', label_values_count: 0, series_count: 0, cardinality: [] }]);
});

test('bad parameters are a 400 with the reason', async () => {
  const cases: [string, RegExp][] = [
    ['/api/v1/cardinality/label_values', /'label_names\[\]' param is required/],
    ['/api/v1/cardinality/label_names?limit=501', /cannot be greater than '500'/],
    ['/api/v1/cardinality/label_names?limit=-1', /cannot be less than '0'/],
    [
      `/api/v1/cardinality/label_names?selector=${encodeURIComponent('{a="1"}')}&selector=${encodeURIComponent('{b="1"}')}`,
      /multiple 'selector' params/,
    ],
    [`/api/v1/cardinality/label_names?selector=${encodeURIComponent('sum(x)')}`, /is not a series selector/],
    ['/api/v1/status/tsdb?limit=x', /limit must be a positive number/],
  ];
  for (const [path, msg] of cases) {
    const r = await get(path);
    expect({ path, status: r.status }).toEqual({ path, status: 400 });
    expect(r.body.error).toMatch(msg);
  }
});

test('tenants are isolated: another tenant sees nothing, /api/v1/status/tsdb included', async () => {
  expect((await get('/api/v1/cardinality/label_names', 'team-b')).body).toEqual({
    label_values_count_total: 0,
    label_names_count: 0,
    cardinality: [],
  });
  const other = await get('/api/v1/status/tsdb', 'team-b');
  expect(other.body.data.headStats.numSeries).toBe(0);
  const mine = await get('/api/v1/status/tsdb?limit=2', 'team-a');
  expect(mine.body.data.headStats).toMatchObject({ numSeries: N, numLabelPairs: N + JOBS.length + ENVS.length });
  expect(mine.body.data.labelValueCountByLabelName).toEqual([
    { name: '__name__', value: N },
    { name: 'job', value: JOBS.length },
  ]);
  expect(mine.body.data.seriesCountByLabelValuePair).toEqual([
    { name: `env=${expectedValues('env')[0].label_value}`, value: expectedValues('env')[0].series_count },
    { name: `env=${expectedValues('env')[1].label_value}`, value: expectedValues('env')[1].series_count },
  ]);
});
