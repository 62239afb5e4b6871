/**
 * Prometheus' TSDB admin API for series deletion: POST|PUT /api/v1/admin/tsdb/delete_series
 * (match[] required, start and end optional: all time) and /api/v1/admin/tsdb/clean_tombstones.
 * As in Prometheus, both answer 204 with no body, and 503 "admin APIs disabled" unless enabled
 * (--web.enable-admin-api): deleting is not something every client of the query API may do.
 */
import { StrataError, type Matcher } from '@strata/model';
import { MAX_TIME_MS, MIN_TIME_MS, parseTime, readParams } from './params.js';
import { badData, sendError } from './respond.js';
import type { Router } from './router.js';
import { parseMatchParams } from './selectors.js';
import { tenantOf, type TenancyConfig } from './tenant.js';

export interface AdminApiDeps {
  tenancy: TenancyConfig;
  enabled: boolean;
  /** Records the deletion; queries must no longer see the samples when it resolves. */
  deleteSeries(tenant: string, selectors: Matcher[][], start: number, end: number): Promise<void>;
  /** Prometheus rewrites blocks here; where blocks live in a bucket that is the compactor's job (see the README). */
  cleanTombstones?(tenant: string): Promise<void>;
}

export function mountAdminApi(router: Router, deps: AdminApiDeps): void {
  const disabled = () => new StrataError('admin-api-disabled', 'admin APIs disabled');
  router.add(['POST', 'PUT'], '/api/v1/admin/tsdb/delete_series', async (req, res) => {
    try {
      if (!deps.enabled) throw disabled();
      const params = await readParams(req);
      const match = params.getAll('match[]');
      if (match.length === 0) throw badData('no match[] parameter provided');
      const selectors = parseMatchParams(match);
      const start = params.has('start') ? parseTime(params.get('start')!, 'start') : MIN_TIME_MS;
      const end = params.has('end') ? parseTime(params.get('end')!, 'end') : MAX_TIME_MS;
      if (end < start) throw badData('invalid parameter "end": end timestamp must not be before start time');
      await deps.deleteSeries(tenantOf(req, deps.tenancy), selectors, start, end);
      res.writeHead(204).end();
    } catch (e) {
      sendError(res, e);
    }
  });
  router.add(['POST', 'PUT'], '/api/v1/admin/tsdb/clean_tombstones', async (req, res) => {
    try {
      if (!deps.enabled) throw disabled();
      await deps.cleanTombstones?.(tenantOf(req, deps.tenancy));
      res.writeHead(204).end();
    } catch (e) {
      sendError(res, e);
    }
  });
}
