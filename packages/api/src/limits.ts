/**
 * Per-tenant limits: defaults from configuration, overrides from a YAML file (Mimir's key names)
 * that is re-read when it changes, so limits move without a restart. One table for every
 * component (as Mimir's), so each process reading the file knows every key and refuses the
 * same bad edits; each component reads the fields it enforces.
 */
import fs from 'node:fs';
import YAML from 'yaml';
import type { Logger } from 'pino';
import { parseRelabelConfigs, RelabelConfigError, type RelabelRule } from '@strata/model';
import { parsePromDuration } from './params.js';
import { parseStreamAggrConfig, type StreamAggrRule } from './stream-aggregation-config.js';
import { parseLogSamplingConfig, type LogSamplingConfig } from './log-sampling-config.js';
import { parseOtlpLogsConfig, type OtlpLogsConfig } from './otlp-logs-config.js';

export interface TenantLimits {
  /** Samples per second; 0 = unlimited. */
  ingestionRate: number;
  ingestionBurstSize: number;
  /** 0 = unlimited. */
  maxGlobalSeriesPerUser: number;
  maxLabelNamesPerSeries: number;
  maxLabelNameLength: number;
  maxLabelValueLength: number;
  /** Exemplars a tenant keeps across the ring (each head its share, a circular buffer: the oldest make room); 0 = dropped without an error. Absent = Prometheus' 100000. */
  maxGlobalExemplarsPerUser?: number;
  /** Exemplars one series may carry in one request, the first ones kept and the rest dropped without an error (Mimir's limit); 0 or absent = unlimited. */
  maxExemplarsPerSeriesPerRequest?: number;
  /** Active series of one metric name, tenant-wide (each receiver enforces its share, as for the per-user limit); 0 or absent = unlimited. */
  maxGlobalSeriesPerMetric?: number;
  /** Distinct values any one label may take among one metric's series on a receiver; 0 or absent = unlimited. */
  maxLabelValueCardinalityPerMetric?: number;
  /**
   * Whether native histogram samples are accepted (1, or absent: the default, as Mimir's) or
   * refused with 400 (0). Every read path, blocks and rollups carry them (docs/format/block.md,
   * docs/format/downsampling.md).
   */
  nativeHistogramsIngestionEnabled?: number;
  /** Buckets of one native histogram sample: finer ones are reduced to lower schemas until they fit (Mimir's behaviour); 0 or absent = unlimited. */
  maxNativeHistogramBuckets?: number;
  /** How long the compactor keeps a tenant's raw blocks, in ms; 0 = forever (read by the compactor, not the receiver). */
  compactorBlocksRetentionPeriod?: number;
  /** Rules in one rule group posted to the ruler's configuration API; 0 = unlimited (read by the ruler). */
  rulerMaxRulesPerRuleGroup?: number;
  /** Rule groups a tenant may store through that API; 0 = unlimited (read by the ruler). */
  rulerMaxRuleGroupsPerTenant?: number;
  /** Streaming aggregation rules (read by the receiver; stream-aggregation-config.ts). */
  streamAggregationConfig?: StreamAggrRule[];
  // ---- read path (query frontend and querier); 0 or unset = unlimited ----
  /** Longest time a query may read: end - start plus its lookback (selector ranges, offsets, lookback delta), ms. */
  maxQueryLength?: number;
  /** How far back from now a query may read, ms: earlier steps are left out of the answer, as Mimir does. */
  maxQueryLookback?: number;
  /** Longest end - start of a range query, ms. */
  maxTotalQueryLength?: number;
  /** Series one query may fetch from the stores (each store's series counted). */
  maxFetchedSeriesPerQuery?: number;
  /** Chunk bytes one query may fetch from the stores. */
  maxFetchedChunkBytesPerQuery?: number;
  /** Sub-queries (splits and shards) of one query in flight at once. */
  maxQueryParallelism?: number;
  /** Series × steps a query is estimated to evaluate, refused before any chunk is read (Strata's own limit). */
  maxEstimatedQueryCost?: number;
  /** Shards a shardable query is cut into by the frontend; 0 or 1 = not sharded. */
  queryShardingTotalShards?: number;
  /** Queriers behind the frontend this tenant's requests may go to (shuffle sharding); 0 = all. */
  maxQueriersPerTenant?: number;
  // ---- LogQL read path (the querier's Loki API); unset = Loki's defaults ----
  /** Entries one log query may return (Loki's max_entries_limit_per_query, default 5000). */
  maxEntriesLimitPerQuery?: number;
  /** Series one LogQL metric query may return (Loki's max_query_series, default 500). */
  maxQuerySeries?: number;
  /** Series one log volume request may aggregate into (Loki's volume_max_series, default 1000). */
  volumeMaxSeries?: number;
  /** How long one LogQL query may run, ms (Loki's query_timeout, default 1m). */
  queryTimeout?: number;
  /** Live tails (/loki/api/v1/tail) the tenant may have open on one querier (Loki's max_concurrent_tail_requests, default 10). */
  maxConcurrentTailRequests?: number;
  /** Relabelling of the tenant's incoming series, before they are placed on the ring (the limits file only). */
  metricRelabelConfigs?: readonly RelabelRule[];
  // ---- log push (Loki's names; unset = Loki's default, see @strata/logs LOKI_LIMIT_DEFAULTS) ----
  /** Longest log line in bytes (Loki: 256KB). */
  maxLineSize?: number;
  /** 1: cut longer lines to maxLineSize; 0: refuse them. */
  maxLineSizeTruncate?: number;
  /** Labels of one log stream (Loki's max_label_names_per_series is 15; the metrics key keeps Mimir's meaning). */
  maxLabelNamesPerStream?: number;
  /** Active log streams of the tenant. */
  maxGlobalStreamsPerUser?: number;
  /** Entries older than now minus this are refused, ms; 0 = accepted at any age. */
  rejectOldSamplesMaxAge?: number;
  /** Log line bytes per second, in MB, and the burst. */
  ingestionRateMb?: number;
  ingestionBurstSizeMb?: number;
  /** Log line bytes per second of one stream, and the burst (Loki's per_stream_rate_limit, "3MB" or a number of bytes). */
  perStreamRateLimit?: number;
  perStreamRateLimitBurst?: number;
  /** Log sampling at ingest (Strata's own; log-sampling-config.ts); unset = every entry kept. */
  logSampling?: LogSamplingConfig;
  /** How OTLP log attributes map to stream labels, structured metadata or nothing (Loki's otlp_config); unset = Loki's default mapping. */
  otlpConfig?: OtlpLogsConfig;
  /** Log blocks whose newest entry is older than this are deleted by the compactor, ms (Loki's retention_period); 0 = kept forever. */
  retentionPeriod?: number;
}

