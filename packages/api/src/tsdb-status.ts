/**
 * GET /api/v1/status/tsdb: a tenant's head cardinality (series per metric name, values per
 * label, series per label pair), as Prometheus answers it: what to look at before a label
 * explosion reaches the series limit.
 */
import { readParams } from './params.js';
import { badData, sendError, sendResult, success } from './respond.js';
import type { Router } from './router.js';
import { tenantOf, type TenancyConfig } from './tenant.js';

export const DEFAULT_TSDB_STATUS_LIMIT = 10;

const EMPTY = {
  headStats: { numSeries: 0, numLabelPairs: 0, chunkCount: 0, minTime: 0, maxTime: 0 },
  seriesCountByMetricName: [],
  labelValueCountByLabelName: [],
  memoryInBytesByLabelName: [],
  seriesCountByLabelValuePair: [],
};

export interface TsdbStatusDeps {
  tenancy: TenancyConfig;
  /** The tenant's status, or undefined when the tenant has no data here. */
  status: (tenant: string, limit: number) => unknown;
}

/** Prometheus' `limit` of /api/v1/status/tsdb: a positive integer, 10 when absent. */
export function tsdbStatusLimitOf(params: URLSearchParams): number {
  if (!params.has('limit')) return DEFAULT_TSDB_STATUS_LIMIT;
  const limit = Number(params.get('limit'));
  if (!Number.isInteger(limit) || limit < 1) throw badData('limit must be a positive number');
  return limit;
}

export function mountTsdbStatus(router: Router, deps: TsdbStatusDeps): void {
  router.add('GET', '/api/v1/status/tsdb', async (req, res) => {
    try {
      const params = await readParams(req);
      const limit = tsdbStatusLimitOf(params);
      sendResult(res, success(deps.status(tenantOf(req, deps.tenancy), limit) ?? EMPTY));
    } catch (e) {
      sendError(res, e);
    }
  });
}
