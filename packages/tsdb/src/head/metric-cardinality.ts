/**
 * Per metric name: how many series the head holds, and how many distinct values each label
 * takes among them. The head asks it before creating a series, so a tenant whose one metric
 * explodes (a `user_id` label) is stopped at that metric, with the label named, long before
 * its total series limit would refuse every other metric too.
 *
 * Kept only while a per-metric limit is set (built from the head's series when one is), so
 * tenants without such limits pay nothing; values are counted only while the value limit is set.
 * Metrics and label values are known by the ids the postings index gives their label pairs
 * (`ids[i / 2]` for the pair at `pairs[i]`, -1 for a pair no series holds), and every count
 * lives in typed arrays: creating a series touches a few array slots, allocates nothing, and
 * costs the same with 1,000 series or 10 million (no string-keyed map per metric growing with
 * its values, nothing for the garbage collector to walk).
 */

/** Why a new series was refused: the metric (and label) and the count that reached the limit. */
export interface MetricLimitHit {
  kind: 'series-per-metric' | 'label-values-per-metric';
  metric: string;
  /** For label-values-per-metric: the label whose distinct values reached the limit. */
  label?: string;
  /** The count held when the series was refused (equal to the limit, or above it after a limit was lowered). */
  seen: number;
  limit: number;
}

export class MetricCardinality {
  /** Series per metric, by metric key (metricKey). */
  private series = new Int32Array(1024);
  /** (metric key, pair id) -> series of the metric holding the pair. */
  private readonly pairs = new PairCounts();
  /** (metric key, label name id) -> distinct values of the label among the metric's series. */
  private readonly distinct = new PairCounts();
  /** Label name -> id, for `distinct` (label names are few). */
  private readonly names = new Map<string, number>();

  /** Whether values per label are counted (only when that limit is set; series per metric always are). */
  constructor(readonly countValues: boolean) {}

  add(pairs: readonly string[], ids: Int32Array): void {
    const m = metricKey(pairs, ids);
    if (m >= this.series.length) {
      const grown = new Int32Array(Math.max(2 * this.series.length, m + 1));
      grown.set(this.series);
      this.series = grown;
    }
    this.series[m]++;
    if (!this.countValues) return;
    for (let i = 0; i < pairs.length; i += 2) {
      if (pairs[i] === '__name__') continue;
      if (this.pairs.add(m, ids[i >> 1], 1) === 1) this.distinct.add(m, this.nameId(pairs[i]), 1);
    }
  }

  /** Forgets a series; `ids` as when it was added (its pairs are still in the index). */
  remove(pairs: readonly string[], ids: Int32Array): void {
    const m = metricKey(pairs, ids);
    if (m < 0 || m >= this.series.length || this.series[m] <= 0) return;
    this.series[m]--;
    if (!this.countValues) return;
    for (let i = 0; i < pairs.length; i += 2) {
      if (pairs[i] === '__name__') continue;
      if (this.pairs.add(m, ids[i >> 1], -1) === 0) this.distinct.add(m, this.nameId(pairs[i]), -1);
    }
  }

  /** The limit a new series with these labels would exceed (0 = no limit), or undefined. */
  check(pairs: readonly string[], ids: Int32Array, maxSeries: number, maxValues: number): MetricLimitHit | undefined {
    const m = metricKey(pairs, ids);
    const held = m >= 0 && m < this.series.length ? this.series[m] : 0;
    if (held === 0) return undefined;
    if (maxSeries > 0 && held >= maxSeries) return { kind: 'series-per-metric', metric: metricOf(pairs), seen: held, limit: maxSeries };
    if (maxValues > 0 && this.countValues) {
      for (let i = 0; i < pairs.length; i += 2) {
        if (pairs[i] === '__name__') continue;
        const id = ids[i >> 1];
        if (id >= 0 && this.pairs.get(m, id) > 0) continue;
        const name = this.names.get(pairs[i]);
        const seen = name === undefined ? 0 : this.distinct.get(m, name);
        if (seen >= maxValues) return { kind: 'label-values-per-metric', metric: metricOf(pairs), label: pairs[i], seen, limit: maxValues };
      }
    }
    return undefined;
  }