/** YAML key -> field, as Mimir names them so existing override files carry over. */
const KEYS: Record<string, keyof TenantLimits> = {
  ingestion_rate: 'ingestionRate',
  ingestion_burst_size: 'ingestionBurstSize',
  max_global_series_per_user: 'maxGlobalSeriesPerUser',
  max_global_series_per_metric: 'maxGlobalSeriesPerMetric',
  max_label_value_cardinality_per_metric: 'maxLabelValueCardinalityPerMetric',
  max_label_names_per_series: 'maxLabelNamesPerSeries',
  max_native_histogram_buckets: 'maxNativeHistogramBuckets',
  native_histograms_ingestion_enabled: 'nativeHistogramsIngestionEnabled',
  max_label_name_length: 'maxLabelNameLength',
  max_label_value_length: 'maxLabelValueLength',
  max_global_exemplars_per_user: 'maxGlobalExemplarsPerUser',
  max_exemplars_per_series_per_request: 'maxExemplarsPerSeriesPerRequest',
  compactor_blocks_retention_period: 'compactorBlocksRetentionPeriod',
  ruler_max_rules_per_rule_group: 'rulerMaxRulesPerRuleGroup',
  ruler_max_rule_groups_per_tenant: 'rulerMaxRuleGroupsPerTenant',
  stream_aggregation_config: 'streamAggregationConfig',
  max_query_length: 'maxQueryLength',
  max_query_lookback: 'maxQueryLookback',
  max_total_query_length: 'maxTotalQueryLength',
  max_fetched_series_per_query: 'maxFetchedSeriesPerQuery',
  max_fetched_chunk_bytes_per_query: 'maxFetchedChunkBytesPerQuery',
  max_query_parallelism: 'maxQueryParallelism',
  max_estimated_query_cost: 'maxEstimatedQueryCost',
  query_sharding_total_shards: 'queryShardingTotalShards',
  max_queriers_per_tenant: 'maxQueriersPerTenant',
  metric_relabel_configs: 'metricRelabelConfigs',
  max_line_size: 'maxLineSize',
  max_line_size_truncate: 'maxLineSizeTruncate',
  max_label_names_per_stream: 'maxLabelNamesPerStream',
  max_global_streams_per_user: 'maxGlobalStreamsPerUser',
  reject_old_samples_max_age: 'rejectOldSamplesMaxAge',
  ingestion_rate_mb: 'ingestionRateMb',
  ingestion_burst_size_mb: 'ingestionBurstSizeMb',
  log_sampling: 'logSampling',
  otlp_config: 'otlpConfig',
  per_stream_rate_limit: 'perStreamRateLimit',
  per_stream_rate_limit_burst: 'perStreamRateLimitBurst',
  max_entries_limit_per_query: 'maxEntriesLimitPerQuery',
  max_query_series: 'maxQuerySeries',
  volume_max_series: 'volumeMaxSeries',
  query_timeout: 'queryTimeout',
  max_concurrent_tail_requests: 'maxConcurrentTailRequests',
  retention_period: 'retentionPeriod',
};

