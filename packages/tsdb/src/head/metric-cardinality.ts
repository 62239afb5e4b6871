/**
 * Per metric name: how many series the head holds, and how many distinct values each label
 * takes among them. The head asks it before creating a series, so a tenant whose one metric
 * explodes (a `user_id` label) is stopped at that metric, with the label named, long before
 * its total series limit would refuse every other metric too.
 *
 * Kept only while a per-metric limit is set (built from the head's series when one is), so
 * tenants without such limits pay nothing: one map entry per distinct (metric, label, value)
 * with a count of the series using it, touched only when a series is created or removed.
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

interface MetricStats {
  series: number;
  /** label name -> value -> series of this metric with that value. */
  values: Map<string, Map<string, number>>;
}

export class MetricCardinality {
  private readonly metrics = new Map<string, MetricStats>();

  /** Whether values per label are counted (only when that limit is set; series per metric always are). */
  constructor(readonly countValues: boolean) {}

  add(pairs: readonly string[]): void {
    const name = metricOf(pairs);
    let m = this.metrics.get(name);
    if (!m) this.metrics.set(name, (m = { series: 0, values: new Map() }));
    m.series++;
    if (!this.countValues) return;
    for (let i = 0; i < pairs.length; i += 2) {
      if (pairs[i] === '__name__') continue;
      let vs = m.values.get(pairs[i]);
      if (!vs) m.values.set(pairs[i], (vs = new Map()));
      vs.set(pairs[i + 1], (vs.get(pairs[i + 1]) ?? 0) + 1);
    }
  }

  remove(pairs: readonly string[]): void {
    const name = metricOf(pairs);
    const m = this.metrics.get(name);
    if (!m) return;
    if (--m.series <= 0) {
      this.metrics.delete(name);
      return;
    }
    if (!this.countValues) return;
    for (let i = 0; i < pairs.length; i += 2) {
      const vs = m.values.get(pairs[i]);
      if (!vs) continue;
      const n = (vs.get(pairs[i + 1]) ?? 0) - 1;
      if (n > 0) vs.set(pairs[i + 1], n);
      else {
        vs.delete(pairs[i + 1]);
        if (vs.size === 0) m.values.delete(pairs[i]);
      }
    }
  }

  /** The limit a new series with these labels would exceed (0 = no limit), or undefined. */
  check(pairs: readonly string[], maxSeries: number, maxValues: number): MetricLimitHit | undefined {
    const metric = metricOf(pairs);
    const m = this.metrics.get(metric);
    if (!m) return undefined;
    if (maxSeries > 0 && m.series >= maxSeries) return { kind: 'series-per-metric', metric, seen: m.series, limit: maxSeries };
    if (maxValues > 0 && this.countValues) {
      for (let i = 0; i < pairs.length; i += 2) {
        if (pairs[i] === '__name__') continue;
        const vs = m.values.get(pairs[i]);
        if (vs && vs.size >= maxValues && !vs.has(pairs[i + 1]))
          return { kind: 'label-values-per-metric', metric, label: pairs[i], seen: vs.size, limit: maxValues };
      }
    }
    return undefined;
  }

  /** Series of one metric in the head. */
  seriesOf(metric: string): number {
    return this.metrics.get(metric)?.series ?? 0;
  }
}

function metricOf(pairs: readonly string[]): string {
  for (let i = 0; i < pairs.length; i += 2) if (pairs[i] === '__name__') return pairs[i + 1];
  return '';
}
