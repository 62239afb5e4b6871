/**
 * Range functions over windows holding native histogram samples (Prometheus' rules): rates and
 * deltas of histograms, sums and averages, resets and changes across floats and histograms.
 * Windows of floats only never come here.
 */
import { CounterResetHint, FloatHistogram, IncompatibleSchemaError } from '@strata/model';
import { HistogramSum } from './native-histogram.js';
import { isStale } from './stale.js';

export interface HistogramWindowContext {
  warn(msg: string): void;
  info(msg: string): void;
  /** The range argument's position suffix, as " (1:6)". */
  pos: string;
  name: string;
}

export type HistogramWindowResult = { v: number; h?: undefined } | { h: FloatHistogram; v?: undefined } | undefined;

export type HistogramWindow = (
  ts: Float64Array,
  vs: Float64Array,
  hs: readonly (FloatHistogram | undefined)[],
  from: number,
  to: number,
  t: number,
  range: number,
  c: HistogramWindowContext,
) => HistogramWindowResult;

const mixedFloats = (c: HistogramWindowContext) =>
  c.warn(`PromQL warning: encountered a mix of histograms and floats for metric name ${JSON.stringify(c.name)} ${c.pos}`);
const mixedSchemas = (c: HistogramWindowContext) =>
  c.warn(
    `PromQL warning: vector contains a mix of histograms with exponential and custom buckets schemas for metric name ${JSON.stringify(c.name)} ${c.pos}`,
  );
const notCounter = (c: HistogramWindowContext) =>
  c.warn(`PromQL warning: this native histogram metric is not a counter: ${JSON.stringify(c.name)} ${c.pos}`);
const notGauge = (c: HistogramWindowContext) =>
  c.warn(`PromQL warning: this native histogram metric is not a gauge: ${JSON.stringify(c.name)} ${c.pos}`);

function allHistograms(hs: readonly (FloatHistogram | undefined)[], from: number, to: number): boolean {
  for (let i = from; i < to; i++) if (!hs[i]) return false;
  return true;
}

/** last - first, with the histograms before each counter reset added back; undefined after an annotation. */
function histogramIncrease(
  hs: readonly (FloatHistogram | undefined)[],
  from: number,
  to: number,
  isCounter: boolean,
  c: HistogramWindowContext,
): FloatHistogram | undefined {
  let prev = hs[from]!;
  const last = hs[to - 1]!;
  let custom = prev.usesCustomBuckets();
  if (isCounter && (prev.counterResetHint === CounterResetHint.Gauge || last.counterResetHint === CounterResetHint.Gauge)) notCounter(c);
  if (isCounter) {
    const second = hs[from + 1]!;
    // A reset right after the first sample: the first one does not matter, nor its layout.
    if (second.detectReset(prev)) {
      prev = new FloatHistogram({ schema: second.schema, customValues: second.customValues });
      custom = second.usesCustomBuckets();
    }
  }
  if (last.usesCustomBuckets() !== custom) {
    mixedSchemas(c);
    return undefined;
  }
  let minSchema = Math.min(last.schema, prev.schema);
  for (let i = from + 1; i < to - 1; i++) {
    const cur = hs[i]!;
    if (!isCounter) continue;
    if (cur.counterResetHint === CounterResetHint.Gauge) notCounter(c);
    if (cur.schema < minSchema) minSchema = cur.schema;
    if (cur.usesCustomBuckets() !== custom) {
      mixedSchemas(c);
      return undefined;
    }
  }
  const h = last.copy().reduceResolution(minSchema);
  try {
    if (h.sub(prev).customBoundsReconciled) c.info(`PromQL info: mismatched custom buckets were reconciled during subtraction ${c.pos}`);
    if (isCounter) {
      // From the first sample as used above: an empty one after a reset right after it, which
      // must not count that reset again.
      let p = prev;
      for (let i = from + 1; i < to; i++) {
        const cur = hs[i]!;
        if (cur.detectReset(p) && h.add(p).customBoundsReconciled)
          c.info(`PromQL info: mismatched custom buckets were reconciled during addition ${c.pos}`);
        p = cur;
      }
    }
  } catch (e) {
    if (!(e instanceof IncompatibleSchemaError)) throw e;
    mixedSchemas(c);
    return undefined;
  }
  if (!isCounter && (hs[from]!.counterResetHint !== CounterResetHint.Gauge || last.counterResetHint !== CounterResetHint.Gauge))
    notGauge(c);
  h.counterResetHint = CounterResetHint.Gauge;
  return h.compact();
}

