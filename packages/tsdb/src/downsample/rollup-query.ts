/**
 * Answers a select from rollups: which aggregate a PromQL function reads (Thanos' rules, with
 * count/avg/quantile made exact or bounded through Series.rollup), and how the parts of a series
 * from blocks of different resolutions join into one series. The table of functions is in
 * docs/format/downsampling.md.
 */
import type { FloatHistogram, Labels, RollupSamples, Series } from '@strata/model';
import { DDSketch } from './ddsketch.js';
import { AGGR_COUNT, AGGR_COUNTER, AGGR_MAX, AGGR_MIN, AGGR_SKETCHES, AGGR_SUM } from './aggr-chunk.js';
import { aggrBit, fromChunks, type AggrSet, type Rollup } from './rollup.js';
import type { HistogramRollup } from './histogram-rollup.js';
import { countRollupOf, joinHistogramParts, type HistogramPart } from './histogram-rollup-query.js';

/** What a select over rollups returns per window. */
export type AggrMode = 'counter' | 'min' | 'max' | 'sum' | 'count' | 'avg_over_time' | 'quantile' | 'avg';

/** Every mode, each at a fixed index (the wire form of rollup parts names a mode by it: docs/format/rollup-read.md). */
export const AGGR_MODES: readonly AggrMode[] = ['counter', 'min', 'max', 'sum', 'count', 'avg_over_time', 'quantile', 'avg'];

/** The aggregate that answers `func` (SelectHints.func: the function enclosing the selector). */
export function modeFor(func: string | undefined): AggrMode {
  switch (func) {
    case 'rate':
    case 'increase':
    case 'irate':
    case 'resets':
      return 'counter';
    case 'min_over_time':
      return 'min';
    case 'max_over_time':
      return 'max';
    case 'sum_over_time':
      return 'sum';
    case 'count_over_time':
      return 'count';
    case 'avg_over_time':
      return 'avg_over_time';
    case 'quantile_over_time':
      return 'quantile';
    default:
      return 'avg';
  }
}

/**
 * The aggregates a mode reads (windowSeries and counterSeries below touch no other): the rest of
 * a rollup's chunks is neither fetched nor decoded.
 */
export function aggregatesFor(mode: AggrMode): AggrSet {
  switch (mode) {
    case 'counter':
      return aggrBit(AGGR_COUNTER);
    case 'min':
      return aggrBit(AGGR_MIN);
    case 'max':
      return aggrBit(AGGR_MAX);
    case 'sum':
      return aggrBit(AGGR_SUM);
    case 'count':
      return aggrBit(AGGR_COUNT);
    case 'quantile':
      return aggrBit(AGGR_SUM) | aggrBit(AGGR_COUNT) | aggrBit(AGGR_SKETCHES);
    case 'avg_over_time':
    case 'avg':
      return aggrBit(AGGR_SUM) | aggrBit(AGGR_COUNT);
  }
}

/**
 * A series' data from one block, clipped to the range that block answers for. A raw part of a
 * native histogram series holds its histograms in `h` (its values then unused); `hrollup` is a
 * histogram rollup (histogram-rollup.ts).
 */
export type Part =
  | { kind: 'raw'; t: Float64Array; v: Float64Array; h?: FloatHistogram[] }
  | { kind: 'rollup'; r: Rollup; clipped: boolean; from: number }
  | { kind: 'hrollup'; r: HistogramRollup; clipped: boolean; from: number };

/**
 * A float rollup block's aggregate chunks of a series as the block gave them (only the entries the
 * mode reads), not decoded: a store sends them on as they are and the reader decodes them with
 * decodeChunkPart, which is what the store would have done in-process. [from, to] is the range
 * the block answers for, clipped as in Part.
 */
export interface ChunkPart {
  kind: 'rollup-chunks';
  chunks: Uint8Array[];
  from: number;
  to: number;
  clipped: boolean;
}

/** A part as a store holds it before decoding. */
export type SourcePart = Part | ChunkPart;

