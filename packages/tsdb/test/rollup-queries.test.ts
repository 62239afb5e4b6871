/**
 * PromQL over rollups against the same PromQL over the raw blocks they came from: four days of a
 * counter (with a reset) and latency-like gauges in two 48h blocks, downsampled raw -> 5m -> 1h by
 * downsampleBlock, queried at 1h step. Count/sum/min/max-derived results must match within float
 * tolerance, quantiles within the sketch's documented relative bound.
 */
import fs from 'node:fs';
import path from 'node:path';
import { Labels, MergeQuerier, mulberry32 } from '@strata/model';
import { Engine, type RangeSeries } from '@strata/promql';
import { XOREncoder } from '../src/chunkenc/xor.js';
import type { BlockSeries } from '../src/block/writer.js';
import type { BlockReader } from '../src/block/reader.js';
import { rollupFixture, type RollupFixture } from './rollup-fixture.js';
import { BlockSetQuerier, planBlocks } from '../src/block/block-set.js';
import { downsampleBlock } from '../src/downsample/downsample-block.js';
import { RELATIVE_ACCURACY } from '../src/downsample/ddsketch.js';
import { RES_1H, RES_5M } from '../src/downsample/rollup.js';

const H = RES_1H;
const BLOCK = 48 * H;
const START = 1_700_006_400_000 - (1_700_006_400_000 % BLOCK); // a 48h-aligned start
const END = START + 2 * BLOCK;
const SCRAPE = 15_000;
/** Off the window boundaries, as real scrapes are: ranges (T-r, T] and rollup windows then hold the same samples. */
const OFFSET = 7_000;

function series(labels: Labels, from: number, to: number, value: (t: number) => number): BlockSeries {
  const chunks: BlockSeries['chunks'] = [];
  let e = new XOREncoder();
  let minT = NaN;
  let lastT = NaN;
  for (let t = from + OFFSET; t < to; t += SCRAPE) {
    if (e.numSamples === 120) {
      chunks.push({ minT, maxT: lastT, data: e.bytes() });
      e = new XOREncoder();
    }
    if (e.numSamples === 0) minT = t;
    e.append(t, value(t));
    lastT = t;
  }
  if (e.numSamples > 0) chunks.push({ minT, maxT: lastT, data: e.bytes() });
  return { labels, chunks };
}

function dataset(from: number, to: number): BlockSeries[] {
  const out: BlockSeries[] = [];
  for (const inst of ['a', 'b', 'c']) {
    // A steady counter from 1e6 (no zero clamp in rate's extrapolation) that resets once, mid-way.
    const resetAt = START + 30 * H + (inst.charCodeAt(0) - 97) * 3 * H;
    out.push(
      series(Labels.fromObject({ __name__: 'req_total', job: 'api', instance: inst }), from, to, (t) =>
        t < resetAt ? 1e6 + ((t - START) / SCRAPE) * 3 : ((t - resetAt) / SCRAPE) * 3,
      ),
    );
    const r = mulberry32(inst.charCodeAt(0) + from);
    // Latency: log-normal around 50ms with a daily swing.
    out.push(
      series(Labels.fromObject({ __name__: 'latency_seconds', job: 'api', instance: inst }), from, to, (t) => {
        const g = Math.sqrt(-2 * Math.log(r() + 1e-12)) * Math.cos(2 * Math.PI * r());
        return 0.05 * Math.exp(0.6 * g) * (1.5 + Math.sin((2 * Math.PI * (t - START)) / (24 * H)));
      }),
    );
  }
  return out;
}

let dir: string;
let raw: BlockReader[];
let r5m: BlockReader[];
let r1h: BlockReader[];
let fixture: RollupFixture;

beforeAll(async () => {
  fixture = await rollupFixture(START, END, BLOCK, dataset);
  ({ dir, raw, r5m, r1h } = fixture);
});

afterAll(() => fixture.close());

const engine = new Engine({ lookbackDeltaMs: 5 * 60_000 });

async function run(blocks: BlockReader[], query: string, maxResolution: number, from = START + H): Promise<RangeSeries[]> {
  const out = await engine.rangeQuery(new BlockSetQuerier(blocks), query, from, END, H, { maxResolution });
  if (out.result.resultType !== 'matrix') throw new Error('expected a matrix');
  return out.result.matrix;
}