  /** Series held of the metric of these labels. */
  seriesOf(pairs: readonly string[], ids: Int32Array): number {
    const m = metricKey(pairs, ids);
    return m >= 0 && m < this.series.length ? this.series[m] : 0;
  }

  private nameId(name: string): number {
    let id = this.names.get(name);
    if (id === undefined) this.names.set(name, (id = this.names.size));
    return id;
  }
}

/** 0 for series without a metric name, else 1 + the id of the `__name__` pair (-1 when no series holds it). */
function metricKey(pairs: readonly string[], ids: Int32Array): number {
  for (let i = 0; i < pairs.length; i += 2) if (pairs[i] === '__name__') return ids[i >> 1] < 0 ? -1 : ids[i >> 1] + 1;
  return 0;
}

function metricOf(pairs: readonly string[]): string {
  for (let i = 0; i < pairs.length; i += 2) if (pairs[i] === '__name__') return pairs[i + 1];
  return '';
}

/**
 * Counts keyed by two non-negative integers, in an open-addressing table of typed arrays
 * (linear probing; an entry whose count reaches 0 is deleted by shifting its followers back,
 * so no tombstones build up under churn).
 */
export class PairCounts {
  private a = new Int32Array(1024).fill(-1);
  private b = new Int32Array(1024);
  private n = new Int32Array(1024);
  private mask = 1023;
  size = 0;

  get(a: number, b: number): number {
    for (let i = slot(a, b, this.mask); ; i = (i + 1) & this.mask) {
      const x = this.a[i];
      if (x < 0) return 0;
      if (x === a && this.b[i] === b) return this.n[i];
    }
  }

  /** Adds `d` to the count of (a, b) and returns the new count (entries at 0 are dropped; -1: nothing to lower). */
  add(a: number, b: number, d: number): number {
    let i = slot(a, b, this.mask);
    for (; ; i = (i + 1) & this.mask) {
      const x = this.a[i];
      if (x < 0) break;
      if (x === a && this.b[i] === b) {
        const c = (this.n[i] += d);
        if (c <= 0) this.delete(i);
        return c;
      }
    }
    if (d <= 0) return -1;
    if ((this.size + 1) * 2 > this.a.length) {
      this.grow();
      return this.add(a, b, d);
    }
    this.a[i] = a;
    this.b[i] = b;
    this.n[i] = d;
    this.size++;
    return d;
  }

  private delete(i: number): void {
    const mask = this.mask;
    for (let j = (i + 1) & mask; this.a[j] >= 0; j = (j + 1) & mask) {
      // The entry at j may fill the hole at i if its home slot is not after i (cyclically) on its way to j.
      const home = slot(this.a[j], this.b[j], mask);
      if (((j - home) & mask) >= ((j - i) & mask)) {
        this.a[i] = this.a[j];
        this.b[i] = this.b[j];
        this.n[i] = this.n[j];
        i = j;
      }
    }
    this.a[i] = -1;
    this.size--;
  }

  private grow(): void {
    const [a, b, n] = [this.a, this.b, this.n];
    this.a = new Int32Array(2 * a.length).fill(-1);
    this.b = new Int32Array(2 * a.length);
    this.n = new Int32Array(2 * a.length);
    this.mask = this.a.length - 1;
    this.size = 0;
    for (let i = 0; i < a.length; i++) if (a[i] >= 0) this.add(a[i], b[i], n[i]);
  }
}

function slot(a: number, b: number, mask: number): number {
  let h = Math.imul(a, 0x9e3779b1) ^ Math.imul(b, 0x85ebca77);
  h = Math.imul(h ^ (h >>> 15), 0x2c1b3c6d);
  return (h ^ (h >>> 13)) & mask;
}