/** The rollup part a ChunkPart stands for, or undefined when it has no window in [from, to]. */
export function decodeChunkPart(p: ChunkPart, mode: AggrMode): Part | undefined {
  const r = fromChunks(p.chunks, p.from, p.to, aggregatesFor(mode));
  return r && { kind: 'rollup', r, from: p.from, clipped: p.clipped };
}

/** joinParts over parts of which some may still be undecoded (decoded here, in place). */
export function joinSourceParts(labels: Labels, parts: readonly SourcePart[], mode: AggrMode): Series | undefined {
  const decoded: Part[] = [];
  for (const p of parts) {
    const d = p.kind === 'rollup-chunks' ? decodeChunkPart(p, mode) : p;
    if (d) decoded.push(d);
  }
  return joinParts(labels, decoded, mode);
}

function firstT(p: Part): number {
  return p.kind === 'raw' ? p.t[0] : Math.min(p.r.t[0], p.r.firstT);
}

/** Parts in time order (the joins then keep, of a part starting before the previous one ended, only its later samples). */
function ordered(parts: Part[]): Part[] {
  return parts.filter((p) => (p.kind === 'raw' ? p.t.length : p.r.t.length) > 0).sort((a, b) => firstT(a) - firstT(b));
}

type FloatPart = Exclude<Part, { kind: 'hrollup' }>;

function isHistogramPart(p: Part): p is HistogramPart {
  return p.kind === 'hrollup' || (p.kind === 'raw' && p.h !== undefined);
}

/**
 * The counter as one monotonic series: each part's samples become running totals (a drop counts
 * as a reset, as rate() does), and each part is re-based on the previous one with Thanos' rule (its
 * first value below the previous part's last raw value is a reset). A clipped rollup's totals
 * stand in for raw values at the clip points.
 */
function counterSeries(labels: Labels, parts: FloatPart[]): Series {
  let n = 0;
  for (const p of parts) n += p.kind === 'raw' ? p.t.length : p.r.t.length + 1;
  const ts = new Float64Array(n);
  const vs = new Float64Array(n);
  // Plain locals and loops, no closure writing them: a closure's variables live in its context,
  // one load and store there per sample (a month of hourly windows is hundreds of thousands).
  let k = 0;
  let lastTs = -Infinity;
  let total = NaN;
  let lastRaw = NaN;
  for (const p of parts) {
    if (p.kind === 'raw') {
      const pt = p.t;
      const pv = p.v;
      let last = pv[0];
      let run = continued(total, lastRaw, last);
      for (let i = 0; i < pt.length; i++) {
        if (i > 0) {
          const v = pv[i];
          run += v >= last ? v - last : v;
          last = v;
        }
        if (pt[i] > lastTs) {
          lastTs = ts[k] = pt[i];
          vs[k++] = run;
        }
      }
      total = run;
      lastRaw = last;
      continue;
    }
    const r = p.r;
    const rt = r.t;
    const rc = r.counter;
    // The first raw sample starts the series only: after another part it would sit seconds after
    // that part's last sample and shorten rate()'s average interval, so its extrapolation (37% off
    // for a 2h rate over 1h rollups at a block boundary); the re-basing carries the increase across.
    const withFirst = Number.isNaN(total) && r.firstT >= p.from && r.firstT < rt[0];
    const f = withFirst ? r.firstV : rc[0];
    const b = continued(total, lastRaw, f);
    if (withFirst && r.firstT > lastTs) {
      lastTs = ts[k] = r.firstT;
      vs[k++] = b;
    }
    for (let i = 0; i < rt.length; i++) {
      if (rt[i] > lastTs) {
        lastTs = ts[k] = rt[i];
        vs[k++] = b + (rc[i] - f);
      }
    }
    total = b + (rc[rt.length - 1] - f);
    lastRaw = p.clipped ? rc[rt.length - 1] : r.lastV;
  }
  return { labels, timestamps: ts.subarray(0, k), values: vs.subarray(0, k) };
}