/** Asserts equal series and steps; `close` judges each value pair. */
function compare(got: RangeSeries[], want: RangeSeries[], close: (g: number, w: number) => boolean): number {
  expect(got.map((s) => s.labels.toString())).toEqual(want.map((s) => s.labels.toString()));
  let worst = 0;
  got.forEach((s, i) => {
    expect(Array.from(s.timestamps)).toEqual(Array.from(want[i].timestamps));
    s.values.forEach((v, k) => {
      const w = want[i].values[k];
      if (!close(v, w))
        throw new Error(`${s.labels.toString()} at ${s.timestamps[k]} (${(s.timestamps[k] - START) / H}h): rollup ${v}, raw ${w}`);
      worst = Math.max(worst, Math.abs(v - w) / Math.abs(w));
    });
  });
  expect(got.length).toBeGreaterThan(0);
  return worst;
}

const floatClose = (g: number, w: number): boolean => Math.abs(g - w) <= 1e-9 * Math.max(1, Math.abs(w));

describe.each([
  ['5m', () => r5m, RES_5M],
  ['1h', () => r1h, RES_1H],
])('%s rollups answer as the raw data', (_name, blocks, res) => {
  test.each(['max_over_time', 'min_over_time', 'sum_over_time', 'count_over_time', 'avg_over_time'])(
    '%s(latency_seconds[1h])',
    async (fn) => {
      const q = `${fn}(latency_seconds[1h])`;
      compare(await run(blocks(), q, res), await run(raw, q, 0), floatClose);
    },
  );

  test('sum by (job) (sum_over_time) and max (max_over_time): aggregations over rollup results', async () => {
    for (const q of ['sum by (job) (sum_over_time(latency_seconds[2h]))', 'max(max_over_time(latency_seconds[3h]))'])
      compare(await run(blocks(), q, res), await run(raw, q, 0), floatClose);
  });

  test('quantile_over_time(0.99 | 0.9 | 0.5, latency_seconds[1h]) within the sketch bound', async () => {
    for (const q of [0.99, 0.9, 0.5]) {
      const query = `quantile_over_time(${q}, latency_seconds[1h])`;
      const worst = compare(
        await run(blocks(), query, res),
        await run(raw, query, 0),
        (g, w) => Math.abs(g - w) <= RELATIVE_ACCURACY * Math.abs(w) * (1 + 1e-9),
      );
      expect(worst).toBeLessThanOrEqual(RELATIVE_ACCURACY);
    }
  });
});

test('sum(rate(req_total[1h])) over 5m rollups equals raw (steady counters, a reset each), and increase across the block boundary', async () => {
  for (const q of ['sum(rate(req_total[1h]))', 'rate(req_total[1h])']) compare(await run(r5m, q, RES_5M), await run(raw, q, 0), floatClose);
  // Ranges reaching before the data's start extrapolate by half the average sample interval,
  // which is a window's for rollups: compared where the whole range holds data. A range holding a
  // reset is not a straight line, and rate's extrapolation from the first window's last sample
  // (not the range's first sample) differs by a little: there the bound is 0.1%.
  const worst = compare(
    await run(r5m, 'increase(req_total[3h])', RES_5M, START + 3 * H),
    await run(raw, 'increase(req_total[3h])', 0, START + 3 * H),
    (g, w) => Math.abs(g - w) <= 1e-3 * Math.abs(w),
  );
  expect(worst).toBeGreaterThan(0); // the ranges with a reset
  compare(
    await run(r5m, 'irate(req_total[1h])', RES_5M, START + 3 * H),
    await run(raw, 'irate(req_total[1h])', 0, START + 3 * H),
    floatClose,
  );
});

test('rate over 1h rollups equals raw across the block boundary (no extra sample at the first raw value of a later block)', async () => {
  for (const q of ['sum(rate(req_total[2h]))', 'increase(req_total{instance="c"}[3h])'])
    compare(await run(r1h, q, RES_1H, START + 3 * H), await run(raw, q, 0, START + 3 * H), (g, w) => Math.abs(g - w) <= 1e-3 * Math.abs(w));
});

