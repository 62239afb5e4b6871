/**
 * Native histograms as PromQL computes with them (Prometheus' float histogram): exponential
 * buckets of a schema (base 2^(2^-schema)), or custom bucket bounds (schema -53), a zero bucket of
 * a given width, positive and negative buckets described by spans with absolute float counts,
 * count, sum and a counter reset hint.
 *
 * Operations that combine histograms work on buckets listed by index (the spans expanded), then
 * describe the result by spans again: simpler to get right than walking two span lists at once,
 * and histograms are the slow path (float samples never come here).
 */

import { formatG } from './template/go-format.js';

/** Schema of histograms with custom bucket bounds (NHCB). */
export const CUSTOM_BUCKETS_SCHEMA = -53;
export const MIN_EXPONENTIAL_SCHEMA = -4;
export const MAX_EXPONENTIAL_SCHEMA = 8;

/** What the writer knew about a counter reset at this sample (Prometheus' CounterResetHint). */
export const CounterResetHint = { Unknown: 0, CounterReset: 1, NotCounterReset: 2, Gauge: 3 } as const;
export type CounterResetHint = (typeof CounterResetHint)[keyof typeof CounterResetHint];

export const COUNTER_RESET_HINT_NAMES = ['unknown', 'reset', 'not_reset', 'gauge'] as const;

export interface Span {
  /** Gap to the previous span's end (for the first span: the index of its first bucket). */
  offset: number;
  length: number;
}

/** One bucket with its bounds, as iterated for quantiles, fractions and the JSON API. */
export interface Bucket {
  lower: number;
  upper: number;
  lowerInclusive: boolean;
  upperInclusive: boolean;
  count: number;
}

/** Buckets of one sign listed by index, ascending. */
interface Indexed {
  idx: number[];
  cnt: number[];
}

/** Adding an exponential to a custom-bucket histogram: Prometheus' ErrHistogramsIncompatibleSchema. */
export class IncompatibleSchemaError extends Error {
  constructor() {
    super('cannot apply this operation to histograms with a mix of exponential and custom bucket schemas');
  }
}

/** The result of adding or subtracting, with what PromQL turns into annotations. */
export interface CombineResult {
  /** One histogram said counter reset, the other not: the result's hint is unknown. */
  counterResetCollision: boolean;
  /** Custom bounds differed: the result has the bounds both have in common. */
  customBoundsReconciled: boolean;
}

const EXP_FRACTIONS: number[][] = [];

/** The fraction part of bucket bounds of positive schemas: 2^(j/2^schema) halved, in [0.5, 1). */
function fractions(schema: number): number[] {
  let f = EXP_FRACTIONS[schema];
  if (!f) {
    const n = 1 << schema;
    f = [];
    for (let j = 0; j < n; j++) f.push(Math.pow(2, j / n) / 2);
    EXP_FRACTIONS[schema] = f;
  }
  return f;
}

/**
 * Upper bound of bucket `idx` of an exponential schema. The last bucket of finite numbers ends at
 * the largest float (its computed bound would overflow to +Inf, which belongs to the next bucket).
 */
export function exponentialBound(idx: number, schema: number): number {
  if (schema <= 0) {
    const exp = idx * 2 ** -schema;
    if (exp === 1024) return Number.MAX_VALUE;
    return 2 ** exp;
  }
  const n = 1 << schema;
  const fracIdx = ((idx % n) + n) % n;
  const exp = Math.floor(idx / n) + 1;
  const frac = fractions(schema)[fracIdx];
  if (fracIdx === 0 && exp === 1025) return Number.MAX_VALUE;
  return frac * 2 ** exp;
}

/** Upper bound of bucket `idx`: custom bounds end with +Inf, index -1 stands for -Inf. */
export function bucketBound(idx: number, schema: number, customValues: readonly number[] | undefined): number {
  if (schema === CUSTOM_BUCKETS_SCHEMA) {
    const cv = customValues ?? [];
    if (idx >= cv.length) return Infinity;
    if (idx < 0) return -Infinity;
    return cv[idx];
  }
  return exponentialBound(idx, schema);
}

