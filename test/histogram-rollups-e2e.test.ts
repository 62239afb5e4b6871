/**
 * Native histograms through the compactor's downsampling, with real processes: four raw day
 * blocks of counter histograms (one series resets mid-way) in a local-folder bucket,
 * `strata compactor --compactor.run-once` passes that make 5m and 1h rollups of them, then
 * `strata all` and a `strata querier` reading a `strata store-gateway` over the same bucket.
 * rate/increase and the histogram functions at a 1h step over the rollups answer as over the raw
 * data (steady rates: equal to float rounding), through both, as docs/format/downsampling.md says.
 */
import { Labels } from '@strata/model';
import { CounterResetHeader, FloatHistogramChunkEncoder, writeBlock } from '@strata/tsdb';
import { getJson, startStrata, stop, waitFor, type Strata } from './harness.js';
import { downsampleBucket, folderBucket } from './rollup-bucket.js';

jest.setTimeout(180_000);

const H = 3600_000;
const DAY = 24 * H;
const DAYS = 4;
const SCRAPE = 60_000;
const OFFSET = 17_000; // scrapes off the window boundaries, as real ones are
const TENANT = 'anonymous';
const END = Math.floor(Date.now() / DAY) * DAY - 2 * DAY;
const T0 = END - DAYS * DAY;
const BUCKETS = 5;

/** Bucket counts of instance `i` at time t: steady per-bucket rates; i-2 starts over on day 2 at 06:00. */
function counts(i: number, t: number): number[] {
  const resetAt = T0 + DAY + 6 * H;
  const since = i === 2 && t >= resetAt ? resetAt : T0;
  const n = Math.floor((t - since) / SCRAPE) + 1;
  return Array.from({ length: BUCKETS }, (_, b) => n * (BUCKETS - b) * i);
}

async function putDay(tenantDir: string, from: number): Promise<void> {
  const series = [1, 2].map((i) => {
    const chunks = [];
    let e = new FloatHistogramChunkEncoder(CounterResetHeader.Unknown);
    let minT = 0;
    let lastT = 0;
    let prev = -1;
    for (let t = from + OFFSET; t < from + DAY; t += SCRAPE) {
      const c = counts(i, t);
      const reset = c[0] < prev;
      prev = c[0];
      if (e.numSamples === 120 || (reset && e.numSamples > 0)) {
        chunks.push({ minT, maxT: lastT, data: e.bytes().slice(), encoding: e.encoding });
        e = new FloatHistogramChunkEncoder(reset ? CounterResetHeader.CounterReset : CounterResetHeader.Unknown);
      }
      if (e.numSamples === 0) minT = t;
      let count = 0;
      let sum = 0;
      c.forEach((x, b) => {
        count += x;
        sum += x * 2 ** b * 0.75;
      });
      e.append(t, {
        schema: 0,
        zeroThreshold: 0,
        zeroCount: 0,
        count,
        sum,
        positiveSpans: [{ offset: -2, length: BUCKETS }],
        positiveBuckets: c,
        negativeSpans: [],
        negativeBuckets: [],
        customValues: [],
      });
      lastT = t;
    }
    chunks.push({ minT, maxT: lastT, data: e.bytes().slice(), encoding: e.encoding });
    return { labels: Labels.fromObject({ __name__: 'rq_duration_seconds', job: 'api', instance: `i-${i}` }), chunks };
  });
  await writeBlock(tenantDir, series, { minTime: from, maxTime: from + DAY, externalLabels: {} });
}

const QUERIES = [
  'histogram_count(rate(rq_duration_seconds[2h]))',
  'histogram_sum(increase(rq_duration_seconds[6h]))',
  'histogram_quantile(0.9, sum(rate(rq_duration_seconds[2h])))',
  'sum by (job) (histogram_count(increase(rq_duration_seconds[1d])))',
];
const START = T0 + DAY;

type Matrix = { metric: Record<string, string>; values: [number, string][]; histograms?: [number, { count: string; sum: string }][] }[];

async function range(url: string, query: string, resolution: string): Promise<Matrix> {
  const r = await getJson(
    `${url}/api/v1/query_range?query=${encodeURIComponent(query)}&start=${START / 1000}&end=${END / 1000}&step=3600&max_source_resolution=${resolution}`,
  );
  if (r.status !== 'success') throw new Error(`${query}: ${JSON.stringify(r).slice(0, 500)}`);
  return (r.data.result as Matrix).sort((a, b) => JSON.stringify(a.metric).localeCompare(JSON.stringify(b.metric)));
}

function expectClose(got: Matrix, want: Matrix, what: string): void {
  expect(got.map((s) => s.metric)).toEqual(want.map((s) => s.metric));
  got.forEach((s, i) => {
    expect(s.values.map(([t]) => t)).toEqual(want[i].values.map(([t]) => t));
    s.values.forEach(([t, v], k) => {
      const w = Number(want[i].values[k][1]);
      if (Math.abs(Number(v) - w) > 1e-9 * Math.max(1, Math.abs(w))) throw new Error(`${what} at ${t}: rollup ${v}, raw ${w}`);
    });
  });
}

const procs: Strata[] = [];
afterAll(async () => {
  for (const p of procs.reverse()) await stop(p);
});

test('rollups of native histograms answer rate and histogram functions as the raw data, in strata all and through a store gateway', async () => {
  const { tenantDir, objstore } = folderBucket('histogram-rollups', TENANT);
  for (let d = T0; d < END; d += DAY) await putDay(tenantDir, d);
  expect(
    await downsampleBucket(objstore, tenantDir, [
      '--compactor.block-ranges=24h,96h',
      '--compactor.downsample.5m-after=24h',
      '--compactor.downsample.1h-after=24h',
    ]),
  ).toEqual(new Set([0, 300_000, 3600_000]));

  const gw = await startStrata({
    component: 'store-gateway',
    args: [`--objstore.config-file=${objstore}`, '--store-gateway.sync-interval=1s'],
  });
  procs.push(gw);
  const querier = await startStrata({ component: 'querier', args: [`--querier.stores=${gw.url}`] });
  procs.push(querier);
  const all = await startStrata({
    args: [`--objstore.config-file=${objstore}`, '--compactor.enabled=false', '--query-frontend.enabled=false'],
  });
  procs.push(all);
  for (const url of [querier.url, all.url]) {
    await waitFor('the days are served', async () => (await range(url, QUERIES[0], '0s')).length === 2, 60_000);
  }

  for (const query of QUERIES) {
    const raw = await range(all.url, query, '0s');
    expect(raw.length).toBeGreaterThan(0);
    for (const resolution of ['5m', '1h']) {
      const got = await range(all.url, query, resolution);
      expectClose(got, raw, `${query} at ${resolution}`);
      expect({ query, resolution, answer: await range(querier.url, query, resolution) }).toEqual({ query, resolution, answer: got });
    }
  }
  // The answers above came from rollups: a plain selector reads the windows' average histograms
  // there, not the last raw histogram before each step.
  const plain = 'histogram_count(rq_duration_seconds)';
  const [avg, last] = [await range(all.url, plain, '1h'), await range(all.url, plain, '0s')];
  expect(avg.length).toBe(2);
  expect(avg.map((s) => s.values.length)).toEqual(last.map((s) => s.values.length));
  expect(avg).not.toEqual(last);
  expect(await range(querier.url, plain, '1h')).toEqual(avg);
});