/** The log push limits (read by @strata/logs, not the metrics receiver). */
export type LogLimit =
  | 'maxLineSize'
  | 'maxLineSizeTruncate'
  | 'maxLabelNamesPerStream'
  | 'maxGlobalStreamsPerUser'
  | 'rejectOldSamplesMaxAge'
  | 'ingestionRateMb'
  | 'ingestionBurstSizeMb'
  | 'logSampling'
  | 'otlpConfig'
  | 'perStreamRateLimit'
  | 'perStreamRateLimitBurst';

/** Limits that are structures, not numbers: each with its parser (which throws naming the position). */
const STRUCTURED: Partial<Record<keyof TenantLimits, (v: unknown, where: string) => unknown>> = {
  streamAggregationConfig: parseStreamAggrConfig,
  logSampling: parseLogSamplingConfig,
  otlpConfig: parseOtlpLogsConfig,
};

/** Limits given as durations (Mimir's "30d", "1y"; a bare number is seconds), kept in milliseconds. */
const DURATION_FIELDS = new Set<keyof TenantLimits>([
  'compactorBlocksRetentionPeriod',
  'maxQueryLength',
  'maxQueryLookback',
  'maxTotalQueryLength',
  'rejectOldSamplesMaxAge',
  'queryTimeout',
  'retentionPeriod',
]);

/** Limits given as byte sizes (Loki's "3MB", "1.5MiB"; a bare number is bytes). */
const BYTE_FIELDS = new Set<keyof TenantLimits>(['perStreamRateLimit', 'perStreamRateLimitBurst']);

/**
 * The flag that sets each receiver limit's default, named in rejection messages. The raw-tier
 * retention is the compactor's (its default is --compactor.retention.raw, beside the other tiers).
 */
export type QueryLimit =
  | 'maxQueryLength'
  | 'maxQueryLookback'
  | 'maxTotalQueryLength'
  | 'maxFetchedSeriesPerQuery'
  | 'maxFetchedChunkBytesPerQuery'
  | 'maxQueryParallelism'
  | 'maxEstimatedQueryCost'
  | 'queryShardingTotalShards'
  | 'maxQueriersPerTenant';
export type ReceiverLimit = Exclude<
  keyof TenantLimits,
  | 'compactorBlocksRetentionPeriod'
  | 'rulerMaxRulesPerRuleGroup'
  | 'rulerMaxRuleGroupsPerTenant'
  | 'streamAggregationConfig'
  | 'metricRelabelConfigs'
  | 'retentionPeriod'
  | LogQueryLimit
  | QueryLimit
  | LogLimit
>;
/** Limits of the LogQL read path: set in the limits file only; their defaults are Loki's (see TenantLimits). */
export type LogQueryLimit = 'maxEntriesLimitPerQuery' | 'maxQuerySeries' | 'volumeMaxSeries' | 'queryTimeout' | 'maxConcurrentTailRequests';
export const LIMIT_FLAGS: Record<ReceiverLimit, string> = {
  ingestionRate: 'limits.ingestion-rate',
  ingestionBurstSize: 'limits.ingestion-burst-size',
  maxGlobalSeriesPerUser: 'limits.max-global-series-per-user',
  maxGlobalSeriesPerMetric: 'limits.max-global-series-per-metric',
  maxLabelValueCardinalityPerMetric: 'limits.max-label-value-cardinality-per-metric',
  maxLabelNamesPerSeries: 'limits.max-label-names-per-series',
  maxNativeHistogramBuckets: 'limits.max-native-histogram-buckets',
  nativeHistogramsIngestionEnabled: 'limits.native-histograms-ingestion-enabled',
  maxLabelNameLength: 'limits.max-label-name-length',
  maxLabelValueLength: 'limits.max-label-value-length',
  maxGlobalExemplarsPerUser: 'limits.max-global-exemplars-per-user',
  maxExemplarsPerSeriesPerRequest: 'limits.max-exemplars-per-series-per-request',
};

