/** Metric metadata sent with remote-write, per tenant, answered by /api/v1/metadata. */
import type { MetricMetadata } from '@strata/model';

/** Bounds memory when a client sends unbounded metric family names. */
export const MAX_METADATA_PER_TENANT = 100_000;

export class MetadataStore {
  private readonly byTenant = new Map<string, Map<string, MetricMetadata>>();

  set(tenant: string, metric: string, m: MetricMetadata): void {
    let t = this.byTenant.get(tenant);
    if (!t) {
      t = new Map();
      this.byTenant.set(tenant, t);
    }
    if (!t.has(metric) && t.size >= MAX_METADATA_PER_TENANT) return;
    t.set(metric, m);
  }

  /** Prometheus' /api/v1/metadata shape: metric -> list of metadata; limits < 0 mean none. */
  metadata(tenant: string, metric: string | undefined, limit: number, _limitPerMetric: number): Record<string, MetricMetadata[]> {
    const t = this.byTenant.get(tenant);
    const out: Record<string, MetricMetadata[]> = {};
    if (!t) return out;
    let n = 0;
    for (const name of [...t.keys()].sort()) {
      if (metric !== undefined && metric !== '' && name !== metric) continue;
      if (limit >= 0 && n >= limit) break;
      out[name] = [t.get(name)!];
      n++;
    }
    return out;
  }
}
