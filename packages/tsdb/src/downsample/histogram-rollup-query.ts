/**
 * A native histogram series read from rollups (histogram-rollup.ts), joined with raw histograms
 * of finer blocks, for the function asked for: `rate`, `increase`, `irate` and `resets` read the
 * counter histograms (one monotonic counter across parts, as the float counter in rollup-query.ts),
 * a plain selector and the other functions the window's average histogram (sum / count),
 * `sum_over_time` the sums, `count_over_time` the counts. `min_over_time`, `max_over_time` and
 * `quantile_over_time` ignore histograms in PromQL, so they get nothing.
 */
import { CounterResetHint, type FloatHistogram, type Labels, type Series } from '@strata/model';
import { counterShift, type HistogramRollup } from './histogram-rollup.js';
import type { AggrMode } from './rollup-query.js';
import type { Rollup } from './rollup.js';

export type HistogramPart =
  | { kind: 'raw'; t: Float64Array; v: Float64Array; h: FloatHistogram[] }
  | { kind: 'hrollup'; r: HistogramRollup; clipped: boolean; from: number };

function plus(a: FloatHistogram, b: FloatHistogram | undefined): FloatHistogram {
  const out = a.copy();
  if (b) out.add(b);
  return out;
}

/** A histogram rollup's counts as a float rollup's count column (count_over_time reads nothing else). */
export function countRollupOf(r: HistogramRollup): Rollup {
  const empty = new Float64Array(0);
  return {
    t: r.t,
    count: r.count,
    sum: empty,
    min: empty,
    max: empty,
    counter: empty,
    firstT: r.firstT,
    firstV: NaN,
    lastV: NaN,
    sketches: undefined,
  };
}

function isGauge(parts: readonly HistogramPart[]): boolean {
  return parts.some((p) => (p.kind === 'hrollup' ? p.r.gauge : p.h[0].counterResetHint === CounterResetHint.Gauge));
}

/**
 * The counter as one series that never goes down: raw histograms become running totals (each
 * reset adds the histogram before it), and each part continues the previous one (counterShift).
 * Its samples are marked "not a counter reset" after the first, so rate() reads them as one counter.
 */
function counterSeries(labels: Labels, parts: readonly HistogramPart[]): Series {
  const gauge = isGauge(parts);
  const ts: number[] = [];
  const hs: FloatHistogram[] = [];
  let lastTs = -Infinity;
  const push = (t: number, h: FloatHistogram): void => {
    if (t <= lastTs) return;
    ts.push(t);
    hs.push(h);
    lastTs = t;
  };
  let total: FloatHistogram | undefined;
  let lastRaw: FloatHistogram | undefined;
  for (const p of parts) {
    if (p.kind === 'raw') {
      let offset = gauge ? undefined : counterShift(total, lastRaw, p.h[0]);
      for (let i = 0; i < p.t.length; i++) {
        if (i > 0 && !gauge && p.h[i].detectReset(p.h[i - 1])) offset = plus(p.h[i - 1], offset);
        total = plus(p.h[i], offset);
        push(p.t[i], total);
      }
      lastRaw = p.h[p.h.length - 1];
      continue;
    }
    const r = p.r;
    if (r.counter.length === 0) continue;
    // The first raw histogram starts the series only: after another part it would add a sample a
    // few seconds after that part's last, which shortens rate()'s average interval and so its
    // extrapolation (the shift already carries the increase across).
    const withFirst = total === undefined && r.first !== undefined && r.firstT >= p.from && r.firstT < r.t[0];
    const f = withFirst ? r.first! : r.counter[0];
    const shift = gauge ? undefined : counterShift(total, lastRaw, f);
    if (withFirst) push(r.firstT, plus(f, shift));
    for (let i = 0; i < r.t.length; i++) push(r.t[i], (total = plus(r.counter[i], shift)));
    const own = r.counter[r.counter.length - 1];
    lastRaw = p.clipped || !r.last ? own : r.last;
  }
  hs.forEach(
    (h, i) => (h.counterResetHint = gauge ? CounterResetHint.Gauge : i === 0 ? CounterResetHint.Unknown : CounterResetHint.NotCounterReset),
  );
  return { labels, timestamps: Float64Array.from(ts), values: new Float64Array(ts.length), histograms: hs };
}

/** One histogram per window: the window's average (a plain selector), or its sum (sum_over_time). */
function windowSeries(labels: Labels, parts: readonly HistogramPart[], sums: boolean): Series {
  const ts: number[] = [];
  const hs: FloatHistogram[] = [];
  let lastTs = -Infinity;
  for (const p of parts) {
    const n = p.kind === 'raw' ? p.t.length : p.r.t.length;
    for (let i = 0; i < n; i++) {
      const t = p.kind === 'raw' ? p.t[i] : p.r.t[i];
      if (t <= lastTs) continue;
      if (p.kind === 'raw') hs.push(p.h[i]);
      else if (p.r.sum.length === 0) continue;
      else hs.push(sums ? p.r.sum[i] : p.r.sum[i].copy().div(p.r.count[i]));
      ts.push((lastTs = t));
    }
  }
  return { labels, timestamps: Float64Array.from(ts), values: new Float64Array(ts.length), histograms: hs };
}

/** The series of a native histogram's parts (time order) for `mode`; undefined when empty. */
export function joinHistogramParts(labels: Labels, parts: readonly HistogramPart[], mode: AggrMode): Series | undefined {
  let s: Series;
  switch (mode) {
    case 'counter':
      s = counterSeries(labels, parts);
      break;
    case 'sum':
      s = windowSeries(labels, parts, true);
      break;
    case 'min':
    case 'max':
    case 'quantile':
      return undefined;
    default:
      s = windowSeries(labels, parts, false);
  }
  return s.timestamps.length > 0 ? s : undefined;
}
