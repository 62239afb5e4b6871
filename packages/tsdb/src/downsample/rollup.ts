/**
 * One series of a rollup block, window by window, in typed arrays: what downsampling computes
 * and what queries over rollups read. The on-disk form is a list of aggregate chunks
 * (aggr-chunk.ts); toChunks/fromChunks convert. Semantics follow Thanos' downsampling; the
 * details and where Strata differs are in docs/format/downsampling.md.
 */
import { ENCODING_XOR, XOREncoder, xorNumSamples } from '../chunkenc/xor.js';
import { decodeXORBits } from '../chunkenc/xor-decode.js';
import type { BlockChunk } from '../block/writer.js';
import {
  AGGR_COUNT,
  AGGR_COUNTER,
  AGGR_MAX,
  AGGR_MIN,
  AGGR_SKETCHES,
  AGGR_SUM,
  CHUNK_ENCODING_AGGR,
  decodeAggrChunk,
  decodeSketchList,
  encodeAggrChunk,
  encodeSketchList,
  SKETCHES_ENCODING,
  type AggrPart,
} from './aggr-chunk.js';
import { DDSketch } from './ddsketch.js';

export const RES_5M = 5 * 60_000;
export const RES_1H = 60 * 60_000;
export const RES_1D = 24 * 60 * 60_000;
/** The resolutions a block may have, finest first; 0 is raw data. */
export const RESOLUTIONS = [0, RES_5M, RES_1H, RES_1D] as const;

/**
 * How much time one aggregate chunk covers, per resolution; chunks start at multiples of it, so
 * a window never straddles two chunks and each coarser window is made of whole chunks' windows.
 */
export const CHUNK_SPAN: Record<number, number> = { [RES_5M]: RES_1D, [RES_1H]: 10 * RES_1D, [RES_1D]: 200 * RES_1D };

/** The last millisecond of the window of `res` holding t (windows are [k*res, (k+1)*res)). */
export function windowEnd(t: number, res: number): number {
  return t - mod(t, res) + res - 1;
}

function mod(a: number, b: number): number {
  return ((a % b) + b) % b;
}

export interface Rollup {
  /**
   * Per window, the timestamp of its last raw sample (Thanos writes the window's last ms; both lie
   * inside the window, so either selects the same windows, and this one keeps the counter's
   * samples at true sample times: rate over rollups then equals rate over those raw samples).
   */
  t: Float64Array;
  count: Float64Array;
  sum: Float64Array;
  min: Float64Array;
  max: Float64Array;
  /**
   * The counter aggregate: per window the counter's running total at the window's last sample,
   * with resets applied (a drop adds the new value, as PromQL's rate does), starting from the
   * first raw value. firstT/firstV is the first raw sample, lastV the last raw value: readers use
   * them to detect a reset between two blocks.
   */
  counter: Float64Array;
  firstT: number;
  firstV: number;
  lastV: number;
  /** Per window, the encoded DDSketch of the raw values; undefined for blocks without sketches. */
  sketches: Uint8Array[] | undefined;
}

function alloc(n: number): Omit<Rollup, 'firstT' | 'firstV' | 'lastV' | 'sketches'> {
  return {
    t: new Float64Array(n),
    count: new Float64Array(n),
    sum: new Float64Array(n),
    min: new Float64Array(n),
    max: new Float64Array(n),
    counter: new Float64Array(n),
  };
}

function trim(r: Rollup, n: number): Rollup {
  if (n === r.t.length) return r;
  return {
    ...r,
    t: r.t.slice(0, n),
    count: r.count.slice(0, n),
    sum: r.sum.slice(0, n),
    min: r.min.slice(0, n),
    max: r.max.slice(0, n),
    counter: r.counter.slice(0, n),
    sketches: r.sketches?.slice(0, n),
  };
}

/**
 * Aggregates raw samples (ascending) into windows of `res`. NaN values (staleness markers and
 * NaN samples alike, as Thanos) carry no value and are skipped. Undefined when nothing is left.
 */