/** The flag that sets each query limit's default, named in rejection messages. */
export const QUERY_LIMIT_FLAGS: Record<QueryLimit, string> = {
  maxQueryLength: 'limits.max-query-length',
  maxQueryLookback: 'limits.max-query-lookback',
  maxTotalQueryLength: 'limits.max-total-query-length',
  maxFetchedSeriesPerQuery: 'limits.max-fetched-series-per-query',
  maxFetchedChunkBytesPerQuery: 'limits.max-fetched-chunk-bytes-per-query',
  maxQueryParallelism: 'limits.max-query-parallelism',
  maxEstimatedQueryCost: 'limits.max-estimated-query-cost',
  queryShardingTotalShards: 'limits.query-sharding-total-shards',
  maxQueriersPerTenant: 'limits.max-queriers-per-tenant',
};

/** How to raise a limit, for rejection messages. */
export function limitHint(limit: QueryLimit | ReceiverLimit): string {
  const flag = (QUERY_LIMIT_FLAGS as Record<string, string>)[limit] ?? (LIMIT_FLAGS as Record<string, string>)[limit];
  return `to adjust the per-tenant limit, configure --${flag} or the ${LIMIT_YAML_KEYS[limit]} override, or contact your service administrator`;
}

export const LIMIT_YAML_KEYS: Record<keyof TenantLimits, string> = Object.fromEntries(
  Object.entries(KEYS).map(([k, v]) => [v, k]),
) as Record<keyof TenantLimits, string>;

export interface LimitsOptions {
  defaults: TenantLimits;
  overridesFile?: string;
  /** How often the overrides file is checked for changes. */
  reloadIntervalMs?: number;
  logger?: Logger;
  /** Called after a successful reload (e.g. to apply series limits to open heads). */
  onReload?: () => void;
}

/**
 * A limits file that cannot be used as a whole, with the position (1-based line and column) of
 * the offending key or value when the file has one.
 */
export class LimitsFileError extends Error {
  constructor(
    message: string,
    readonly line?: number,
    readonly column?: number,
  ) {
    super(line !== undefined ? `${line}:${column}: ${message}` : message);
  }
}

/**
 * Parses a limits file. Every tenant's every key is checked before anything is returned, so a
 * file with one bad rule is refused as a whole and never half-applied.
 */
export function parseOverrides(text: string, defaults: TenantLimits): Map<string, TenantLimits> {
  const lines = new YAML.LineCounter();
  const doc = YAML.parseDocument(text, { lineCounter: lines });
  const at = (path: readonly unknown[], key = false): { line?: number; column?: number } => {
    const parent = path.length > 0 ? doc.getIn(path.slice(0, -1), true) : undefined;
    let node: unknown = doc.getIn(path, true);
    if (key && YAML.isMap(parent)) node = parent.items.find((p) => YAML.isScalar(p.key) && p.key.value === path[path.length - 1])?.key;
    // A key that is missing (a rule without its modulus): the nearest enclosing node that exists.
    for (let n = path.length - 1; node === undefined && n >= 0; n--) node = doc.getIn(path.slice(0, n), true);
    const range = (node as { range?: [number, number, number] } | undefined)?.range;
    if (!range) return {};
    const pos = lines.linePos(range[0]);
    return { line: pos.line, column: pos.col };
  };
  const fail = (msg: string, path: readonly unknown[], key = false): never => {
    const p = at(path, key);
    throw new LimitsFileError(`limits file: ${msg}`, p.line, p.column);
  };
  if (doc.errors.length > 0) {
    const e = doc.errors[0];
    throw new LimitsFileError(`limits file: ${e.message.split('\n')[0]}`, e.linePos?.[0].line, e.linePos?.[0].col);
  }
  const root = (doc.toJS() ?? {}) as { overrides?: Record<string, Record<string, unknown>> };
  if (typeof root !== 'object' || Array.isArray(root)) fail('expected a mapping with key "overrides"', []);
  const out = new Map<string, TenantLimits>();
  for (const [tenant, o] of Object.entries(root.overrides ?? {})) {
    const l: TenantLimits = { ...defaults };
    for (const [k, v] of Object.entries(o ?? {})) {
      const field = KEYS[k];
      const path = ['overrides', tenant, k];
      if (!field) fail(`unknown limit ${JSON.stringify(k)} for tenant ${tenant} (known: ${Object.keys(KEYS).join(', ')})`, path, true);
      if (field === 'metricRelabelConfigs') {
        try {
          l.metricRelabelConfigs = parseRelabelConfigs(v);
        } catch (e) {
          if (!(e instanceof RelabelConfigError)) throw e;
          const keyError = /^field .* not found/.test(e.message);
          fail(`${tenant}.${k}${e.path.length > 0 ? `[${e.path[0]}]` : ''}: ${e.message}`, [...path, ...e.path], keyError);
        }
        continue;
      }
      const structured = STRUCTURED[field];
      if (structured) {
        try {
          (l as unknown as Record<string, unknown>)[field] = structured(v, `${tenant}.${k}`);
        } catch (e) {
          fail((e as Error).message, path);
        }
        continue;
      }
      const n = DURATION_FIELDS.has(field) ? durationMs(v) : BYTE_FIELDS.has(field) ? byteSize(v) : Number(v);
      const kind = DURATION_FIELDS.has(field) ? 'duration' : BYTE_FIELDS.has(field) ? 'byte size' : 'number';
      if (typeof v === 'object' || !Number.isFinite(n) || n < 0)
        fail(`${tenant}.${k} must be a non-negative ${kind}, got ${JSON.stringify(v)}`, path);
      (l as unknown as Record<string, number>)[field] = n;
    }
    out.set(tenant, l);
  }
  return out;
}

