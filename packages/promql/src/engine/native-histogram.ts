/** Quantiles, fractions and statistics of one native histogram (Prometheus' documented estimates). */
import type { Bucket, CombineResult, FloatHistogram } from '@strata/model';
import { kahanInc } from './math.js';

/** What a caller turns into an info annotation about NaN observations. */
export type NaNNote = 'nan-result' | 'nan-skew' | undefined;

/**
 * The q-quantile: the bucket holding the rank, then interpolation inside it — linear for custom
 * buckets and the zero bucket, on a log scale for exponential buckets. A zero bucket next to
 * buckets of one sign only ends at 0 on the other side. NaN observations (sum NaN) count in
 * `count` but in no bucket: the result is NaN when the rank lies above every bucket.
 */
export function nativeQuantile(q: number, h: FloatHistogram): { value: number; note: NaNNote } {
  if (q < 0) return { value: -Infinity, note: undefined };
  if (q > 1) return { value: Infinity, note: undefined };
  if (h.count === 0 || Number.isNaN(q)) return { value: NaN, note: undefined };
  const all = h.allBuckets();
  const forward = Number.isNaN(h.sum) || q < 0.5;
  let rank = forward ? q * h.count : (1 - q) * h.count;
  let count = 0;
  let k = forward ? 0 : all.length - 1;
  let bucket: Bucket | undefined;
  for (; forward ? k < all.length : k >= 0; k += forward ? 1 : -1) {
    const b = all[k];
    if (b.count === 0) continue;
    bucket = b;
    count += b.count;
    if (count >= rank) break;
  }
  // No populated bucket: the rank lies above all of them, which only NaN observations explain.
  if (!bucket) return { value: NaN, note: Number.isNaN(h.sum) && rank > 0 ? 'nan-result' : undefined };
  const b = { ...bucket };
  const custom = h.usesCustomBuckets();
  if (!custom && b.lower < 0 && b.upper > 0) {
    if (h.negativeBuckets.length === 0 && h.positiveBuckets.length > 0) b.lower = 0;
    else if (h.positiveBuckets.length === 0 && h.negativeBuckets.length > 0) b.upper = 0;
  } else if (custom) {
    if (b.lower === -Infinity) {
      if (b.upper <= 0) return { value: b.upper, note: undefined };
      b.lower = 0;
    } else if (b.upper === Infinity) return { value: b.lower, note: undefined };
  }
  if (count > h.count) count = h.count;
  if (count < rank) {
    if (Number.isNaN(h.sum)) return { value: NaN, note: 'nan-result' };
    return { value: b.upper, note: undefined };
  }
  if (forward) rank -= count - b.count;
  else rank = count - rank;
  let note: NaNNote;
  if (Number.isNaN(h.sum)) {
    let inBuckets = count;
    for (let j = k + 1; j < all.length; j++) inBuckets += all[j].count;
    if (inBuckets < h.count) note = 'nan-skew';
  }
  const fraction = rank / b.count;
  if (custom || (b.lower <= 0 && b.upper >= 0)) return { value: b.lower + (b.upper - b.lower) * fraction, note };
  const logLower = Math.log2(Math.abs(b.lower));
  const logUpper = Math.log2(Math.abs(b.upper));
  if (b.lower > 0) return { value: 2 ** (logLower + (logUpper - logLower) * fraction), note };
  return { value: -(2 ** (logUpper + (logLower - logUpper) * (1 - fraction))), note };
}

function fractionBelow(b: Bucket, v: number, linear: boolean): number {
  if (linear) return (v - b.lower) / (b.upper - b.lower);
  const logLower = Math.log2(Math.abs(b.lower));
  const logUpper = Math.log2(Math.abs(b.upper));
  const logV = Math.log2(Math.abs(v));
  if (v > 0) return (logV - logLower) / (logUpper - logLower);
  return 1 - (logV - logUpper) / (logLower - logUpper);
}

/**
 * The share of observations in (lower, upper], interpolated inside the buckets the bounds cut
 * as nativeQuantile does; NaN observations are in no bucket, so they fall in no range.
 */
