/**
 * Every configuration option, defined once. A flag `--a.b-c` is the YAML key `a: { b_c: ... }` in
 * the file given by --config.file; flags override the file, the file overrides defaults.
 * The configuration reference (`strata --help`, docs/configuration.md) is generated from this table.
 *
 * Vocabulary: the prefix names what an option configures. A component's own settings carry the
 * component's name (`receiver.`, `store-gateway.`, `querier.`); a part that several components share
 * or that stands on its own carries the part's name: the process (`config.`, `http.`, `web.`, `log.`),
 * storage (`storage.`, `objstore.`, `wal.`, `tsdb.`), tenancy (`auth.`, and `limits.` for per-tenant
 * limits, named as the keys of the overrides file so one limit has one name everywhere) and
 * querying (`query.`, Prometheus' names). Names users paste from Thanos, Mimir or earlier Strata
 * releases are `aliases`: accepted as flags and as YAML keys alike, never in the same source as the
 * option's own name (that is refused as ambiguous).
 */
export type OptionType = 'string' | 'int' | 'float' | 'bool' | 'duration' | 'bytes' | 'enum';

export interface OptionSpec {
  flag: string;
  type: OptionType;
  default: string | number | boolean;
  help: string;
  values?: readonly string[];
  /** Other names accepted for this option (as flags and YAML keys), e.g. Thanos' or Mimir's. */
  aliases?: readonly string[];
  /** A list: the flag may be given several times (its values join with commas, as a YAML list does). */
  repeatable?: boolean;
}

const MiB = 1024 * 1024;

