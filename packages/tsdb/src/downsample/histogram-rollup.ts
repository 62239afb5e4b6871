/**
 * One native histogram series of a rollup block, window by window: Thanos' shape for histograms
 * (per window the number of raw histograms, their sum as a gauge histogram, and the counter
 * histogram with resets applied), with the counter's first and last raw histograms kept as the
 * float rollup keeps its first and last raw values (rollup.ts), so that counters continue across
 * chunks and blocks. On disk: aggregate chunks whose sum and counter entries are float histogram
 * chunks (encoding 3); docs/format/downsampling.md.
 */
import { CounterResetHint, FloatHistogram } from '@strata/model';
import { ENCODING_XOR } from '../chunkenc/xor.js';
import { CounterResetHeader, ENCODING_FLOAT_HISTOGRAM, FloatHistogramChunkEncoder, type HistogramSample } from '../chunkenc/histogram.js';
import { histogramChunkSamples } from '../head/histogram-series.js';
import type { BlockChunk } from '../block/block-writer.js';
import { AGGR_COUNT, AGGR_COUNTER, AGGR_SUM, decodeAggrChunk, type AggrPart } from './aggr-chunk.js';
import { aggrBlockChunk, chunkRanges, decodeXOR, windowEnd, xor } from './rollup.js';

export interface HistogramRollup {
  /** Per window, the timestamp of its last raw histogram (as the float rollup). */
  t: Float64Array;
  /** Per window, how many raw histograms it holds (empty when not decoded). */
  count: Float64Array;
  /** Per window, the sum of its histograms, a gauge histogram (empty when not decoded). */
  sum: FloatHistogram[];
  /**
   * Per window, the counter histogram at its last sample: the raw histogram plus every histogram
   * that preceded a reset (so it never goes down); for gauge histograms the last histogram itself.
   * Empty when not decoded.
   */
  counter: FloatHistogram[];
  /** The first raw histogram and its time, and the last raw histogram (readers detect resets between blocks with them). */
  firstT: number;
  first: FloatHistogram | undefined;
  last: FloatHistogram | undefined;
  gauge: boolean;
}

const ZERO = new Float64Array(0);

/** a + b, a new histogram (b may be undefined: a copy of a). */
function plus(a: FloatHistogram, b: FloatHistogram | undefined): FloatHistogram {
  const out = a.copy();
  if (b) out.add(b);
  return out;
}

/**
 * Aggregates raw histograms (ascending timestamps; undefined entries, floats and staleness markers
 * of the series, are skipped) into windows of `res`. Undefined when no histogram is left.
 */
export function histogramRollupFromRaw(
  ts: ArrayLike<number>,
  hs: readonly (FloatHistogram | undefined)[],
  res: number,
): HistogramRollup | undefined {
  const t: number[] = [];
  const count: number[] = [];
  const sum: FloatHistogram[] = [];
  const counter: FloatHistogram[] = [];
  let end = -Infinity;
  let first: FloatHistogram | undefined;
  let firstT = NaN;
  let prev: FloatHistogram | undefined;
  let offset: FloatHistogram | undefined;
  let lastT = -Infinity;
  let gauge = false;
  for (let i = 0; i < ts.length; i++) {
    const h = hs[i];
    if (!h || Number.isNaN(h.sum) || ts[i] <= lastT) continue;
    lastT = ts[i];
    if (!first) {
      first = h;
      firstT = ts[i];
      gauge = h.counterResetHint === CounterResetHint.Gauge;
    } else if (!gauge && h.detectReset(prev!)) offset = plus(prev!, offset);
    prev = h;
    if (ts[i] > end) {
      end = windowEnd(ts[i], res);
      t.push(ts[i]);
      count.push(0);
      sum.push(h.copy());
    } else sum[sum.length - 1].add(h);
    const w = t.length - 1;
    t[w] = ts[i];
    count[w]++;
    counter[w] = gauge ? h : plus(h, offset);
  }
  if (!first) return undefined;
  for (const s of sum) s.counterResetHint = CounterResetHint.Gauge;
  return { t: Float64Array.from(t), count: Float64Array.from(count), sum, counter, firstT, first, last: prev, gauge };
}

