/** A store gateway configured from flags (used by `store-gateway` and `all`). */
import os from 'node:os';
import path from 'node:path';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { Bucket } from '@strata/objstore';
import { StoreGateway, type StoreGatewayOptions } from '@strata/store-gateway';
import type { Config } from '../config.js';
import { list } from './common.js';

/** What the process around the gateway adds: see StoreGatewayOptions. */
export type GatewayWiring = Pick<StoreGatewayOptions, 'skipBlock' | 'tombstones' | 'logs' | 'onBackfill'>;

export function gatewayFrom(cfg: Config, bucket: Bucket, registry: Registry, logger: Logger, wiring: GatewayWiring = {}): StoreGateway {
  const self = cfg.str('store-gateway.name') || os.hostname();
  const members = list(cfg.str('store-gateway.members'));
  return new StoreGateway({
    bucket,
    dataDir: path.join(path.resolve(cfg.str('storage.path')), 'store-gateway'),
    registry,
    logger,
    syncIntervalMs: cfg.num('store-gateway.sync-interval'),
    idleUnloadMs: cfg.num('store-gateway.idle-unload'),
    members: members.length ? members : [self],
    self,
    replicationFactor: cfg.num('store-gateway.replication-factor'),
    indexCacheBytes: cfg.num('store-gateway.index-cache-bytes'),
    chunkCacheBytes: cfg.num('store-gateway.chunk-cache-bytes'),
    limits: {
      maxSeriesPerQuery: cfg.num('store-gateway.max-series-per-query'),
      maxChunksPerQuery: cfg.num('store-gateway.max-chunks-per-query'),
      maxBytesPerQuery: cfg.num('store-gateway.max-bytes-per-query'),
    },
    deletionDelayMs: cfg.num('store-gateway.deletion-delay'),
    ...wiring,
    bucketIndex: {
      enabled: cfg.bool('store-gateway.bucket-index.enabled'),
      maxStalePeriodMs: cfg.num('store-gateway.bucket-index.max-stale-period'),
    },
  });
}