/** rate/increase/delta: the increase extrapolated to the window's edges as for floats, by the histogram's count. */
function extrapolated(isCounter: boolean, isRate: boolean): HistogramWindow {
  return (ts, vs, hs, from, to, t, range, c) => {
    if (!allHistograms(hs, from, to)) {
      mixedFloats(c);
      return undefined;
    }
    const n = to - from;
    if (n < 2) return undefined;
    const h = histogramIncrease(hs, from, to, isCounter, c);
    if (!h) return undefined;
    const rangeStart = t - range;
    const firstT = ts[from];
    const lastT = ts[to - 1];
    let durationToStart = (firstT - rangeStart) / 1000;
    let durationToEnd = (t - lastT) / 1000;
    const sampled = (lastT - firstT) / 1000;
    const avgBetween = sampled / (n - 1);
    const threshold = avgBetween * 1.1;
    if (durationToStart >= threshold) durationToStart = avgBetween / 2;
    if (isCounter && h.count > 0 && hs[from]!.count >= 0) {
      const durationToZero = sampled * (hs[from]!.count / h.count);
      if (durationToZero < durationToStart) durationToStart = durationToZero;
    }
    if (durationToEnd >= threshold) durationToEnd = avgBetween / 2;
    let factor = sampled !== 0 ? (sampled + durationToStart + durationToEnd) / sampled : 1;
    if (isRate) factor /= range / 1000;
    h.mul(factor);
    return { h };
  };
}

/**
 * rate/increase/delta over an anchored range of histograms: from the anchor sample (at `from`, at
 * or before the range start, else the first in it) to the last, nothing extrapolated.
 */
export function anchoredHistogramRate(
  hs: readonly (FloatHistogram | undefined)[],
  from: number,
  to: number,
  range: number,
  isCounter: boolean,
  isRate: boolean,
  c: HistogramWindowContext,
): { h: FloatHistogram } | undefined {
  if (!allHistograms(hs, from, to)) {
    mixedFloats(c);
    return undefined;
  }
  const h = to - from < 2 ? zeroLike(hs[from]!) : histogramIncrease(hs, from, to, isCounter, c);
  if (!h) return undefined;
  if (isRate) h.mul(1000 / range);
  return { h };
}

/** An empty histogram of h's layout: the change over a single sample. */
function zeroLike(h: FloatHistogram): FloatHistogram {
  const z = new FloatHistogram({ schema: h.schema, customValues: h.customValues });
  z.counterResetHint = CounterResetHint.Gauge;
  return z;
}

/**
 * A smoothed instant selector's histogram at t from the samples [from, to) within a lookback
 * either side (stale markers skipped): as smoothedAt() for floats, the line between two histograms
 * counting a counter reset between them from an empty one. undefined, with a warning, when floats
 * or both bucket kinds meet.
 */
export function smoothedHistogramAt(
  ts: Float64Array,
  vs: Float64Array,
  hs: readonly (FloatHistogram | undefined)[],
  from: number,
  to: number,
  t: number,
  c: HistogramWindowContext,
): FloatHistogram | undefined {
  let prev = -1;
  let next = -1;
  for (let i = from; i < to; i++) {
    if (isStale(vs, i)) continue;
    if (!hs[i]) {
      mixedFloats(c);
      return undefined;
    }
    if (ts[i] < t) prev = i;
    else if (next < 0) next = i;
  }
  if (next >= 0 && ts[next] === t) return hs[next]!.copy();
  if (prev < 0) return undefined;
  const h1 = hs[prev]!;
  if (next < 0) {
    // Carried forward: a reset hint speaks of the sample before it, not of this value.
    const h = h1.copy();
    h.counterResetHint = CounterResetHint.Unknown;
    return h;
  }
  const h2 = hs[next]!;
  if (h1.usesCustomBuckets() !== h2.usesCustomBuckets()) {
    mixedSchemas(c);
    return undefined;
  }
  const isCounter = h1.counterResetHint !== CounterResetHint.Gauge || h2.counterResetHint !== CounterResetHint.Gauge;
  return interpolateHistogram(ts, hs, prev, next, t, isCounter, c);
}

/**
 * The histogram at t on the line between samples a and b (a counter reset between them counts
 * from an empty one); undefined, with a warning, when their buckets cannot be combined.
 */
