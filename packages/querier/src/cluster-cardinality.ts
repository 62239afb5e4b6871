/**
 * Cluster-wide cardinality: /api/v1/status/tsdb, Mimir's cardinality API and the growth answer
 * over every store of --querier.stores, merged so that a series held by RF receivers counts once.
 *
 * Receivers answer with mergeable sketches (@strata/api cardinality-sketches); stores that have
 * no such endpoint (store gateways: their blocks are not "active" series) answer 404 and are
 * left out, as are stores that fail: with RF > 1 the replicas left still hold every series, and
 * merging sketches of overlapping sets loses nothing.
 *
 * Top lists are found in two rounds: every receiver returns its own top `2 * limit + 10` keys;
 * then each receiver is asked for the candidates of the others that it did not return, so each
 * candidate's figure is the merge of every receiver's part, not of those where it ranked high.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import {
  cardinalityLimitOf,
  decodeGrowth,
  decodeSketches,
  emptySketches,
  failure,
  growthAnswer,
  growthParams,
  labelNamesFromSketches,
  labelNamesOf,
  labelValuesFromSketches,
  mergeGrowthInto,
  mergeSketchesInto,
  readParams,
  requiredSelector,
  sendResult,
  success,
  tenantOf,
  tsdbStatusFromSketches,
  tsdbStatusLimitOf,
  type ApiResult,
  type CardinalitySketches,
  type GrowthSketches,
  type HttpClient,
  type Router,
  type TenancyConfig,
} from '@strata/api';

export interface ClusterCardinalityOptions {
  /** Base URLs of the stores (--querier.stores). */
  urls: () => readonly string[];
  tenantHeader: string;
  timeoutMs: number;
  client?: HttpClient;
}

/** Candidates per receiver for a top list of `limit`. */
export function candidatesFor(limit: number): number {
  return Math.min(10_000, 2 * limit + 10);
}

export class ClusterCardinality {
  constructor(private readonly opts: ClusterCardinalityOptions) {}

  /** POSTs a form to every store; the bodies of those that answered 200 (404s and failures left out). */
  private async ask(path: string, tenant: string, forms: (url: string) => URLSearchParams | undefined): Promise<Map<string, Uint8Array>> {
    const out = new Map<string, Uint8Array>();
    await Promise.all(
      this.opts.urls().map(async (url) => {
        const form = forms(url);
        if (!form) return;
        try {
          const init = {
            method: 'POST',
            headers: { [this.opts.tenantHeader]: tenant, 'Content-Type': 'application/x-www-form-urlencoded' },
            body: form.toString(),
            signal: AbortSignal.timeout(this.opts.timeoutMs),
          };
          const r = await (this.opts.client ? this.opts.client.fetch(`${url}${path}`, init) : fetch(`${url}${path}`, init));
          if (r.status !== 200) {
            await r.body?.cancel();
            return;
          }
          out.set(url, new Uint8Array(await r.arrayBuffer()));
        } catch {
          // A store down: its replicas answer for its series.
        }
      }),
    );
    return out;
  }

  /** Merged sketches for `base` (selector, label_names[]) with top lists of `limit`. */
  async sketches(tenant: string, base: URLSearchParams, limit: number): Promise<{ sketches: CardinalitySketches; stores: number }> {
    const first = new URLSearchParams(base);
    first.set('top', String(limit > 0 ? candidatesFor(limit) : 0));
    const answers = new Map<string, CardinalitySketches>();
    for (const [url, body] of await this.ask('/api/v1/cardinality/sketches', tenant, () => first)) {
      try {
        answers.set(url, decodeSketches(body));
      } catch {
        // Not a receiver of this version: left out like a failed store.
      }
    }
    const merged = emptySketches();
    const metrics = new Set<string>();
    const pairs = new Map<string, [string, string]>();
    for (const a of answers.values()) {
      for (const m of a.metrics.keys()) metrics.add(m);
      for (const [k, p] of a.pairs) pairs.set(k, [p.name, p.value]);
    }
    // Round two: each receiver's part of the candidates it did not rank.
    const missing = new Map<string, URLSearchParams>();
    for (const [url, a] of answers) {
      const form = new URLSearchParams(base);
      form.set('top', '0');
      form.set('keys_only', 'true');
      let n = 0;
      for (const m of metrics) {
        if (a.metrics.has(m)) continue;
        form.append('metric[]', m);
        n++;
      }
      for (const [k, [name, value]] of pairs) {
        if (a.pairs.has(k)) continue;
        form.append('pair[]', `${name}=${value}`);
        n++;
      }
      if (n > 0) missing.set(url, form);
    }
    const second = missing.size > 0 ? await this.ask('/api/v1/cardinality/sketches', tenant, (url) => missing.get(url)) : new Map();
    for (const [url, a] of answers) {
      mergeSketchesInto(merged, a);
      const more = second.get(url);
      if (!more) continue;
      try {
        const b = decodeSketches(more);
        // Only the asked-for keys: totals and names are already in from round one.
        mergeSketchesInto(merged, { ...emptySketches(), metrics: b.metrics, pairs: b.pairs });
      } catch {
        // as above
      }
    }
    return { sketches: merged, stores: answers.size };
  }

