/**
 * /api/v1/query_exemplars over the querier's stores: each store's own endpoint is asked the same
 * query and window, and the answers are merged by mergeExemplars (a series once, an exemplar held
 * by RF replicas once). Receivers hold exemplars on every replica, so the answer stays the same
 * with a receiver down; stores that fail or keep no exemplars (store gateways: 404) are skipped.
 */
import { Labels, type Matcher } from '@strata/model';
import type { HttpClient } from '@strata/api';
import type { ExemplarSource, SeriesWithExemplars } from './exemplars-api.js';

export interface RemoteExemplarsOptions {
  /** Base URL of the store. */
  url: string;
  tenantHeader: string;
  timeoutMs: number;
  /** TLS and credentials for the store, as for remote-read. */
  client?: HttpClient;
}

interface ExemplarsAnswer {
  data?: { seriesLabels: Record<string, string>; exemplars: { labels: Record<string, string>; value: string; timestamp: number }[] }[];
}

export class RemoteExemplars implements ExemplarSource {
  constructor(private readonly opts: RemoteExemplarsOptions) {}

  async selectExemplars(
    tenant: string,
    mint: number,
    maxt: number,
    _matcherSets: readonly (readonly Matcher[])[],
    query: string,
  ): Promise<SeriesWithExemplars[]> {
    const params = new URLSearchParams({ query });
    // Milliseconds to the API's seconds; an open end is left out, as the client left it out.
    if (Number.isFinite(mint)) params.set('start', String(mint / 1000));
    if (Number.isFinite(maxt)) params.set('end', String(maxt / 1000));
    const url = `${this.opts.url}/api/v1/query_exemplars?${params}`;
    try {
      const init = { headers: { [this.opts.tenantHeader]: tenant }, signal: AbortSignal.timeout(this.opts.timeoutMs) };
      const r = await (this.opts.client ? this.opts.client.fetch(url, init) : fetch(url, init));
      if (!r.ok) return [];
      const body = (await r.json()) as ExemplarsAnswer;
      return (body.data ?? []).map((s) => ({
        seriesLabels: Labels.fromObject(s.seriesLabels),
        exemplars: s.exemplars.map((e) => ({
          labels: Labels.fromObject(e.labels).pairs,
          value: e.value === '+Inf' ? Infinity : e.value === '-Inf' ? -Infinity : Number(e.value),
          timestamp: Math.round(e.timestamp * 1000),
        })),
      }));
    } catch {
      return [];
    }
  }
}
