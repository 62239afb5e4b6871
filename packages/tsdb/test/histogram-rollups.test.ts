/**
 * Native histograms through downsampling: the aggregate (count, sum histogram, counter histogram
 * with resets applied) against a direct computation, aggregate chunks round-tripping it, rollups
 * of rollups equal to rollups of the raw data, and PromQL (rate, increase, histogram_quantile,
 * histogram_count, histogram_sum) over 5m and 1h rollups against the same over the raw blocks.
 */
import fs from 'node:fs';
import path from 'node:path';
import fc from 'fast-check';
import { CounterResetHint, FloatHistogram, Labels } from '@strata/model';
import { Engine, type RangeSeries } from '@strata/promql';
import { CounterResetHeader, FloatHistogramChunkEncoder } from '../src/chunkenc/histogram.js';
import type { BlockSeries } from '../src/block/writer.js';
import type { BlockReader } from '../src/block/reader.js';
import { rollupFixture, type RollupFixture } from './rollup-fixture.js';
import { BlockSetQuerier } from '../src/block/block-set.js';
import { downsampleBlock } from '../src/downsample/downsample-block.js';
import {
  concatHistogramRollups,
  histogramRollupFromChunks,
  histogramRollupFromRaw,
  histogramRollupFromRollup,
  histogramRollupToChunks,
  type HistogramRollup,
} from '../src/downsample/histogram-rollup.js';
import { RES_1D, RES_1H, RES_5M, windowEnd } from '../src/downsample/rollup.js';

const H = RES_1H;
const BUCKETS = 6;

/** A counter histogram of schema 0 with `counts` in buckets 0..n-1 (observations at each bucket's upper bound). */
function hist(counts: readonly number[], schema = 0): FloatHistogram {
  let count = 0;
  let sum = 0;
  counts.forEach((c, i) => {
    count += c;
    sum += c * 2 ** i;
  });
  return new FloatHistogram({ schema, count, sum, positiveSpans: [{ offset: 0, length: counts.length }], positiveBuckets: [...counts] });
}

/**
 * Raw counter histograms: per step some buckets grow; a step may reset the counter to its
 * increments, and now and then a sample comes at schema 1 (a finer schema than the last counts as a
 * reset; the aggregates then hold both schemas, reduced to 0 in one chunk layout).
 */
const rawSeries = fc
  .array(
    fc.record({
      dt: fc.integer({ min: 1, max: 400_000 }),
      inc: fc.array(fc.nat(5), { minLength: BUCKETS, maxLength: BUCKETS }),
      reset: fc.boolean(),
      fine: fc.boolean(),
    }),
    {
      minLength: 1,
      maxLength: 120,
    },
  )
  .map((steps) => {
    const ts: number[] = [];
    const hs: FloatHistogram[] = [];
    let t = 1_700_000_000_000;
    let cur = new Array<number>(BUCKETS).fill(0);
    for (const s of steps) {
      t += s.dt;
      cur = s.reset && hs.length > 0 ? s.inc.map((x) => x) : cur.map((c, i) => c + s.inc[i]);
      ts.push(t);
      hs.push(hist(cur, s.fine && s.reset ? 1 : 0));
    }
    return { ts, hs };
  });

const close = (a: number, b: number): boolean => Math.abs(a - b) <= 1e-9 * Math.max(1, Math.abs(b));

/** The counter's count field as PromQL's reset rule gives it, scalar by scalar (every generated reset lowers the count or a bucket). */
function expectedCounters(hs: readonly FloatHistogram[]): number[] {
  const out: number[] = [];
  let offset = 0;
  hs.forEach((h, i) => {
    if (i > 0 && h.detectReset(hs[i - 1])) offset += hs[i - 1].count;
    out.push(h.count + offset);
  });
  return out;
}