/** Index at a lower schema that bucket `idx` falls into: buckets merge in groups of 2^(origin-target). */
export function targetIndex(idx: number, originSchema: number, targetSchema: number): number {
  return Math.floor((idx - 1) / 2 ** (originSchema - targetSchema)) + 1;
}

function expand(spans: readonly Span[], buckets: ArrayLike<number>): Indexed {
  const idx: number[] = [];
  const cnt: number[] = [];
  let at = 0;
  let b = 0;
  for (let s = 0; s < spans.length; s++) {
    at += spans[s].offset;
    for (let k = 0; k < spans[s].length; k++) {
      idx.push(at++);
      cnt.push(b < buckets.length ? buckets[b] : 0);
      b++;
    }
  }
  return { idx, cnt };
}

/** Spans and buckets for buckets listed by index; neighbouring indices share a span. */
function collapse(x: Indexed): { spans: Span[]; buckets: number[] } {
  const spans: Span[] = [];
  let prevEnd = 0;
  for (let k = 0; k < x.idx.length; k++) {
    const i = x.idx[k];
    const last = spans[spans.length - 1];
    if (last && i === prevEnd) last.length++;
    else spans.push({ offset: spans.length === 0 ? i : i - prevEnd, length: 1 });
    prevEnd = i + 1;
  }
  return { spans, buckets: x.cnt.slice() };
}

/** Merges two index lists; `sign` -1 subtracts b's counts. */
function mergeIndexed(a: Indexed, b: Indexed, sign: 1 | -1): Indexed {
  const idx: number[] = [];
  const cnt: number[] = [];
  let i = 0;
  let j = 0;
  while (i < a.idx.length || j < b.idx.length) {
    if (j >= b.idx.length || (i < a.idx.length && a.idx[i] < b.idx[j])) {
      idx.push(a.idx[i]);
      cnt.push(a.cnt[i++]);
    } else if (i >= a.idx.length || b.idx[j] < a.idx[i]) {
      idx.push(b.idx[j]);
      cnt.push(sign * b.cnt[j++]);
    } else {
      idx.push(a.idx[i]);
      cnt.push(a.cnt[i++] + sign * b.cnt[j++]);
    }
  }
  return { idx, cnt };
}

function reduceIndexed(x: Indexed, from: number, to: number): Indexed {
  if (from === to) return x;
  const idx: number[] = [];
  const cnt: number[] = [];
  for (let k = 0; k < x.idx.length; k++) {
    const t = targetIndex(x.idx[k], from, to);
    if (idx.length > 0 && idx[idx.length - 1] === t) cnt[cnt.length - 1] += x.cnt[k];
    else {
      idx.push(t);
      cnt.push(x.cnt[k]);
    }
  }
  return { idx, cnt };
}

function sameValues(a: readonly number[] | undefined, b: readonly number[] | undefined): boolean {
  const x = a ?? [];
  const y = b ?? [];
  if (x.length !== y.length) return false;
  for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return false;
  return true;
}

/** Bounds both lists have (sorted ascending). */
function intersectBounds(a: readonly number[], b: readonly number[]): number[] {
  const out: number[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length && j < b.length) {
    if (a[i] === b[j]) {
      out.push(a[i]);
      i++;
      j++;
    } else if (a[i] < b[j]) i++;
    else j++;
  }
  return out;
}

/** Custom buckets moved onto coarser bounds: each goes to the first target bucket whose bound covers its own. */
function remapCustom(x: Indexed, bounds: readonly number[], target: readonly number[]): Indexed {
  const idx: number[] = [];
  const cnt: number[] = [];
  let t = 0;
  for (let k = 0; k < x.idx.length; k++) {
    const upper = bucketBound(x.idx[k], CUSTOM_BUCKETS_SCHEMA, bounds);
    while (t < target.length && target[t] < upper) t++;
    if (idx.length > 0 && idx[idx.length - 1] === t) cnt[cnt.length - 1] += x.cnt[k];
    else {
      idx.push(t);
      cnt.push(x.cnt[k]);
    }
  }
  return { idx, cnt };
}

