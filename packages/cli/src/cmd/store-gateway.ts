/** `strata store-gateway`: the bucket's blocks over remote-read and the series API. */
import path from 'node:path';
import { LateDataLog, mountLateDataApi } from '@strata/api';
import { mountLogSelectApi, mountQueryApi } from '@strata/querier';
import type { Config } from '../config.js';
import { openBucket } from '../storage.js';
import { component, engineFrom, waitForSignal } from './common.js';
import { gatewayFrom } from './gateway-from-config.js';
import { mountSeriesDeletion } from './admin-from-config.js';
import { gatewayRangeWarnings, STORE_RANGES_UNSAFE } from './store-ranges-check.js';

export async function runStoreGateway(cfg: Config): Promise<void> {
  const c = component(cfg, 'store-gateway');
  const bucket = openBucket(cfg.str('objstore.config-file'), path.resolve(cfg.str('storage.path')), c.registry);
  // Deletions and backfilled blocks change cached answers: query frontends in other processes
  // read them here (through the queriers).
  const lateData = new LateDataLog();
  const gateway = gatewayFrom(cfg, bucket, c.registry, c.logger, {
    logs: cfg.bool('logs.enabled'),
    onBackfill: (t, min, max) => lateData.add(t, min, max),
  });
  // Named a store gateway: queriers ask it only for data older than --querier.query-store-after.
  mountQueryApi(c.router, {
    queryable: gateway,
    engine: engineFrom(cfg),
    tenancy: c.tenancy,
    storeInfo: () => gateway.info(),
    storeRole: 'store-gateway',
  });
  for (const w of gatewayRangeWarnings(cfg)) c.logger.warn({ code: STORE_RANGES_UNSAFE }, w);
  // The bucket's log blocks, for `strata querier`'s Loki API (the receivers answer for their heads).
  if (gateway.logs) mountLogSelectApi(c.router, { logs: gateway.logs, tenancy: c.tenancy, servesBlocks: true });
  mountLateDataApi(c.router, lateData);
  mountSeriesDeletion(c.router, cfg, {
    tenancy: c.tenancy,
    tombstones: gateway.tombstones,
    logger: c.logger,
    onDeleted: (t, min, max) => lateData.add(t, min, max),
  });
  const addr = await c.server.listen(cfg.str('http.address'));
  c.logger.info({ address: `${addr.address}:${addr.port}` }, 'listening; syncing the bucket');
  await gateway.start();
  c.setReady(true);
  c.logger.info({ tenants: Object.keys(gateway.info()).length }, 'ready');
  await waitForSignal(c.logger, async () => {
    c.setReady(false);
    await c.server.close();
    await gateway.stop();
    await bucket.close();
  });
}