const TABLE = [
  { flag: 'config.file', type: 'string', default: '', help: 'YAML configuration file; flags override its keys.' },
  { flag: 'http.address', type: 'string', default: '0.0.0.0:9009', help: 'host:port the HTTP API listens on.' },
  {
    flag: 'web.config.file',
    type: 'string',
    default: '',
    help: "Prometheus' web configuration file (exporter-toolkit format): tls_server_config, basic_auth_users (bcrypt), http_server_config.headers for this component's HTTP listener; the file and the certificates it names are reloaded when they change.",
  },
  {
    flag: 'storage.path',
    type: 'string',
    default: './data',
    help: 'Local directory for the WAL, head snapshots and blocks awaiting upload.',
  },
  {
    flag: 'objstore.config-file',
    type: 'string',
    default: '',
    help: 'Object storage configuration in the Thanos objstore YAML format (type: FILESYSTEM|S3). Default: a local folder under --storage.path/bucket.',
  },
  { flag: 'log.level', type: 'enum', default: 'info', values: ['debug', 'info', 'warn', 'error'], help: 'Log level.' },
  {
    flag: 'auth.multitenancy-enabled',
    type: 'bool',
    default: false,
    help: 'Read the tenant from the tenant header; when off every request belongs to tenant "anonymous".',
  },
  {
    flag: 'auth.tenant-header',
    aliases: ['receive.tenant-header'],
    type: 'string',
    default: 'X-Scope-OrgID',
    help: 'HTTP header carrying the tenant ID.',
  },
  {
    flag: 'wal.fsync',
    type: 'enum',
    default: 'batch',
    values: ['batch', 'none'],
    help: 'batch: a write is acknowledged only after an fsync covering it (concurrent writes share one). none: no fsync (faster; a machine crash can lose acknowledged samples).',
  },
  {
    flag: 'tsdb.block-duration',
    type: 'duration',
    default: '2h',
    help: 'Range of the blocks cut from the head (aligned to multiples of it); the head is compacted when it spans 1.5 ranges.',
  },
  { flag: 'tsdb.compaction-interval', type: 'duration', default: '1m', help: 'How often heads are checked for a complete block range.' },
  {
    flag: 'tsdb.retention.local',
    type: 'duration',
    default: '15d',
    help: 'How long shipped blocks stay on local disk (they keep being queried until removed).',
  },
  {
    flag: 'tsdb.block-cache-bytes',
    type: 'bytes',
    default: 256 * MiB,
    help: 'Memory for the chunk and index files of local blocks, kept whole (files up to a quarter of it) and shared by all tenants, so repeated queries read no disk; it counts towards --receiver.memory-limit-bytes (0 reads every range from disk).',
  },
  {
    flag: 'receiver.max-request-bytes',
    aliases: ['distributor.max-recv-msg-size'],
    type: 'bytes',
    default: 32 * MiB,
    help: 'Largest accepted remote-write body (compressed); larger requests get 413.',
  },
  {
    flag: 'receiver.max-series',
    aliases: ['ingester.instance-limits.max-series'],
    type: 'int',
    default: 0,
    help: 'Series this receiver may hold, all tenants together (0 = no ceiling): protects the process whatever the per-tenant limits say. New series beyond it get 503 with Retry-After (overload: senders retry); existing series still land.',
  },
  {
    flag: 'receiver.max-inflight-bytes',
    type: 'bytes',
    default: 512 * MiB,
    help: 'Request bytes being processed at once; beyond it writes get 503 with Retry-After.',
  },
  {
    flag: 'receiver.memory-limit-bytes',
    type: 'bytes',
    default: 0,
    help: "Resident memory above which writes get 503 with Retry-After instead of risking an OOM kill; writes are also refused above 90% of the V8 heap limit (0 = 80% of the cgroup memory limit, or of the machine's memory).",
  },
  {
    flag: 'receiver.min-free-disk-bytes',
    type: 'bytes',
    default: 64 * MiB,
    help: 'Writes get 503 with Retry-After when free space under --storage.path drops below this.',
  },
  {
    flag: 'receiver.creation-grace-period',
    aliases: ['validation.create-grace-period'],
    type: 'duration',
    default: '10m',
    help: 'Samples further than this in the future are rejected.',
  },
  {
    flag: 'receiver.out-of-order-window',
    aliases: ['ingester.out-of-order-time-window', 'tsdb.out-of-order.time-window'],
    type: 'duration',
    default: '30m',
    help: 'How far behind the newest sample of a tenant a sample may arrive and still be accepted (0 disables out-of-order ingestion).',
  },
  {
    flag: 'receiver.rate-limit-status',
    type: 'int',
    default: 503,
    help: 'Status answered when a tenant exceeds its ingestion rate: 503 (retried by every Prometheus) or 429 (retried only with retry_on_http_429).',
  },
  {
    flag: 'receiver.flush-on-shutdown',
    type: 'bool',
    default: false,
    help: 'On SIGTERM, write the whole head as blocks and ship them before exiting (scale-down).',
  },
  {
    flag: 'receiver.hashrings-file',
    aliases: ['receive.hashrings-file'],
    type: 'string',
    default: '',
    help: 'Thanos hashrings.json: the receivers sharing writes (reloaded when it changes). Empty: this receiver stores everything it gets.',
  },
  {
    flag: 'receiver.replication-factor',
    aliases: ['receive.replication-factor'],
    type: 'int',
    default: 1,
    help: 'How many receivers store each series; a write is acknowledged at floor(RF/2)+1.',
  },
  {
    flag: 'receiver.local-endpoint',
    aliases: ['receive.local-endpoint'],
    type: 'string',
    default: '',
    help: 'This receiver as the hashrings file names it (default: --http.address).',
  },
  {
    flag: 'receiver.forward-client-config-file',
    aliases: ['receive.forward-client-config-file'],
    type: 'string',
    default: '',
    help: "How to reach the other receivers: YAML with Prometheus' tls_config, basic_auth and authorization blocks (as in a remote_write section). With a tls_config, host:port endpoints are reached over HTTPS.",
  },
  {
    flag: 'receiver.forward-secret-file',
    aliases: ['receive.forward-secret-file'],
    type: 'string',
    default: '',
    help: 'File with the secret (one per line: the first signs, any verifies) that every receiver of the ring shares: forwarded writes are signed with HMAC-SHA256 under it, and writes carrying the internal forwarding headers without a valid signature get 403. Required with --receiver.hashrings-file.',
  },
  {
    flag: 'receiver.forward-secret',
    aliases: ['receive.forward-secret'],
    type: 'string',
    default: '',
    help: 'The forwarding secret itself, for a configuration file (a flag shows in the process list; prefer --receiver.forward-secret-file).',
  },
  {
    flag: 'receiver.forward-timeout',
    aliases: ['receive-forward-timeout', 'receive.forward-timeout'],
    type: 'duration',
    default: '5s',
    help: 'How long a receiver waits for a replica to acknowledge a forwarded share.',
  },
  {
    flag: 'receiver.forward-coalesce-delay',
    aliases: ['receive.forward-coalesce-delay'],
    type: 'duration',
    default: '5ms',
    help: "Shares bound for the same replica within this window travel as one request (0 sends each share alone); the client is still acknowledged only after the quorum's fsyncs.",
  },
  {
    flag: 'receiver.replica-label',
    aliases: ['receive.replica-label'],
    type: 'string',
    default: 'receive_replica',
    help: "External label naming this receiver in its blocks' meta.json, for de-duplication.",
  },
  {
    flag: 'receiver.replica-name',
    aliases: ['receive.replica-name'],
    type: 'string',
    default: '',
    help: 'Value of the replica label (default: the host name).',
  },
  {
    flag: 'receiver.tenant-label',
    aliases: ['receive.tenant-label-name', 'receive.tenant-label'],
    type: 'string',
    default: 'tenant_id',
    help: "External label carrying the tenant in blocks' meta.json (Thanos' name).",
  },
  {
    flag: 'limits.file',
    aliases: ['runtime-config.file'],
    type: 'string',
    default: '',
    help: 'Per-tenant limit overrides (YAML, key "overrides"), reloaded when the file changes.',
  },
  {
    flag: 'limits.ingestion-rate',
    aliases: ['distributor.ingestion-rate-limit'],
    type: 'float',
    default: 1_000_000,
    help: "Default per-tenant ingestion rate in samples per second (0 = unlimited); global: charged once where the client request enters the ring, divided among the receivers taking the tenant's client traffic (forwarded replica writes are not charged).",
  },
  {
    flag: 'limits.ingestion-burst-size',
    aliases: ['distributor.ingestion-burst-size'],
    type: 'int',
    default: 10_000_000,
    help: 'Default per-tenant ingestion burst in samples.',
  },
  {
    flag: 'limits.max-global-series-per-user',
    aliases: ['ingester.max-global-series-per-user'],
    type: 'int',
    default: 1_500_000,
    help: 'Default per-tenant limit of active series (0 = unlimited); global: in a ring each receiver enforces limit x RF / ring size, so a series counts once, not RF times.',
  },
  {
    flag: 'limits.max-global-series-per-metric',
    aliases: ['ingester.max-global-series-per-metric'],
    type: 'int',
    default: 0,
    help: 'Default per-tenant limit of active series of one metric name (0 = unlimited); global like --limits.max-global-series-per-user (each receiver enforces limit x RF / ring size).',
  },
  {
    flag: 'limits.max-label-value-cardinality-per-metric',
    type: 'int',
    default: 0,
    help: "Default per-tenant limit of distinct values one label may take among one metric's series (0 = unlimited): the earliest sign of a cardinality explosion. Counted per receiver, not divided by the ring.",
  },
  {
    flag: 'limits.max-label-names-per-series',
    aliases: ['validation.max-label-names-per-series'],
    type: 'int',
    default: 30,
    help: 'Default per-tenant limit of labels per series.',
  },
  {
    flag: 'limits.max-label-name-length',
    aliases: ['validation.max-length-label-name', 'validation.max-label-name-length'],
    type: 'int',
    default: 1024,
    help: 'Default per-tenant limit of label name length.',
  },
  {
    flag: 'limits.max-label-value-length',
    aliases: ['validation.max-length-label-value', 'validation.max-label-value-length'],
    type: 'int',
    default: 2048,
    help: 'Default per-tenant limit of label value length.',
  },
  {
    flag: 'store-gateway.members',
    type: 'string',
    default: '',
    help: 'Comma-separated names of all store gateways sharing the bucket (default: this one alone); blocks are sharded over them.',
  },
  {
    flag: 'store-gateway.name',
    type: 'string',
    default: '',
    help: 'This store gateway among --store-gateway.members (default: the host name).',
  },
  {
    flag: 'store-gateway.replication-factor',
    type: 'int',
    default: 1,
    help: 'How many gateways serve each block, so a restart leaves no block unserved.',
  },
  {
    flag: 'store-gateway.sync-interval',
    type: 'duration',
    default: '15s',
    help: 'How often the bucket is listed for new and deleted blocks.',
  },
  {
    flag: 'store-gateway.idle-unload',
    type: 'duration',
    default: '1h',
    help: 'Blocks unused this long are closed (their index headers stay on local disk).',
  },
  { flag: 'store-gateway.index-cache-bytes', type: 'bytes', default: 256 * MiB, help: 'Size of the postings and series cache.' },
  { flag: 'store-gateway.chunk-cache-bytes', type: 'bytes', default: 512 * MiB, help: 'Size of the chunk cache.' },
  {
    flag: 'store-gateway.max-series-per-query',
    type: 'int',
    default: 1_000_000,
    help: 'Series one query may touch in a gateway (0 = unlimited).',
  },
  {
    flag: 'store-gateway.max-chunks-per-query',
    type: 'int',
    default: 2_000_000,
    help: 'Chunks one query may touch in a gateway (0 = unlimited).',
  },
  {
    flag: 'store-gateway.max-bytes-per-query',
    type: 'bytes',
    default: 4 * 1024 * MiB,
    help: 'Chunk bytes one query may fetch in a gateway (0 = unlimited).',
  },
  {
    flag: 'store-gateway.deletion-delay',
    type: 'duration',
    default: '6h',
    help: 'Blocks marked for deletion stop being served this long after the mark.',
  },
  {
    flag: 'query-frontend.enabled',
    type: 'bool',
    default: true,
    help: 'In `all`, answer the read API through the query frontend (splitting, results cache, per-tenant queue) in front of the in-process querier; false serves the querier directly.',
  },
  {
    flag: 'query-frontend.downstream-url',
    type: 'string',
    default: '',
    help: '`strata query-frontend`: base URL of the querier (or a load balancer over queriers) the frontend sends sub-queries to.',
  },
  {
    flag: 'query-frontend.split-interval',
    type: 'duration',
    default: '24h',
    help: 'Range queries are split into sub-queries along multiples of this interval since the epoch (24h: UTC days), run in parallel and merged (0 = no splitting, and no results cache).',
  },
  {
    flag: 'query-frontend.align-queries-with-step',
    type: 'bool',
    default: false,
    help: "Move range queries' start and end down to multiples of their step (more cache hits; changes answers, so off by default).",
  },
  {
    flag: 'query-frontend.max-query-parallelism',
    type: 'int',
    default: 14,
    help: 'Sub-queries of one query executing at once.',
  },
  {
    flag: 'query-frontend.downstream-concurrency',
    type: 'int',
    default: 8,
    help: 'Sub-queries executing downstream at once over all tenants: the slots the per-tenant queues share, tenant by tenant in turn.',
  },
  {
    flag: 'query-frontend.max-outstanding-requests-per-tenant',
    type: 'int',
    default: 100,
    help: 'Sub-queries a tenant may have waiting in the queue; beyond it queries get 429 with Retry-After (err-strata-too-many-outstanding-requests).',
  },
  {
    flag: 'query-frontend.max-retries',
    type: 'int',
    default: 5,
    help: 'Retries of a sub-query that failed with a 5xx or a connection error (never on 4xx).',
  },
  {
    flag: 'query-frontend.log-queries-longer-than',
    type: 'duration',
    default: '10s',
    help: 'Queries slower than this are logged at warn level (every query has an info-level stats line; 0 = never warn).',
  },
  {
    flag: 'query-frontend.max-cache-freshness',
    type: 'duration',
    default: '1m',
    help: 'Steps that read samples newer than this are never cached (recent data may still arrive).',
  },
  {
    flag: 'query-frontend.results-cache.enabled',
    type: 'bool',
    default: true,
    help: 'Cache the answers of split range queries per (tenant, query, step, split) and compute only the steps missing.',
  },
  {
    flag: 'query-frontend.results-cache.backend',
    type: 'enum',
    default: 'memory',
    values: ['memory', 'memcached'],
    help: 'Where cached extents live: memory (bounded by --query-frontend.results-cache.max-size-bytes) or memcached.',
  },
  {
    flag: 'query-frontend.results-cache.max-size-bytes',
    type: 'bytes',
    default: 128 * MiB,
    help: 'Memory of the in-memory results cache (least recently used extents go first).',
  },
  {
    flag: 'query-frontend.results-cache.ttl',
    type: 'duration',
    default: '7d',
    help: 'How long a cached extent is kept.',
  },
  {
    flag: 'query-frontend.results-cache.memcached.addresses',
    type: 'string',
    default: '',
    help: 'Comma-separated host:port of the memcached servers (backend memcached).',
  },
  {
    flag: 'query-frontend.results-cache.memcached.timeout',
    type: 'duration',
    default: '200ms',
    help: 'Longest a memcached operation may take; a slow or absent memcached makes queries uncached, never failed.',
  },
  {
    flag: 'compactor.data-dir',
    type: 'string',
    default: '',
    help: 'Scratch space of the compactor: source blocks are downloaded and merged here, one compaction at a time (default: --storage.path/compactor).',
  },
  {
    flag: 'compactor.interval',
    type: 'duration',
    default: '1h',
    help: 'How often the compactor makes a pass over the bucket (compaction, retention, deletion, bucket index).',
  },
  {
    flag: 'compactor.run-once',
    type: 'bool',
    default: false,
    help: '`strata compactor` makes one full pass and exits 0 (for cron jobs and tests).',
  },
  {
    flag: 'compactor.enabled',
    type: 'bool',
    default: true,
    help: '`strata all` runs a compactor over its bucket in-process (false: leave compaction to a separate `strata compactor`).',
  },
  {
    flag: 'compactor.block-ranges',
    type: 'string',
    default: '2h,8h,48h,336h',
    help: 'Comma-separated level ranges, smallest first: the first is the range of the blocks the receivers cut (--tsdb.block-duration); blocks of a complete aligned range of the next level are merged into one.',
  },
  {
    flag: 'compactor.replica-label',
    aliases: ['deduplication.replica-label'],
    type: 'string',
    default: 'receive_replica',
    repeatable: true,
    help: 'External labels that tell replicas of the same data apart; blocks equal but for them form one group and are merged into one copy (repeatable, or comma-separated).',
  },
  {
    flag: 'compactor.deletion-delay',
    aliases: ['delete-delay'],
    type: 'duration',
    default: '12h',
    help: 'Compacted and expired blocks are marked for deletion and deleted this long after the mark; keep it above --store-gateway.deletion-delay so gateways have switched to the new blocks.',
  },
  {
    flag: 'compactor.partial-upload-threshold',
    type: 'duration',
    default: '24h',
    help: 'A block folder without meta.json (an upload that died) whose newest object is older than this is deleted.',
  },
  {
    flag: 'compactor.retention.raw',
    aliases: ['retention.resolution-raw'],
    type: 'duration',
    default: '0',
    help: 'How long raw blocks are kept, by their newest sample (0 = forever); per tenant: compactor_blocks_retention_period in --limits.file.',
  },
  {
    flag: 'compactor.retention.5m',
    aliases: ['retention.resolution-5m'],
    type: 'duration',
    default: '0',
    help: 'How long 5-minute rollup blocks are kept (0 = forever).',
  },
  {
    flag: 'compactor.retention.1h',
    aliases: ['retention.resolution-1h'],
    type: 'duration',
    default: '0',
    help: 'How long 1-hour rollup blocks are kept (0 = forever).',
  },
  {
    flag: 'compactor.retention.1d',
    type: 'duration',
    default: '0',
    help: 'How long 1-day rollup blocks are kept (0 = forever).',
  },
  {
    flag: 'compactor.downsample.5m-after',
    type: 'duration',
    default: '40h',
    help: 'A raw block gets a 5-minute rollup once its range spans this (Thanos), or once it has the largest block range and its newest sample is this old.',
  },
  {
    flag: 'compactor.downsample.1h-after',
    type: 'duration',
    default: '10d',
    help: 'A 5-minute rollup gets a 1-hour rollup once its range spans this, or once it has the largest block range and its newest sample is this old.',
  },
  {
    flag: 'compactor.downsample.1d-after',
    type: 'duration',
    default: '60d',
    help: 'A 1-hour rollup gets a 1-day rollup once its range spans this, or once it has the largest block range and its newest sample is this old.',
  },
  {
    flag: 'compactor.members',
    type: 'string',
    default: '',
    help: 'Comma-separated names of all compactors sharing the bucket (default: this one alone); each owns the (tenant, group) pairs rendezvous hashing gives it.',
  },
  {
    flag: 'compactor.name',
    type: 'string',
    default: '',
    help: 'This compactor among --compactor.members (default: the host name).',
  },
  {
    flag: 'querier.stores',
    type: 'string',
    default: '',
    help: 'Comma-separated base URLs of the stores (receivers, store gateways) a querier fans out to over remote-read.',
  },
  {
    flag: 'querier.store-client-config-file',
    type: 'string',
    default: '',
    help: "How to reach the stores: YAML with Prometheus' tls_config, basic_auth and authorization blocks (as in a remote_read section).",
  },
  {
    flag: 'query.replica-label',
    type: 'string',
    default: '',
    help: 'Comma-separated labels whose values tell replicas apart; series equal but for them are de-duplicated.',
  },
  {
    flag: 'query.partial-response',
    type: 'bool',
    default: false,
    help: 'Answer from the stores that responded when one fails (with a warning) instead of failing the query; per query: partial_response=.',
  },
  {
    flag: 'query.coalesce-selects',
    type: 'bool',
    default: true,
    help: "In `all`, identical selects in flight at the same time (a dashboard's panels over one metric) are read once and share their series; nothing is kept afterwards.",
  },
  {
    flag: 'query.timeout',
    type: 'duration',
    default: '2m',
    help: 'Maximum time a query may run before it is cancelled (503, errorType timeout).',
  },
  {
    flag: 'query.max-samples',
    type: 'int',
    default: 50_000_000,
    help: 'Maximum samples a single query may load into memory (422, errorType execution).',
  },
  {
    flag: 'querier.workers',
    type: 'int',
    default: -1,
    help: 'Worker threads evaluating PromQL (strata all and strata querier), so queries use every core and their garbage stays off the thread acknowledging writes; -1: one per core; 0: evaluate on the main thread.',
  },
  {
    flag: 'querier.worker-nice',
    type: 'int',
    default: 10,
    help: 'Niceness of the PromQL worker threads on Linux (0: as the main thread): when cores are scarce, the thread acknowledging writes runs first.',
  },
  {
    flag: 'query.yield-interval',
    type: 'duration',
    default: '5ms',
    help: 'Longest stretch a query computes before letting waiting requests (remote-write acknowledgements above all) run; shorter favours ingest latency, longer query throughput.',
  },
  { flag: 'query.lookback-delta', type: 'duration', default: '5m', help: 'How far back an instant vector selector looks for a sample.' },
  {
    flag: 'ruler.rule-files',
    type: 'string',
    default: '',
    help: 'Comma-separated globs of Prometheus rule files (recording and alerting rules). Re-read when they change and on SIGHUP; a bad file keeps the previous rules. Default: no rules.',
  },
  {
    flag: 'ruler.tenant',
    type: 'string',
    default: 'anonymous',
    help: "The tenant the rule files' groups are evaluated for (their queries and their results).",
  },
  { flag: 'ruler.evaluation-interval', type: 'duration', default: '1m', help: 'Interval of rule groups that set none.' },
  {
    flag: 'ruler.query-offset',
    type: 'duration',
    default: '0s',
    help: 'Default query_offset of rule groups: how far back from the evaluation time their queries look.',
  },
  {
    flag: 'ruler.query-timeout',
    type: 'duration',
    default: '1m',
    help: 'Longest a rule query may run; a query over it marks the rule unhealthy.',
  },
  {
    flag: 'ruler.query-url',
    type: 'string',
    default: '',
    help: '`strata ruler`: base URL of the Prometheus query API rules are evaluated against (a querier or query frontend, e.g. http://querier:9009/prometheus).',
  },
  {
    flag: 'ruler.remote-write-url',
    type: 'string',
    default: '',
    help: "`strata ruler`: remote-write URL recording rules' and ALERTS series go to (a receiver's /api/v1/write).",
  },
  {
    flag: 'ruler.alertmanager-url',
    type: 'string',
    default: '',
    repeatable: true,
    help: 'Alertmanager base URL alerts are sent to (API v2); repeat the flag (or separate with commas) for several. Default: alerts are evaluated but sent nowhere.',
  },
  {
    flag: 'ruler.external-url',
    type: 'string',
    default: '',
    help: "URL users reach Strata at: alerts' generatorURL and templates' $externalURL.",
  },
  {
    flag: 'ruler.external-labels',
    type: 'string',
    default: '',
    help: 'Labels added to every alert sent and given to templates as $externalLabels: name=value,name=value.',
  },
  {
    flag: 'ruler.for-outage-tolerance',
    type: 'duration',
    default: '1h',
    help: "Longest ruler downtime after which an alert's for state is still restored from ALERTS_FOR_STATE.",
  },
  {
    flag: 'ruler.for-grace-period',
    type: 'duration',
    default: '10m',
    help: 'Least time a restored alert waits before firing again (alerts whose for is shorter are not restored).',
  },
  { flag: 'ruler.resend-delay', type: 'duration', default: '1m', help: 'How often a firing alert is sent again to the Alertmanagers.' },
  {
    flag: 'ruler.notification-queue-capacity',
    type: 'int',
    default: 10000,
    help: 'Alerts queued for the Alertmanagers; when full the oldest are dropped (and counted).',
  },
  {
    flag: 'ruler.notification-timeout',
    type: 'duration',
    default: '10s',
    help: 'Timeout of one send to an Alertmanager (retried three times).',
  },
  {
    flag: 'ruler.members',
    type: 'string',
    default: '',
    help: "Comma-separated names of all rulers sharing the rule files (default: this one alone); each group is evaluated by one of them, chosen by rendezvous hashing (the store gateway's), and moves with its for state when a member goes.",
  },
  { flag: 'ruler.name', type: 'string', default: '', help: 'This ruler among --ruler.members (default: the host name).' },
  { flag: 'ruler.poll-interval', type: 'duration', default: '10s', help: 'How often the rule files are checked for changes.' },
  {
    flag: 'query.default-resolution',
    type: 'string',
    default: 'auto',
    help: "Thanos' max_source_resolution when a query gives none: the coarsest rollup that may answer (0s = raw data only, 5m, 1h, 1d), or auto = the range query's step / 5 (instant queries read raw data).",
  },
] as const satisfies readonly OptionSpec[];

