/**
 * Cluster-wide cardinality with real processes: the same series are written to a single receiver
 * and to a 3-receiver RF 3 ring (every series on all three receivers: a plain sum would count it
 * three times). A querier over the ring answers /api/v1/status/tsdb, Mimir's cardinality API and
 * the growth API from merged sketches; its figures equal the single node's exactly where a count
 * is at most 512 (the sketches' exact range) and within 6.5% (4 standard errors of 1.6%) beyond.
 * With one receiver stopped, the two replicas left give the same figures.
 */
import fs from 'node:fs';
import path from 'node:path';
import { Labels } from '@strata/model';
import { encodeWriteRequestV1, snappyEncode } from '@strata/remote';
import { freePort, startProcess, startStrata, stop, STRATA_BIN, tempDir, type Strata } from './harness.js';

jest.setTimeout(240_000);

const TENANT = 'team-a';
const USERS = 1500;
const EXACT_MAX = 512;
const BOUND = 0.065;

const single: Strata[] = [];
const ring: Strata[] = [];
let querier: Strata | undefined;

function allSeries(): Record<string, string>[] {
  const out: Record<string, string>[] = [];
  // The explosion: user_id on one metric.
  for (let u = 0; u < USERS; u++)
    for (const method of ['GET', 'POST']) out.push({ __name__: 'http_requests_total', method, user_id: `u${u}`, job: 'api' });
  for (let i = 0; i < 10; i++) out.push({ __name__: 'up', instance: `host-${i}:9100`, job: 'node' });
  for (let c = 0; c < 8; c++)
    for (const mode of ['user', 'system', 'idle', 'iowait'])
      out.push({ __name__: 'node_cpu_seconds_total', cpu: String(c), mode, instance: 'host-0:9100', job: 'node' });
  return out;
}

async function write(to: Strata, series: Record<string, string>[]): Promise<void> {
  const t = Date.now();
  const body = snappyEncode(encodeWriteRequestV1(series.map((x) => ({ labels: Labels.fromObject(x), timestamps: [t], values: [1] }))));
  const r = await fetch(`${to.url}/api/v1/write`, {
    method: 'POST',
    body,
    headers: { 'Content-Type': 'application/x-protobuf', 'Content-Encoding': 'snappy', 'X-Scope-OrgID': TENANT },
    signal: AbortSignal.timeout(30_000),
  });
  expect(r.status).toBe(204);
}

async function get(p: Strata, url: string): Promise<any> {
  const r = await fetch(`${p.url}${url}`, { headers: { 'X-Scope-OrgID': TENANT }, signal: AbortSignal.timeout(60_000) });
  expect(r.status).toBe(200);
  return r.json();
}

/** Equal when the exact figure is in the sketches' exact range, else within BOUND. */
function expectClose(got: number, want: number, what: string): void {
  const ok = want <= EXACT_MAX ? got === want : Math.abs(got - want) <= BOUND * want;
  if (!ok) throw new Error(`${what}: cluster ${got}, single node ${want}`);
}

function byName(list: { name: string; value: number }[]): Map<string, number> {
  return new Map(list.map((e) => [e.name, e.value]));
}