const BYTE_UNITS: Record<string, number> = { b: 1, kb: 1e3, mb: 1e6, gb: 1e9, kib: 1024, mib: 1024 ** 2, gib: 1024 ** 3 };

/** A byte size as Loki's limits take it (humanize: MB = 10^6, MiB = 2^20), in bytes; NaN when unreadable. */
function byteSize(v: unknown): number {
  if (typeof v === 'number') return v;
  const m = /^\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*$/.exec(String(v));
  const unit = m ? BYTE_UNITS[(m[2] || 'b').toLowerCase()] : undefined;
  return m && unit ? Math.floor(Number(m[1]) * unit) : NaN;
}

function durationMs(v: unknown): number {
  if (typeof v === 'number') return v * 1000;
  return parsePromDuration(String(v)) ?? NaN;
}

/** What /api/v1/status/limits shows of the limits file: when it was last applied, and why the last edit was not. */
export interface LimitsFileStatus {
  file?: string;
  /** ISO time of the last successful load. */
  loadedAt?: string;
  tenants: number;
  /** The refused edit, while the file on disk is not the one applied. */
  lastError?: { message: string; line?: number; column?: number; at: string };
}

export class Limits {
  private overrides = new Map<string, TenantLimits>();
  private mtimeMs = -1;
  private timer: NodeJS.Timeout | undefined;
  private state: LimitsFileStatus;

  constructor(private readonly opts: LimitsOptions) {
    this.state = { file: opts.overridesFile, tenants: 0 };
    if (opts.overridesFile) {
      this.reload(true);
      this.timer = setInterval(() => this.reload(false), opts.reloadIntervalMs ?? 5000);
      this.timer.unref();
    }
  }

  forTenant(tenant: string): TenantLimits {
    return this.overrides.get(tenant) ?? this.opts.defaults;
  }

  /** The defaults every tenant without overrides gets. */
  get defaults(): TenantLimits {
    return this.opts.defaults;
  }

  /** Tenants named in the limits file. */
  tenantsWithOverrides(): string[] {
    return [...this.overrides.keys()];
  }

  status(): LimitsFileStatus {
    return { ...this.state, tenants: this.overrides.size };
  }

  /** Re-reads the overrides file if it changed. A bad edit keeps the previous limits. */
  reload(force = false): boolean {
    const file = this.opts.overridesFile;
    if (!file) return false;
    try {
      const st = fs.statSync(file);
      if (!force && st.mtimeMs === this.mtimeMs) return false;
      // Remembered before parsing: a refused edit is reported once, not at every check, until the file changes again.
      this.mtimeMs = st.mtimeMs;
      this.overrides = parseOverrides(fs.readFileSync(file, 'utf8'), this.opts.defaults);
      this.state = { file, loadedAt: new Date().toISOString(), tenants: this.overrides.size };
      this.opts.logger?.info({ file, tenants: this.overrides.size }, 'limits reloaded');
      this.opts.onReload?.();
      return true;
    } catch (e) {
      if (force) throw e;
      const err = e as Error;
      const pos = e instanceof LimitsFileError ? { line: e.line, column: e.column } : {};
      this.state = { ...this.state, lastError: { message: err.message, ...pos, at: new Date().toISOString() } };
      this.opts.logger?.error({ file, err: err.message, ...pos }, 'limits file refused as a whole; keeping the previous limits');
      return false;
    }
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
  }
}
