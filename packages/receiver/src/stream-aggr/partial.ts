/**
 * The state of one output group over one interval, as one receiver saw it: mergeable, so the
 * receivers owning a group's input series each keep their part and the group's owner adds them
 * up (two-stage aggregation, aggregator.ts). Every field merges exactly: sums and counts add,
 * min/max/last compare, the variance merges by Chan et al.'s pairwise formula, quantile inputs
 * concatenate, histogram buckets add. Per-series rates are computed where the series is
 * aggregated (rate.ts) and only their sum and number travel.
 */
import type { SeriesRate } from './rate.js';
import { vmrangeOf } from './vmrange.js';

export interface PartialJSON {
  c: number;
  s: number;
  mn: number | null;
  mx: number | null;
  lt: number;
  lv: number | null;
  mean: number;
  m2: number;
  inc: number;
  ser: number;
  rs: number;
  rn: number;
  q?: number[];
  b?: Record<string, number>;
  /** Moved series (Partial.movers), flat: key, increase, seconds, ... */
  mv?: number[];
}

export class Partial {
  count = 0;
  sum = 0;
  min = Infinity;
  max = -Infinity;
  lastT = -Infinity;
  lastV = NaN;
  mean = 0;
  m2 = 0;
  /** Sum of the counter increases of the group's input series (resets count as increases from 0). */
  increase = 0;
  /** Input series with a sample in the interval (each input series counts on one receiver only). */
  series = 0;
  /** Sum of the input series' per-second rates over the interval (rate_sum, rate_avg). */
  rateSum = 0;
  /** Input series with a rate in the interval: those with samples at two timestamps at least. */
  rateSeries = 0;
  /** Stage 1 only: input series whose rate in this interval is not added yet (rate.ts); never sent. */
  openRates: SeriesRate[] | undefined;
  /** Sample values, kept only when a quantiles output needs them. */
  values: number[] | undefined;
  /** vmrange -> samples, kept only for histogram_bucket. */
  buckets: Map<string, number> | undefined;
  /**
   * Input series that changed receivers during the interval (a ring change), by series key
   * (aggregator.ts): each receiver that aggregated one reports it here instead of in `series`
   * and the rate sums, with its part of the increase and of the seconds its rate spans, so the
   * group's owner counts it once and gives it one rate over both parts (resolveMovers).
   */
  movers: Map<number, Float64Array> | undefined;
  /** Stage 1 only: the partial has left for stage 2 (sent, or merged here); nothing may take from it any more. */
  closed = false;

  constructor(keepValues: boolean, keepBuckets: boolean) {
    if (keepValues) this.values = [];
    if (keepBuckets) this.buckets = new Map();
  }

  /** A sample's value statistics (NaNs, Prometheus' staleness markers among them, are skipped by the caller). */
  add(t: number, v: number): void {
    this.count++;
    this.sum += v;
    if (v < this.min) this.min = v;
    if (v > this.max) this.max = v;
    if (t >= this.lastT) {
      this.lastT = t;
      this.lastV = v;
    }
    // Welford's update: numerically stable, one pass.
    const d = v - this.mean;
    this.mean += d / this.count;
    this.m2 += d * (v - this.mean);
    this.values?.push(v);
    if (this.buckets) {
      const b = vmrangeOf(v);
      if (b !== undefined) this.buckets.set(b, (this.buckets.get(b) ?? 0) + 1);
    }
  }

  /** A moved series has a sample in the interval. */
  moverSeries(key: number): Float64Array {
    const m = (this.movers ??= new Map());
    let e = m.get(key);
    if (!e) m.set(key, (e = new Float64Array(2)));
    return e;
  }

  /** A moved series' rate part: its increase over `seconds`. */
  moverRate(key: number, increase: number, seconds: number): void {
    const e = this.moverSeries(key);
    e[0] += increase;
    e[1] += seconds;
  }

  /** Stage 2, once every sender's partial is merged: each moved series counts once, with one rate over its parts. */
  resolveMovers(): void {
    const m = this.movers;
    if (!m) return;
    this.movers = undefined;
    this.series += m.size;
    for (const e of m.values()) {
      if (!(e[1] > 0)) continue;
      this.rateSum += e[0] / e[1];
      this.rateSeries++;
    }
  }