export interface FloatHistogramInit {
  schema?: number;
  zeroThreshold?: number;
  zeroCount?: number;
  count?: number;
  sum?: number;
  positiveSpans?: Span[];
  positiveBuckets?: number[];
  negativeSpans?: Span[];
  negativeBuckets?: number[];
  customValues?: number[];
  counterResetHint?: CounterResetHint;
}

export class FloatHistogram {
  schema: number;
  zeroThreshold: number;
  zeroCount: number;
  count: number;
  sum: number;
  positiveSpans: Span[];
  /** Absolute counts, one per bucket the positive spans describe. */
  positiveBuckets: number[];
  negativeSpans: Span[];
  negativeBuckets: number[];
  /** Upper bounds of the custom buckets (schema -53), ascending; the last bucket ends at +Inf. Shared, never mutated. */
  customValues: number[] | undefined;
  counterResetHint: CounterResetHint;

  constructor(init: FloatHistogramInit = {}) {
    this.schema = init.schema ?? 0;
    this.zeroThreshold = init.zeroThreshold ?? 0;
    this.zeroCount = init.zeroCount ?? 0;
    this.count = init.count ?? 0;
    this.sum = init.sum ?? 0;
    this.positiveSpans = init.positiveSpans ?? [];
    this.positiveBuckets = init.positiveBuckets ?? [];
    this.negativeSpans = init.negativeSpans ?? [];
    this.negativeBuckets = init.negativeBuckets ?? [];
    this.customValues = init.customValues;
    this.counterResetHint = init.counterResetHint ?? CounterResetHint.Unknown;
  }

  usesCustomBuckets(): boolean {
    return this.schema === CUSTOM_BUCKETS_SCHEMA;
  }

  copy(): FloatHistogram {
    return new FloatHistogram({
      schema: this.schema,
      zeroThreshold: this.zeroThreshold,
      zeroCount: this.zeroCount,
      count: this.count,
      sum: this.sum,
      positiveSpans: this.positiveSpans.map((s) => ({ ...s })),
      positiveBuckets: this.positiveBuckets.slice(),
      negativeSpans: this.negativeSpans.map((s) => ({ ...s })),
      negativeBuckets: this.negativeBuckets.slice(),
      customValues: this.customValues,
      counterResetHint: this.counterResetHint,
    });
  }

  /** Scales every count and the sum; a negative factor makes it a gauge. In place. */
  mul(factor: number): this {
    this.zeroCount *= factor;
    this.count *= factor;
    this.sum *= factor;
    for (let i = 0; i < this.positiveBuckets.length; i++) this.positiveBuckets[i] *= factor;
    for (let i = 0; i < this.negativeBuckets.length; i++) this.negativeBuckets[i] *= factor;
    if (factor < 0) this.counterResetHint = CounterResetHint.Gauge;
    return this;
  }

  /** Divides every count and the sum; division by zero leaves no buckets (as Prometheus). In place. */
  div(d: number): this {
    this.zeroCount /= d;
    this.count /= d;
    this.sum /= d;
    if (d === 0) {
      this.positiveSpans = [];
      this.positiveBuckets = [];
      this.negativeSpans = [];
      this.negativeBuckets = [];
      return this;
    }
    for (let i = 0; i < this.positiveBuckets.length; i++) this.positiveBuckets[i] /= d;
    for (let i = 0; i < this.negativeBuckets.length; i++) this.negativeBuckets[i] /= d;
    if (d < 0) this.counterResetHint = CounterResetHint.Gauge;
    return this;
  }

  /** Adds `other` in place (see combine). Throws IncompatibleSchemaError for exponential + custom. */
  add(other: FloatHistogram): CombineResult {
    return this.combine(other, 1);
  }

  /** Subtracts `other` in place; the hint is combined as for add (PromQL's "-" then makes it a gauge). */
  sub(other: FloatHistogram): CombineResult {
    return this.combine(other, -1);
  }

