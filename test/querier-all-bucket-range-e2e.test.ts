/**
 * A querier in front of `strata all` reads what `all` serves from its bucket. `all` answers reads
 * from its head and local blocks and, through its in-process store gateway, from the bucket; a
 * querier leaves a store out of a range the store says it does not hold (its
 * /api/v1/status/stores answer). So `all` must name the bucket's range too: here the bucket holds
 * real promtool blocks two days back that `all` never wrote locally, and the head a sample of now.
 */
import path from 'node:path';
import { Labels } from '@strata/model';
import { getJson, promtoolBlocksInto, pushV1, startStrata, stop, waitFor, type Strata } from './harness.js';

jest.setTimeout(120_000);

const MIN = 60_000;
const HOUR = 60 * MIN;
const start = Math.floor((Date.now() - 48 * HOUR) / HOUR) * HOUR;
const end = start + 30 * MIN;
const procs: Strata[] = [];

afterAll(async () => {
  await Promise.all(procs.map((p) => stop(p)));
});

async function steps(url: string): Promise<number> {
  const q = encodeURIComponent('count_over_time(old_in_bucket[30s])');
  const body = await getJson(`${url}/api/v1/query_range?query=${q}&start=${start / 1000}&end=${end / 1000}&step=60`);
  expect(body.status).toBe('success');
  return body.data.result[0]?.values.length ?? 0;
}

test('strata all names its bucket range to queriers, which then read the bucket through it', async () => {
  const all = await startStrata({ args: ['--store-gateway.sync-interval=300ms'] });
  procs.push(all);
  const now = Date.now();
  expect(await pushV1(all.url, [{ labels: Labels.fromObject({ __name__: 'fresh', job: 'new' }), timestamps: [now], values: [1] }])).toBe(
    204,
  );
  const lines = ['# TYPE old_in_bucket gauge'];
  for (let t = start; t <= end; t += MIN) lines.push(`old_in_bucket{job="old"} ${(t - start) / MIN} ${t / 1000}`);
  expect(promtoolBlocksInto(path.join(all.dataDir, 'bucket', 'anonymous'), lines.join('\n'))).toBeGreaterThan(0);
  await waitFor('the gateway of all serves the copied blocks', async () => (await steps(all.url)) === 31 || undefined, 20_000, 100);

  const info = await getJson(`${all.url}/api/v1/status/stores`);
  expect(info.data.anonymous.minTime).toBeLessThanOrEqual(start);
  expect(info.data.anonymous.maxTime).toBeGreaterThanOrEqual(now);

  const querier = await startStrata({ component: 'querier', args: [`--querier.stores=${all.url}`, '--querier.workers=0'] });
  procs.push(querier);
  // The querier learns a tenant's range of each store at the tenant's first query; every answer,
  // before and after it knows the range, holds the bucket's samples.
  for (let i = 0; i < 5; i++) {
    expect(await steps(querier.url)).toBe(31);
    await new Promise((r) => setTimeout(r, 200));
  }
});