export function rollupFromRaw(ts: Float64Array, vs: Float64Array, res: number): Rollup | undefined {
  const n = ts.length;
  const a = alloc(n);
  const sketches: Uint8Array[] = [];
  let w = -1;
  let end = -Infinity;
  let total = 0;
  let last = NaN;
  let firstT = NaN;
  let firstV = NaN;
  let sk: DDSketch | undefined;
  let lastT = -Infinity;
  for (let i = 0; i < n; i++) {
    const v = vs[i];
    if (Number.isNaN(v)) continue;
    const t = ts[i];
    if (t <= lastT) continue; // never back in time
    lastT = t;
    if (Number.isNaN(firstV)) {
      firstT = t;
      firstV = v;
      total = v;
    } else total += v >= last ? v - last : v;
    last = v;
    if (t > end) {
      if (sk) sketches.push(sk.encode());
      w++;
      end = windowEnd(t, res);
      a.t[w] = end;
      a.min[w] = Infinity;
      a.max[w] = -Infinity;
      sk = new DDSketch();
    }
    a.t[w] = t;
    a.count[w]++;
    a.sum[w] += v;
    if (v < a.min[w]) a.min[w] = v;
    if (v > a.max[w]) a.max[w] = v;
    a.counter[w] = total;
    sk!.add(v);
  }
  if (w < 0) return undefined;
  sketches.push(sk!.encode());
  return trim({ ...a, firstT, firstV, lastV: last, sketches }, w + 1);
}

/**
 * Aggregates a rollup into the coarser windows of `res`: counts and sums add, min/max of the
 * mins/maxes, the counter's total at the last window, sketches merged (exactly). Raw data is never
 * needed again.
 */
export function rollupFromRollup(r: Rollup, res: number): Rollup {
  const n = r.t.length;
  const a = alloc(n);
  const sketches: Uint8Array[] | undefined = r.sketches ? [] : undefined;
  let w = -1;
  let end = -Infinity;
  let sk: DDSketch | undefined;
  for (let i = 0; i < n; i++) {
    const t = r.t[i];
    if (t > end) {
      if (sk) sketches!.push(sk.encode());
      w++;
      end = windowEnd(t, res);
      a.t[w] = end;
      a.min[w] = Infinity;
      a.max[w] = -Infinity;
      sk = r.sketches ? new DDSketch() : undefined;
    }
    a.t[w] = t;
    a.count[w] += r.count[i];
    a.sum[w] += r.sum[i];
    if (r.min[i] < a.min[w]) a.min[w] = r.min[i];
    if (r.max[i] > a.max[w]) a.max[w] = r.max[i];
    a.counter[w] = r.counter[i];
    if (sk) sk.merge(DDSketch.decode(r.sketches![i]));
  }
  if (sk) sketches!.push(sk.encode());
  return trim({ ...a, firstT: r.firstT, firstV: r.firstV, lastV: r.lastV, sketches }, w + 1);
}

/**
 * Rollups of one series from blocks in time order as one: windows at or before the previous
 * rollup's last are dropped (an overlapping block's copy), and each counter continues from the
 * previous one with Thanos' rule (a first raw value below the previous last raw value is a reset).
 */
export function concatRollups(rs: readonly Rollup[]): Rollup {
  const sorted = [...rs].sort((a, b) => a.t[0] - b.t[0]);
  if (sorted.length === 1) return sorted[0];
  let n = 0;
  for (const r of sorted) n += r.t.length;
  const a = alloc(n);
  const withSketches = sorted.every((r) => r.sketches !== undefined);
  const sketches: Uint8Array[] = [];
  let k = 0;
  let total = NaN;
  let lastRaw = NaN;
  for (const r of sorted) {
    const base = Number.isNaN(total) ? r.firstV : total + (r.firstV >= lastRaw ? r.firstV - lastRaw : r.firstV);
    const lastT = k > 0 ? a.t[k - 1] : -Infinity;
    let took = false;
    for (let i = 0; i < r.t.length; i++) {
      if (r.t[i] <= lastT) continue;
      a.t[k] = r.t[i];
      a.count[k] = r.count[i];
      a.sum[k] = r.sum[i];
      a.min[k] = r.min[i];
      a.max[k] = r.max[i];
      a.counter[k] = base + (r.counter[i] - r.firstV);
      if (withSketches) sketches.push(r.sketches![i]);
      k++;
      took = true;
    }
    if (!took) continue;
    total = a.counter[k - 1];
    lastRaw = r.lastV;
  }
  const first = sorted[0];
  return trim({ ...a, firstT: first.firstT, firstV: first.firstV, lastV: lastRaw, sketches: withSketches ? sketches : undefined }, k);
}

/** Samples [from, to) of a column as an XOR chunk. */
export function xor(t: Float64Array, v: Float64Array, from: number, to: number): Uint8Array {
  const e = new XOREncoder(16 + 4 * (to - from));
  for (let i = from; i < to; i++) e.append(t[i], v[i]);
  return e.bytes();
}

/**
 * The rollup as aggregate chunks, one per CHUNK_SPAN of `res`. The counter entry of each chunk
 * holds, as Thanos', a first sample, the windows' totals, and a last sample repeating the last
 * window's timestamp: the first chunk's first sample is the first raw sample, the last chunk's
 * last sample the last raw value; in between both are the running total, so the total runs on
 * from chunk to chunk without a false reset.
 */