export const OPTIONS: readonly OptionSpec[] = TABLE;

/** A configuration key: reading one that the table lacks does not compile. */
export type OptionFlag = (typeof TABLE)[number]['flag'];

export const COMPONENTS: Readonly<Record<string, string>> = {
  all: 'Every component in one process: the receiver, and the PromQL and series API over its head (the default).',
  receiver: 'Accepts Prometheus remote-write into the WAL-backed head, and serves PromQL and the series API over that head.',
  'store-gateway': 'Serves the blocks in the bucket over remote-read and the series API.',
  compactor:
    'Compacts the bucket: merges the replicas of each block into one copy and small blocks into bigger ones, applies retention, writes the bucket index.',
  ruler:
    'Evaluates recording and alerting rules (--ruler.rule-files) against a query API, writes results by remote-write, sends alerts to Alertmanagers.',
  querier: 'The PromQL API over stores (--querier.stores) queried with remote-read, replicas de-duplicated.',
  'query-frontend':
    'The read API in front of queriers (--query-frontend.downstream-url): range queries split, cached and queued fairly per tenant.',
  tools: 'Operator tools: `strata tools bucket ls|inspect|verify|mark` over the bucket of --objstore.config-file.',
  'dev-cluster':
    'A local multi-process cluster: 3 receivers (RF 3), 2 store gateways, a compactor, a querier, one bucket (the querier on --http.address).',
};
