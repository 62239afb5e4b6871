/** Series deletion (Prometheus' admin API) over the bucket's tombstones, for `all` and `store-gateway`. */
import type { Logger } from 'pino';
import { mountAdminApi, type Router, type TenancyConfig } from '@strata/api';
import { newTombstone, type BucketTombstones } from '@strata/tsdb';
import type { Config } from '../config.js';

export function mountSeriesDeletion(
  router: Router,
  cfg: Config,
  deps: {
    tenancy: TenancyConfig;
    tombstones: BucketTombstones;
    logger: Logger;
    /** Called after a deletion is recorded (the query frontend's cache generations). */
    onDeleted?: (tenant: string, start: number, end: number) => void;
  },
): void {
  mountAdminApi(router, {
    tenancy: deps.tenancy,
    enabled: cfg.bool('web.enable-admin-api'),
    deleteSeries: async (tenant, selectors, start, end) => {
      for (const matchers of selectors) await deps.tombstones.add(tenant, newTombstone(matchers, start, end, Date.now()));
      deps.onDeleted?.(tenant, start, end);
      deps.logger.info({ tenant, selectors: selectors.map((m) => `{${m.join(',')}}`), start, end }, 'series deletion recorded');
    },
    // Blocks in the bucket are rewritten by the compactor's next pass; nothing to do here.
    cleanTombstones: async () => undefined,
  });
}