test('the planner picks the coarsest resolution allowed, falls back to finer blocks, and never answers an instant twice', async () => {
  // The 1h rollup of the first block only, the 5m rollup of the second only, raw data of both.
  const mixed = [...raw, r1h[0], r5m[1]];
  const plan = planBlocks(mixed, START, END, RES_1H);
  expect(plan.map((p) => [p.block.resolution, p.from, p.to])).toEqual([
    [RES_1H, START, START + BLOCK],
    [RES_5M, START + BLOCK, END],
  ]);
  expect(planBlocks(mixed, START, END, RES_5M).map((p) => [p.block.resolution, p.from, p.to])).toEqual([
    [0, START, START + BLOCK],
    [RES_5M, START + BLOCK, END],
  ]);
  expect(planBlocks(mixed, START, END, 0).every((p) => p.block.resolution === 0)).toBe(true);
  for (const q of ['count_over_time(latency_seconds[1h])', 'sum_over_time(latency_seconds[1h])', 'max_over_time(latency_seconds[1h])']) {
    compare(await run(mixed, q, RES_1H), await run(raw, q, 0), floatClose);
    compare(await run(mixed, q, RES_5M), await run(raw, q, 0), floatClose);
  }
});

test('max_source_resolution 0 reads raw data only, even when rollups exist', async () => {
  const q = 'latency_seconds';
  const got = await run([...raw, ...r5m, ...r1h], q, 0);
  compare(got, await run(raw, q, 0), (g, w) => g === w);
});

test('downsampling is idempotent: the same input gives the same index and chunks', async () => {
  const again = await downsampleBlock(raw[0], dir, RES_5M);
  const first = r5m[0].meta;
  for (const f of ['index', 'chunks/000001'])
    expect(Buffer.compare(fs.readFileSync(path.join(dir, again.ulid, f)), fs.readFileSync(path.join(dir, first.ulid, f)))).toBe(0);
  expect(again.stats).toEqual(first.stats);
  expect(again.thanos!.downsample.resolution).toBe(RES_5M);
  expect(r1h[0].meta.thanos!.downsample.resolution).toBe(RES_1H);
  expect(r1h[0].meta.compaction.sources).toEqual(raw[0].meta.compaction.sources);
});

test('rollup counts and sketches survive a merge with another store (the head, a store gateway in the same process)', async () => {
  // The first 48h from a store holding its 5m rollup, the next 48h from a store holding raw data.
  const merged = new MergeQuerier([new BlockSetQuerier([r5m[0]]), new BlockSetQuerier([raw[1]])]);
  for (const q of [
    'count_over_time(latency_seconds[1h])',
    'avg_over_time(latency_seconds[1h])',
    'quantile_over_time(0.9, latency_seconds[1h])',
  ]) {
    const out = await engine.rangeQuery(merged, q, START + H, END, H, { maxResolution: RES_5M });
    if (out.result.resultType !== 'matrix') throw new Error('expected a matrix');
    compare(
      out.result.matrix,
      await run(raw, q, 0),
      (g, w) => Math.abs(g - w) <= (q.startsWith('quantile') ? RELATIVE_ACCURACY : 1e-9) * Math.abs(w),
    );
  }
});

test('a rate whose range holds one window of the resolution asked for reads finer data instead of answering nothing', async () => {
  // max_source_resolution=1h, rate over [1h]: one 1h window per range is one sample (Thanos answers
  // nothing). The select asks for windows the range holds two of: 5m rollups where they exist, raw
  // data where only raw is finer.
  const q = 'sum(rate(req_total[1h]))';
  compare(await run([...r1h, ...r5m], q, RES_1H), await run(r5m, q, RES_5M), floatClose);
  compare(await run([...r1h, ...raw], q, RES_1H), await run(raw, q, 0), floatClose);
  // A range holding two 1h windows still reads the 1h rollups: a 2h rate there differs from raw by
  // the extrapolation over window-spaced samples, and equals a rate over the 1h rollups alone.
  const q2 = 'sum(rate(req_total[2h]))';
  compare(await run([...r1h, ...r5m], q2, RES_1H), await run(r1h, q2, RES_1H), floatClose);
});