export function toChunks(r: Rollup, res: number): BlockChunk[] {
  const out: BlockChunk[] = [];
  const n = r.t.length;
  for (const [i, j] of chunkRanges(r.t, res)) {
    const counter = new XOREncoder(16 + 4 * (j - i + 2));
    if (i === 0) counter.append(r.firstT, r.firstV);
    else counter.append(r.t[i], r.counter[i]);
    for (let k = i; k < j; k++) counter.append(r.t[k], r.counter[k]);
    counter.append(r.t[j - 1], j === n ? r.lastV : r.counter[j - 1]);
    const parts = [
      { encoding: ENCODING_XOR, data: xor(r.t, r.count, i, j) },
      { encoding: ENCODING_XOR, data: xor(r.t, r.sum, i, j) },
      { encoding: ENCODING_XOR, data: xor(r.t, r.min, i, j) },
      { encoding: ENCODING_XOR, data: xor(r.t, r.max, i, j) },
      { encoding: ENCODING_XOR, data: counter.bytes() },
    ];
    if (r.sketches) parts.push({ encoding: SKETCHES_ENCODING, data: encodeSketchList(r.sketches.slice(i, j)) });
    out.push(aggrBlockChunk(r, i, j, parts));
  }
  return out;
}

/** The aggregate chunk of windows [i, j) of a rollup (the first chunk starts at the first raw sample). */
export function aggrBlockChunk(
  r: { t: Float64Array; firstT: number },
  i: number,
  j: number,
  parts: readonly (AggrPart | undefined)[],
): BlockChunk {
  return {
    minT: i === 0 ? Math.min(r.firstT, r.t[0]) : r.t[i],
    maxT: r.t[j - 1],
    data: encodeAggrChunk(parts),
    encoding: CHUNK_ENCODING_AGGR,
    samples: j - i,
  };
}

/** The windows [i, j) of each aggregate chunk: one chunk per aligned CHUNK_SPAN of `res` (at most 65000 windows). */
export function chunkRanges(t: Float64Array, res: number): [number, number][] {
  const out: [number, number][] = [];
  const span = CHUNK_SPAN[res] ?? RES_1D;
  let i = 0;
  while (i < t.length) {
    const spanEnd = t[i] - mod(t[i], span) + span;
    let j = i + 1;
    while (j < t.length && t[j] < spanEnd && j - i < 65_000) j++;
    out.push([i, j]);
    i = j;
  }
  return out;
}

/** An XOR column decoded straight into typed arrays (the raw path's decoder: no number per sample boxed). */
export function decodeXOR(data: Uint8Array | undefined): { t: Float64Array; v: Float64Array } {
  if (!data) return EMPTY;
  const n = xorNumSamples(data);
  // Both columns in one buffer: each typed array buffer is a malloc and a collector's entry.
  const both = new Float64Array(2 * n);
  const t = both.subarray(0, n);
  const v = both.subarray(n);
  const k = decodeXORBits(data, t, new Uint32Array(both.buffer, 8 * n, 2 * n), 0, -Infinity, Infinity);
  return k === n ? { t, v } : { t: t.subarray(0, k), v: v.subarray(0, k) };
}

const EMPTY = { t: new Float64Array(0), v: new Float64Array(0) };

/** A set of aggregates (bit 1 << AGGR_* each): what a reader needs decoded. */
export type AggrSet = number;
export const ALL_AGGRS: AggrSet = (1 << (AGGR_SKETCHES + 1)) - 1;
export const aggrBit = (aggr: number): AggrSet => 1 << aggr;

type Column = { t: Float64Array; v: Float64Array };
interface ChunkColumns {
  count: Column;
  sum: Column;
  min: Column;
  max: Column;
  counter: Column;
  sketches: Uint8Array[] | undefined;
  /** The windows' timestamps, and how many there are. */
  t: Float64Array;
  m: number;
}

function column(parts: readonly (AggrPart | undefined)[], aggr: number, want: AggrSet): Column {
  return want & aggrBit(aggr) ? decodeXOR(parts[aggr]?.data) : EMPTY;
}

