/**
 * The query worker pool against the Engine on the main thread: the same answers over a real TSDB
 * (head with out-of-order samples and native histograms, and blocks), errors with their IDs, statuses and Retry-After,
 * cancellation and timeouts reaching the main thread's storage calls, a worker that dies, and
 * queries over rollups (5m and 1h blocks joined with raw data) with their side data.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { Labels, StrataError, type Matcher, type Querier, type SelectHints } from '@strata/model';
import { Engine, type QueryOutcome } from '@strata/promql';
import {
  BlockReader,
  BlockSetQuerier,
  downsampleBlocks,
  RES_1H,
  RES_5M,
  STALE_NAN,
  TSDB,
  type HistogramSample,
  type TenantDB,
} from '@strata/tsdb';
import { resultJson } from './promql-api.js';
import { QueryWorkerPool } from './worker-pool.js';

const HOUR = 3_600_000;
const T0 = 10 * HOUR;
let dir: string;
let db: TSDB;
let tenant: TenantDB;
let pool: QueryWorkerPool;
const engine = new Engine({ maxSamples: 5_000_000 });

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'strata-pool-'));
  db = await TSDB.open({
    dir,
    fsync: 'none',
    blockDurationMs: HOUR,
    compactIntervalMs: 0,
    head: { outOfOrderWindowMs: 10 * HOUR, samplesPerChunk: 60, maxSeries: 0 },
  });
  tenant = await db.tenant('t');
  const app = tenant.appender();
  const refs: number[] = [];
  for (const job of ['api', 'web', 'db'])
    for (const instance of ['a', 'b', 'c']) refs.push(app.ref(Labels.fromObject({ __name__: 'req_total', job, instance })));
  const gauge = app.ref(Labels.fromObject({ __name__: 'temp', room: 'x' }));
  for (let t = T0; t <= T0 + 3 * HOUR; t += 15_000) {
    refs.forEach((r, i) => app.append(r, t, (t - T0) / 1000 + i * ((t / 15_000) % 7)));
    // Every 50th sample of the gauge is stale; the rest mixes NaN and infinities in.
    const k = (t - T0) / 15_000;
    app.append(gauge, t, k % 50 === 49 ? STALE_NAN : k % 31 === 0 ? NaN : k % 37 === 0 ? Infinity : Math.sin(k));
  }
  await app.commit();
  // Older ranges become blocks; then samples arrive out of order into a range the head still holds.
  await tenant.compact();
  const late = tenant.appender();
  const lateRef = late.ref(Labels.fromObject({ __name__: 'req_total', job: 'api', instance: 'a' }));
  for (let t = T0 + 3 * HOUR - 30 * 60_000 + 7_000; t < T0 + 3 * HOUR; t += 60_000) late.append(lateRef, t, 1e6);
  // Native histograms in the head's last hour: integer counters per job with a reset, a float
  // gauge, a stale marker; chunks closed and open (samplesPerChunk 60).
  for (const [j, job] of ['api', 'web'].entries()) {
    const ref = late.ref(Labels.fromObject({ __name__: 'lat_seconds', job }));
    let k = 0;
    for (let t = T0 + 2 * HOUR + 10 * 60_000; t <= T0 + 3 * HOUR; t += 15_000, k++) {
      const n = k < 150 ? k : k - 150; // a counter reset
      const b = [n, 2 * n + j, n % 5, 3];
      const abs = b.map((_, i) => b.slice(0, i + 1).reduce((x, y) => x + y, 0));
      late.appendHistogram(ref, t, nativeHistogram(abs, false), false, 0);
    }
  }
  const gaugeRef = late.ref(Labels.fromObject({ __name__: 'lat_gauge' }));
  for (let t = T0 + 2 * HOUR + 10 * 60_000, k = 0; t <= T0 + 3 * HOUR; t += 30_000, k++) {
    const h = nativeHistogram([k % 7, 1 + (k % 3), 2.5], true);
    if (k === 40) h.sum = STALE_NAN;
    late.appendHistogram(gaugeRef, t, h, true, 3);
  }
  await late.commit();
  pool = new QueryWorkerPool({ size: 2, engine: engine.opts });
});

/** Positive buckets 0..n-1 of schema 0 with these counts (absolute for floats; integer samples carry deltas). */
function nativeHistogram(counts: number[], float: boolean): HistogramSample {
  const total = counts.reduce((a, b) => a + b, 0);
  return {
    schema: 0,
    zeroThreshold: 1e-128,
    zeroCount: 0,
    count: total,
    sum: total * 1.25,
    positiveSpans: [{ offset: 0, length: counts.length }],
    positiveBuckets: float ? counts : counts.map((c, i) => c - (i > 0 ? counts[i - 1] : 0)),
    negativeSpans: [],
    negativeBuckets: [],
    customValues: [],
  };
}

