/** strata_query_frontend_* metrics. Tenants are not a label: their number is unbounded. */
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

export class FrontendMetrics {
  readonly queries: Counter<'endpoint' | 'status_code'>;
  readonly duration: Histogram<'endpoint'>;
  readonly queueDuration: Histogram;
  readonly queueLength: Gauge;
  readonly splits: Counter;
  readonly sharded: Counter;
  readonly shardQueries: Counter;
  readonly cacheLookups: Counter<'result'>;
  readonly cacheStoredBytes: Counter;
  readonly retries: Counter<'reason'>;
  readonly rejected: Counter;
  readonly canceled: Counter;

  constructor(registry: Registry) {
    const registers = [registry];
    this.queries = new Counter({
      name: 'strata_query_frontend_queries_total',
      help: 'Requests answered by the query frontend, by endpoint and status code.',
      labelNames: ['endpoint', 'status_code'],
      registers,
    });
    this.duration = new Histogram({
      name: 'strata_query_frontend_query_duration_seconds',
      help: 'Time the query frontend took to answer, by endpoint.',
      labelNames: ['endpoint'],
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
      registers,
    });
    this.queueDuration = new Histogram({
      name: 'strata_query_frontend_queue_duration_seconds',
      help: 'Time sub-queries waited in the per-tenant queue for a downstream slot.',
      buckets: [0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10],
      registers,
    });
    this.queueLength = new Gauge({
      name: 'strata_query_frontend_queue_length',
      help: 'Sub-queries waiting for a downstream slot.',
      registers,
    });
    this.splits = new Counter({
      name: 'strata_query_frontend_split_queries_total',
      help: 'Sub-queries range queries were split into (by --query-frontend.split-interval).',
      registers,
    });
    this.sharded = new Counter({
      name: 'strata_query_frontend_sharded_queries_total',
      help: 'Range queries executed as shards (query sharding, __query_shard__).',
      registers,
    });
    this.shardQueries = new Counter({
      name: 'strata_query_frontend_shard_queries_total',
      help: 'Queries sent downstream for shards of sharded queries (shards × legs × fetched ranges).',
      registers,
    });
    this.cacheLookups = new Counter({
      name: 'strata_query_frontend_results_cache_lookups_total',
      help: 'Results cache lookups of a split: hit (all cached), partial (some steps fetched), miss.',
      labelNames: ['result'],
      registers,
    });
    this.cacheStoredBytes = new Counter({
      name: 'strata_query_frontend_results_cache_stored_bytes_total',
      help: 'Bytes of extents written to the results cache.',
      registers,
    });
    this.retries = new Counter({
      name: 'strata_query_frontend_retries_total',
      help: 'Sub-queries retried after a 5xx or a transport error.',
      labelNames: ['reason'],
      registers,
    });
    this.rejected = new Counter({
      name: 'strata_query_frontend_rejected_queries_total',
      help: 'Queries refused with 429 because the tenant had too many queries waiting.',
      registers,
    });
    this.canceled = new Counter({
      name: 'strata_query_frontend_canceled_queries_total',
      help: 'Queries whose client went away before the answer; their sub-queries were aborted.',
      registers,
    });
  }
}