function expectSameRollup(got: HistogramRollup, want: HistogramRollup): void {
  expect(Array.from(got.t)).toEqual(Array.from(want.t));
  expect(Array.from(got.count)).toEqual(Array.from(want.count));
  got.sum.forEach((s, i) => {
    expect(close(s.count, want.sum[i].count) && close(s.sum, want.sum[i].sum)).toBe(true);
  });
  got.counter.forEach((c, i) => {
    expect(close(c.count, want.counter[i].count) && close(c.sum, want.counter[i].sum)).toBe(true);
    // At the lowest schema of its chunk: the same buckets once the wanted one is reduced to it.
    expect(c.copy().compact().equals(want.counter[i].copy().reduceResolution(c.schema).compact())).toBe(true);
  });
  // One chunk has one layout: the first and last raw histograms come back at the chunk's (lowest) schema.
  expect([got.first!.count, got.first!.sum]).toEqual([want.first!.count, want.first!.sum]);
  expect(got.last!.count).toBe(want.last!.count);
}

describe('histogram aggregate', () => {
  test('per window: the number of histograms, their sum, and the counter at the last one with resets applied', () => {
    fc.assert(
      fc.property(rawSeries, fc.constantFrom(RES_5M, RES_1H), ({ ts, hs }, res) => {
        const r = histogramRollupFromRaw(ts, hs, res)!;
        const counters = expectedCounters(hs);
        let i = 0;
        for (let w = 0; w < r.t.length; w++) {
          let n = 0;
          let count = 0;
          let sum = 0;
          const end = windowEnd(ts[i], res);
          for (; i < ts.length && ts[i] <= end; i++, n++) {
            count += hs[i].count;
            sum += hs[i].sum;
          }
          expect(r.t[w]).toBe(ts[i - 1]);
          expect(r.count[w]).toBe(n);
          expect(close(r.sum[w].count, count) && close(r.sum[w].sum, sum)).toBe(true);
          expect(r.counter[w].count).toBe(counters[i - 1]);
          if (w > 0) expect(r.counter[w].count).toBeGreaterThanOrEqual(r.counter[w - 1].count);
        }
        expect(i).toBe(ts.length);
        expect(r.first!.equals(hs[0]) && r.last!.equals(hs[hs.length - 1])).toBe(true);
      }),
      { numRuns: 60 },
    );
  });

  test('aggregate chunks round-trip a rollup (float histogram chunks on one layout per chunk)', () => {
    fc.assert(
      fc.property(rawSeries, fc.constantFrom(RES_5M, RES_1H), ({ ts, hs }, res) => {
        const r = histogramRollupFromRaw(ts, hs, res)!;
        const back = histogramRollupFromChunks(histogramRollupToChunks(r, res).map((c) => c.data))!;
        expectSameRollup(back, r);
      }),
      { numRuns: 60 },
    );
  });

  test('rollups of rollups equal rollups of the raw data: 5m -> 1h -> 1d', () => {
    fc.assert(
      fc.property(rawSeries, ({ ts, hs }) => {
        const r5 = histogramRollupFromRaw(ts, hs, RES_5M)!;
        const r1h = histogramRollupFromRollup(r5, RES_1H);
        expectSameRollup(r1h, histogramRollupFromRaw(ts, hs, RES_1H)!);
        expectSameRollup(histogramRollupFromRollup(r1h, RES_1D), histogramRollupFromRaw(ts, hs, RES_1D)!);
      }),
      { numRuns: 60 },
    );
  });

  test('rollups of consecutive blocks joined equal the rollup of both (counter continued, a reset between them counted)', () => {
    fc.assert(
      fc.property(rawSeries, rawSeries, fc.boolean(), (a, b, reset) => {
        // b continues a (its counts on top of a's last) or starts over.
        const last = a.hs[a.hs.length - 1];
        const shift = b.ts.map((t) => t - b.ts[0] + a.ts[a.ts.length - 1] + RES_1H);
        const bh = b.hs.map((h) => (reset ? h : hist(h.positiveBuckets.map((c, i) => c + last.positiveBuckets[i]))));
        const joined = concatHistogramRollups([histogramRollupFromRaw(shift, bh, RES_5M)!, histogramRollupFromRaw(a.ts, a.hs, RES_5M)!]);
        expectSameRollup(joined, histogramRollupFromRaw([...a.ts, ...shift], [...a.hs, ...bh], RES_5M)!);
      }),
      { numRuns: 60 },
    );
  });

  test('gauge histograms: the counter aggregate is the last histogram, no resets applied', () => {
    const hs = [hist([5, 1]), hist([1, 1]), hist([3, 0])].map((h) => Object.assign(h, { counterResetHint: CounterResetHint.Gauge }));
    const r = histogramRollupFromRaw([1000, 2000, 3000], hs, RES_5M)!;
    expect(r.gauge).toBe(true);
    expect(r.counter[0].count).toBe(3);
    const back = histogramRollupFromChunks(histogramRollupToChunks(r, RES_5M).map((c) => c.data))!;
    expect(back.gauge).toBe(true);
    expect(back.counter[0].count).toBe(3);
  });
});

