/** The public surface of @strata/query-frontend: what the CLI wires. */
export { QueryFrontend, type QueryFrontendOptions } from './frontend.js';
export { HttpDownstream, type Downstream } from './downstream.js';
export { MemoryCache, MemcachedCache, type CacheBackend } from './cache-backend.js';
export { Generations, type LateDataHook } from './generations.js';
export { QuerierPool, tenantQueriers, type PoolMember } from './querier-pool.js';
export { LateDataPoller, type LateDataPollerOptions, type LateDataSource } from './late-data-poller.js';
