/**
 * `strata query-frontend` with real processes:
 * - in front of three `strata querier`s over one receiver, with max_queriers_per_tenant 1 by
 *   default and 2 for one tenant from the limits file: each tenant's queries reach only its own
 *   queriers (the rendezvous choice tenantQueriers computes), seen in each querier's own metrics;
 * - the cardinality endpoints (status/tsdb, Mimir's cardinality API) answered through it equal the
 *   querier's own answers;
 * - in front of a `strata all` with logs: Loki's read API through it equals `all`'s own answers.
 */
import fs from 'node:fs';
import path from 'node:path';
import { Labels } from '@strata/model';
import { encodeWriteRequestV1, snappyEncode } from '@strata/remote';
import { tenantQueriers } from '@strata/query-frontend';
import { startStrata, stop, tempDir, type Strata } from './harness.js';

jest.setTimeout(180_000);

const MT = '--auth.multitenancy-enabled';
const TENANTS = ['team-a', 'team-b', 'team-c', 'team-d'];
const WIDE = 'team-wide';
let receiver: Strata;
let queriers: Strata[] = [];
let frontend: Strata;
let all: Strata;
let logsFrontend: Strata;

async function writeMetrics(tenant: string): Promise<void> {
  const t = Date.now() - 60_000;
  const series = [];
  for (let i = 0; i < 6; i++)
    series.push({
      labels: Labels.fromObject({ __name__: 'up', job: `job-${i % 2}`, instance: `host-${i}` }),
      timestamps: [t],
      values: [1],
    });
  const r = await fetch(`${receiver.url}/api/v1/write`, {
    method: 'POST',
    body: snappyEncode(encodeWriteRequestV1(series)),
    headers: { 'Content-Type': 'application/x-protobuf', 'Content-Encoding': 'snappy', 'X-Scope-OrgID': tenant },
  });
  expect(r.status).toBe(204);
}

async function get(p: Strata, url: string, tenant: string): Promise<{ status: number; body: any }> {
  const r = await fetch(`${p.url}${url}`, { headers: { 'X-Scope-OrgID': tenant }, signal: AbortSignal.timeout(60_000) });
  return { status: r.status, body: await r.json() };
}

/** Range queries a querier answered, from its own request metrics. */
async function rangeQueriesServed(q: Strata): Promise<number> {
  const text = await (await fetch(`${q.url}/metrics`)).text();
  let n = 0;
  for (const line of text.split('\n'))
    if (line.startsWith('strata_request_duration_seconds_count{') && line.includes('route="/api/v1/query_range"'))
      n += Number(line.split(' ').pop());
  return n;
}

beforeAll(async () => {
  const dir = tempDir('frontend-routing');
  const limitsFile = path.join(dir, 'limits.yaml');
  fs.writeFileSync(limitsFile, `overrides:\n  ${WIDE}:\n    max_queriers_per_tenant: 2\n`);
  [receiver, all] = await Promise.all([startStrata({ component: 'receiver', args: [MT] }), startStrata({ args: [MT] })]);
  queriers = await Promise.all([0, 1, 2].map(() => startStrata({ component: 'querier', args: [MT, `--querier.stores=${receiver.url}`] })));
  [frontend, logsFrontend] = await Promise.all([
    startStrata({
      component: 'query-frontend',
      args: [
        MT,
        `--query-frontend.downstream-url=${queriers.map((q) => q.url).join(',')}`,
        '--limits.max-queriers-per-tenant=1',
        `--limits.file=${limitsFile}`,
        // Every query goes downstream: what reaches each querier is what is counted.
        '--query-frontend.results-cache.enabled=false',
      ],
    }),
    startStrata({ component: 'query-frontend', args: [MT, `--query-frontend.downstream-url=${all.url}`] }),
  ]);
  await Promise.all([...TENANTS, WIDE].map((t) => writeMetrics(t)));
});

afterAll(async () => {
  await Promise.all([frontend, logsFrontend, ...queriers, receiver, all].filter(Boolean).map((p) => stop(p)));
});