/** A rollup into the coarser windows of `res`: counts and sums add, the counter is the last window's. */
export function histogramRollupFromRollup(r: HistogramRollup, res: number): HistogramRollup {
  const t: number[] = [];
  const count: number[] = [];
  const sum: FloatHistogram[] = [];
  const counter: FloatHistogram[] = [];
  let end = -Infinity;
  for (let i = 0; i < r.t.length; i++) {
    if (r.t[i] > end) {
      end = windowEnd(r.t[i], res);
      t.push(r.t[i]);
      count.push(0);
      sum.push(r.sum[i].copy());
    } else sum[sum.length - 1].add(r.sum[i]);
    const w = t.length - 1;
    t[w] = r.t[i];
    count[w] += r.count[i];
    counter[w] = r.counter[i];
  }
  return { ...r, t: Float64Array.from(t), count: Float64Array.from(count), sum, counter };
}

/**
 * What a counter continuing after `total` (its last value) and `lastRaw` (the raw histogram behind
 * it) must add to a part whose first raw histogram is `f`: the total when `f` starts a new counter,
 * else the total less the last raw histogram; undefined when nothing (no reset so far, none now).
 */
export function counterShift(
  total: FloatHistogram | undefined,
  lastRaw: FloatHistogram | undefined,
  f: FloatHistogram,
): FloatHistogram | undefined {
  if (!total || !lastRaw) return undefined;
  if (f.detectReset(lastRaw)) return total.copy();
  if (total.equals(lastRaw)) return undefined;
  const d = total.copy();
  d.sub(lastRaw);
  return d;
}

/**
 * Rollups of one series in time order as one: windows at or before the previous rollup's last
 * are dropped (an overlapping copy), and each counter continues from the previous one: a first
 * raw histogram that starts a new counter (detectReset against the previous last raw one) is a
 * reset. Counters need not be decoded (then only the other columns are joined).
 */
export function concatHistogramRollups(rs: readonly HistogramRollup[]): HistogramRollup {
  const sorted = [...rs].sort((a, b) => a.t[0] - b.t[0]);
  if (sorted.length === 1) return sorted[0];
  const t: number[] = [];
  const count: number[] = [];
  const sum: FloatHistogram[] = [];
  const counter: FloatHistogram[] = [];
  let total: FloatHistogram | undefined;
  let lastRaw: FloatHistogram | undefined;
  for (const r of sorted) {
    const shift = r.gauge || !r.first ? undefined : counterShift(total, lastRaw, r.first);
    const lastT = t.length > 0 ? t[t.length - 1] : -Infinity;
    let took = false;
    for (let i = 0; i < r.t.length; i++) {
      if (r.t[i] <= lastT) continue;
      t.push(r.t[i]);
      if (r.count.length) count.push(r.count[i]);
      if (r.sum.length) sum.push(r.sum[i]);
      if (r.counter.length) counter.push(plus(r.counter[i], shift));
      took = true;
    }
    if (!took) continue;
    total = counter[counter.length - 1];
    lastRaw = r.last;
  }
  const first = sorted[0];
  return {
    t: Float64Array.from(t),
    count: count.length === t.length ? Float64Array.from(count) : ZERO,
    sum: sum.length === t.length ? sum : [],
    counter: counter.length === t.length ? counter : [],
    firstT: first.firstT,
    first: first.first,
    last: lastRaw,
    gauge: first.gauge,
  };
}

function sampleOf(h: FloatHistogram): HistogramSample {
  return { ...h, customValues: h.customValues ?? [] };
}

/**
 * A float histogram chunk of `hs`: the histograms are laid out on one common layout (the lowest
 * schema, the widest zero bucket, every bucket any of them has), as one chunk has one layout.
 */
function histogramChunk(ts: ArrayLike<number>, hs: readonly FloatHistogram[], header: CounterResetHeader): Uint8Array {
  const layout = new FloatHistogram({ schema: hs[0].schema, zeroThreshold: hs[0].zeroThreshold, customValues: hs[0].customValues });
  for (const h of hs) layout.add(h);
  const e = new FloatHistogramChunkEncoder(header);
  for (let i = 0; i < hs.length; i++) {
    const on = layout.copy().mul(0);
    on.count = 0;
    on.sum = 0;
    on.zeroCount = 0;
    on.add(hs[i]);
    e.append(ts[i], sampleOf(on));
  }
  return e.bytes().slice();
}

/**
 * The rollup as aggregate chunks, one per CHUNK_SPAN of `res` (as the float rollup's): count
 * (XOR), sum and counter (float histogram chunks); min and max absent, as in Thanos. The counter
 * entry holds, like the float one, a first sample (the first raw histogram in the first chunk, the
 * first window's counter in later ones), the windows' counters, and a last sample repeating the
 * last window's timestamp (the last raw histogram in the last chunk, the last counter in others).
 */