export function nativeFraction(lower: number, upper: number, h: FloatHistogram): { value: number; nanExcluded: boolean } {
  if (h.count === 0 || Number.isNaN(lower) || Number.isNaN(upper)) return { value: NaN, nanExcluded: false };
  if (lower >= upper) return { value: 0, nanExcluded: false };
  const all = h.allBuckets();
  const custom = h.usesCustomBuckets();
  let rank = 0;
  let lowerRank = 0;
  let upperRank = 0;
  let lowerSet = false;
  let upperSet = false;
  let k = 0;
  let count = 0;
  for (; k < all.length; k++) {
    const b = { ...all[k] };
    count += b.count;
    let zero = false;
    if (b.lower <= 0 && b.upper >= 0) {
      zero = true;
      if (h.negativeBuckets.length === 0 && h.positiveBuckets.length > 0) b.lower = 0;
      else if (h.positiveBuckets.length === 0 && h.negativeBuckets.length > 0) b.upper = 0;
    }
    const at = (v: number): number => {
      if (custom || zero) return b.lower === -Infinity ? b.count : rank + b.count * fractionBelow(b, v, true);
      return rank + b.count * fractionBelow(b, v, false);
    };
    if (!lowerSet && b.lower >= lower) {
      lowerRank = rank;
      lowerSet = true;
    }
    if (!upperSet && b.lower >= upper) {
      upperRank = rank;
      upperSet = true;
    }
    if (lowerSet && upperSet) break;
    if (!lowerSet && b.lower < lower && b.upper > lower) {
      lowerRank = at(lower);
      lowerSet = true;
    }
    if (!upperSet && b.lower < upper && b.upper > upper) {
      upperRank = at(upper);
      upperSet = true;
    }
    if (lowerSet && upperSet) break;
    rank += b.count;
  }
  let nanExcluded = false;
  if (Number.isNaN(h.sum)) {
    for (k++; k < all.length; k++) count += all[k].count;
    if (count < h.count) nanExcluded = true;
  } else count = h.count;
  if (!lowerSet || lowerRank > count) lowerRank = count;
  if (!upperSet || upperRank > count) upperRank = count;
  return { value: (upperRank - lowerRank) / h.count, nanExcluded };
}

/**
 * Variance of the observations, each bucket's taken at its middle: the arithmetic mean of its
 * bounds for custom buckets, 0 in the zero bucket, the geometric mean for exponential buckets.
 */
export function nativeVariance(h: FloatHistogram): number {
  const mean = h.sum / h.count;
  let v = 0;
  let c = 0;
  const custom = h.usesCustomBuckets();
  for (const b of h.allBuckets()) {
    if (b.count === 0) continue;
    let val: number;
    if (custom) val = (b.upper + b.lower) / 2;
    else if (b.lower <= 0 && b.upper >= 0) val = 0;
    else {
      val = Math.sqrt(b.upper * b.lower);
      if (b.upper < 0) val = -val;
    }
    const d = val - mean;
    [v, c] = kahanInc(b.count * d * d, v, c);
  }
  return (v + c) / h.count;
}

/** Beyond this a sum of histograms may overflow float64 (buckets merged by a layout change add up too). */
const OVERFLOW_RISK = Number.MAX_VALUE / 2 ** 32;

/**
 * A running sum of histograms whose count and sum are added with Kahan-Neumaier compensation, as
 * Prometheus sums them (a sum of 1e100 and -1e100 beside small values stays exact). Bucket
 * layouts follow FloatHistogram.add; add() throws what it throws. For an average, as Prometheus,
 * the sum is kept while it stays finite and becomes a running mean from the sample that would
 * make it overflow.
 */
export class HistogramSum {
  private acc: FloatHistogram | undefined;
  private cSum = 0;
  private cCount = 0;
  private n = 0;
  /** Set once an average's sum would overflow: from then on `acc` and the compensations hold the mean. */
  private incremental = false;

  constructor(private readonly averaging = false) {}

  add(h: FloatHistogram): CombineResult | undefined {
    this.n++;
    if (!this.acc) {
      this.acc = h.copy();
      return undefined;
    }
    if (this.incremental) return this.addToMean(this.acc, h);
    // The sum before this sample is kept only when an overflow is possible at all: a copy per sample is not cheap.
    const risky = this.averaging && (this.acc.largestMagnitude() > OVERFLOW_RISK || h.largestMagnitude() > OVERFLOW_RISK);
    const before = risky ? { acc: this.acc.copy(), cSum: this.cSum, cCount: this.cCount } : undefined;
    const r = this.addToSum(this.acc, h);
    if (!before || !this.acc.hasOverflow()) return r;
    const m = this.n - 1;
    this.acc = before.acc.div(m);
    this.cSum = before.cSum / m;
    this.cCount = before.cCount / m;
    this.incremental = true;
    return this.addToMean(this.acc, h);
  }

  private addToSum(acc: FloatHistogram, h: FloatHistogram): CombineResult {
    const sum = acc.sum;
    const count = acc.count;
    const r = acc.add(h);
    [acc.sum, this.cSum] = kahanInc(h.sum, sum, this.cSum);
    [acc.count, this.cCount] = kahanInc(h.count, count, this.cCount);
    return r;
  }

  /** mean_n = mean_(n-1) * (n-1)/n + h/n. */
  private addToMean(acc: FloatHistogram, h: FloatHistogram): CombineResult {
    const q = (this.n - 1) / this.n;
    acc.mul(q);
    this.cSum *= q;
    this.cCount *= q;
    return this.addToSum(acc, h.copy().div(this.n));
  }

  /** The sum, compensation applied; undefined when nothing was added. */
  result(): FloatHistogram | undefined {
    if (!this.acc) return undefined;
    const out = this.acc.copy();
    out.sum += this.cSum;
    out.count += this.cCount;
    return out;
  }

  /** The mean of what was added (for a sum made with `averaging`); undefined when nothing was. */
  mean(): FloatHistogram | undefined {
    const out = this.result();
    return this.incremental ? out : out?.div(this.n);
  }
}