afterAll(async () => {
  await pool.close();
  await db.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

/** Outcomes compared as the API answers them (labels' caches and NaN payloads do not show there). */
const answer = (o: QueryOutcome) => ({ data: resultJson(o.result, 0, []), warnings: o.warnings, infos: o.infos });
const same = (a: QueryOutcome, b: QueryOutcome) => expect(answer(a)).toEqual(answer(b));

const QUERIES = [
  'req_total',
  'rate(req_total[5m])',
  'sum by (job) (rate(req_total[5m]))',
  'count({__name__=~".+"})',
  'topk(3, req_total)',
  'max_over_time(temp[30m])',
  'temp',
  'histogram_quantile(0.9, sum by (le) (rate(req_total[5m])))',
  'req_total{job="api"} / ignoring(instance) group_left sum by (job) (req_total)',
  'avg_over_time(rate(req_total[5m])[30m:1m])',
  'label_replace(req_total, "x", "$1", "instance", "(.*)")',
  'absent(nothing)',
  'scalar(sum(req_total))',
  'time()',
  '"a string"',
  'lat_seconds',
  'lat_gauge',
  'histogram_quantile(0.9, sum(rate(lat_seconds[5m])))',
  'histogram_count(increase(lat_seconds[10m]))',
  'sum by (job) (rate(lat_seconds[5m]))',
  'histogram_fraction(0, 4, lat_gauge)',
];

describe('worker pool answers what the engine answers', () => {
  test.each(QUERIES)('instant and range: %s', async (query) => {
    const q = tenant.querier();
    for (const t of [T0 + 30 * 60_000, T0 + 2 * HOUR + 55 * 60_000, T0 + 3 * HOUR]) {
      same(await pool.instantQuery(q, query, t), await engine.instantQuery(q, query, t));
    }
    if (query.startsWith('"')) return;
    same(await pool.rangeQuery(q, query, T0, T0 + 3 * HOUR, 60_000), await engine.rangeQuery(q, query, T0, T0 + 3 * HOUR, 60_000));
  });

  test('native histograms reach the workers: instant and range answers carry them', async () => {
    const q = tenant.querier();
    const v = (await pool.instantQuery(q, 'lat_seconds', T0 + 3 * HOUR)).result;
    expect(v.resultType === 'vector' && v.vector.map((s) => s.h?.count)).toEqual([expect.any(Number), expect.any(Number)]);
    const m = (await pool.rangeQuery(q, 'rate(lat_seconds[5m])', T0 + 2 * HOUR, T0 + 3 * HOUR, 60_000)).result;
    expect(m.resultType === 'matrix' && m.matrix.every((s) => s.histograms?.some((h) => h && h.count > 0))).toBe(true);
  });

  test('random ranges and steps of random queries agree (property)', async () => {
    const q = tenant.querier();
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...QUERIES.filter((x) => !x.startsWith('"'))),
        fc.integer({ min: -HOUR, max: 4 * HOUR }),
        fc.integer({ min: 0, max: 4 * HOUR }),
        fc.integer({ min: 1, max: 600 }),
        async (query, from, len, stepS) => {
          const start = T0 + from;
          const end = start + len;
          const step = stepS * 1000;
          if (len / step > 11_000) return;
          same(await pool.rangeQuery(q, query, start, end, step), await engine.rangeQuery(q, query, start, end, step));
        },
      ),
      { numRuns: 40, seed: 7 },
    );
    // The workers run at nice 10 (see below): beside other suites on CI's two cores they get a
    // small share of the CPU, so 40 range queries take far longer than alone.
  }, 120_000);

  test('on Linux the worker threads run nicer than the main thread (ingest first under contention)', async () => {
    await pool.instantQuery(tenant.querier(), '1', T0);
    for (let i = 0; i < 100 && pool.threads().some((t) => t === undefined); i++) await new Promise((r) => setTimeout(r, 10));
    const threads = pool.threads();
    expect(threads).toHaveLength(2);
    if (process.platform !== 'linux') return;
    // A process already nicer than 10 stays as it is (lowering niceness needs privileges).
    const want = Math.max(10, os.getPriority(process.pid));
    for (const t of threads) {
      // Read back from the kernel, not from what the worker claims.
      expect(t!.tid).not.toBe(process.pid);
      expect(os.getPriority(t!.tid!)).toBe(want);
    }
  });

  test('queries run on both workers at once', async () => {
    const gate = hanging();
    const a = pool.instantQuery(gate.querier, 'x', T0);
    const b = pool.instantQuery(gate.querier, 'y', T0);
    await gate.started(2);
    expect(pool.load()).toEqual([1, 1]);
    gate.release();
    await expect(a).resolves.toMatchObject({ result: { resultType: 'vector', vector: [] } });
    await expect(b).resolves.toMatchObject({ result: { resultType: 'vector', vector: [] } });
  });

  test('range selects cross undecoded unless their max_source_resolution reaches a rollup', async () => {
    // The tenant's querier, with its decoded select counted: that one runs on the main thread.
    const real = tenant.querier();
    let decoded = 0;
    const counted: Querier = {
      select: (ms, h) => (decoded++, real.select(ms, h)),
      selectRawInto: real.selectRawInto?.bind(real),
      series: real.series.bind(real),
      labelNames: real.labelNames.bind(real),
      labelValues: real.labelValues.bind(real),
    };
    // [range, step, max_source_resolution, decoded on the main thread]: auto is step / 5, and a
    // rate reads rollups only of windows its range holds two of.
    const cases: [string, number, 'auto' | number, boolean][] = [
      ['10m', 60_000, 'auto', false],
      ['10m', 20 * 60_000, 'auto', false],
      ['10m', 60_000, 4 * 60_000, false],
      ['10m', 25 * 60_000, 'auto', true],
      ['10m', 60_000, 5 * 60_000, true],
      ['5m', 60_000, 5 * 60_000, false],
    ];
    for (const [range, step, maxResolution, want] of cases) {
      decoded = 0;
      const o = { maxResolution };
      const query = `sum by (job) (rate(req_total[${range}]))`;
      same(
        await pool.rangeQuery(counted, query, T0, T0 + 3 * HOUR, step, o),
        await engine.rangeQuery(real, query, T0, T0 + 3 * HOUR, step, o),
      );
      expect([range, step, maxResolution, decoded > 0]).toEqual([range, step, maxResolution, want]);
    }
  });
});