function interpolateHistogram(
  ts: Float64Array,
  hs: readonly (FloatHistogram | undefined)[],
  a: number,
  b: number,
  t: number,
  isCounter: boolean,
  c: HistogramWindowContext,
): FloatHistogram | undefined {
  const h1 = hs[a]!;
  const h2 = hs[b]!;
  if (t === ts[a]) return h1.copy();
  if (t === ts[b]) return h2.copy();
  const fraction = (t - ts[a]) / (ts[b] - ts[a]);
  if (isCounter && h2.detectReset(h1)) return h2.copy().mul(fraction);
  const h = h2.copy();
  try {
    if (h.sub(h1).customBoundsReconciled) c.info(`PromQL info: mismatched custom buckets were reconciled during subtraction ${c.pos}`);
    h.mul(fraction);
    if (h.add(h1).customBoundsReconciled) c.info(`PromQL info: mismatched custom buckets were reconciled during addition ${c.pos}`);
  } catch (e) {
    if (!(e instanceof IncompatibleSchemaError)) throw e;
    mixedSchemas(c);
    return undefined;
  }
  return h;
}

/**
 * rate/increase/delta over a smoothed range (start, end] of histograms [from, to): the histograms
 * interpolated at both ends, and for counters the one before each reset strictly inside added back
 * (a reset the left interpolation spanned is in it already).
 */
export function smoothedHistogramRate(
  ts: Float64Array,
  hs: readonly (FloatHistogram | undefined)[],
  from: number,
  to: number,
  start: number,
  end: number,
  isCounter: boolean,
  isRate: boolean,
  c: HistogramWindowContext,
): { h: FloatHistogram } | undefined {
  if (!allHistograms(hs, from, to)) {
    mixedFloats(c);
    return undefined;
  }
  let first = from;
  while (first + 1 < to - 1 && ts[first + 1] <= start) first++;
  let last = from;
  while (last < to - 1 && ts[last] < end) last++;
  if (ts[last] <= start || ts[first] > end) return undefined;
  const custom = hs[first]!.usesCustomBuckets();
  for (let i = first; i <= last; i++) {
    if (hs[i]!.usesCustomBuckets() !== custom) {
      mixedSchemas(c);
      return undefined;
    }
    if (isCounter && hs[i]!.counterResetHint === CounterResetHint.Gauge) notCounter(c);
  }
  const left = ts[first] < start ? interpolateHistogram(ts, hs, first, first + 1, start, isCounter, c) : hs[first]!.copy();
  const right = last > from && ts[last] > end ? interpolateHistogram(ts, hs, last - 1, last, end, isCounter, c) : hs[last]!.copy();
  if (!left || !right) return undefined;
  if (!isCounter && (left.counterResetHint !== CounterResetHint.Gauge || right.counterResetHint !== CounterResetHint.Gauge)) notGauge(c);
  const h = right.copy();
  try {
    if (h.sub(left).customBoundsReconciled) c.info(`PromQL info: mismatched custom buckets were reconciled during subtraction ${c.pos}`);
    if (isCounter) {
      let prev = left;
      let i = first + 1;
      if (ts[first] < start && i <= last && hs[i]!.detectReset(hs[first]!)) prev = hs[i++]!;
      if (i <= last) {
        // The last sample stands as right: its own reset is found by comparing right with prev.
        for (; i < last; i++) {
          if (hs[i]!.detectReset(prev) && h.add(prev).customBoundsReconciled)
            c.info(`PromQL info: mismatched custom buckets were reconciled during addition ${c.pos}`);
          prev = hs[i]!;
        }
        if (right.detectReset(prev) && h.add(prev).customBoundsReconciled)
          c.info(`PromQL info: mismatched custom buckets were reconciled during addition ${c.pos}`);
      }
    }
  } catch (e) {
    if (!(e instanceof IncompatibleSchemaError)) throw e;
    mixedSchemas(c);
    return undefined;
  }
  if (isRate) h.mul(1000 / (end - start));
  h.counterResetHint = CounterResetHint.Gauge;
  return { h: h.compact() };
}

