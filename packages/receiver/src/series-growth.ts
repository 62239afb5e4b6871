/**
 * Explosion detection: per tenant and metric, the series created per minute over the last hour
 * and, per label, the distinct values among them (a sketch per label and minute, merged over the
 * window asked for). The label with the most new values names the culprit.
 *
 * Bounded so that the monitoring cannot explode itself: at most `maxMetricsPerTenant` metrics are
 * tracked per tenant (later ones share the `__other__` entry), and the
 * strata_tenant_series_created_total{tenant,metric} counter exports only each tenant's top
 * `topMetrics` by series created in the last hour, re-ranked at every scrape; the others count
 * under metric="__other__". A metric that leaves the top stops being exported: its count moves
 * into `__other__`, and so do its further creations. Every exported counter only ever grows, and
 * their sum per tenant is the tenant's series created.
 */
import { DistinctSketch, hashKey, hashPairsKey } from '@strata/model';
import type { GrowthSketches, MetricGrowth } from '@strata/api';
import { Counter, type Registry } from 'prom-client';

const MINUTE_MS = 60_000;
/** Minutes kept: the longest window asked for is an hour. */
const SLOTS = 60;
export const OTHER_METRIC = '__other__';

interface Slot {
  minute: number;
  created: number;
  series: DistinctSketch;
  labels: Map<string, DistinctSketch>;
}

class MetricTrack {
  readonly slots: (Slot | undefined)[] = new Array(SLOTS);

  slotFor(minute: number): Slot {
    const i = minute % SLOTS;
    let s = this.slots[i];
    if (!s || s.minute !== minute) this.slots[i] = s = { minute, created: 0, series: new DistinctSketch(), labels: new Map() };
    return s;
  }

  /** Series created in the minutes (now - windowMinutes, now]. */
  createdWithin(nowMinute: number, windowMinutes: number): number {
    let n = 0;
    for (const s of this.slots) if (s && s.minute > nowMinute - windowMinutes && s.minute <= nowMinute) n += s.created;
    return n;
  }

  merged(nowMinute: number, windowMinutes: number): MetricGrowth {
    const out: MetricGrowth = { createdLocal: 0, series: new DistinctSketch(), labels: new Map() };
    for (const s of this.slots) {
      if (!s || s.minute <= nowMinute - windowMinutes || s.minute > nowMinute) continue;
      out.createdLocal += s.created;
      out.series.merge(s.series);
      for (const [name, sk] of s.labels) {
        let have = out.labels.get(name);
        if (!have) out.labels.set(name, (have = new DistinctSketch()));
        have.merge(sk);
      }
    }
    return out;
  }
}

export interface SeriesGrowthOptions {
  /** Metrics per tenant exported by strata_tenant_series_created_total; the rest are `__other__`. */
  topMetrics: number;
  /** Metrics per tenant tracked for the growth API; later ones share `__other__`. */
  maxMetricsPerTenant: number;
  registry?: Registry;
  now?: () => number;
}

export class SeriesGrowth {
  private readonly tenants = new Map<string, Map<string, MetricTrack>>();
  /** Per tenant, the metrics exported by name and the count each has exported. */
  private readonly exported = new Map<string, Map<string, number>>();
  private readonly counter: Counter<'tenant' | 'metric'> | undefined;
  private readonly now: () => number;

  constructor(private readonly opts: SeriesGrowthOptions) {
    this.now = opts.now ?? Date.now;
    if (opts.registry) {
      const rerank = () => this.rerank();
      this.counter = new Counter({
        name: 'strata_tenant_series_created_total',
        help: 'Series created per tenant and metric: each tenant\'s top metrics by series created in the last hour, the rest as metric="__other__".',
        labelNames: ['tenant', 'metric'],
        registers: [opts.registry],
        collect() {
          rerank();
        },
      });
    }
  }