  /**
   * Adds or subtracts: the common zero bucket is the wider one (widened further while its edge
   * would cut a populated bucket), the common schema the lower one; custom bounds that differ are
   * reduced to the bounds both have. Empty buckets may remain: compact() removes them.
   */
  private combine(other: FloatHistogram, sign: 1 | -1): CombineResult {
    if (this.usesCustomBuckets() !== other.usesCustomBuckets()) throw new IncompatibleSchemaError();
    const counterResetCollision = this.adjustCounterReset(other);
    this.count += sign * other.count;
    this.sum += sign * other.sum;
    let customBoundsReconciled = false;
    if (this.usesCustomBuckets()) {
      let a = expand(this.positiveSpans, this.positiveBuckets);
      let b = expand(other.positiveSpans, other.positiveBuckets);
      if (!sameValues(this.customValues, other.customValues)) {
        customBoundsReconciled = true;
        const common = intersectBounds(this.customValues ?? [], other.customValues ?? []);
        a = remapCustom(a, this.customValues ?? [], common);
        b = remapCustom(b, other.customValues ?? [], common);
        this.customValues = common;
      }
      ({ spans: this.positiveSpans, buckets: this.positiveBuckets } = collapse(mergeIndexed(a, b, sign)));
      return { counterResetCollision, customBoundsReconciled };
    }
    const threshold = commonZeroThreshold(this, other);
    const mine = this.withZeroThreshold(threshold);
    const theirs = other.withZeroThreshold(threshold);
    this.zeroThreshold = threshold;
    this.zeroCount = mine.zeroCount + sign * theirs.zeroCount;
    const schema = Math.min(this.schema, other.schema);
    const pos = mergeIndexed(reduceIndexed(mine.pos, this.schema, schema), reduceIndexed(theirs.pos, other.schema, schema), sign);
    const neg = mergeIndexed(reduceIndexed(mine.neg, this.schema, schema), reduceIndexed(theirs.neg, other.schema, schema), sign);
    this.schema = schema;
    ({ spans: this.positiveSpans, buckets: this.positiveBuckets } = collapse(pos));
    ({ spans: this.negativeSpans, buckets: this.negativeBuckets } = collapse(neg));
    return { counterResetCollision, customBoundsReconciled };
  }

  /** Prometheus' rules for the hint of a sum: gauge wins, then unknown; reset against not-reset collides. */
  private adjustCounterReset(other: FloatHistogram): boolean {
    const a = this.counterResetHint;
    const b = other.counterResetHint;
    if (a === b || a === CounterResetHint.Gauge) return false;
    if (b === CounterResetHint.Gauge) {
      this.counterResetHint = CounterResetHint.Gauge;
      return false;
    }
    if (a === CounterResetHint.Unknown) return false;
    this.counterResetHint = CounterResetHint.Unknown;
    return b !== CounterResetHint.Unknown;
  }

  /**
   * Zero count and remaining buckets if the zero bucket were `threshold` wide (≥ the own one):
   * buckets whose lower edge lies inside it are counted as zero observations. The caller chose
   * the threshold so that it never cuts a populated bucket (commonZeroThreshold).
   */
  private withZeroThreshold(threshold: number): { zeroCount: number; pos: Indexed; neg: Indexed } {
    const pos = expand(this.positiveSpans, this.positiveBuckets);
    const neg = expand(this.negativeSpans, this.negativeBuckets);
    if (threshold === this.zeroThreshold) return { zeroCount: this.zeroCount, pos, neg };
    let zeroCount = this.zeroCount;
    const keep = (x: Indexed): Indexed => {
      const out: Indexed = { idx: [], cnt: [] };
      for (let k = 0; k < x.idx.length; k++) {
        if (bucketBound(x.idx[k] - 1, this.schema, this.customValues) < threshold) zeroCount += x.cnt[k];
        else {
          out.idx.push(x.idx[k]);
          out.cnt.push(x.cnt[k]);
        }
      }
      return out;
    };
    const p = keep(pos);
    const n = keep(neg);
    return { zeroCount, pos: p, neg: n };
  }

  /** The smallest threshold ≥ `t` that does not fall inside a populated bucket of this histogram. */
  widenedZeroThreshold(t: number): number {
    if (t <= this.zeroThreshold) return this.zeroThreshold;
    for (;;) {
      let moved = false;
      for (const [spans, buckets] of [
        [this.positiveSpans, this.positiveBuckets],
        [this.negativeSpans, this.negativeBuckets],
      ] as const) {
        const x = expand(spans, buckets);
        for (let k = 0; k < x.idx.length; k++) {
          const lower = bucketBound(x.idx[k] - 1, this.schema, this.customValues);
          const upper = bucketBound(x.idx[k], this.schema, this.customValues);
          if (lower >= t) break;
          if (upper > t && x.cnt[k] !== 0) {
            t = upper;
            moved = true;
          }
        }
      }
      if (!moved) return t;
    }
  }

