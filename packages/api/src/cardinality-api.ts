/**
 * Mimir's cardinality API over a tenant's head, so the tools written for it work unchanged:
 *   /api/v1/cardinality/label_names   distinct values per label name (optionally among the
 *                                     series matching `selector`)
 *   /api/v1/cardinality/label_values  per requested label name, series per value
 *   /api/v1/cardinality/active_series the label sets of the series matching `selector`
 * `limit` (0..500, default 20) cuts the lists; totals are always complete.
 * Strata's own /api/v1/cardinality/sketches gives the same figures as mergeable sketches, for a
 * querier adding receivers up (cardinality-sketches.ts).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { StrataError, type Labels, type Matcher } from '@strata/model';
import { encodeGrowth, growthAnswer, growthParams, type GrowthSketches } from './cardinality-growth.js';
import { buildSketches, emptySketches, encodeSketches, type SketchRequest } from './cardinality-sketches.js';
import { readParams } from './params.js';
import { sendError, sendResult, type ApiResult } from './respond.js';
import type { Router } from './router.js';
import { parseSelector } from './selectors.js';
import { tenantOf, type TenancyConfig } from './tenant.js';

export const CARDINALITY_DEFAULT_LIMIT = 20;
export const CARDINALITY_MAX_LIMIT = 500;

export interface CardinalitySource {
  numSeries: number;
  labelValueCounts(names: readonly string[] | undefined, matchers: readonly Matcher[] | undefined): Map<string, Map<string, number>>;
  /** The head's series (all when no matchers): active_series and sketches need them. */
  seriesLabels?(matchers: readonly Matcher[] | undefined): Promise<readonly Labels[]>;
  headStats?(): { chunkCount: number; minTime: number; maxTime: number };
}

/** Largest number of candidates per dimension a sketch request may ask for. */
export const SKETCH_MAX_TOP = 10_000;

export interface CardinalityDeps {
  tenancy: TenancyConfig;
  /** The tenant's head, or undefined when the tenant has no data here. */
  source: (tenant: string) => CardinalitySource | undefined;
  /** Series growth of a tenant within a window: its `top` metrics by series created (receivers only). */
  growth?: (tenant: string, windowMs: number, top: number) => GrowthSketches;
}

const NONE: CardinalitySource = { numSeries: 0, labelValueCounts: (names) => new Map((names ?? []).map((n) => [n, new Map()])) };

function single(params: URLSearchParams, name: string): string | undefined {
  const all = params.getAll(name);
  if (all.length > 1) throw new StrataError('bad-query', `multiple '${name}' params are not allowed`);
  return all[0];
}

/** Mimir's `limit` (0..500, default 20). */
export function limitOf(params: URLSearchParams): number {
  const s = single(params, 'limit');
  if (s === undefined) return CARDINALITY_DEFAULT_LIMIT;
  const n = Number(s);
  if (!Number.isInteger(n) || s.trim() === '') throw new StrataError('bad-query', `invalid 'limit' param '${s}'`);
  if (n < 0) throw new StrataError('bad-query', `'limit' param cannot be less than '0'`);
  if (n > CARDINALITY_MAX_LIMIT) throw new StrataError('bad-query', `'limit' param cannot be greater than '${CARDINALITY_MAX_LIMIT}'`);
  return n;
}

function selectorOf(params: URLSearchParams): Matcher[] | undefined {
  const s = single(params, 'selector');
  return s === undefined ? undefined : parseSelector(s, 'selector');
}

/** Larger count first, then name, as Mimir orders them. */
function byCountThenName<T>(count: (x: T) => number, name: (x: T) => string): (a: T, b: T) => number {
  return (a, b) => count(b) - count(a) || (name(a) < name(b) ? -1 : name(a) > name(b) ? 1 : 0);
}

export function labelNamesCardinality(params: URLSearchParams, src: CardinalitySource): ApiResult {
  const limit = limitOf(params);
  const counts = src.labelValueCounts(undefined, selectorOf(params));
  const items = [...counts].map(([name, values]) => ({ label_name: name, label_values_count: values.size }));
  items.sort(
    byCountThenName(
      (x) => x.label_values_count,
      (x) => x.label_name,
    ),
  );
  return {
    status: 200,
    body: {
      label_values_count_total: items.reduce((n, x) => n + x.label_values_count, 0),
      label_names_count: items.length,
      cardinality: items.slice(0, limit),
    },
  };
}

/** Mimir's required `label_names[]`, de-duplicated. */
export function labelNamesOf(params: URLSearchParams): string[] {
  const names = params.getAll('label_names[]');
  if (names.length === 0) throw new StrataError('bad-query', `'label_names[]' param is required`);
  for (const n of names) if (n === '') throw new StrataError('bad-query', `invalid 'label_names' param '${n}'`);
  return [...new Set(names)];
}

