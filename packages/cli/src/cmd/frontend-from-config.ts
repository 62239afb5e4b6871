/** A QueryFrontend from the query-frontend.* options, for `strata query-frontend` and `strata all`. */
import os from 'node:os';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { Limits, TenancyConfig } from '@strata/api';
import { Generations, MemcachedCache, MemoryCache, QueryFrontend, type CacheBackend, type Downstream } from '@strata/query-frontend';
import type { Config } from '../config.js';
import { list } from './common.js';

/** Late-data generations are kept per hour of sample time: an old sample invalidates its hour's splits. */
const GENERATION_BUCKET_MS = 3_600_000;

export interface FrontendParts {
  frontend: QueryFrontend;
  generations: Generations;
  cache: CacheBackend | undefined;
}

export function frontendFrom(
  cfg: Config,
  downstream: Downstream,
  tenancy: TenancyConfig,
  registry: Registry,
  logger: Logger,
  limits?: Limits,
): FrontendParts {
  const splitInterval = cfg.num('query-frontend.split-interval');
  const ttlMs = cfg.num('query-frontend.results-cache.ttl');
  let cache: CacheBackend | undefined;
  if (cfg.bool('query-frontend.results-cache.enabled') && splitInterval > 0) {
    if (cfg.str('query-frontend.results-cache.backend') === 'memcached') {
      const addresses = list(cfg.str('query-frontend.results-cache.memcached.addresses'));
      if (addresses.length === 0)
        throw new Error('--query-frontend.results-cache.backend=memcached needs --query-frontend.results-cache.memcached.addresses');
      let lastLog = 0;
      cache = new MemcachedCache({
        addresses,
        // memcached reads expirations above 30 days as absolute times.
        ttlSeconds: Math.min(Math.ceil(ttlMs / 1000), 30 * 86400),
        timeoutMs: cfg.num('query-frontend.results-cache.memcached.timeout'),
        registry,
        onError: (e) => {
          if (Date.now() - lastLog < 10_000) return;
          lastLog = Date.now();
          logger.warn({ err: (e as Error)?.message ?? String(e) }, 'memcached unavailable; queries answered uncached');
        },
      });
    } else cache = new MemoryCache(cfg.num('query-frontend.results-cache.max-size-bytes'), ttlMs);
  }
  const generations = new Generations(GENERATION_BUCKET_MS);
  const frontend = new QueryFrontend({
    downstream,
    tenancy,
    // No split interval: one sub-query per query (and no cache, which is per split).
    splitIntervalMs: splitInterval > 0 ? splitInterval : Number.MAX_SAFE_INTEGER,
    limits: limits && ((t) => limits.forTenant(t)),
    totalShards: cfg.num('limits.query-sharding-total-shards'),
    alignQueriesWithStep: cfg.bool('query-frontend.align-queries-with-step'),
    maxQueryParallelism: Math.max(1, cfg.num('limits.max-query-parallelism')),
    downstreamConcurrency: Math.max(1, cfg.num('query-frontend.downstream-concurrency') || os.availableParallelism()),
    maxOutstandingPerTenant: cfg.num('query-frontend.max-outstanding-requests-per-tenant'),
    retries: cfg.num('query-frontend.max-retries'),
    cache,
    maxCacheFreshnessMs: cfg.num('query-frontend.max-cache-freshness'),
    generations,
    lookbackDeltaMs: cfg.num('query.lookback-delta'),
    defaultSubqueryStepMs: 60_000,
    slowQueryMs: cfg.num('query-frontend.log-queries-longer-than'),
    logger,
    registry,
  });
  return { frontend, generations, cache };
}