  merge(o: Partial): void {
    if (o.count > 0) {
      const n = this.count + o.count;
      const d = o.mean - this.mean;
      this.mean += (d * o.count) / n;
      this.m2 += o.m2 + (d * d * this.count * o.count) / n;
      this.count = n;
      this.sum += o.sum;
      if (o.min < this.min) this.min = o.min;
      if (o.max > this.max) this.max = o.max;
      if (o.lastT >= this.lastT) {
        this.lastT = o.lastT;
        this.lastV = o.lastV;
      }
    }
    this.increase += o.increase;
    this.series += o.series;
    this.rateSum += o.rateSum;
    this.rateSeries += o.rateSeries;
    if (o.values) {
      if (!this.values) this.values = [];
      for (const v of o.values) this.values.push(v);
    }
    if (o.buckets) {
      if (!this.buckets) this.buckets = new Map();
      for (const [b, n] of o.buckets) this.buckets.set(b, (this.buckets.get(b) ?? 0) + n);
    }
    if (o.movers) for (const [key, e] of o.movers) this.moverRate(key, e[0], e[1]);
  }

  toJSON(): PartialJSON {
    const j: PartialJSON = {
      c: this.count,
      s: this.sum,
      mn: this.count > 0 ? this.min : null,
      mx: this.count > 0 ? this.max : null,
      lt: this.count > 0 ? this.lastT : 0,
      lv: this.count > 0 ? this.lastV : null,
      mean: this.mean,
      m2: this.m2,
      inc: this.increase,
      ser: this.series,
      rs: this.rateSum,
      rn: this.rateSeries,
    };
    if (this.values) j.q = this.values;
    if (this.buckets) j.b = Object.fromEntries(this.buckets);
    if (this.movers) {
      const mv: number[] = [];
      for (const [key, e] of this.movers) mv.push(key, e[0], e[1]);
      j.mv = mv;
    }
    return j;
  }

  static fromJSON(j: PartialJSON): Partial {
    const p = new Partial(j.q !== undefined, j.b !== undefined);
    p.count = num(j.c);
    p.sum = num(j.s);
    if (p.count > 0) {
      p.min = num(j.mn);
      p.max = num(j.mx);
      p.lastT = num(j.lt);
      p.lastV = num(j.lv);
    }
    p.mean = num(j.mean);
    p.m2 = num(j.m2);
    p.increase = num(j.inc);
    p.series = num(j.ser);
    p.rateSum = num(j.rs);
    p.rateSeries = num(j.rn);
    if (j.q) p.values = j.q.map(num);
    if (j.b) p.buckets = new Map(Object.entries(j.b).map(([k, n]) => [k, num(n)]));
    if (j.mv) for (let i = 0; i + 2 < j.mv.length; i += 3) p.moverRate(num(j.mv[i]), num(j.mv[i + 1]), num(j.mv[i + 2]));
    return p;
  }
}

/**
 * A moved series' key among a group's movers of one interval: 52 bits (FNV-1a, and a variant of
 * it with another offset and a shift), so that two series of a group colliding is as good as impossible.
 */
export function seriesKey(pairs: readonly string[]): number {
  let a = 0x811c9dc5;
  let b = 0x050c5d1f;
  for (const s of pairs) {
    for (let i = 0; i < s.length; i++) {
      const c = s.charCodeAt(i);
      a = Math.imul(a ^ c, 0x01000193);
      b = Math.imul(b ^ c, 0x01000193) ^ (b >>> 13);
    }
    a = Math.imul(a ^ 0xff, 0x01000193);
    b = Math.imul(b ^ 0xff, 0x01000193);
  }
  return (a >>> 0) * 0x100000 + ((b >>> 0) & 0xfffff);
}

/** JSON has no infinities or NaN; they travel as null and come back as NaN, which no sum hides. */
function num(v: unknown): number {
  return typeof v === 'number' ? v : NaN;
}

/** PromQL's quantile_over_time: linear interpolation between the closest ranks of the sorted values. */
export function quantileOf(phi: number, sorted: readonly number[]): number {
  const n = sorted.length;
  if (n === 0) return NaN;
  const rank = phi * (n - 1);
  const lo = Math.max(0, Math.floor(rank));
  const hi = Math.min(n - 1, lo + 1);
  const w = rank - lo;
  return sorted[lo] * (1 - w) + sorted[hi] * w;
}