export function histogramRollupToChunks(r: HistogramRollup, res: number): BlockChunk[] {
  const out: BlockChunk[] = [];
  const n = r.t.length;
  const header = r.gauge ? CounterResetHeader.Gauge : CounterResetHeader.Unknown;
  for (const [i, j] of chunkRanges(r.t, res)) {
    const ct = [i === 0 ? r.firstT : r.t[i], ...r.t.subarray(i, j), r.t[j - 1]];
    const cv = [i === 0 ? r.first! : r.counter[i], ...r.counter.slice(i, j), j === n ? r.last! : r.counter[j - 1]];
    const parts: (AggrPart | undefined)[] = [];
    parts[AGGR_COUNT] = { encoding: ENCODING_XOR, data: xor(r.t, r.count, i, j) };
    parts[AGGR_SUM] = {
      encoding: ENCODING_FLOAT_HISTOGRAM,
      data: histogramChunk(r.t.subarray(i, j), r.sum.slice(i, j), CounterResetHeader.Gauge),
    };
    parts[AGGR_COUNTER] = { encoding: ENCODING_FLOAT_HISTOGRAM, data: histogramChunk(ct, cv, header) };
    out.push(aggrBlockChunk(r, i, j, parts));
  }
  return out;
}

/** Whether an aggregate chunk holds a histogram rollup (its sum or counter entry is a float histogram chunk). */
export function isHistogramAggrChunk(parts: readonly (AggrPart | undefined)[]): boolean {
  return parts[AGGR_SUM]?.encoding === ENCODING_FLOAT_HISTOGRAM || parts[AGGR_COUNTER]?.encoding === ENCODING_FLOAT_HISTOGRAM;
}

function histogramsOf(part: AggrPart | undefined): { t: number[]; h: FloatHistogram[] } {
  const got = { timestamps: [] as number[], histograms: [] as (FloatHistogram | 'stale')[] };
  if (part) histogramChunkSamples(part.data, ENCODING_FLOAT_HISTOGRAM, -Infinity, Infinity, got);
  return { t: got.timestamps, h: got.histograms.filter((x): x is FloatHistogram => x !== 'stale') };
}

/** One decoded aggregate chunk of a histogram rollup; entries not fetched leave their columns empty. */
function chunkRollup(parts: readonly (AggrPart | undefined)[]): HistogramRollup | undefined {
  const count = decodeXOR(parts[AGGR_COUNT]?.data);
  const sum = histogramsOf(parts[AGGR_SUM]);
  const counter = histogramsOf(parts[AGGR_COUNTER]);
  const hasCounter = counter.h.length >= 2;
  const t = count.t.length ? count.t : sum.t.length ? Float64Array.from(sum.t) : Float64Array.from(counter.t.slice(1, -1));
  if (t.length === 0) return undefined;
  const header = parts[AGGR_COUNTER]?.data[2] ?? parts[AGGR_SUM]?.data[2] ?? 0;
  return {
    t,
    count: count.t.length === t.length ? count.v : ZERO,
    sum: sum.h.length === t.length ? sum.h : [],
    counter: hasCounter ? counter.h.slice(1, -1) : [],
    firstT: hasCounter ? counter.t[0] : t[0],
    first: hasCounter ? counter.h[0] : undefined,
    last: hasCounter ? counter.h[counter.h.length - 1] : undefined,
    gauge: parts[AGGR_COUNTER] ? (header & 0xc0) === CounterResetHeader.Gauge : false,
  };
}

/**
 * A series' histogram aggregate chunks (time order) as one rollup, counters continued across
 * chunks, then the windows outside [from, to] dropped. Undefined when none is left.
 */
export function histogramRollupFromChunks(chunks: readonly Uint8Array[], from = -Infinity, to = Infinity): HistogramRollup | undefined {
  const rs: HistogramRollup[] = [];
  for (const c of chunks) {
    const r = chunkRollup(decodeAggrChunk(c));
    if (r) rs.push(r);
  }
  if (rs.length === 0) return undefined;
  const r = concatHistogramRollups(rs);
  let a = 0;
  while (a < r.t.length && r.t[a] < from) a++;
  let b = r.t.length;
  while (b > a && r.t[b - 1] > to) b--;
  if (a >= b) return undefined;
  if (a === 0 && b === r.t.length) return r;
  return {
    ...r,
    t: r.t.slice(a, b),
    count: r.count.length ? r.count.slice(a, b) : ZERO,
    sum: r.sum.slice(a, b),
    counter: r.counter.slice(a, b),
  };
}