/** A querier whose selects wait until released or aborted; it records the aborts it sees. */
function hanging() {
  let started = 0;
  const aborted: unknown[] = [];
  let release!: () => void;
  const released = new Promise<void>((r) => (release = r));
  const querier: Querier = {
    select: (_m: readonly Matcher[], h: SelectHints) =>
      new Promise((resolve, reject) => {
        started++;
        h.signal?.addEventListener('abort', () => {
          aborted.push(h.signal!.reason);
          reject(h.signal!.reason);
        });
        void released.then(() => resolve([]));
      }),
    series: async () => [],
    labelNames: async () => [],
    labelValues: async () => [],
  };
  return {
    querier,
    aborted,
    release,
    started: async (n: number) => {
      for (let i = 0; i < 500 && started < n; i++) await new Promise((r) => setTimeout(r, 10));
      expect(started).toBe(n);
    },
  };
}

describe('errors, cancellation and crashes', () => {
  test.each([
    [new StrataError('store-unavailable', 'store s1 failed: down', { retryAfter: 7 }), 503, 7],
    [new StrataError('query-max-series', 'too many series'), 422, undefined],
  ])('a storage error reaches the caller with its ID, status and Retry-After: %s', async (err, status, retryAfter) => {
    const failing: Querier = {
      select: async () => {
        throw err;
      },
      series: async () => [],
      labelNames: async () => [],
      labelValues: async () => [],
    };
    const e = (await pool.instantQuery(failing, 'sum(up)', T0).catch((x) => x)) as StrataError;
    expect(e).toBeInstanceOf(StrataError);
    expect({ id: e.id, status: e.status, retryAfter: e.retryAfter, message: e.message }).toEqual({
      id: err.id,
      status,
      retryAfter,
      message: err.message,
    });
  });

  test('evaluation errors keep their ID: too many samples, wrong expression type for a range query', async () => {
    const small = new QueryWorkerPool({ size: 1, engine: new Engine({ maxSamples: 100 }).opts });
    try {
      const q = tenant.querier();
      await expect(small.instantQuery(q, 'count_over_time(req_total[3h])', T0 + 3 * HOUR)).rejects.toMatchObject({
        id: 'query-too-many-samples',
        status: 422,
      });
      await expect(small.rangeQuery(q, 'req_total[5m]', T0, T0 + HOUR, 60_000)).rejects.toMatchObject({ id: 'bad-query', status: 400 });
    } finally {
      await small.close();
    }
  });

  test('the caller going away cancels the query and its storage call on the main thread', async () => {
    const gate = hanging();
    const ac = new AbortController();
    const p = pool.instantQuery(gate.querier, 'up', T0, { signal: ac.signal });
    await gate.started(1);
    ac.abort();
    await expect(p).rejects.toMatchObject({ id: 'query-canceled', status: 503 });
    for (let i = 0; i < 100 && gate.aborted.length === 0; i++) await new Promise((r) => setTimeout(r, 10));
    expect(gate.aborted).toHaveLength(1);
    expect(pool.load()).toEqual([0, 0]);
  });

  test('a query past its timeout fails with 503 timeout and its storage call is aborted', async () => {
    const gate = hanging();
    const p = pool.instantQuery(gate.querier, 'up', T0, { timeoutMs: 200 });
    await expect(p).rejects.toMatchObject({ id: 'query-timeout', status: 503 });
    for (let i = 0; i < 100 && gate.aborted.length === 0; i++) await new Promise((r) => setTimeout(r, 10));
    expect(gate.aborted).toHaveLength(1);
  });

  test('a worker that dies fails its queries with 500 and is replaced; the pool keeps answering', async () => {
    const gate = hanging();
    const before = pool.replaced;
    const p = pool.instantQuery(gate.querier, 'up', T0);
    await gate.started(1);
    const busy = pool.load().findIndex((n) => n === 1);
    await pool.crashWorkerForTest(busy);
    await expect(p).rejects.toMatchObject({ id: 'query-worker-failed', status: 500 });
    expect(pool.replaced).toBe(before + 1);
    expect(pool.size).toBe(2);
    const q = tenant.querier();
    for (let i = 0; i < 4; i++)
      same(await pool.instantQuery(q, 'sum(req_total)', T0 + HOUR), await engine.instantQuery(q, 'sum(req_total)', T0 + HOUR));
    gate.release();
  });

  test('workers that cannot start are given up after a few tries: queries fail with 500, nothing spins', async () => {
    const bad = path.join(dir, 'broken-worker.mjs');
    fs.writeFileSync(bad, 'throw new Error("broken on purpose");\n');
    const broken = new QueryWorkerPool({ size: 1, engine: engine.opts, workerFile: new URL(`file://${bad}`) });
    try {
      for (let i = 0; i < 200 && broken.replaced < 2; i++) await new Promise((r) => setTimeout(r, 10));
      await new Promise((r) => setTimeout(r, 300));
      expect(broken.replaced).toBe(2);
      await expect(broken.instantQuery(tenant.querier(), 'up', T0)).rejects.toMatchObject({ id: 'query-worker-failed', status: 500 });
    } finally {
      await broken.close();
    }
  });
});