// PromQL over rollups of a block pair, against the raw blocks.
const BLOCK = 24 * H;
const START = 1_700_006_400_000 - (1_700_006_400_000 % BLOCK);
const END = START + 2 * BLOCK;
const SCRAPE = 30_000;
const OFFSET = 7_000;

/** A counter histogram series of `inst` over [from, to), one chunk per 120 samples; it resets once at `resetAt`. */
function histogramSeries(inst: string, from: number, to: number, resetAt: number): BlockSeries {
  const chunks: BlockSeries['chunks'] = [];
  let e = new FloatHistogramChunkEncoder(CounterResetHeader.Unknown);
  let minT = NaN;
  let lastT = NaN;
  // Replay from the start so the second block continues the first's counter.
  let cur = new Array<number>(BUCKETS).fill(0);
  for (let t = START + OFFSET; t < to; t += SCRAPE) {
    // Steady rates per bucket (a straight line, as the float rollup tests use): rate over any subset of the samples is exact.
    const inc = Array.from({ length: BUCKETS }, (_, i) => BUCKETS - i + (inst === 'b' ? i : 0));
    cur = t >= resetAt && t - SCRAPE < resetAt ? inc : cur.map((c, i) => c + inc[i]);
    if (t < from) continue;
    const reset = t >= resetAt && t - SCRAPE < resetAt;
    if (e.numSamples === 120 || (reset && e.numSamples > 0)) {
      chunks.push({ minT, maxT: lastT, data: e.bytes().slice(), encoding: e.encoding });
      e = new FloatHistogramChunkEncoder(reset ? CounterResetHeader.CounterReset : CounterResetHeader.Unknown);
    }
    if (e.numSamples === 0) minT = t;
    const h = hist(cur);
    e.append(t, { ...h, customValues: [] });
    lastT = t;
  }
  if (e.numSamples > 0) chunks.push({ minT, maxT: lastT, data: e.bytes().slice(), encoding: e.encoding });
  return { labels: Labels.fromObject({ __name__: 'rpc_duration_seconds', job: 'api', instance: inst }), chunks };
}

let dir: string;
let raw: BlockReader[];
let r5m: BlockReader[];
let r1h: BlockReader[];
let fixture: RollupFixture;

beforeAll(async () => {
  fixture = await rollupFixture(START, END, BLOCK, (from, to) =>
    ['a', 'b'].map((inst, k) => histogramSeries(inst, from, to, START + (10 + 20 * k) * H + 1_000)),
  );
  ({ dir, raw, r5m, r1h } = fixture);
});

afterAll(() => fixture.close());

const engine = new Engine({ lookbackDeltaMs: 5 * 60_000 });

async function run(blocks: BlockReader[], query: string, maxResolution: number, from: number): Promise<RangeSeries[]> {
  const out = await engine.rangeQuery(new BlockSetQuerier(blocks), query, from, END, H, { maxResolution });
  if (out.result.resultType !== 'matrix') throw new Error('expected a matrix');
  return out.result.matrix;
}

/** The compared figure of each point: the float, or a histogram's count and sum. */
function figures(s: RangeSeries, k: number): number[] {
  const h = s.histograms?.[k];
  return h ? [h.count, h.sum] : [s.values[k]];
}

