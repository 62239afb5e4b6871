/**
 * Every error Strata reports to a client has a stable ID (`err-strata-<id>`), one HTTP status
 * and one Prometheus API errorType. This table is the single mapping from cause to status;
 * a table test covers every row. Status choices follow what a default Prometheus does with the
 * answer: it retries 5xx (honouring Retry-After), drops 429 unless retry_on_http_429 is set,
 * and drops other 4xx. So overload is 503, and only data that can never be accepted is 400.
 */
export type PromErrorType =
  | 'bad_data'
  | 'execution'
  | 'timeout'
  | 'canceled'
  | 'internal'
  | 'unavailable'
  | 'not_found'
  | 'not_acceptable'
  | 'too_large'
  | 'unsupported_media_type'
  | 'too_many_requests'
  | 'unauthorized'
  | 'forbidden';

interface ErrorSpec {
  status: number;
  errorType: PromErrorType;
  /** Why this status: what the client is expected to do. */
  doc: string;
}

export const ERRORS = {
  // ---- write path: data that can never be accepted (400; clients drop it) ----
  'missing-metric-name': { status: 400, errorType: 'bad_data', doc: 'series has no __name__ label' },
  'invalid-metric-name': { status: 400, errorType: 'bad_data', doc: 'metric name is not valid UTF-8 or is empty' },
  'invalid-label-name': { status: 400, errorType: 'bad_data', doc: 'label name is empty, reserved or invalid UTF-8' },
  'invalid-label-value': { status: 400, errorType: 'bad_data', doc: 'label value is not valid UTF-8' },
  'duplicate-label-names': { status: 400, errorType: 'bad_data', doc: 'a label name appears twice in one series' },
  'labels-not-sorted': { status: 400, errorType: 'bad_data', doc: 'remote-write 2.0 requires labels sorted by name' },
  'max-label-names-per-series': { status: 400, errorType: 'bad_data', doc: 'series has more labels than the limit' },
  'label-name-too-long': { status: 400, errorType: 'bad_data', doc: 'label name longer than the limit' },
  'label-value-too-long': { status: 400, errorType: 'bad_data', doc: 'label value longer than the limit' },
  'sample-too-far-in-future': { status: 400, errorType: 'bad_data', doc: 'timestamp beyond now + creation grace period' },
  'sample-too-old': { status: 400, errorType: 'bad_data', doc: 'timestamp older than the out-of-order window allows' },
  'sample-duplicate-timestamp': { status: 400, errorType: 'bad_data', doc: 'a sample with the same timestamp and another value exists' },
  'max-series-per-tenant': { status: 400, errorType: 'bad_data', doc: 'tenant reached its active series limit; other series still land' },
  'max-series-per-metric': {
    status: 400,
    errorType: 'bad_data',
    doc: 'one metric name reached its active series limit (max_global_series_per_metric); other metrics still land',
  },
  'max-label-value-cardinality-per-metric': {
    status: 400,
    errorType: 'bad_data',
    doc: "a label reached its limit of distinct values among one metric's series (max_label_value_cardinality_per_metric); series with values already held, and other metrics, still land",
  },
  'invalid-native-histogram': {
    status: 400,
    errorType: 'bad_data',
    doc: 'a native histogram is inconsistent (spans against buckets, negative counts, count against buckets, schema, zero threshold, custom bounds); other samples still land',
  },
  'max-native-histogram-buckets': {
    status: 400,
    errorType: 'bad_data',
    doc: 'a native histogram has more buckets than max_native_histogram_buckets even at the lowest resolution, or is a custom-bucket one (which cannot be reduced); finer ones are reduced first',
  },
  'unsupported-sample-type': { status: 400, errorType: 'bad_data', doc: 'native histograms or exemplars are not stored yet' },
  'invalid-request-body': { status: 400, errorType: 'bad_data', doc: 'body is not valid snappy-compressed protobuf' },
  'invalid-symbol-reference': { status: 400, errorType: 'bad_data', doc: 'remote-write 2.0 symbol reference out of range' },
  // ---- log push (/loki/api/v1/push): entries that can never be accepted ----
  'invalid-log-labels': {
    status: 400,
    errorType: 'bad_data',
    doc: 'a pushed stream\'s labels are not a valid {name="value", ...} set, or are empty',
  },
  'log-line-too-long': {
    status: 400,
    errorType: 'bad_data',
    doc: "a log line is longer than the tenant's max_line_size (256KB by default) and max_line_size_truncate is off",
  },
  'max-label-names-per-stream': {
    status: 400,
    errorType: 'bad_data',
    doc: "a log stream has more labels than max_label_names_per_stream (Loki's 15)",
  },
  'log-entry-too-far-in-future': { status: 400, errorType: 'bad_data', doc: 'a log entry is newer than now + creation_grace_period' },
  'log-entry-too-old': {
    status: 400,
    errorType: 'bad_data',
    doc: 'a log entry is older than reject_old_samples_max_age (1 week by default)',
  },
  'log-entry-out-of-order': {
    status: 400,
    errorType: 'bad_data',
    doc: "a log entry is older than its stream's newest entry minus the out-of-order window (1 h)",
  },
  'max-streams-per-tenant': {
    status: 400,
    errorType: 'bad_data',
    doc: 'the tenant reached max_global_streams_per_user active log streams; entries of existing streams still land',
  },
  'missing-tenant': { status: 401, errorType: 'unauthorized', doc: 'multi-tenancy is enabled and X-Scope-OrgID is missing' },
  unauthorized: {
    status: 401,
    errorType: 'unauthorized',
    doc: 'basic_auth_users is configured and the request has no or wrong credentials (WWW-Authenticate: Basic)',
  },
  'unauthenticated-internal-request': {
    status: 403,
    errorType: 'forbidden',
    doc: 'a write carried x-strata-forwarded or x-strata-series-selection without a valid x-strata-forward-signature (only receivers sharing the forwarding secret may send them)',
  },
  'invalid-tenant': {
    status: 400,
    errorType: 'bad_data',
    doc: "tenant ID has characters outside [a-zA-Z0-9!-_.*'()], is longer than 150, is '.' or '..', or is reserved",
  },
  'request-too-large': { status: 413, errorType: 'too_large', doc: 'body exceeds the configured maximum request size' },
  'unsupported-content-type': {
    status: 415,
    errorType: 'unsupported_media_type',
    doc: 'Content-Type or proto= is not a remote-write format we speak',
  },
  'unsupported-content-encoding': { status: 415, errorType: 'unsupported_media_type', doc: 'Content-Encoding is not snappy' },
  // ---- write path: overload, answered so that clients slow down and retry ----
  'ingestion-rate-limited': { status: 503, errorType: 'unavailable', doc: 'tenant ingestion rate limit; 429 when configured' },
  'per-stream-rate-limited': {
    status: 503,
    errorType: 'unavailable',
    doc: "a log stream is over per_stream_rate_limit (3 MB/s, burst 15 MB; Loki answers 429); the request's other streams land",
  },
  'too-many-inflight-bytes': { status: 503, errorType: 'unavailable', doc: 'receiver holds too many request bytes in flight' },
  'memory-budget-exceeded': { status: 503, errorType: 'unavailable', doc: 'receiver memory budget reached' },
  'disk-nearly-full': { status: 503, errorType: 'unavailable', doc: 'free disk below the configured threshold' },
  'receiver-max-series': {
    status: 503,
    errorType: 'unavailable',
    doc: 'the receiver holds its ceiling of series, all tenants together (--receiver.max-series); new series are refused until series go idle or the ring grows; existing series still land',
  },
  'auth-overloaded': {
    status: 503,
    errorType: 'unavailable',
    doc: 'too many new basic-auth credentials wait for bcrypt (a password-guessing flood); retry',
  },
  'not-ready': { status: 503, errorType: 'unavailable', doc: 'receiver is replaying its WAL or shutting down' },
  'ring-unavailable': {
    status: 503,
    errorType: 'unavailable',
    doc: 'the hashring has fewer endpoints than the replication factor, or no ring serves the tenant',
  },
  'write-quorum-not-reached': {
    status: 503,
    errorType: 'unavailable',
    doc: 'too few replicas acknowledged the write (timeouts or 5xx); retry',
  },
  'storage-failure': { status: 500, errorType: 'internal', doc: 'WAL write or fsync failed; the sample was not acknowledged' },
  // ---- read path ----
  'bad-query': { status: 400, errorType: 'bad_data', doc: 'invalid PromQL or query parameters' },
  'too-many-points': { status: 400, errorType: 'bad_data', doc: 'range query asks for more than 11,000 points per series' },
  'query-execution': { status: 422, errorType: 'execution', doc: 'query failed during evaluation' },
  'query-too-many-samples': { status: 422, errorType: 'execution', doc: 'query would load more samples than --query.max-samples' },
  'query-max-series': { status: 422, errorType: 'execution', doc: 'query touches more series than the per-query limit' },
  'query-max-chunks': { status: 422, errorType: 'execution', doc: 'query touches more chunks than the per-query limit' },
  'query-max-bytes': { status: 422, errorType: 'execution', doc: 'query fetches more bytes than the per-query limit' },
  'max-query-length': {
    status: 400,
    errorType: 'bad_data',
    doc: "the time the query reads (end - start plus its lookback) exceeds the tenant's max_query_length (--limits.max-query-length); Mimir answers 400",
  },
  'max-total-query-length': {
    status: 400,
    errorType: 'bad_data',
    doc: "the range query's end - start exceeds the tenant's max_total_query_length (--limits.max-total-query-length)",
  },
  'max-fetched-series-per-query': {
    status: 422,
    errorType: 'execution',
    doc: "the query fetched more series than the tenant's max_fetched_series_per_query (--limits.max-fetched-series-per-query)",
  },
  'max-fetched-chunk-bytes-per-query': {
    status: 422,
    errorType: 'execution',
    doc: "the query fetched more chunk bytes than the tenant's max_fetched_chunk_bytes_per_query (--limits.max-fetched-chunk-bytes-per-query)",
  },
  'max-estimated-query-cost': {
    status: 422,
    errorType: 'execution',
    doc: "the query's estimated cost (series × steps, from the stores' indexes) exceeds the tenant's max_estimated_query_cost; refused before any chunk is read",
  },
  'logql-max-entries': {
    status: 400,
    errorType: 'bad_data',
    doc: "a log query asks for more entries than the tenant's max_entries_limit_per_query (Loki's default 5000)",
  },
  'logql-max-series': {
    status: 400,
    errorType: 'bad_data',
    doc: "a LogQL metric query yields more series than the tenant's max_query_series (Loki's default 500); narrow it with by() or label filters",
  },
  'logs-volume-max-series': {
    status: 400,
    errorType: 'bad_data',
    doc: "a log volume request aggregates into more series than the tenant's volume_max_series (Loki's default 1000); narrow the selector or use targetLabels",
  },
  'max-concurrent-tail-requests': {
    status: 400,
    errorType: 'bad_data',
    doc: "the tenant already has max_concurrent_tail_requests live tails open on this querier (Loki's default 10; Loki answers 400 before the WebSocket upgrade); close one or raise the limit",
  },
  'logql-pipeline-error': {
    status: 400,
    errorType: 'bad_data',
    doc: 'a LogQL metric query kept entries its parsers or unwrap failed on (an __error__ label); filter them with | __error__=""',
  },
  'query-timeout': { status: 503, errorType: 'timeout', doc: 'query exceeded its timeout' },
  'query-canceled': { status: 503, errorType: 'canceled', doc: 'query was cancelled' },
  'too-many-outstanding-requests': {
    status: 429,
    errorType: 'too_many_requests',
    doc: "the tenant has --query-frontend.max-outstanding-requests-per-tenant queries waiting in the query frontend's queue; retry after Retry-After",
  },
  'store-unavailable': { status: 503, errorType: 'unavailable', doc: 'a store needed by the query failed' },
  'store-ranges-unsafe': {
    status: 500,
    errorType: 'internal',
    doc: 'logged at startup, never answered: --querier.query-ingesters-within is longer than receivers keep data, or --querier.query-store-after shorter than blocks take to reach the store gateways; queriers may then miss recent samples',
  },
  'query-worker-failed': {
    status: 500,
    errorType: 'internal',
    doc: 'the worker thread evaluating the query died (it is replaced; other queries are unaffected)',
  },
  'admin-api-disabled': {
    status: 503,
    errorType: 'unavailable',
    doc: 'the admin API (delete_series, clean_tombstones) is off; as Prometheus, 503 until it is enabled with --web.enable-admin-api',
  },
  // ---- ruler configuration API (Mimir's /config/v1/rules) ----
  'invalid-rule-group': { status: 400, errorType: 'bad_data', doc: 'a posted rule group fails the checks of promtool check rules' },
  'ruler-max-rules-per-rule-group': { status: 400, errorType: 'bad_data', doc: "rule group has more rules than the tenant's limit" },
  'ruler-max-rule-groups-per-tenant': { status: 400, errorType: 'bad_data', doc: 'tenant already has as many rule groups as its limit' },
  'rule-group-not-found': { status: 404, errorType: 'not_found', doc: 'no such rule group or namespace of the tenant' },
  'not-found': { status: 404, errorType: 'not_found', doc: 'no such endpoint' },
  internal: { status: 500, errorType: 'internal', doc: 'unexpected internal error' },
} as const satisfies Record<string, ErrorSpec>;

export type ErrorId = keyof typeof ERRORS;

export class StrataError extends Error {
  readonly id: ErrorId;
  readonly status: number;
  readonly errorType: PromErrorType;
  /** Seconds; sent as Retry-After on 429/503. */
  retryAfter?: number;

  constructor(id: ErrorId, message: string, opts: { status?: number; retryAfter?: number; cause?: unknown } = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'StrataError';
    this.id = id;
    this.status = opts.status ?? ERRORS[id].status;
    this.errorType = ERRORS[id].errorType;
    if (opts.retryAfter !== undefined) this.retryAfter = opts.retryAfter;
  }

  /** The stable, greppable identifier: err-strata-<id>. */
  get code(): string {
    return `err-strata-${this.id}`;
  }

  /** The message as clients see it, ending with the ID so operators can look it up. */
  get detail(): string {
    return `${this.message} (${this.code})`;
  }
}

export function isStrataError(e: unknown): e is StrataError {
  return e instanceof StrataError;
}

/** Any thrown value as a StrataError (unknown errors become 'internal'). */
export function toStrataError(e: unknown): StrataError {
  if (e instanceof StrataError) return e;
  const msg = e instanceof Error ? e.message : String(e);
  return new StrataError('internal', msg, { cause: e });
}
