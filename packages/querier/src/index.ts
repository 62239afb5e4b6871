/** The public surface of @strata/querier: what the CLI wires. */
export { mountQueryApi } from './query-api.js';
export { mountExemplarsApi, type ExemplarSource, type SeriesWithExemplars } from './exemplars-api.js';
export { RemoteExemplars } from './remote-exemplars.js';
export { FanoutQueryable } from './fanout.js';
export {
  parseStoreRole,
  STORE_ROLE_HEADER,
  storeRange,
  storeRangeRulesError,
  unionStoreTimeRanges,
  type StoreRangeRules,
  type StoreTimeRanges,
  type StoreRole,
} from './store-ranges.js';
export { RemoteStore } from './remote-store.js';
export { RemoteMetadata } from './remote-metadata.js';
export { QueryWorkerPool, type EncodedOutcome, type PromqlExecutor } from './worker-pool.js';
export { ClusterCardinality, mountClusterCardinality, type ClusterCardinalityOptions } from './cluster-cardinality.js';
export { mountLokiApi, parseLokiTime, type LokiApiDeps } from './loki-api.js';
export { LOKI_TAIL_PATH, mountLokiTail, TAIL_DEFAULTS, type LokiTailDeps } from './loki-tail.js';
export { FanoutLogQueryable, LOG_SELECT_PATH, mountLogSelectApi, RemoteLogStore, type LogSource } from './remote-logs.js';
export { LateDataRelay, mountLateDataRelay, type LateDataRelayOptions } from './late-data-relay.js';