describe('queries over rollups evaluate on the workers as on the main thread', () => {
  const H = 6;
  let rdir: string;
  let readers: BlockReader[];
  let rollups: Querier;

  beforeAll(async () => {
    rdir = fs.mkdtempSync(path.join(os.tmpdir(), 'strata-pool-rollup-'));
    const rdb = await TSDB.open({
      dir: rdir,
      fsync: 'none',
      blockDurationMs: HOUR,
      compactIntervalMs: 0,
      head: { outOfOrderWindowMs: 0, maxSeries: 0 },
    });
    const t = await rdb.tenant('r');
    const app = t.appender();
    const cs = ['a', 'b', 'c'].map((i) => app.ref(Labels.fromObject({ __name__: 'req_total', instance: i })));
    const gs = ['a', 'b'].map((i) => app.ref(Labels.fromObject({ __name__: 'latency', instance: i })));
    for (let k = 0; k * 15_000 < H * HOUR; k++) {
      const ts = k * 15_000 + 3_000;
      // Counters, one with a reset; gauges spread over values, so sketches matter.
      cs.forEach((r, i) => app.append(r, ts, (i === 1 && k > 700 ? k - 700 : k) * (i + 1)));
      gs.forEach((r, i) => app.append(r, ts, ((k * 7919 + i * 104729) % 1000) / 10));
    }
    await app.commit();
    await rdb.compactAll(true);
    const blocksDir = t.blocksDir;
    await rdb.close();
    const dirs = fs.readdirSync(blocksDir).filter((u) => fs.existsSync(path.join(blocksDir, u, 'meta.json')));
    const raw = await Promise.all(dirs.map((u) => BlockReader.openDir(path.join(blocksDir, u))));
    // The first hours become a 5m rollup and a 1h rollup of it; the last hour stays raw, to be joined.
    const out = path.join(rdir, 'rollups');
    fs.mkdirSync(out);
    const sorted = raw.sort((a, b) => a.meta.minTime - b.meta.minTime);
    const m5 = await BlockReader.openDir(path.join(out, (await downsampleBlocks(sorted.slice(0, -1), out, RES_5M)).ulid));
    const m1h = await BlockReader.openDir(path.join(out, (await downsampleBlocks([m5], out, RES_1H)).ulid));
    readers = [...sorted, m5, m1h];
    rollups = new BlockSetQuerier(readers);
  });

  afterAll(async () => {
    for (const r of readers ?? []) await r.close();
    fs.rmSync(rdir, { recursive: true, force: true });
  });

  const ROLLUP_QUERIES = [
    'sum(rate(req_total[30m]))',
    'increase(req_total[1h])',
    'resets(req_total[2h])',
    'max_over_time(latency[1h])',
    'min_over_time(latency[30m])',
    'sum_over_time(latency[1h])',
    'count_over_time(latency[1h])',
    'avg_over_time(latency[1h])',
    'quantile_over_time(0.9, latency[1h])',
    'quantile_over_time(0.5, latency[2h])',
    'latency',
  ];

  test.each(ROLLUP_QUERIES)('%s', async (query) => {
    for (const [res, step] of [
      ['auto', 30 * 60_000],
      [RES_5M, 60_000],
      [RES_1H, 2 * HOUR],
    ] as const) {
      const o = { maxResolution: res };
      const want = await engine.rangeQuery(rollups, query, HOUR, H * HOUR, step, o);
      same(await pool.rangeQuery(rollups, query, HOUR, H * HOUR, step, o), want);
      // From rollups indeed: the raw answer differs (rate's extrapolation, sketch quantiles, averages).
      if (res === RES_5M && /quantile|latency$/.test(query)) {
        expect(answer(await engine.rangeQuery(rollups, query, HOUR, H * HOUR, step, { maxResolution: 0 }))).not.toEqual(answer(want));
      }
    }
    const inst = { maxResolution: RES_5M };
    same(
      await pool.instantQuery(rollups, query, 4 * HOUR + 1_000, inst),
      await engine.instantQuery(rollups, query, 4 * HOUR + 1_000, inst),
    );
  });

  test('the side data crosses: count_over_time over 1h rollups counts raw samples, not windows', async () => {
    const o = { maxResolution: RES_1H };
    const out = await pool.instantQuery(rollups, 'count_over_time(latency[3h])', 4 * HOUR, o);
    expect(out.result.resultType === 'vector' && out.result.vector.map((s) => s.v)).toEqual([720, 720]);
  });
});
