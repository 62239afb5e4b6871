/** One store gateway over a bucket for tests: a single member, small caches, no limits, no sync timer in the way. */
import { Registry } from 'prom-client';
import type { Bucket } from '@strata/objstore';
import type { StoreGatewayOptions } from '../src/gateway.js';

export function gatewayTestOptions(bucket: Bucket, dataDir: string): StoreGatewayOptions {
  return {
    bucket,
    dataDir,
    registry: new Registry(),
    syncIntervalMs: 60_000,
    idleUnloadMs: 60_000,
    members: ['g1'],
    self: 'g1',
    replicationFactor: 1,
    indexCacheBytes: 1 << 20,
    chunkCacheBytes: 1 << 20,
    limits: { maxSeriesPerQuery: 0, maxChunksPerQuery: 0, maxBytesPerQuery: 0 },
    deletionDelayMs: 0,
  };
}
