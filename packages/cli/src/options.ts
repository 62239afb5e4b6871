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
] as const satisfies readonly OptionSpec[];

export const OPTIONS: readonly OptionSpec[] = TABLE;

/** A configuration key: reading one that the table lacks does not compile. */
export type OptionFlag = (typeof TABLE)[number]['flag'];

export const COMPONENTS: Readonly<Record<string, string>> = {
  all: 'Every component in one process: the receiver, and the PromQL and series API over its head (the default).',
  receiver: 'Accepts Prometheus remote-write into the WAL-backed head, and serves PromQL and the series API over that head.',
  'store-gateway': 'Serves the blocks in the bucket over remote-read and the series API.',
  querier: 'The PromQL API over stores (--querier.stores) queried with remote-read, replicas de-duplicated.',
  'dev-cluster':
    'A local multi-process cluster: 3 receivers (RF 3), 2 store gateways, a querier, one bucket (the querier on --http.address).',
};