function compare(got: RangeSeries[], want: RangeSeries[], bound: number): number {
  expect(got.map((s) => s.labels.toString())).toEqual(want.map((s) => s.labels.toString()));
  expect(got.length).toBeGreaterThan(0);
  let worst = 0;
  got.forEach((s, i) => {
    expect(Array.from(s.timestamps)).toEqual(Array.from(want[i].timestamps));
    s.timestamps.forEach((t, k) => {
      const g = figures(s, k);
      const w = figures(want[i], k);
      expect(g.length).toBe(w.length);
      g.forEach((x, j) => {
        const err = Math.abs(x - w[j]) / Math.max(1e-12, Math.abs(w[j]));
        if (err > bound) throw new Error(`${s.labels.toString()} at ${(t - START) / H}h: rollup ${x}, raw ${w[j]}`);
        worst = Math.max(worst, err);
      });
    });
  });
  return worst;
}

describe.each([
  ['5m', () => r5m, RES_5M],
  ['1h', () => r1h, RES_1H],
])('PromQL over %s histogram rollups answers as the raw data', (_name, blocks, res) => {
  // Ranges whose every window lies inside the data and holds no reset: equal to float rounding.
  test.each([
    'rate(rpc_duration_seconds[2h])',
    'increase(rpc_duration_seconds[2h])',
    'histogram_count(rate(rpc_duration_seconds[2h]))',
    'histogram_sum(rate(rpc_duration_seconds[2h]))',
    'histogram_quantile(0.9, sum(rate(rpc_duration_seconds[2h])))',
    'sum by (job) (histogram_count(increase(rpc_duration_seconds[3h])))',
  ])('%s', async (q) => {
    compare(await run(blocks(), q, res, START + 3 * H), await run(raw, q, 0, START + 3 * H), 1e-9);
  });

  test('ranges across the reset and the block boundary: the reset counted once, the counter continued', async () => {
    const q = 'histogram_count(increase(rpc_duration_seconds[6h]))';
    compare(await run(blocks(), q, res, START + 6 * H), await run(raw, q, 0, START + 6 * H), 1e-9);
  });
});

test('a plain selector over rollups reads the window average histogram, min_over_time gives nothing', async () => {
  const avg = await run(r5m, 'histogram_count(rpc_duration_seconds)', RES_5M, START + H);
  expect(avg.length).toBe(2);
  expect(await run(r5m, 'min_over_time(rpc_duration_seconds[1h])', RES_5M, START + H)).toEqual([]);
  const counted = await run(r5m, 'count_over_time(rpc_duration_seconds[1h])', RES_5M, START + H);
  compare(counted, await run(raw, 'count_over_time(rpc_duration_seconds[1h])', 0, START + H), 1e-12);
});

test('raw blocks fill in where no rollup exists: histogram parts join across resolutions', async () => {
  const q = 'histogram_count(rate(rpc_duration_seconds[2h]))';
  // A range starting in 5m windows and ending in raw samples extrapolates its start by half the
  // average interval (raw samples' mostly) from the first window's sample, up to 5 minutes after
  // the range's start: about 4% of a 2h range; ranges within one resolution are exact.
  const worst = compare(await run([r5m[0], raw[1]], q, RES_5M, START + 3 * H), await run(raw, q, 0, START + 3 * H), 0.05);
  expect(worst).toBeGreaterThan(0);
  const inRaw = await run([r5m[0], raw[1]], q, RES_5M, START + 27 * H);
  compare(inRaw, await run(raw, q, 0, START + 27 * H), 1e-9);
});

test('downsampling histograms is idempotent: the same input gives the same index and chunks', async () => {
  const again = await downsampleBlock(raw[0], dir, RES_5M);
  for (const f of ['index', 'chunks/000001'])
    expect(Buffer.compare(fs.readFileSync(path.join(dir, again.ulid, f)), fs.readFileSync(path.join(dir, r5m[0].meta.ulid, f)))).toBe(0);
  expect(again.stats).toEqual(r5m[0].meta.stats);
});