  /** Removes empty buckets (Prometheus' Compact(0)). In place. */
  compact(): this {
    for (const sign of ['positive', 'negative'] as const) {
      const spans = sign === 'positive' ? this.positiveSpans : this.negativeSpans;
      const buckets = sign === 'positive' ? this.positiveBuckets : this.negativeBuckets;
      const x = expand(spans, buckets);
      const kept: Indexed = { idx: [], cnt: [] };
      for (let k = 0; k < x.idx.length; k++) {
        if (x.cnt[k] === 0) continue;
        kept.idx.push(x.idx[k]);
        kept.cnt.push(x.cnt[k]);
      }
      const c = collapse(kept);
      if (sign === 'positive') [this.positiveSpans, this.positiveBuckets] = [c.spans, c.buckets];
      else [this.negativeSpans, this.negativeBuckets] = [c.spans, c.buckets];
    }
    return this;
  }

  /** Merges buckets down to a lower exponential schema. In place. */
  reduceResolution(target: number): this {
    if (this.usesCustomBuckets() || target >= this.schema) return this;
    const pos = collapse(reduceIndexed(expand(this.positiveSpans, this.positiveBuckets), this.schema, target));
    const neg = collapse(reduceIndexed(expand(this.negativeSpans, this.negativeBuckets), this.schema, target));
    this.positiveSpans = pos.spans;
    this.positiveBuckets = pos.buckets;
    this.negativeSpans = neg.spans;
    this.negativeBuckets = neg.buckets;
    this.schema = target;
    return this;
  }

  /**
   * Whether this histogram, following `prev` in a counter, starts a new counter: the hint decides
   * when it knows; otherwise any count that went down, a bucket of prev populated but missing
   * here, a finer schema or a narrower zero bucket.
   */
  detectReset(prev: FloatHistogram): boolean {
    if (this.counterResetHint === CounterResetHint.CounterReset) return true;
    if (this.counterResetHint === CounterResetHint.NotCounterReset) return false;
    if (this.count < prev.count) return true;
    if (this.usesCustomBuckets() || prev.usesCustomBuckets()) {
      if (!this.usesCustomBuckets() || !prev.usesCustomBuckets()) return true;
      let cur = expand(this.positiveSpans, this.positiveBuckets);
      let old = expand(prev.positiveSpans, prev.positiveBuckets);
      if (!sameValues(this.customValues, prev.customValues)) {
        const common = intersectBounds(this.customValues ?? [], prev.customValues ?? []);
        cur = remapCustom(cur, this.customValues ?? [], common);
        old = remapCustom(old, prev.customValues ?? [], common);
      }
      return bucketsDecreased(cur, old);
    }
    if (this.schema > prev.schema) return true;
    if (this.zeroThreshold < prev.zeroThreshold) return true;
    if (prev.widenedZeroThreshold(this.zeroThreshold) !== this.zeroThreshold) return true;
    const old = prev.withZeroThreshold(this.zeroThreshold);
    if (this.zeroCount < old.zeroCount) return true;
    const cur = this.withZeroThreshold(this.zeroThreshold);
    return (
      bucketsDecreased(cur.pos, reduceIndexed(old.pos, prev.schema, this.schema)) ||
      bucketsDecreased(cur.neg, reduceIndexed(old.neg, prev.schema, this.schema))
    );
  }

