/**
 * A backfill into a range the query frontend has cached: blocks made by the real `promtool tsdb
 * create-blocks-from openmetrics` are copied into the bucket, two days back (far outside any
 * out-of-order window: the way old data gets in). Once a store gateway's sync finds such a block
 * (one Strata did not write itself), the frontend stops serving the answers it cached over the
 * block's range: in `strata all` at once, and for a standalone frontend through the gateway's
 * late-data log, relayed by the querier, within a poll interval.
 */
import fs from 'node:fs';
import path from 'node:path';
import { promtoolBlocksInto, startStrata, stop, tempDir, type Strata } from './harness.js';

jest.setTimeout(120_000);

const MIN = 60_000;
const HOUR = 60 * MIN;
const SYNC = '--store-gateway.sync-interval=300ms';
const start = Math.floor((Date.now() - 48 * HOUR) / HOUR) * HOUR;
const end = start + 30 * MIN;
const procs: Strata[] = [];

/** promtool's block(s) for `name` with a sample per minute over [start, end], copied into the tenant's bucket folder. */
function backfill(bucketDir: string, name: string): void {
  const lines = [`# TYPE ${name} gauge`];
  for (let t = start; t <= end; t += MIN) lines.push(`${name}{job="old"} ${(t - start) / MIN} ${t / 1000}`);
  expect(promtoolBlocksInto(path.join(bucketDir, 'anonymous'), lines.join('\n'))).toBeGreaterThan(0);
}

async function steps(url: string, name: string): Promise<number> {
  const q = encodeURIComponent(`count_over_time(${name}[30s])`);
  const r = await fetch(`${url}/api/v1/query_range?query=${q}&start=${start / 1000}&end=${end / 1000}&step=60`);
  expect(r.status).toBe(200);
  const body = (await r.json()) as any;
  return body.data.result[0]?.values.length ?? 0;
}

async function metric(url: string, line: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const found = text.split('\n').find((l) => l.startsWith(`${line} `));
  return found ? Number(found.split(' ').pop()) : 0;
}

const HIT = 'strata_query_frontend_results_cache_lookups_total{result="hit"}';

/** Caches the empty answer, backfills, and waits for the frontend to answer with the backfill. */
async function cachedThenBackfilled(frontendUrl: string, bucketDir: string, name: string): Promise<void> {
  expect(await steps(frontendUrl, name)).toBe(0);
  const hits = await metric(frontendUrl, HIT);
  expect(await steps(frontendUrl, name)).toBe(0);
  expect(await metric(frontendUrl, HIT)).toBeGreaterThan(hits);
  backfill(bucketDir, name);
  const copied = Date.now();
  let n = await steps(frontendUrl, name);
  while (n === 0 && Date.now() - copied < 10_000) {
    await new Promise((r) => setTimeout(r, 100));
    n = await steps(frontendUrl, name);
  }
  expect(n).toBe(31);
}

afterAll(async () => {
  await Promise.all(procs.map((p) => stop(p)));
});

test('strata all: a block backfilled into a cached range is in the next answers after the sync finds it', async () => {
  const all = await startStrata({ args: [SYNC] });
  procs.push(all);
  await cachedThenBackfilled(all.url, path.join(all.dataDir, 'bucket'), 'backfilled_all');
});

test('a standalone frontend hears of the backfill from the gateway, through the querier', async () => {
  const bucketDir = tempDir('bucket');
  const bucketCfg = path.join(tempDir('cfg'), 'bucket.yml');
  fs.writeFileSync(bucketCfg, `type: FILESYSTEM\nconfig:\n  directory: ${bucketDir}\n`);
  const gateway = await startStrata({ component: 'store-gateway', args: [SYNC, `--objstore.config-file=${bucketCfg}`] });
  procs.push(gateway);
  const querier = await startStrata({ component: 'querier', args: [`--querier.stores=${gateway.url}`, '--querier.workers=0'] });
  procs.push(querier);
  const frontend = await startStrata({
    component: 'query-frontend',
    args: [`--query-frontend.downstream-url=${querier.url}`, '--query-frontend.late-data-poll-interval=300ms'],
  });
  procs.push(frontend);
  await cachedThenBackfilled(frontend.url, bucketDir, 'backfilled_standalone');
  expect(await metric(frontend.url, 'strata_query_frontend_late_data_notices_total')).toBeGreaterThan(0);
});
