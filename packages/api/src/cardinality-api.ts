/**
 * Mimir's cardinality API over a tenant's head, so the tools written for it work unchanged:
 *   /api/v1/cardinality/label_names   distinct values per label name (optionally among the
 *                                     series matching `selector`)
 *   /api/v1/cardinality/label_values  per requested label name, series per value
 * `limit` (0..500, default 20) cuts the lists; totals are always complete.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { StrataError, type Matcher } from '@strata/model';
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
}

export interface CardinalityDeps {
  tenancy: TenancyConfig;
  /** The tenant's head, or undefined when the tenant has no data here. */
  source: (tenant: string) => CardinalitySource | undefined;
}

const NONE: CardinalitySource = { numSeries: 0, labelValueCounts: (names) => new Map((names ?? []).map((n) => [n, new Map()])) };

function single(params: URLSearchParams, name: string): string | undefined {
  const all = params.getAll(name);
  if (all.length > 1) throw new StrataError('bad-query', `multiple '${name}' params are not allowed`);
  return all[0];
}

function limitOf(params: URLSearchParams): number {
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

export function labelValuesCardinality(params: URLSearchParams, src: CardinalitySource): ApiResult {
  const names = params.getAll('label_names[]');
  if (names.length === 0) throw new StrataError('bad-query', `'label_names[]' param is required`);
  for (const n of names) if (n === '') throw new StrataError('bad-query', `invalid 'label_names' param '${n}'`);
  const limit = limitOf(params);
  const counts = src.labelValueCounts([...new Set(names)], selectorOf(params));
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
}
