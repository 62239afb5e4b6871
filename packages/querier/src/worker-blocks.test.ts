/**
 * Query workers reading the local TSDB's blocks from their files: a select crosses with the head
 * packed and the blocks in range listed (leased), and the worker's answers are exactly the main
 * thread's over several blocks, blocks that overlap (out-of-order samples cut after their range),
 * native histograms in blocks and the head. A block dropped while a query holds it keeps its files
 * until the query ends.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Labels, Matcher, RawPacker, releaseBlocks, resolveBlocks, unpackRaw, type Querier, type RawSeries } from '@strata/model';
import { Engine, type QueryOutcome } from '@strata/promql';
import { BlockReader, TSDB, type HistogramSample, type TenantDB } from '@strata/tsdb';
import { resultJson } from './promql-api.js';
import { FanoutQueryable } from './fanout.js';
import { QueryWorkerPool, selectPacked } from './worker-pool.js';

const HOUR = 3_600_000;
const T0 = 20 * HOUR;
let dir: string;
let db: TSDB;
let tenant: TenantDB;
let pool: QueryWorkerPool;
let mainPool: QueryWorkerPool;
const engine = new Engine({ maxSamples: 5_000_000 });

function histogram(k: number): HistogramSample {
  const counts = [k, 2 * k + 1, k % 5];
  return {
    schema: 0,
    zeroThreshold: 1e-128,
    zeroCount: 0,
    count: counts.reduce((a, b) => a + b, 0),
    sum: k * 1.5,
    positiveSpans: [{ offset: 0, length: counts.length }],
    positiveBuckets: counts.map((c, i) => c - (i > 0 ? counts[i - 1] : 0)),
    negativeSpans: [],
    negativeBuckets: [],
    customValues: [],
  };
}

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'strata-worker-blocks-'));
  db = await TSDB.open({
    dir,
    fsync: 'none',
    blockDurationMs: HOUR,
    compactIntervalMs: 0,
    head: { outOfOrderWindowMs: 24 * HOUR, samplesPerChunk: 40, maxSeries: 0 },
  });
  tenant = await db.tenant('t');
  const app = tenant.appender();
  const refs: number[] = [];
  for (const job of ['api', 'web'])
    for (const instance of ['a', 'b', 'c']) refs.push(app.ref(Labels.fromObject({ __name__: 'up_total', job, instance })));
  const hist = app.ref(Labels.fromObject({ __name__: 'lat_seconds', job: 'api' }));
  for (let t = T0, k = 0; t <= T0 + 5 * HOUR; t += 15_000, k++) {
    refs.forEach((r, i) => app.append(r, t, k + i * (k % 11)));
    app.appendHistogram(hist, t, histogram(k < 400 ? k : k - 400), false, 0);
  }
  await app.commit();
  // Several blocks (one per hour); the head keeps the newest range.
  await tenant.compact();
  // Out-of-order samples into ranges already cut: the next cut writes blocks overlapping those.
  const late = tenant.appender();
  const lateRef = late.ref(Labels.fromObject({ __name__: 'up_total', job: 'api', instance: 'a' }));
  const newRef = late.ref(Labels.fromObject({ __name__: 'up_total', job: 'late', instance: 'z' }));
  for (let t = T0 + 7_000; t < T0 + 2 * HOUR; t += 60_000) {
    late.append(lateRef, t, -t / 1000);
    late.append(newRef, t, 1);
  }
  await late.commit();
  await tenant.compact(true);
  // And a head again, in order after the blocks.
  const more = tenant.appender();
  const r = more.ref(Labels.fromObject({ __name__: 'up_total', job: 'api', instance: 'a' }));
  for (let t = T0 + 5 * HOUR + 15_000; t <= T0 + 6 * HOUR; t += 15_000) more.append(r, t, t / 1000);
  await more.commit();
  pool = new QueryWorkerPool({ size: 2, engine: engine.opts });
  mainPool = new QueryWorkerPool({ size: 1, engine: engine.opts, readBlocks: false });
});

afterAll(async () => {
  await pool.close();
  await mainPool.close();
  await db.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

const answer = (o: QueryOutcome) => ({ data: resultJson(o.result, 0, []), warnings: o.warnings, infos: o.infos });

test('the setup has several blocks, some overlapping', () => {
  const metas = tenant.blocks.map((b) => b.meta).sort((a, b) => a.minTime - b.minTime);
  expect(metas.length).toBeGreaterThanOrEqual(5);
  expect(metas.some((m, i) => i > 0 && m.minTime < metas[i - 1].maxTime)).toBe(true);
});

test('a select for a worker lists the local blocks in range instead of packing them, leased', async () => {
  const q = tenant.querier();
  const hints = { start: T0, end: T0 + 6 * HOUR };
  const ms = [new Matcher('=', '__name__', 'up_total')];
  const packed = await selectPacked(q, ms, hints, true);
  const inRange = tenant.blocks.filter((b) => b.meta.maxTime > hints.start && b.meta.minTime <= hints.end);
  expect(packed.blocks?.map((b) => b.ulid).sort()).toEqual(inRange.map((b) => b.meta.ulid).sort());
  expect(inRange.every((b) => b.leases === 1)).toBe(true);
  // Read here from the files as a worker would: the same series and parts, in the same order, as packed on this thread.
  const read = await resolveBlocks(packed, async (b) => {
    const r = await BlockReader.openDir(b.dir);
    const into = new RawPacker();
    await r.selectRawInto(ms, { start: b.start, end: b.end }, into);
    await r.close();
    return into.finish();
  });
  const plain = new RawPacker();
  await q.selectRawInto!(ms, hints, plain);
  const view = (xs: RawSeries[]) =>
    xs.map((s) => ({ l: s.labels.key(), parts: s.parts.map((p) => ('chunks' in p ? p.chunks.map((c) => [...c]) : p)) }));
  expect(view(unpackRaw(read))).toEqual(view(unpackRaw(plain.finish())));
  releaseBlocks(packed);
  expect(inRange.every((b) => b.leases === 0)).toBe(true);
});

const QUERIES = [
  'up_total',
  'rate(up_total[5m])',
  'sum by (job) (rate(up_total[10m]))',
  'count({__name__=~".+"})',
  'count_over_time(up_total[2h])',
  'lat_seconds',
  'histogram_quantile(0.9, rate(lat_seconds[5m]))',
  'histogram_count(increase(lat_seconds[30m]))',
  'up_total{job="api"} - ignoring(instance) group_left sum by (job) (up_total)',
];

describe('workers reading blocks answer exactly as the main thread and as workers sent the blocks packed', () => {
  test.each(QUERIES)('%s', async (query) => {
    const q = tenant.querier();
    for (const t of [T0 + 30 * 60_000, T0 + 90 * 60_000, T0 + 4 * HOUR + 1_000, T0 + 6 * HOUR]) {
      const want = answer(await engine.instantQuery(q, query, t));
      expect(answer(await pool.instantQuery(q, query, t))).toEqual(want);
      expect(answer(await mainPool.instantQuery(q, query, t))).toEqual(want);
    }
    const want = answer(await engine.rangeQuery(q, query, T0 - HOUR, T0 + 6 * HOUR, 60_000));
    expect(answer(await pool.rangeQuery(q, query, T0 - HOUR, T0 + 6 * HOUR, 60_000))).toEqual(want);
    expect(answer(await mainPool.rangeQuery(q, query, T0 - HOUR, T0 + 6 * HOUR, 60_000))).toEqual(want);
    // Every lease ends with its query.
    expect(tenant.blocks.every((b) => b.leases === 0)).toBe(true);
  });
});

test('a block dropped while a query holds it keeps its files until the query ends', async () => {
  const inner = tenant.querier();
  let open!: () => void;
  const gate = new Promise<void>((resolve) => (open = resolve));
  let selects = 0;
  let firstDone!: () => void;
  const first = new Promise<void>((resolve) => (firstDone = resolve));
  // The query's second select waits for the gate: by then the first one's blocks are listed.
  const q: Querier = {
    select: (m, h) => inner.select(m, h),
    selectRawInto: async (m, h, into) => {
      const i = selects++;
      if (i === 1) await gate;
      await inner.selectRawInto!(m, h, into);
      if (i === 0) firstDone();
    },
    series: (m, h) => inner.series(m, h),
    labelNames: (m, h) => inner.labelNames(m, h),
    labelValues: (n, m, h) => inner.labelValues(n, m, h),
  };
  const victim = [...tenant.blocks].sort((a, b) => a.meta.minTime - b.meta.minTime)[0];
  const victimDir = path.join(tenant.blocksDir, victim.meta.ulid);
  const query = 'sum(count_over_time(up_total[1d])) + sum(count_over_time(lat_seconds[1d]))';
  const running = pool.instantQuery(q, query, T0 + 6 * HOUR);
  await first;
  await new Promise((r) => setTimeout(r, 20));
  expect(victim.leases).toBeGreaterThan(0);
  let dropped = false;
  const drop = tenant.dropLocalBlock(victim.meta.ulid).then(() => (dropped = true));
  await new Promise((r) => setTimeout(r, 100));
  // Out of the list for new selects at once, its files still there for the query.
  expect(tenant.hasBlock(victim.meta.ulid)).toBe(false);
  expect(dropped).toBe(false);
  expect(fs.existsSync(path.join(victimDir, 'index'))).toBe(true);
  open();
  const out = await running;
  expect(out.result.resultType).toBe('vector');
  await drop;
  expect(dropped).toBe(true);
  expect(fs.existsSync(victimDir)).toBe(false);
  expect(victim.leases).toBe(0);
});

test('coalesced selects of concurrent queries each hold leases of their own, all ended with the queries', async () => {
  let reads = 0;
  const local = {
    querier: (t: string): Querier => {
      const inner = db.queryable().querier(t);
      return {
        ...inner,
        selectRawInto: async (m, h, into) => {
          reads++;
          // Slow enough that the other queries' selects arrive while this one is in flight.
          await new Promise((r) => setTimeout(r, 200));
          await inner.selectRawInto!(m, h, into);
        },
      };
    },
  };
  const fanout = new FanoutQueryable(() => [{ name: 'local', queryable: local }], {
    replicaLabels: [],
    partialResponse: false,
    coalesce: true,
  });
  const q = fanout.querier('t');
  const query = 'sum by (job) (rate(up_total[10m]))';
  const want = answer(await engine.rangeQuery(tenant.querier(), query, T0, T0 + 6 * HOUR, 60_000));
  const outs = await Promise.all([0, 1, 2, 3].map(() => pool.rangeQuery(q, query, T0, T0 + 6 * HOUR, 60_000)));
  for (const o of outs) expect(answer(o)).toEqual(want);
  // Read fewer times than asked: some callers got a shared read.
  expect(reads).toBeLessThan(4);
  expect(tenant.blocks.every((b) => b.leases === 0)).toBe(true);
});

describe('workers share the block cache of the main thread', () => {
  const chunkFiles = () =>
    tenant.blocks.flatMap((b) => {
      const d = path.join(tenant.blocksDir, b.meta.ulid, 'chunks');
      return fs.readdirSync(d).map((f) => path.join(d, f));
    });
  const reads = () => ({ disk: db.blockCache.stats.chunks.diskBytes, memory: db.blockCache.stats.chunks.cachedBytes });
  const query = 'sum(count_over_time(up_total[1d])) + sum(count_over_time(lat_seconds[1d]))';
  const at = T0 + 6 * HOUR;
  let fresh: QueryWorkerPool[] = [];
  afterEach(async () => {
    await Promise.all(fresh.map((p) => p.close()));
    fresh = [];
  });
  /** A pool of one worker that has never opened the blocks. */
  const newPool = () => {
    const p = new QueryWorkerPool({ size: 1, engine: engine.opts });
    fresh.push(p);
    return p;
  };

  test('a second query on another worker reads nothing from disk, and every read is counted', async () => {
    // Cold: the queries above loaded the chunk files into the cache.
    for (const f of chunkFiles()) db.blockCache.drop(f);
    const r0 = reads();
    const first = answer(await newPool().instantQuery(tenant.querier(), query, at));
    const r1 = reads();
    // Each chunk file of the blocks in range loaded once by the worker, and counted here.
    expect(r1.disk - r0.disk).toBe(chunkFiles().reduce((n, f) => n + fs.statSync(f).size, 0));
    expect(r1.memory - r0.memory).toBeGreaterThan(0);
    const second = answer(await newPool().instantQuery(tenant.querier(), query, at));
    const r2 = reads();
    expect([r2.disk - r1.disk, r2.memory - r1.memory]).toEqual([0, r1.memory - r0.memory]);
    expect(second).toEqual(first);
    expect(first).toEqual(answer(await engine.instantQuery(tenant.querier(), query, at)));
    expect(tenant.blocks.every((b) => b.leases === 0)).toBe(true);
  });

  test('files evicted from the cache while a worker holds them are still read right', async () => {
    const inner = tenant.querier();
    // Every select's blocks are listed with their cached files attached, then evicted here at
    // once: the worker reads memory the cache no longer holds.
    const q: Querier = {
      ...inner,
      selectRawInto: async (m, h, into) => {
        await inner.selectRawInto!(m, h, into);
        for (const f of chunkFiles()) db.blockCache.drop(f);
        (globalThis as { gc?: () => void }).gc?.();
      },
    };
    await newPool().instantQuery(tenant.querier(), query, at); // the chunk files in the cache
    const r0 = reads();
    const out = answer(await newPool().instantQuery(q, query, at));
    expect(out).toEqual(answer(await engine.instantQuery(tenant.querier(), query, at)));
    // The first select's files came from memory; later ones were evicted and read again.
    expect(reads().memory - r0.memory).toBeGreaterThan(0);
    const held = chunkFiles().filter((f) => db.blockCache.held(path.dirname(path.dirname(f)))!.held[`chunks/${path.basename(f)}`]);
    expect(db.blockCache.bytes).toBeLessThanOrEqual(db.blockCache.maxBytes);
    expect(held.length).toBeGreaterThan(0);
    expect(tenant.blocks.every((b) => b.leases === 0)).toBe(true);
  });
});