test("each tenant's queries reach only its own queriers (max_queriers_per_tenant)", async () => {
  const urls = queriers.map((q) => q.url);
  const end = Math.floor(Date.now() / 1000);
  const range = `/api/v1/query_range?query=${encodeURIComponent('sum(up)')}&start=${end - 600}&end=${end}&step=60`;
  for (const [tenant, n] of [...TENANTS.map((t) => [t, 1] as const), [WIDE, 2] as const]) {
    const before = await Promise.all(queriers.map(rangeQueriesServed));
    // Concurrent, so that the frontend spreads them over all the queriers it may use.
    const answers = await Promise.all(Array.from({ length: 8 }, () => get(frontend, range, tenant)));
    for (const a of answers) {
      expect(a.status).toBe(200);
      expect(a.body.data.result[0].values.at(-1)[1]).toBe('6');
    }
    const after = await Promise.all(queriers.map(rangeQueriesServed));
    const reached = urls.filter((_, i) => after[i] > before[i]);
    const own = tenantQueriers(tenant, urls, n);
    expect({ tenant, reached: new Set(reached) }).toEqual({ tenant, reached: new Set(own) });
    expect(after.reduce((s, x) => s + x, 0) - before.reduce((s, x) => s + x, 0)).toBe(8);
  }
});

test('the cardinality endpoints through the frontend equal the querier', async () => {
  for (const url of [
    '/api/v1/status/tsdb?limit=5',
    '/api/v1/cardinality/label_names?limit=10',
    '/api/v1/cardinality/label_values?label_names[]=job&label_names[]=instance',
    `/api/v1/cardinality/active_series?selector=${encodeURIComponent('up{job="job-1"}')}`,
  ]) {
    const want = await get(queriers[0], url, 'team-a');
    expect(want.status).toBe(200);
    const got = await get(frontend, url, 'team-a');
    expect({ url, status: got.status, body: got.body }).toEqual({ url, status: 200, body: want.body });
  }
  // Another tenant sees its own figures through the frontend: the tenant header is passed on.
  const other = await get(frontend, '/api/v1/status/tsdb', 'team-nobody');
  expect(other).toEqual(await get(queriers[1], '/api/v1/status/tsdb', 'team-nobody'));
  expect(other.body).not.toEqual((await get(frontend, '/api/v1/status/tsdb', 'team-a')).body);
});

test("Loki's read API through the frontend equals strata all's", async () => {
  const nowNs = BigInt(Date.now() - 30_000) * 1_000_000n;
  const streams = [0, 1, 2].map((s) => ({
    stream: { app: 'routing', pod: `pod-${s}` },
    values: Array.from({ length: 5 }, (_, i) => [String(nowNs + BigInt(s * 10 + i) * 1_000_000n), `level=info pod=${s} line=${i}`]),
  }));
  const push = await fetch(`${all.url}/loki/api/v1/push`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', 'X-Scope-OrgID': 'team-logs' },
    body: JSON.stringify({ streams }),
  });
  expect(push.status).toBe(204);
  const startNs = nowNs - 60_000_000_000n;
  const endNs = nowNs + 60_000_000_000n;
  const q = (s: string) => encodeURIComponent(s);
  for (const url of [
    `/loki/api/v1/query_range?query=${q('{app="routing"}')}&start=${startNs}&end=${endNs}&limit=100&direction=forward`,
    `/loki/api/v1/query_range?query=${q('sum by (pod) (count_over_time({app="routing"}[1m]))')}&start=${startNs}&end=${endNs}&step=30`,
    `/loki/api/v1/labels?start=${startNs}&end=${endNs}`,
    `/loki/api/v1/label/pod/values?start=${startNs}&end=${endNs}`,
    `/loki/api/v1/series?match[]=${q('{app="routing"}')}&start=${startNs}&end=${endNs}`,
  ]) {
    const want = await get(all, url, 'team-logs');
    expect({ url, status: want.status }).toEqual({ url, status: 200 });
    const got = await get(logsFrontend, url, 'team-logs');
    // Loki's answers carry the time the query took; the rest must be the same.
    delete want.body.data?.stats;
    delete got.body.data?.stats;
    expect({ url, status: got.status, body: got.body }).toEqual({ url, status: 200, body: want.body });
  }
  const lines = (
    await get(logsFrontend, `/loki/api/v1/query_range?query=${q('{app="routing"}')}&start=${startNs}&end=${endNs}&limit=100`, 'team-logs')
  ).body.data.result.flatMap((s: { values: unknown[] }) => s.values);
  expect(lines).toHaveLength(15);
});