export function labelValuesCardinality(params: URLSearchParams, src: CardinalitySource): ApiResult {
  const names = labelNamesOf(params);
  const limit = limitOf(params);
  const counts = src.labelValueCounts(names, selectorOf(params));
  const labels = [...counts].map(([name, values]) => {
    const cardinality = [...values].map(([value, n]) => ({ label_value: value, series_count: n }));
    cardinality.sort(
      byCountThenName(
        (x) => x.series_count,
        (x) => x.label_value,
      ),
    );
    return {
      label_name: name,
      label_values_count: values.size,
      series_count: cardinality.reduce((n, x) => n + x.series_count, 0),
      cardinality: cardinality.slice(0, limit),
    };
  });
  labels.sort(
    byCountThenName(
      (x) => x.series_count,
      (x) => x.label_name,
    ),
  );
  return { status: 200, body: { series_count_total: src.numSeries, labels } };
}

function labelsObject(l: Labels): Record<string, string> {
  const o: Record<string, string> = {};
  for (let i = 0; i < l.pairs.length; i += 2) o[l.pairs[i]] = l.pairs[i + 1];
  return o;
}

/** Mimir's active_series `selector`, required. */
export function requiredSelector(params: URLSearchParams): Matcher[] {
  const m = selectorOf(params);
  if (!m) throw new StrataError('bad-query', `'selector' param is required`);
  return m;
}

/** Mimir's active_series: the label sets of the matching series (`selector` is required). */
export async function activeSeries(params: URLSearchParams, src: CardinalitySource): Promise<ApiResult> {
  const matchers = requiredSelector(params);
  const series = src.seriesLabels ? await src.seriesLabels(matchers) : [];
  return { status: 200, body: { data: series.map(labelsObject) } };
}

/** The sketch request of a querier: selector, top, label_names[], metric[], pair[] (name=value), keys_only. */
export function sketchRequestOf(params: URLSearchParams): SketchRequest {
  const t = single(params, 'top') ?? '0';
  const top = Number(t);
  if (!Number.isInteger(top) || top < 0 || top > SKETCH_MAX_TOP) throw new StrataError('bad-query', `invalid 'top' param '${t}'`);
  const names = params.getAll('label_names[]');
  const pairs = params.getAll('pair[]').map((p): [string, string] => {
    const at = p.indexOf('=');
    if (at <= 0) throw new StrataError('bad-query', `invalid 'pair' param '${p}'`);
    return [p.slice(0, at), p.slice(at + 1)];
  });
  return {
    matchers: selectorOf(params),
    top,
    pairNames: names.length > 0 ? names : undefined,
    metrics: params.getAll('metric[]'),
    pairs,
    keysOnly: single(params, 'keys_only') === 'true',
  };
}

export function mountCardinalityApi(router: Router, deps: CardinalityDeps): void {
  const handle = (fn: (p: URLSearchParams, s: CardinalitySource) => ApiResult) => async (req: IncomingMessage, res: ServerResponse) => {
    try {
      const params = await readParams(req);
      sendResult(res, fn(params, deps.source(tenantOf(req, deps.tenancy)) ?? NONE));
    } catch (e) {
      sendError(res, e);
    }
  };
  router.add(['GET', 'POST'], '/api/v1/cardinality/label_names', handle(labelNamesCardinality));
  router.add(['GET', 'POST'], '/api/v1/cardinality/label_values', handle(labelValuesCardinality));
  router.add(['GET', 'POST'], '/api/v1/cardinality/active_series', async (req, res) => {
    try {
      const params = await readParams(req);
      sendResult(res, await activeSeries(params, deps.source(tenantOf(req, deps.tenancy)) ?? NONE));
    } catch (e) {
      sendError(res, e);
    }
  });
  // "What grew": JSON, or with format=sketch the mergeable form a querier adds up.
  const growth = deps.growth;
  if (growth)
    router.add(['GET', 'POST'], '/api/v1/cardinality/growth', async (req, res) => {
      try {
        const params = await readParams(req);
        const { windowMs, limit } = growthParams(params);
        const tenant = tenantOf(req, deps.tenancy);
        if (params.get('format') === 'sketch') {
          const body = encodeGrowth(growth(tenant, windowMs, Math.min(SKETCH_MAX_TOP, limit * 4 + 20)));
          res.writeHead(200, { 'Content-Type': 'application/octet-stream', 'Content-Length': body.length }).end(body);
        } else sendResult(res, { status: 200, body: growthAnswer(growth(tenant, windowMs, limit), limit) });
      } catch (e) {
        sendError(res, e);
      }
    });
  router.add(['GET', 'POST'], '/api/v1/cardinality/sketches', async (req, res) => {
    try {
      const params = await readParams(req);
      const request = sketchRequestOf(params);
      const src = deps.source(tenantOf(req, deps.tenancy));
      const sketches =
        src?.seriesLabels && src.headStats
          ? await buildSketches(
              {
                labelValueCounts: src.labelValueCounts.bind(src),
                seriesLabels: src.seriesLabels.bind(src),
                headStats: src.headStats.bind(src),
              },
              request,
            )
          : emptySketches();
      const body = encodeSketches(sketches);
      res.writeHead(200, { 'Content-Type': 'application/octet-stream', 'Content-Length': body.length }).end(body);
    } catch (e) {
      sendError(res, e);
    }
  });
}