  /** Exact equality of the data (bit patterns of floats; NaN equals NaN), layouts compared bucket by bucket. */
  equals(o: FloatHistogram): boolean {
    if (this.schema !== o.schema || !Object.is(this.count, o.count) || !Object.is(this.sum, o.sum)) return false;
    if (this.usesCustomBuckets() && !sameValues(this.customValues, o.customValues)) return false;
    if (this.zeroThreshold !== o.zeroThreshold || !Object.is(this.zeroCount, o.zeroCount)) return false;
    return (
      sameIndexed(expand(this.positiveSpans, this.positiveBuckets), expand(o.positiveSpans, o.positiveBuckets)) &&
      sameIndexed(expand(this.negativeSpans, this.negativeBuckets), expand(o.negativeSpans, o.negativeBuckets))
    );
  }

  /** The zero bucket as a bucket: closed on both sides. */
  zeroBucket(): Bucket {
    return { lower: -this.zeroThreshold, upper: this.zeroThreshold, lowerInclusive: true, upperInclusive: true, count: this.zeroCount };
  }

  /** Positive buckets ascending, including empty ones. */
  positiveBucketList(): Bucket[] {
    const x = expand(this.positiveSpans, this.positiveBuckets);
    return x.idx.map((i, k) => ({
      lower: bucketBound(i - 1, this.schema, this.customValues),
      upper: bucketBound(i, this.schema, this.customValues),
      lowerInclusive: false,
      upperInclusive: true,
      count: x.cnt[k],
    }));
  }

  /** Negative buckets from the one nearest zero outwards, including empty ones. */
  negativeBucketList(): Bucket[] {
    const x = expand(this.negativeSpans, this.negativeBuckets);
    return x.idx.map((i, k) => ({
      lower: -bucketBound(i, this.schema, this.customValues),
      upper: -bucketBound(i - 1, this.schema, this.customValues),
      lowerInclusive: true,
      upperInclusive: false,
      count: x.cnt[k],
    }));
  }

  /**
   * Every bucket from the lowest bound upwards: negative, the zero bucket when it has
   * observations, positive. Bounds of buckets reaching into the zero bucket are cut at its edge.
   */
  allBuckets(): Bucket[] {
    const out: Bucket[] = [];
    const z = this.zeroThreshold;
    const clip = (b: Bucket): Bucket => {
      if (b.upper < 0 && b.upper > -z) b.upper = -z;
      else if (b.lower > 0 && b.lower < z) b.lower = z;
      return b;
    };
    const neg = this.negativeBucketList();
    for (let k = neg.length - 1; k >= 0; k--) out.push(clip(neg[k]));
    if (this.zeroCount > 0) out.push(this.zeroBucket());
    for (const b of this.positiveBucketList()) out.push(clip(b));
    return out;
  }

  /**
   * PromQL's trim operators: keeps the observations below `bound` (`</`, upper) or above it
   * (`>/`, lower). A bucket the bound cuts keeps the share interpolation gives it (linear for
   * custom buckets and the zero bucket, logarithmic for exponential ones); when anything was
   * cut, count and sum are recomputed from what is left, each bucket's observations taken at
   * the middle of its surviving part. In place.
   */
  trimBuckets(bound: number, upper: boolean): this {
    const custom = this.usesCustomBuckets();
    let count = 0;
    let sum = 0;
    let trimmed = false;
    const sides = [
      { list: this.positiveBucketList(), buckets: this.positiveBuckets, positive: true },
      { list: this.negativeBucketList(), buckets: this.negativeBuckets, positive: false },
    ];
    const populated = sides.map((side) => side.list.some((b) => b.count !== 0));
    for (const side of sides) {
      side.list.forEach((b, i) => {
        if (b.count === 0) return;
        const whole = upper ? b.upper <= bound : b.lower >= bound;
        const partly = upper ? b.lower < bound : b.upper > bound;
        if (whole) {
          count += b.count;
          sum += midpoint(b.lower, b.upper, side.positive, custom) * b.count;
        } else if (partly) {
          const [keep, mid] = trimmedBucket(b, bound, upper, side.positive, custom);
          count += keep;
          sum += mid * keep;
          if (side.buckets[i] !== keep) {
            side.buckets[i] = keep;
            trimmed = true;
          }
        } else {
          side.buckets[i] = 0;
          trimmed = true;
        }
      });
    }
    if (this.zeroCount > 0) {
      const [keep, mid] = trimmedZeroBucket(this.zeroBucket(), bound, populated[1], populated[0], upper);
      if (this.zeroCount !== keep) {
        this.zeroCount = keep;
        trimmed = true;
      }
      sum += mid * keep;
      count += keep;
    }
    if (trimmed) {
      this.count = count;
      this.sum = sum;
      this.compact();
    }
    return this;
  }

