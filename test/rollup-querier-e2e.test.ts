/**
 * Rollups through a separate querier, with real processes: 30 days of raw day blocks in a
 * local-folder bucket, `strata compactor --compactor.run-once` passes that compact them and make 5m
 * and 1h rollups, then one `strata store-gateway` read by two `strata querier`s (PromQL on the main
 * thread, and on two worker threads) and one `strata all` over the same bucket. Month-long
 * query_range at a 1h step, with max_source_resolution auto (5m rollups) and 1h, answer the same
 * through all three, to the bit; they come from rollups (the gateway fetches a fraction of the bytes
 * the raw answer costs, quantiles come from sketches), and agree with the raw answer as
 * docs/format/downsampling.md says: exactly for counts, within 1% for quantiles.
 */
import { Labels, mulberry32 } from '@strata/model';
import { writeBlock, XOREncoder } from '@strata/tsdb';
import { getJson, startStrata, stop, waitFor, type Strata } from './harness.js';
import { downsampleBucket, folderBucket } from './rollup-bucket.js';

jest.setTimeout(300_000);

const H = 3600_000;
const DAY = 24 * H;
const DAYS = 30;
const SCRAPE = 60_000;
const OFFSET = 17_000; // scrapes off the window boundaries, as real ones are
const TENANT = 'anonymous';
// Day-aligned and old enough that every "after" of the compactor below has passed.
const END = Math.floor(Date.now() / DAY) * DAY - 2 * DAY;
const T0 = END - DAYS * DAY;

/** Counters (one resets every 3 days) and latency gauges with a long tail. */
const SERIES: { labels: Labels; value: (t: number, r: () => number) => number }[] = [
  ...[1, 2, 3].map((i) => ({
    labels: Labels.fromObject({ __name__: 'rq_requests_total', job: `job-${i % 2}`, instance: `i-${i}` }),
    value: (t: number) => (i === 2 ? ((t - T0) % (3 * DAY)) / SCRAPE : (t - T0) / SCRAPE) * i,
  })),
  ...[1, 2].map((i) => ({
    labels: Labels.fromObject({ __name__: 'rq_latency_seconds', job: `job-${i % 2}`, instance: `i-${i}` }),
    value: (_t: number, r: () => number) => 0.01 * i + 2 * r() ** 4,
  })),
];

/** One raw day block written straight into the bucket folder (the layout the gateway reads). */
async function putDay(tenantDir: string, from: number): Promise<void> {
  const series = SERIES.map((s, si) => {
    const r = mulberry32(from / 1000 + si);
    const chunks = [];
    let e = new XOREncoder();
    let minT = 0;
    let lastT = 0;
    for (let t = from + OFFSET; t < from + DAY; t += SCRAPE) {
      if (e.numSamples === 120) {
        chunks.push({ minT, maxT: lastT, data: e.bytes().slice() });
        e = new XOREncoder();
      }
      if (e.numSamples === 0) minT = t;
      e.append(t, s.value(t, r));
      lastT = t;
    }
    chunks.push({ minT, maxT: lastT, data: e.bytes().slice() });
    return { labels: s.labels, chunks };
  });
  await writeBlock(tenantDir, series, { minTime: from, maxTime: from + DAY, externalLabels: {} });
}

const QUERIES = [
  'sum by (job) (rate(rq_requests_total[2h]))',
  'increase(rq_requests_total{instance="i-2"}[1d])',
  'max_over_time(rq_latency_seconds[1h])',
  'count_over_time(rq_latency_seconds[3h])',
  'avg_over_time(rq_latency_seconds[1h])',
  'quantile_over_time(0.99, rq_latency_seconds[1d])',
];
const START = T0 + DAY;

type Matrix = { metric: Record<string, string>; values: [number, string][] }[];

async function range(url: string, query: string, resolution: string): Promise<Matrix> {
  const r = await getJson(
    `${url}/api/v1/query_range?query=${encodeURIComponent(query)}&start=${START / 1000}&end=${END / 1000}&step=3600&max_source_resolution=${resolution}`,
  );
  if (r.status !== 'success') throw new Error(`${query}: ${JSON.stringify(r).slice(0, 500)}`);
  return (r.data.result as Matrix).sort((a, b) => JSON.stringify(a.metric).localeCompare(JSON.stringify(b.metric)));
}

