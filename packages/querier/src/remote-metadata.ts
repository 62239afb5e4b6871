/**
 * /api/v1/metadata over the querier's stores: each store's own metadata endpoint is asked and the
 * answers are merged (metric -> distinct metadata entries, as Prometheus returns when targets
 * disagree). Receivers keep a metric's metadata on RF replicas, so the merge answers the same
 * with a store down; stores that fail or serve no metadata (store gateways) are skipped.
 */
import type { MetricMetadata } from '@strata/model';
import type { HttpClient } from '@strata/api';
import type { MetadataSource } from './query-api.js';

export interface RemoteMetadataOptions {
  /** Base URLs of the stores. */
  urls: readonly string[];
  tenantHeader: string;
  timeoutMs: number;
  /** TLS and credentials for the stores, as for remote-read. */
  client?: HttpClient;
}

export class RemoteMetadata implements MetadataSource {
  constructor(private readonly opts: RemoteMetadataOptions) {}

  async metadata(
    tenant: string,
    metric: string | undefined,
    limit: number,
    limitPerMetric: number,
  ): Promise<Record<string, MetricMetadata[]>> {
    const q = metric ? `?metric=${encodeURIComponent(metric)}` : '';
    const answers = await Promise.all(
      this.opts.urls.map(async (url) => {
        try {
          const init = { headers: { [this.opts.tenantHeader]: tenant }, signal: AbortSignal.timeout(this.opts.timeoutMs) };
          const r = await (this.opts.client
            ? this.opts.client.fetch(`${url}/api/v1/metadata${q}`, init)
            : fetch(`${url}/api/v1/metadata${q}`, init));
          if (!r.ok) return {};
          const body = (await r.json()) as { data?: Record<string, MetricMetadata[]> };
          return body.data ?? {};
        } catch {
          return {};
        }
      }),
    );
    return mergeMetadata(answers, limit, limitPerMetric);
  }
}

/** Union per metric of distinct entries; `limit` metrics and `limitPerMetric` entries each (< 0: all). */
export function mergeMetadata(
  answers: readonly Record<string, MetricMetadata[]>[],
  limit: number,
  limitPerMetric: number,
): Record<string, MetricMetadata[]> {
  const merged = new Map<string, Map<string, MetricMetadata>>();
  for (const a of answers) {
    for (const [name, entries] of Object.entries(a)) {
      let m = merged.get(name);
      if (!m) merged.set(name, (m = new Map()));
      for (const e of entries) m.set(`${e.type}\0${e.help}\0${e.unit}`, { type: e.type, help: e.help, unit: e.unit });
    }
  }
  const out: Record<string, MetricMetadata[]> = {};
  let n = 0;
  for (const name of [...merged.keys()].sort()) {
    if (limit >= 0 && n >= limit) break;
    const entries = [...merged.get(name)!.values()];
    out[name] = limitPerMetric >= 0 ? entries.slice(0, limitPerMetric) : entries;
    n++;
  }
  return out;
}