  /** Whether any count or the sum is infinite (an aggregation overflowed); NaN is no overflow. */
  hasOverflow(): boolean {
    return this.largestMagnitude() === Infinity;
  }

  /** The largest absolute value among count, sum and all counts (NaN ignored). */
  largestMagnitude(): number {
    let m = 0;
    const see = (x: number) => {
      if (Math.abs(x) > m) m = Math.abs(x);
    };
    see(this.zeroCount);
    see(this.count);
    see(this.sum);
    this.positiveBuckets.forEach(see);
    this.negativeBuckets.forEach(see);
    return m;
  }

  /**
   * Prometheus' own text of a histogram (its FloatHistogram.String()): count, sum and each
   * non-empty bucket with its bounds, lowest first. PromQL shows histograms this way where a
   * value becomes text, as in count_values' label.
   */
  prometheusString(): string {
    const g = (v: number) => formatG(v);
    const bucket = (b: Bucket) => `${b.lowerInclusive ? '[' : '('}${g(b.lower)},${g(b.upper)}${b.upperInclusive ? ']' : ')'}:${g(b.count)}`;
    let out = `{count:${g(this.count)}, sum:${g(this.sum)}`;
    const neg = this.negativeBucketList();
    for (let k = neg.length - 1; k >= 0; k--) if (neg[k].count !== 0) out += `, ${bucket(neg[k])}`;
    if (this.zeroCount !== 0) out += `, ${bucket(this.zeroBucket())}`;
    for (const b of this.positiveBucketList()) if (b.count !== 0) out += `, ${bucket(b)}`;
    return `${out}}`;
  }

  /** The notation of Prometheus' test scripts, for messages. */
  toString(): string {
    const parts: string[] = [];
    if (this.schema !== 0) parts.push(`schema:${this.schema}`);
    if (this.count !== 0) parts.push(`count:${this.count}`);
    if (this.sum !== 0) parts.push(`sum:${this.sum}`);
    if (this.zeroCount !== 0) parts.push(`z_bucket:${this.zeroCount}`);
    if (this.zeroThreshold !== 0) parts.push(`z_bucket_w:${this.zeroThreshold}`);
    const list = (spans: Span[], buckets: number[], name: string, offName: string) => {
      const x = expand(spans, buckets);
      if (x.idx.length === 0) return;
      if (x.idx[0] !== 0) parts.push(`${offName}:${x.idx[0]}`);
      const filled: number[] = [];
      for (let k = 0; k < x.idx.length; k++) {
        if (k > 0) for (let g = x.idx[k - 1] + 1; g < x.idx[k]; g++) filled.push(0);
        filled.push(x.cnt[k]);
      }
      parts.push(`${name}:[${filled.join(' ')}]`);
    };
    list(this.positiveSpans, this.positiveBuckets, 'buckets', 'offset');
    list(this.negativeSpans, this.negativeBuckets, 'n_buckets', 'n_offset');
    if (this.usesCustomBuckets()) parts.push(`custom_values:[${(this.customValues ?? []).join(' ')}]`);
    if (this.counterResetHint !== CounterResetHint.Unknown)
      parts.push(`counter_reset_hint:${COUNTER_RESET_HINT_NAMES[this.counterResetHint]}`);
    return `{{${parts.join(' ')}}}`;
  }
}

/** The zero threshold two histograms share when combined: the wider one, widened past populated buckets it cuts. */
export function commonZeroThreshold(a: FloatHistogram, b: FloatHistogram): number {
  let t = Math.max(a.zeroThreshold, b.zeroThreshold);
  for (;;) {
    const next = b.widenedZeroThreshold(a.widenedZeroThreshold(t));
    if (next === t) return t;
    t = next;
  }
}

