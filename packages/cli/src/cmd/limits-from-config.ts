/** Per-tenant limits from flags and --limits.file (read by the receiver, the compactor, the ruler, the query frontend and the querier). */
import type { Logger } from 'pino';
import { Limits } from '@strata/api';
import type { Config } from '../config.js';

export function limitsFrom(cfg: Config, logger: Logger): Limits {
  return new Limits({
    defaults: {
      ingestionRate: cfg.num('limits.ingestion-rate'),
      ingestionBurstSize: cfg.num('limits.ingestion-burst-size'),
      maxGlobalSeriesPerUser: cfg.num('limits.max-global-series-per-user'),
      maxGlobalSeriesPerMetric: cfg.num('limits.max-global-series-per-metric'),
      maxLabelValueCardinalityPerMetric: cfg.num('limits.max-label-value-cardinality-per-metric'),
      maxLabelNamesPerSeries: cfg.num('limits.max-label-names-per-series'),
      maxNativeHistogramBuckets: cfg.num('limits.max-native-histogram-buckets'),
      nativeHistogramsIngestionEnabled: cfg.bool('limits.native-histograms-ingestion-enabled') ? 1 : 0,
      maxLabelNameLength: cfg.num('limits.max-label-name-length'),
      maxLabelValueLength: cfg.num('limits.max-label-value-length'),
      maxGlobalExemplarsPerUser: cfg.num('limits.max-global-exemplars-per-user'),
      maxExemplarsPerSeriesPerRequest: cfg.num('limits.max-exemplars-per-series-per-request'),
      compactorBlocksRetentionPeriod: cfg.num('compactor.retention.raw'),
      rulerMaxRulesPerRuleGroup: cfg.num('ruler.max-rules-per-rule-group'),
      rulerMaxRuleGroupsPerTenant: cfg.num('ruler.max-rule-groups-per-tenant'),
      maxQueryLength: cfg.num('limits.max-query-length'),
      maxQueryLookback: cfg.num('limits.max-query-lookback'),
      maxTotalQueryLength: cfg.num('limits.max-total-query-length'),
      maxFetchedSeriesPerQuery: cfg.num('limits.max-fetched-series-per-query'),
      maxFetchedChunkBytesPerQuery: cfg.num('limits.max-fetched-chunk-bytes-per-query'),
      maxQueryParallelism: cfg.num('limits.max-query-parallelism'),
      maxEstimatedQueryCost: cfg.num('limits.max-estimated-query-cost'),
      queryShardingTotalShards: cfg.num('limits.query-sharding-total-shards'),
      maxQueriersPerTenant: cfg.num('limits.max-queriers-per-tenant'),
    },
    overridesFile: cfg.str('limits.file') || undefined,
    logger,
  });
}