/** irate/idelta: the last two samples only. */
function instant(isRate: boolean): HistogramWindow {
  return (ts, vs, hs, from, to, t, range, c) => {
    if (to - from < 2) return undefined;
    const a = hs[to - 2];
    const b = hs[to - 1];
    const dt = ts[to - 1] - ts[to - 2];
    if (dt === 0) return undefined;
    if (!a && !b) {
      const last = vs[to - 1];
      const prev = vs[to - 2];
      const d = isRate && last < prev ? last : last - prev;
      return { v: isRate ? d / (dt / 1000) : d };
    }
    if (!a || !b) {
      mixedFloats(c);
      return undefined;
    }
    const h = b.copy();
    if (isRate && (a.counterResetHint === CounterResetHint.Gauge || b.counterResetHint === CounterResetHint.Gauge)) notCounter(c);
    if (!isRate && (a.counterResetHint !== CounterResetHint.Gauge || b.counterResetHint !== CounterResetHint.Gauge)) notGauge(c);
    if (!isRate || !b.detectReset(a)) {
      try {
        if (h.sub(a).customBoundsReconciled) c.info(`PromQL info: mismatched custom buckets were reconciled during subtraction ${c.pos}`);
      } catch (e) {
        if (!(e instanceof IncompatibleSchemaError)) throw e;
        mixedSchemas(c);
        return undefined;
      }
    }
    h.counterResetHint = CounterResetHint.Gauge;
    h.compact();
    if (isRate) h.div(dt / 1000);
    return { h };
  };
}

/** Sum (averaging: mean) of the window's histograms; undefined (with its annotation) for mixed windows or schemas. */
function sumWindow(
  hs: readonly (FloatHistogram | undefined)[],
  from: number,
  to: number,
  c: HistogramWindowContext,
  averaging: boolean,
): FloatHistogram | undefined {
  if (!allHistograms(hs, from, to)) {
    mixedFloats(c);
    return undefined;
  }
  let reset = false;
  let notReset = false;
  let reconciled = false;
  const acc = new HistogramSum(averaging);
  for (let i = from; i < to; i++) {
    const h = hs[i]!;
    if (h.counterResetHint === CounterResetHint.CounterReset) reset = true;
    else if (h.counterResetHint === CounterResetHint.NotCounterReset) notReset = true;
    try {
      if (acc.add(h)?.customBoundsReconciled) reconciled = true;
    } catch (e) {
      if (!(e instanceof IncompatibleSchemaError)) throw e;
      mixedSchemas(c);
      return undefined;
    }
  }
  if (reset && notReset) c.warn(`PromQL warning: conflicting counter resets during histogram aggregation ${c.pos}`);
  if (reconciled) c.info(`PromQL info: mismatched custom buckets were reconciled during aggregation ${c.pos}`);
  return (averaging ? acc.mean() : acc.result())!.compact();
}

function changesOrResets(resets: boolean): HistogramWindow {
  return (ts, vs, hs, from, to) => {
    let n = 0;
    for (let i = from + 1; i < to; i++) {
      const a = hs[i - 1];
      const b = hs[i];
      if (!a && !b) {
        const x = vs[i - 1];
        const y = vs[i];
        if (resets ? y < x : x !== y && !(Number.isNaN(x) && Number.isNaN(y))) n++;
      } else if (!a || !b) n++;
      else if (resets ? b.detectReset(a) : !b.equals(a)) n++;
    }
    return { v: n };
  };
}

export const HISTOGRAM_WINDOWS: Record<string, HistogramWindow> = {
  rate: extrapolated(true, true),
  increase: extrapolated(true, false),
  delta: extrapolated(false, false),
  irate: instant(true),
  idelta: instant(false),
  sum_over_time: (ts, vs, hs, from, to, t, range, c) => {
    const h = sumWindow(hs, from, to, c, false);
    return h && { h };
  },
  avg_over_time: (ts, vs, hs, from, to, t, range, c) => {
    const h = sumWindow(hs, from, to, c, true);
    return h && { h };
  },
  last_over_time: (ts, vs, hs, from, to) => (hs[to - 1] ? { h: hs[to - 1]! } : { v: vs[to - 1] }),
  first_over_time: (ts, vs, hs, from) => (hs[from] ? { h: hs[from]! } : { v: vs[from] }),
  changes: changesOrResets(false),
  resets: changesOrResets(true),
};

/** Functions that count or time samples of any kind: the float implementation serves histograms too. */
export const ANY_SAMPLE_WINDOWS = new Set(['count_over_time', 'present_over_time', 'ts_of_first_over_time', 'ts_of_last_over_time']);