  async growth(tenant: string, windowMs: number, limit: number): Promise<GrowthSketches> {
    const form = new URLSearchParams({ window: `${windowMs / 1000}s`, limit: String(limit), format: 'sketch' });
    const merged: GrowthSketches = { windowMs, metrics: new Map() };
    for (const body of (await this.ask('/api/v1/cardinality/growth', tenant, () => form)).values()) {
      try {
        const g = decodeGrowth(body);
        merged.windowMs = g.windowMs;
        mergeGrowthInto(merged, g);
      } catch {
        // as above
      }
    }
    return merged;
  }

  /** Mimir's active_series over all receivers: label sets de-duplicated exactly. */
  async activeSeries(tenant: string, selector: string): Promise<Record<string, string>[]> {
    const form = new URLSearchParams({ selector });
    const seen = new Map<string, Record<string, string>>();
    for (const body of (await this.ask('/api/v1/cardinality/active_series', tenant, () => form)).values()) {
      try {
        const data = (JSON.parse(Buffer.from(body).toString('utf8')) as { data?: Record<string, string>[] }).data ?? [];
        for (const l of data) {
          const key = Object.keys(l)
            .sort()
            .map((k) => `${k}\u0000${l[k]}`)
            .join('\u0001');
          if (!seen.has(key)) seen.set(key, l);
        }
      } catch {
        // as above
      }
    }
    return [...seen.values()];
  }
}

function baseParams(params: URLSearchParams, withNames: boolean): URLSearchParams {
  const base = new URLSearchParams();
  const selector = params.get('selector');
  if (selector !== null) base.set('selector', selector);
  if (withNames) for (const n of labelNamesOf(params)) base.append('label_names[]', n);
  return base;
}

/** The querier's cardinality endpoints, answered from every store's sketches. */
export function mountClusterCardinality(router: Router, deps: { tenancy: TenancyConfig; cluster: ClusterCardinality }): void {
  const { cluster } = deps;
  const handle = (fn: (p: URLSearchParams, tenant: string) => Promise<ApiResult>) => async (req: IncomingMessage, res: ServerResponse) => {
    try {
      const params = await readParams(req);
      sendResult(res, await fn(params, tenantOf(req, deps.tenancy)));
    } catch (e) {
      sendResult(res, failure(e));
    }
  };
  router.add(
    'GET',
    '/api/v1/status/tsdb',
    handle(async (params, tenant) => {
      const limit = tsdbStatusLimitOf(params);
      const { sketches } = await cluster.sketches(tenant, new URLSearchParams(), limit);
      return success(tsdbStatusFromSketches(sketches, limit));
    }),
  );
  router.add(
    ['GET', 'POST'],
    '/api/v1/cardinality/label_names',
    handle(async (params, tenant) => {
      const limit = cardinalityLimitOf(params);
      const base = baseParams(params, false);
      if (base.has('selector')) requiredSelector(params); // validates it before fanning out
      const { sketches } = await cluster.sketches(tenant, base, 0);
      return { status: 200, body: labelNamesFromSketches(sketches, limit) };
    }),
  );
  router.add(
    ['GET', 'POST'],
    '/api/v1/cardinality/label_values',
    handle(async (params, tenant) => {
      const limit = cardinalityLimitOf(params);
      const base = baseParams(params, true);
      const selected = base.has('selector');
      if (selected) requiredSelector(params);
      // series_count_total is the tenant's whole head, as Mimir gives it, whatever the selector.
      const [{ sketches }, all] = await Promise.all([
        cluster.sketches(tenant, base, Math.max(limit, 1)),
        selected ? cluster.sketches(tenant, new URLSearchParams(), 0) : undefined,
      ]);
      const body = labelValuesFromSketches(sketches, labelNamesOf(params), limit);
      if (all) body.series_count_total = all.sketches.total.estimate();
      return { status: 200, body };
    }),
  );
  router.add(
    ['GET', 'POST'],
    '/api/v1/cardinality/active_series',
    handle(async (params, tenant) => {
      requiredSelector(params);
      return { status: 200, body: { data: await cluster.activeSeries(tenant, params.get('selector')!) } };
    }),
  );
  router.add(
    ['GET', 'POST'],
    '/api/v1/cardinality/growth',
    handle(async (params, tenant) => {
      const { windowMs, limit } = growthParams(params);
      return { status: 200, body: growthAnswer(await cluster.growth(tenant, windowMs, limit), limit) };
    }),
  );
}