/** The wanted columns of one chunk (no closure per chunk: each costs a defineProperty here). */
function chunkColumns(parts: readonly (AggrPart | undefined)[], want: AggrSet): ChunkColumns {
  const count = column(parts, AGGR_COUNT, want);
  const sum = column(parts, AGGR_SUM, want);
  const min = column(parts, AGGR_MIN, want);
  const max = column(parts, AGGR_MAX, want);
  const counter = column(parts, AGGR_COUNTER, want);
  const sketches = want & aggrBit(AGGR_SKETCHES) && parts[AGGR_SKETCHES] ? decodeSketchList(parts[AGGR_SKETCHES].data) : undefined;
  let t: Float64Array;
  if (count.t.length > 0) t = count.t;
  else if (sum.t.length > 0) t = sum.t;
  else if (min.t.length > 0) t = min.t;
  else if (max.t.length > 0) t = max.t;
  // The counter entry holds a first sample, one per window, then the repeated last timestamp.
  else if (counter.t.length >= 2) t = counter.t.subarray(1, counter.t.length - 1);
  // Nothing wanted is in this chunk (a counter asked of a Thanos chunk without one): the windows still count.
  else t = decodeXOR(parts[AGGR_COUNT]?.data ?? parts[AGGR_SUM]?.data ?? parts[AGGR_MIN]?.data ?? parts[AGGR_MAX]?.data).t;
  return { count, sum, min, max, counter, sketches, t, m: t.length };
}

function nanColumn(want: AggrSet, aggr: number, n: number): Float64Array {
  return want & aggrBit(aggr) ? new Float64Array(n).fill(NaN) : NO_COLUMN;
}

/** An aggregate not asked for: empty, shared (nothing can be written into it). */
const NO_COLUMN = new Float64Array(0);

/**
 * A series' aggregate chunks (time order, not overlapping; Strata's or Thanos') as one rollup.
 * Counter totals are re-based across chunks with Thanos' rule: a chunk's first value below the
 * previous chunk's last raw value is a reset. Windows outside [from, to] are dropped after that,
 * so the totals stay right. Only the aggregates in `want` are decoded: the others' columns are
 * empty (read as undefined; windows of a chunk without a wanted entry read NaN), the sketches undefined: a rate reads the counter alone, and the window timestamps come from
 * the first decoded column, all of which share them.
 */
export function fromChunks(chunks: readonly Uint8Array[], from = -Infinity, to = Infinity, want: AggrSet = ALL_AGGRS): Rollup | undefined {
  const cols: ChunkColumns[] = [];
  for (const c of chunks) cols.push(chunkColumns(decodeAggrChunk(c), want));
  let n = 0;
  for (const c of cols) n += c.m;
  // Columns not wanted stay empty (reading them gives undefined, NaN once stored): a rate allocates its counter alone.
  const a = {
    t: new Float64Array(n),
    count: nanColumn(want, AGGR_COUNT, n),
    sum: nanColumn(want, AGGR_SUM, n),
    min: nanColumn(want, AGGR_MIN, n),
    max: nanColumn(want, AGGR_MAX, n),
    counter: nanColumn(want, AGGR_COUNTER, n),
  };
  const withSketches = cols.length > 0 && cols.every((c) => c.sketches !== undefined);
  const sketches: Uint8Array[] = [];
  let total = 0;
  let lastRaw = NaN;
  let firstT = NaN;
  let firstV = NaN;
  let out = 0;
  for (const c of cols) {
    const m = c.m;
    const ct = c.counter.t;
    const cv = c.counter.v;
    const hasCounter = ct.length === m + 2;
    if (hasCounter) {
      const f = cv[0];
      let base: number;
      if (Number.isNaN(firstV)) {
        firstT = ct[0];
        firstV = f;
        base = f;
      } else base = total + (f >= lastRaw ? f - lastRaw : f);
      for (let i = 0; i < m; i++) cv[i + 1] = base + (cv[i + 1] - f);
      total = m > 0 ? cv[m] : base;
      lastRaw = cv[m + 1];
    }
    const hasCount = c.count.t.length === m && a.count.length > 0;
    const hasSum = c.sum.t.length === m && a.sum.length > 0;
    const hasMin = c.min.t.length === m && a.min.length > 0;
    const hasMax = c.max.t.length === m && a.max.length > 0;
    for (let i = 0; i < m; i++) {
      const t = c.t[i];
      if (t < from || t > to) continue;
      a.t[out] = t;
      if (hasCount) a.count[out] = c.count.v[i];
      if (hasSum) a.sum[out] = c.sum.v[i];
      if (hasMin) a.min[out] = c.min.v[i];
      if (hasMax) a.max[out] = c.max.v[i];
      if (hasCounter) a.counter[out] = cv[i + 1];
      if (withSketches) sketches.push(c.sketches![i]);
      out++;
    }
  }
  if (out === 0) return undefined;
  return trim({ ...a, firstT, firstV, lastV: lastRaw, sketches: withSketches ? sketches : undefined }, out);
}