/** The gateway's bucket bytes read so far (strata_store_gateway_bucket_bytes_total over its kinds). */
async function bytesRead(gw: Strata): Promise<number> {
  const text = await (await fetch(`${gw.url}/metrics`)).text();
  let sum = 0;
  for (const m of text.matchAll(/^strata_store_gateway_bucket_bytes_total\{[^}]*\} (\S+)$/gm)) sum += Number(m[1]);
  return sum;
}

const procs: Strata[] = [];
afterAll(async () => {
  for (const p of procs.reverse()) await stop(p);
});

test('a 30-day query through a separate querier reads rollups and answers exactly as strata all', async () => {
  const { tenantDir, objstore } = folderBucket('rollup-querier', TENANT);
  for (let d = T0; d < END; d += DAY) await putDay(tenantDir, d);
  expect(
    await downsampleBucket(objstore, tenantDir, [
      '--compactor.block-ranges=24h,240h',
      '--compactor.downsample.5m-after=24h',
      '--compactor.downsample.1h-after=24h',
    ]),
  ).toEqual(new Set([0, 300_000, 3600_000]));

  const gw = await startStrata({
    component: 'store-gateway',
    // No caches: every query's bucket bytes are counted.
    args: [
      `--objstore.config-file=${objstore}`,
      '--store-gateway.sync-interval=1s',
      '--store-gateway.chunk-cache-bytes=0',
      '--store-gateway.index-cache-bytes=0',
    ],
  });
  procs.push(gw);
  const queriers = await Promise.all(
    ['0', '2'].map((workers) =>
      startStrata({ component: 'querier', args: [`--querier.stores=${gw.url}`, `--querier.workers=${workers}`] }),
    ),
  );
  procs.push(...queriers);
  const all = await startStrata({
    args: [`--objstore.config-file=${objstore}`, '--compactor.enabled=false', '--query-frontend.enabled=false', '--querier.workers=2'],
  });
  procs.push(all);
  // Ready once the gateways have read the bucket: the whole month answers.
  for (const url of [queriers[0].url, all.url]) {
    await waitFor(
      'the month is served',
      async () => (await range(url, 'count_over_time(rq_latency_seconds[1d])', '0s')).length === 2,
      60_000,
    );
  }

  let rawBytes = 0;
  let rollupBytes = 0;
  for (const query of QUERIES) {
    const before = await bytesRead(gw);
    const raw = await range(queriers[0].url, query, '0s');
    rawBytes += (await bytesRead(gw)) - before;
    for (const resolution of ['auto', '1h']) {
      const mark = await bytesRead(gw);
      const got = await range(queriers[0].url, query, resolution);
      if (resolution === '1h') rollupBytes += (await bytesRead(gw)) - mark;
      expect(got.length).toBeGreaterThan(0);
      // The same answer, to the bit, with PromQL on workers and through strata all.
      expect({ query, resolution, answer: await range(queriers[1].url, query, resolution) }).toEqual({ query, resolution, answer: got });
      expect({ query, resolution, answer: await range(all.url, query, resolution) }).toEqual({ query, resolution, answer: got });
      if (/count_over_time/.test(query)) expect(got).toEqual(raw);
      if (/quantile_over_time/.test(query)) {
        // From the sketches: not the raw values, but within their 1%.
        expect(got).not.toEqual(raw);
        for (const [i, s] of got.entries()) {
          const want = new Map(raw[i].values.map(([t, v]) => [t, Number(v)]));
          for (const [t, v] of s.values) expect(Math.abs(Number(v) - want.get(t)!)).toBeLessThanOrEqual(0.0101 * Math.abs(want.get(t)!));
        }
      }
    }
  }
  // Rollups were read: the gateway (caching nothing) fetched far fewer bucket bytes for the 1h
  // answers than for the raw ones.
  expect(rollupBytes).toBeGreaterThan(0);
  expect(rawBytes / rollupBytes).toBeGreaterThan(5);
});