/** Where a bucket's observations are taken to be: its arithmetic (linear) or geometric middle; the finite edge of a half-infinite one. */
function midpoint(lower: number, upper: number, positive: boolean, linear: boolean): number {
  const lowerInf = !Number.isFinite(lower);
  const upperInf = !Number.isFinite(upper);
  if (lowerInf && upperInf) return 0;
  if (lowerInf) return upper > 0 ? upper / 2 : upper;
  if (upperInf) return lower;
  if (linear) return (lower + upper) / 2;
  const g = Math.sqrt(Math.abs(lower * upper));
  return positive ? g : -g;
}

function shareBelow(b: Bucket, v: number, linear: boolean): number {
  if (linear) return (v - b.lower) / (b.upper - b.lower);
  const lo = Math.log2(Math.abs(b.lower));
  const hi = Math.log2(Math.abs(b.upper));
  const x = Math.log2(Math.abs(v));
  if (v > 0) return (x - lo) / (hi - lo);
  return 1 - (x - hi) / (lo - hi);
}

/** The count a bucket cut by `bound` keeps and where those observations are taken to be. */
function trimmedBucket(b: Bucket, bound: number, upper: boolean, positive: boolean, custom: boolean): [number, number] {
  if (b.lower === -Infinity || b.upper === Infinity) return trimmedInfiniteBucket(b, bound, upper);
  const below = bound <= b.lower ? 0 : bound >= b.upper ? b.count : b.count * shareBelow(b, bound, custom);
  if (upper) return [below, midpoint(b.lower, bound, positive, custom)];
  return [b.count - below, midpoint(bound, b.upper, positive, custom)];
}

/** Custom buckets reaching -Inf or +Inf: only a bucket from -Inf to a positive bound is interpolated (from 0). */
function trimmedInfiniteBucket(b: Bucket, bound: number, upper: boolean): [number, number] {
  const finite = (x: number) => (Number.isFinite(x) ? x : 0);
  if (b.lower === -Infinity) {
    if (upper) {
      if (bound >= b.upper) return [b.count, 0];
      if (bound > 0 && b.upper > 0 && b.upper !== Infinity) return [(b.count * bound) / b.upper, bound / 2];
      if (b.upper <= 0) return [b.count, bound];
      return [0, finite(b.upper)];
    }
    if (bound <= b.lower) return [b.count, 0];
    if (bound >= 0 && b.upper > bound && b.upper !== Infinity) return [b.count * (1 - bound / b.upper), (bound + b.upper) / 2];
    return [0, finite(b.upper)];
  }
  if (upper) return [0, finite(b.lower)];
  if (bound >= b.lower) return [b.count, bound];
  return [0, finite(b.lower)];
}

/** The zero bucket cut linearly; it ends at 0 on a side without populated buckets. */
function trimmedZeroBucket(z: Bucket, bound: number, hasNegative: boolean, hasPositive: boolean, upper: boolean): [number, number] {
  let lo = z.lower;
  let hi = z.upper;
  if (hasNegative && !hasPositive) hi = 0;
  if (hasPositive && !hasNegative) lo = 0;
  if (upper) {
    if (bound <= lo) return [0, 0];
    if (bound >= hi) return [z.count, (lo + hi) / 2];
    return [(z.count * (bound - lo)) / (hi - lo), (lo + bound) / 2];
  }
  if (bound <= lo) return [z.count, (lo + hi) / 2];
  if (bound >= hi) return [0, 0];
  return [(z.count * (hi - bound)) / (hi - lo), (bound + hi) / 2];
}

function bucketsDecreased(cur: Indexed, prev: Indexed): boolean {
  let j = 0;
  for (let k = 0; k < prev.idx.length; k++) {
    if (prev.cnt[k] === 0) continue;
    while (j < cur.idx.length && cur.idx[j] < prev.idx[k]) j++;
    if (j >= cur.idx.length || cur.idx[j] !== prev.idx[k]) return true;
    if (cur.cnt[j] < prev.cnt[k]) return true;
  }
  return false;
}

function sameIndexed(a: Indexed, b: Indexed): boolean {
  if (a.idx.length !== b.idx.length) return false;
  for (let k = 0; k < a.idx.length; k++) if (a.idx[k] !== b.idx[k] || !Object.is(a.cnt[k], b.cnt[k])) return false;
  return true;
}