  /** Called by the head for every series an append creates. */
  created(tenant: string, pairs: readonly string[]): void {
    let metric = '';
    for (let i = 0; i < pairs.length; i += 2)
      if (pairs[i] === '__name__') {
        metric = pairs[i + 1];
        break;
      }
    let metrics = this.tenants.get(tenant);
    if (!metrics) this.tenants.set(tenant, (metrics = new Map()));
    let track = metrics.get(metric);
    if (!track) {
      const name = metrics.size >= this.opts.maxMetricsPerTenant ? OTHER_METRIC : metric;
      track = metrics.get(name);
      if (!track) metrics.set(name, (track = new MetricTrack()));
    }
    const slot = track.slotFor(Math.floor(this.now() / MINUTE_MS));
    slot.created++;
    slot.series.add(hashPairsKey(pairs));
    for (let i = 0; i < pairs.length; i += 2) {
      if (pairs[i] === '__name__') continue;
      let sk = slot.labels.get(pairs[i]);
      if (!sk) slot.labels.set(pairs[i], (sk = new DistinctSketch()));
      sk.add(hashKey(pairs[i + 1]));
    }
    if (this.counter) {
      let shown = this.exported.get(tenant);
      if (!shown) this.exported.set(tenant, (shown = new Map()));
      // Free places in the top are taken at once; otherwise the next scrape re-ranks.
      if (!shown.has(metric) && shown.size < this.opts.topMetrics && metric !== OTHER_METRIC) shown.set(metric, 0);
      const n = shown.get(metric);
      if (n === undefined) this.counter.inc({ tenant, metric: OTHER_METRIC });
      else {
        shown.set(metric, n + 1);
        this.counter.inc({ tenant, metric });
      }
    }
  }

  /** A tenant's `top` metrics by series created within the window, as mergeable sketches. */
  sketches(tenant: string, windowMs: number, top: number): GrowthSketches {
    const windowMinutes = Math.max(1, Math.min(SLOTS, Math.round(windowMs / MINUTE_MS)));
    const nowMinute = Math.floor(this.now() / MINUTE_MS);
    const out: GrowthSketches = { windowMs: windowMinutes * MINUTE_MS, metrics: new Map() };
    const metrics = this.tenants.get(tenant);
    if (!metrics) return out;
    const ranked = [...metrics]
      .map(([name, t]) => ({ name, t, n: t.createdWithin(nowMinute, windowMinutes) }))
      .filter((x) => x.n > 0)
      .sort((a, b) => b.n - a.n)
      .slice(0, top);
    for (const { name, t } of ranked) out.metrics.set(name, t.merged(nowMinute, windowMinutes));
    return out;
  }

  /** Before a scrape: each tenant's exported metrics become its current top by creations in the last hour. */
  private rerank(): void {
    const counter = this.counter!;
    const nowMinute = Math.floor(this.now() / MINUTE_MS);
    for (const [tenant, metrics] of this.tenants) {
      const top = [...metrics]
        .filter(([name]) => name !== OTHER_METRIC)
        .map(([name, t]) => ({ name, n: t.createdWithin(nowMinute, SLOTS) }))
        .filter((x) => x.n > 0)
        .sort((a, b) => b.n - a.n || (a.name < b.name ? -1 : 1))
        .slice(0, this.opts.topMetrics)
        .map((x) => x.name);
      const prev = this.exported.get(tenant) ?? new Map<string, number>();
      const next = new Map<string, number>();
      for (const m of top) {
        const n = prev.get(m);
        next.set(m, n ?? 0);
        if (n === undefined) counter.inc({ tenant, metric: m }, 0);
      }
      for (const [m, n] of prev) {
        if (next.has(m)) continue;
        counter.remove({ tenant, metric: m });
        counter.inc({ tenant, metric: OTHER_METRIC }, n);
      }
      this.exported.set(tenant, next);
    }
  }

  /** Drops the minutes older than the window (a timer calls this; memory stays bounded by live metrics). */
  prune(): void {
    const nowMinute = Math.floor(this.now() / MINUTE_MS);
    for (const [tenant, metrics] of this.tenants) {
      for (const [name, t] of metrics) {
        let live = false;
        for (let i = 0; i < SLOTS; i++) {
          const s = t.slots[i];
          if (s && s.minute <= nowMinute - SLOTS) t.slots[i] = undefined;
          else if (s) live = true;
        }
        if (!live) metrics.delete(name);
      }
      if (metrics.size === 0) this.tenants.delete(tenant);
    }
  }
}