beforeAll(async () => {
  const dir = tempDir('cluster-card');
  const ringFile = path.join(dir, 'hashrings.json');
  const ports = await Promise.all([0, 1, 2].map(() => freePort()));
  fs.writeFileSync(ringFile, JSON.stringify([{ hashring: 'default', endpoints: ports.map((p) => `127.0.0.1:${p}`) }]));
  const common = ['--auth.multitenancy-enabled'];
  const started = await Promise.all([
    startStrata({ component: 'receiver', args: common }),
    ...ports.map((port) =>
      startStrata({
        component: 'receiver',
        port,
        args: [
          ...common,
          `--receiver.hashrings-file=${ringFile}`,
          '--receiver.replication-factor=3',
          `--receiver.local-endpoint=127.0.0.1:${port}`,
        ],
      }),
    ),
  ]);
  single.push(started[0]);
  ring.push(...started.slice(1));
  querier = await startStrata({
    component: 'querier',
    args: [...common, `--querier.stores=${ports.map((p) => `http://127.0.0.1:${p}`).join(',')}`],
  });
  const series = allSeries();
  // In parts, through different receivers of the ring: each forwards the replicas.
  for (let i = 0, k = 0; i < series.length; i += 500, k++) {
    const part = series.slice(i, i + 500);
    await write(single[0], part);
    await write(ring[k % 3], part);
  }
});

afterAll(async () => {
  await Promise.all([...single, ...ring, ...(querier ? [querier] : [])].map((p) => stop(p)));
});

async function compareTsdbStatus(): Promise<void> {
  const want = (await get(single[0], '/api/v1/status/tsdb?limit=20')).data;
  const got = (await get(querier!, '/api/v1/status/tsdb?limit=20')).data;
  expectClose(got.headStats.numSeries, want.headStats.numSeries, 'numSeries');
  expectClose(got.headStats.numLabelPairs, want.headStats.numLabelPairs, 'numLabelPairs');
  for (const key of ['seriesCountByMetricName', 'labelValueCountByLabelName', 'seriesCountByLabelValuePair'] as const) {
    const w = byName(want[key]);
    const g = byName(got[key]);
    // The same names, in the same order of size where sizes differ by more than the error.
    expect(new Set(g.keys())).toEqual(new Set(w.keys()));
    for (const [name, value] of w) expectClose(g.get(name)!, value, `${key} ${name}`);
  }
}

test('status/tsdb over the RF 3 ring equals the single node within the stated error', async () => {
  await compareTsdbStatus();
  // A plain sum of the receivers would count every series three times.
  const parts = await Promise.all(ring.map((r) => get(r, '/api/v1/status/tsdb')));
  const summed = parts.reduce((n, p) => n + p.data.headStats.numSeries, 0);
  const want = (await get(single[0], '/api/v1/status/tsdb')).data.headStats.numSeries;
  expect(summed).toBe(3 * want);
});

test('Mimir cardinality API over the ring equals the single node', async () => {
  const names = '/api/v1/cardinality/label_names?limit=50';
  const wantNames = await get(single[0], names);
  const gotNames = await get(querier!, names);
  expect(gotNames.label_names_count).toBe(wantNames.label_names_count);
  const w = new Map<string, number>(wantNames.cardinality.map((x: any) => [x.label_name, x.label_values_count]));
  for (const x of gotNames.cardinality) expectClose(x.label_values_count, w.get(x.label_name)!, `label_names ${x.label_name}`);

  const values =
    '/api/v1/cardinality/label_values?label_names[]=method&label_names[]=instance&selector=' + encodeURIComponent('{job="node"}');
  const wantValues = await get(single[0], values);
  const gotValues = await get(querier!, values);
  // Small counts are exact: the answer is equal but for the tenant's total (3042 series, estimated).
  expectClose(gotValues.series_count_total, wantValues.series_count_total, 'series_count_total');
  expect({ ...gotValues, series_count_total: 0 }).toEqual({ ...wantValues, series_count_total: 0 });

  const big = '/api/v1/cardinality/label_values?label_names[]=user_id&limit=5';
  const wantBig = await get(single[0], big);
  const gotBig = await get(querier!, big);
  expectClose(gotBig.series_count_total, wantBig.series_count_total, 'series_count_total');
  expectClose(gotBig.labels[0].label_values_count, wantBig.labels[0].label_values_count, 'user_id values');
  expectClose(gotBig.labels[0].series_count, wantBig.labels[0].series_count, 'user_id series');
  // Every user has 2 series: the top values are exact counts, and 5 of them are listed.
  expect(gotBig.labels[0].cardinality).toHaveLength(5);
  for (const v of gotBig.labels[0].cardinality) expect(v.series_count).toBe(2);

  const active = '/api/v1/cardinality/active_series?selector=' + encodeURIComponent('{__name__=~"up|node_cpu_seconds_total"}');
  const sortData = (d: Record<string, string>[]) => d.map((x) => JSON.stringify(x, Object.keys(x).sort())).sort();
  expect(sortData((await get(querier!, active)).data)).toEqual(sortData((await get(single[0], active)).data));
});

test('the growth answer over the ring names the exploding metric and label, as the single node does', async () => {
  const want = await get(single[0], '/api/v1/cardinality/growth?window=1h');
  const got = await get(querier!, '/api/v1/cardinality/growth?window=1h');
  expect(want.metrics[0].metric).toBe('http_requests_total');
  expect(want.metrics[0].fastest_growing_label).toBe('user_id');
  expect(got.metrics.map((m: any) => m.metric)).toEqual(want.metrics.map((m: any) => m.metric));
  for (const [i, m] of got.metrics.entries()) {
    expect(m.fastest_growing_label).toBe(want.metrics[i].fastest_growing_label);
    expectClose(m.series_created, want.metrics[i].series_created, `created ${m.metric}`);
    for (const [j, l] of m.labels.entries()) expectClose(l.new_values, want.metrics[i].labels[j].new_values, `${m.metric} ${l.label_name}`);
  }
  // The exported counter names the metric on each receiver.
  const text = await (await fetch(`${single[0].url}/metrics`)).text();
  expect(text).toContain(`strata_tenant_series_created_total{tenant="${TENANT}",metric="http_requests_total"} ${USERS * 2}`);
});

test('strata tools cardinality prints the top metrics, labels and growth of the cluster', async () => {
  const tool = startProcess(process.execPath, [
    STRATA_BIN,
    'tools',
    'cardinality',
    `--url=${querier!.url}`,
    `--tenant=${TENANT}`,
    '--limit=3',
  ]);
  expect((await tool.exited).code).toBe(0);
  const text = tool.stdout();
  const want = (await get(querier!, '/api/v1/status/tsdb?limit=3')).data;
  expect(text).toContain(`Tenant ${TENANT}: ${want.headStats.numSeries} active series`);
  const section = (title: string) => text.split(`\n${title}\n`)[1].split('\n\n')[0].split('\n').slice(1);
  // Rows in the order of the API's answer: the exploding metric first, then the label with the most values.
  expect(section('Top metrics by series').map((l) => l.trim().split(/\s+/)[1])).toEqual(
    want.seriesCountByMetricName.map((e: { name: string }) => e.name),
  );
  expect(section('Top labels by distinct values')[0].trim().split(/\s+/)[1]).toBe('user_id');
  const growth = section('Series created in the last 1h')[0].trim().split(/\s+/);
  expect(growth.slice(3)).toEqual(['user_id', 'http_requests_total']);
  // A tool run against nothing says so and exits non-zero.
  const bad = startProcess(process.execPath, [STRATA_BIN, 'tools', 'cardinality', `--url=${querier!.url}/nowhere`, `--tenant=${TENANT}`]);
  expect((await bad.exited).code).toBe(1);
});

test('with one receiver down the two replicas left give the same figures', async () => {
  await stop(ring[2]);
  await compareTsdbStatus();
});