/** The total a part whose first value is `f` continues from: the previous parts' `total`, re-based with Thanos' rule (`f` below their last raw value is a reset). */
function continued(total: number, lastRaw: number, f: number): number {
  return Number.isNaN(total) ? f : total + (f >= lastRaw ? f - lastRaw : f);
}

/** Values per window for the modes that read one aggregate, with counts and sketches when asked. */
function windowSeries(labels: Labels, parts: FloatPart[], mode: Exclude<AggrMode, 'counter'>): Series {
  let n = 0;
  for (const p of parts) n += p.kind === 'raw' ? p.t.length : p.r.t.length;
  const ts = new Float64Array(n);
  const vs = new Float64Array(n);
  const counts = new Float64Array(n);
  const sketches: (Uint8Array | undefined)[] | undefined = mode === 'quantile' ? new Array(n) : undefined;
  let k = 0;
  let lastTs = -Infinity;
  for (const p of parts) {
    if (p.kind === 'raw') {
      for (let i = 0; i < p.t.length; i++) {
        if (p.t[i] <= lastTs) continue;
        ts[k] = lastTs = p.t[i];
        vs[k] = mode === 'count' ? 1 : p.v[i];
        counts[k] = 1;
        k++;
      }
      continue;
    }
    const r = p.r;
    const col = mode === 'min' ? r.min : mode === 'max' ? r.max : mode === 'count' ? r.count : r.sum;
    for (let i = 0; i < r.t.length; i++) {
      if (r.t[i] <= lastTs) continue;
      ts[k] = lastTs = r.t[i];
      vs[k] = mode === 'avg' || mode === 'quantile' ? r.sum[i] / r.count[i] : col[i];
      counts[k] = r.count[i];
      if (sketches) sketches[k] = r.sketches?.[i];
      k++;
    }
  }
  const timestamps = ts.subarray(0, k);
  const values = vs.subarray(0, k);
  if (mode !== 'count' && mode !== 'avg_over_time' && mode !== 'quantile') return { labels, timestamps, values };
  const rollup: RollupSamples = {
    counts: counts.subarray(0, k),
    sketches: sketches?.slice(0, k),
    quantile: sketches ? sketchQuantile : undefined,
  };
  return { labels, timestamps, values, rollup };
}

/**
 * The q-quantile over samples [from, to): the windows' sketches merged, raw samples (no sketch)
 * added as themselves. A window of a block without sketches (made by Thanos) adds its average
 * `count` times: then the bound of the docs does not hold.
 */
export function sketchQuantile(r: RollupSamples, values: Float64Array, from: number, to: number, q: number): number {
  const acc = new DDSketch();
  for (let i = from; i < to; i++) {
    const s = r.sketches?.[i];
    if (s) acc.merge(DDSketch.decode(s));
    else acc.add(values[i], r.counts[i]);
  }
  return acc.quantile(q);
}

/** One series from its parts (any order) for the function's mode; undefined when empty. */
export function joinParts(labels: Labels, parts: Part[], mode: AggrMode): Series | undefined {
  const sorted = ordered(parts);
  if (sorted.length === 0) return undefined;
  if (mode === 'count') {
    // Counting needs no histogram: a histogram rollup's counts join as a float rollup's.
    const counted = sorted.map((p): Part => (p.kind === 'hrollup' ? { ...p, kind: 'rollup', r: countRollupOf(p.r) } : p));
    return joinFloatParts(labels, counted, mode);
  }
  // A native histogram series: its histogram parts alone (a float part of it is a change of kind the rollups do not keep).
  if (sorted.some(isHistogramPart)) return joinHistogramParts(labels, sorted.filter(isHistogramPart), mode);
  return joinFloatParts(labels, sorted, mode);
}

function joinFloatParts(labels: Labels, parts: Part[], mode: AggrMode): Series | undefined {
  const sorted = parts.filter((p): p is FloatPart => p.kind !== 'hrollup');
  const s = mode === 'counter' ? counterSeries(labels, sorted) : windowSeries(labels, sorted, mode);
  return s.timestamps.length > 0 ? s : undefined;
}
