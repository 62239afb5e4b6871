/**
 * `strata all` and `strata receiver`: the receiver's write path over the WAL-backed head, plus
 * (for `all`) the querier's PromQL API over the same head, on one HTTP port.
 */
import path from 'node:path';
import {
  LateDataLog,
  mountCardinalityApi,
  mountHashringStatus,
  mountLateDataApi,
  mountLimitsApi,
  mountTsdbStatus,
  Router,
  type Handler,
} from '@strata/api';
import { HttpDownstream, type Generations } from '@strata/query-frontend';
import { BucketTombstones, DEFAULT_MAX_EXEMPLARS, registerTsdbMetrics, Shipping, TSDB, walFsyncHistogram } from '@strata/tsdb';
import { mountSeriesDeletion } from './admin-from-config.js';
import { FanoutQueryable, mountExemplarsApi, mountLogSelectApi, mountQueryApi, unionStoreTimeRanges } from '@strata/querier';
import type { Queryable } from '@strata/model';
import type { StoreGateway } from '@strata/store-gateway';
import { gatewayFrom } from './gateway-from-config.js';
import { frontendFrom } from './frontend-from-config.js';
import { serveOnSocket, type InProcessQuerier } from './in-process-querier.js';
import {
  createOtlpHandler,
  createStreamAggregation,
  createWritePath,
  defaultMemoryLimit,
  Distributor,
  ForwardAuth,
  MemoryBudget,
  MetadataStore,
  SeriesGrowth,
  type OtlpHandlerConfig,
  createLogPushPath,
  createOtlpLogsHandler,
} from '@strata/receiver';
import { BucketLogs, LogStore, mergeLogQueryables } from '@strata/logs';
import { limitsFrom } from './limits-from-config.js';
import type { Compactor } from '@strata/compactor';
import { compactorFrom } from './compactor-from-config.js';
import { compactorLoop } from './compactor.js';
import { inProcessSources, startRuler } from './ruler.js';
import { component, engineFrom, executorFrom, httpClientFrom, list, waitForSignal } from './common.js';
import { Hashrings, watchHashrings } from '@strata/ring';
import type { Config } from '../config.js';
import { openBucket } from '../storage.js';
import os from 'node:os';
import { Gauge } from 'prom-client';
import { receiverRangeWarnings, STORE_RANGES_UNSAFE } from './store-ranges-check.js';

export async function runAll(cfg: Config, opts: { query: boolean }): Promise<void> {
  const { logger, registry, router, server, setReady, tenancy } = component(cfg, opts.query ? 'all' : 'receiver');
  const storagePath = path.resolve(cfg.str('storage.path'));
  let writeHandler: Handler | undefined;
  const write: Handler = (req, res, params) => writeHandler!(req, res, params);
  router.add('POST', '/api/v1/write', write);
  router.add('POST', '/api/v1/push', write);
  let otlpHandler: Handler | undefined;
  router.add('POST', '/otlp/v1/metrics', (req, res, params) => otlpHandler!(req, res, params));
  let logPushHandler: Handler | undefined;
  const logsEnabled = cfg.bool('logs.enabled');
  let otlpLogsHandler: Handler | undefined;
  if (logsEnabled) {
    router.add('POST', '/loki/api/v1/push', (req, res, params) => logPushHandler!(req, res, params));
    router.add('POST', '/otlp/v1/logs', (req, res, params) => otlpLogsHandler!(req, res, params));
  }

  const addr = await server.listen(cfg.str('http.address'));
  logger.info({ address: `${addr.address}:${addr.port}` }, 'listening; replaying the write-ahead log');

  // A receiver alone is read by queriers for the last --querier.query-ingesters-within only.
  if (!opts.query) for (const w of receiverRangeWarnings(cfg)) logger.warn({ code: STORE_RANGES_UNSAFE }, w);
  const startedAt = Date.now();
  const fsyncs = walFsyncHistogram(registry);
  let db: TSDB | undefined;
  registerTsdbMetrics(registry, () => db);
  const bucket = openBucket(cfg.str('objstore.config-file'), storagePath, registry);
  const shipping = new Shipping(bucket, () => db, cfg.num('tsdb.retention.local'), registry, logger);
  const replicaLabel = cfg.str('receiver.replica-label');
  const replicaName = cfg.str('receiver.replica-name') || os.hostname();
  const tenantLabel = cfg.str('receiver.tenant-label');
  // Series deletions (tombstones in the bucket): the head hides them as the store gateway does.
  const tombstones = new BucketTombstones(bucket, (name, err) =>
    logger.warn({ object: name, err: err.message }, 'tombstone unreadable; ignored'),
  );
  // Explosion detection: series created per metric and the labels gaining values (/api/v1/cardinality/growth).
  const growth = new SeriesGrowth({
    topMetrics: cfg.num('receiver.series-created-top-metrics'),
    maxMetricsPerTenant: cfg.num('receiver.series-growth-max-metrics'),
    registry,
  });
  const growthPrune = setInterval(() => growth.prune(), 60_000);
  growthPrune.unref();
  const limits = limitsFrom(cfg, logger);
  const tsdb = await TSDB.open({
    // Exemplars read back at start fill a store of the tenant's limit (the writer sizes it to this receiver's share on the next write).
    maxExemplars: (tenant) => limits.forTenant(tenant).maxGlobalExemplarsPerUser ?? DEFAULT_MAX_EXEMPLARS,
    onSeriesCreated: (tenant, pairs) => growth.created(tenant, pairs),
    tombstones: (tenant) => tombstones.forTenant(tenant),
    onFsync: (s) => fsyncs.observe(s),
    blockDurationMs: cfg.num('tsdb.block-duration'),
    compactIntervalMs: cfg.num('tsdb.compaction-interval'),
    blockCacheBytes: cfg.num('tsdb.block-cache-bytes'),
    externalLabels: (tenant) => ({ [tenantLabel]: tenant, ...(replicaLabel ? { [replicaLabel]: replicaName } : {}) }),
    onBlock: (tenant) => void shipping.sync(tenant).catch((e) => logger.error({ err: e, tenant }, 'shipping failed')),
    dir: path.join(storagePath, 'tsdb'),
    fsync: cfg.str('wal.fsync') as 'batch' | 'none',
    head: { outOfOrderWindowMs: cfg.num('receiver.out-of-order-window'), maxSeries: 0 },
    maxSeries: cfg.num('receiver.max-series'),
    logger,
  });
  db = tsdb;
  // Blocks cut before a crash may still be waiting for upload.
  shipping.start();
  void shipping.syncAll().catch((e) => logger.error({ err: e }, 'shipping failed'));
  const metadata = new MetadataStore();
  let distributor: Distributor | undefined;
  const forwardAuth = ForwardAuth.from(cfg.str('receiver.forward-secret'), cfg.str('receiver.forward-secret-file'));
  let stopWatch: (() => void) | undefined;
  const ringsFile = cfg.str('receiver.hashrings-file');
  if (ringsFile) {
    let rings: Hashrings | undefined;
    stopWatch = watchHashrings(
      ringsFile,
      (c) => {
        rings = new Hashrings(c);
        logger.info({ hashrings: c.map((h) => ({ name: h.hashring, endpoints: h.endpoints.length })) }, 'hashrings loaded');
      },
      { intervalMs: 2000, onError: (e) => logger.error({ err: e.message }, 'hashrings file not applied; keeping the previous rings') },
    );
    distributor = new Distributor({
      rings: () => rings,
      self: cfg.str('receiver.local-endpoint') || cfg.str('http.address'),
      replicationFactor: cfg.num('receiver.replication-factor'),
      forwardTimeoutMs: cfg.num('receiver.forward-timeout'),
      // Batches stay well under the peers' request size limit (the same flag on every receiver).
      coalesce: {
        maxDelayMs: cfg.num('receiver.forward-coalesce-delay'),
        maxBytes: Math.min(4 * 1024 * 1024, cfg.num('receiver.max-request-bytes') / 2),
      },
      tenantHeader: tenancy.header,
      registry,
      client: httpClientFrom(cfg.str('receiver.forward-client-config-file')),
      forwardAuth,
    });
    const d = distributor;
    mountHashringStatus(router, () => rings?.status(d.opts.replicationFactor) ?? []);
  }
  // The query frontend's late-data generations (set below when it runs): accepted samples older
  // than its freshness window bump the generations of their time range. Frontends in other
  // processes read the same notices from the late-data log (GET /internal/late-data).
  let generations: Generations | undefined;
  const lateData = new LateDataLog();
  const onLate = (t: string, min: number, max: number) => {
    lateData.add(t, min, max);
    generations?.bump(t, min, max);
  };
  mountLateDataApi(router, lateData);
  const withFrontend = opts.query && cfg.bool('query-frontend.enabled');
  const memoryLimit = cfg.num('receiver.memory-limit-bytes') || defaultMemoryLimit();
  new Gauge({
    name: 'strata_receiver_memory_limit_bytes',
    help: 'Resident memory above which writes are refused with 503 (--receiver.memory-limit-bytes).',
    registers: [registry],
  }).set(memoryLimit);
  // Streaming aggregation runs for tenants whose limits carry stream_aggregation_config.
  const streamAggregation = createStreamAggregation({
    limits,
    distributor,
    flushDelayMs: cfg.num('receiver.stream-aggregation-flush-delay'),
    registry,
    logger,
  });
  const writePath = createWritePath({
    streamAggregation,
    distributor,
    forwardAuth,
    // This process' frontend's window, or a shorter one that frontends reading the notices name.
    lateSamples: { olderThanMs: () => lateData.lateAfterMs(cfg.num('query-frontend.max-cache-freshness')), onLate },
    memory: new MemoryBudget(memoryLimit),
    storage: tsdb,
    limits,
    metadata,
    logger,
    registry,
    config: {
      maxRequestBytes: cfg.num('receiver.max-request-bytes'),
      maxInflightBytes: cfg.num('receiver.max-inflight-bytes'),
      multiTenancy: tenancy.multiTenancy,
      tenantHeader: tenancy.header,
      creationGracePeriodMs: cfg.num('receiver.creation-grace-period'),
      ingestionRateLimitStatus: cfg.num('receiver.rate-limit-status') === 429 ? 429 : 503,
      diskMinFreeBytes: cfg.num('receiver.min-free-disk-bytes'),
      storagePath,
      receiverMaxSeries: cfg.num('receiver.max-series'),
    },
  });
  writeHandler = writePath.handler;
  otlpHandler = createOtlpHandler({
    path: writePath,
    registry,
    logger,
    config: {
      maxRequestBytes: cfg.num('receiver.max-request-bytes'),
      multiTenancy: tenancy.multiTenancy,
      tenantHeader: tenancy.header,
      translationStrategy: cfg.str('otlp.translation-strategy') as OtlpHandlerConfig['translationStrategy'],
      promoteResourceAttributes: list(cfg.str('otlp.promote-resource-attributes')),
      exemplars: cfg.num('limits.max-global-exemplars-per-user') > 0,
    },
  });
  // Logs: Loki's push API into a head of its own, with its own WAL per tenant (docs/format/logs.md).
  let logStore: LogStore | undefined;
  if (logsEnabled) {
    const blockRangeMs = cfg.num('logs.block-range') || cfg.num('tsdb.block-duration');
    logStore = await LogStore.open({
      dir: path.join(storagePath, 'logs'),
      fsync: cfg.str('wal.fsync') as 'batch' | 'none',
      compression: cfg.str('logs.block-compression') as 'zstd' | 'snappy',
      onFsync: (s) => fsyncs.observe(s),
      logger,
      // Cut heads go to the bucket as log blocks; a shipped head is still read for three gateway
      // syncs and at least a minute, so a gateway slow under load has seen the block before the
      // head is gone (until then reads drop the repeats).
      bucket,
      blockRangeMs,
      keepShippedMs: Math.max(3 * cfg.num('store-gateway.sync-interval'), 60_000),
      cutIntervalMs: Math.max(1000, Math.min(60_000, Math.floor(blockRangeMs / 4))),
    });
    const logPath = createLogPushPath({
      sink: logStore,
      // Over the ring with the metrics' replication factor and quorum, under the same gates.
      distributor,
      gates: writePath.gates,
      internalHeaders: writePath.internalHeaders,
      limits,
      registry,
      logger,
      config: {
        maxRequestBytes: cfg.num('receiver.max-request-bytes'),
        multiTenancy: tenancy.multiTenancy,
        tenantHeader: tenancy.header,
        creationGracePeriodMs: cfg.num('receiver.creation-grace-period'),
        outOfOrderWindowMs: cfg.num('logs.out-of-order-window'),
      },
    });
    logPushHandler = logPath.handler;
    // OTLP logs are mapped to streams as Loki maps them and take the same path.
    otlpLogsHandler = createOtlpLogsHandler({
      path: logPath,
      registry,
      logger,
      config: { maxRequestBytes: cfg.num('receiver.max-request-bytes'), multiTenancy: tenancy.multiTenancy, tenantHeader: tenancy.header },
      otlpConfig: (t) => limits.forTenant(t).otlpConfig,
    });
  }
  const queries = executorFrom(cfg, logger, registry);
  // `all` also serves the bucket: a store gateway in the same process, reached directly through
  // the Querier interface (no remote-read in between). Shipped blocks still on local disk are
  // read from disk only: the gateway leaves out every block the local TSDB has, by ULID.
  // A receiver serves its own data.
  let gateway: StoreGateway | undefined;
  let queryable: Queryable = tsdb.queryable();
  if (opts.query) {
    gateway = gatewayFrom(cfg, bucket, registry, logger, {
      skipBlock: (tenant, ulid) => tsdb.openTenant(tenant)?.hasBlock(ulid) ?? false,
      tombstones,
      logs: logsEnabled,
      // A backfilled block changes answers over its range, as late samples do.
      onBackfill: onLate,
    });
    await gateway.start();
    const gw = gateway;
    queryable = new FanoutQueryable(
      () => [
        { name: 'local head and blocks', queryable: tsdb.queryable() },
        { name: 'bucket', queryable: gw, timeRange: (t: string) => gw.info()[t] ?? { minTime: Infinity, maxTime: -Infinity } },
      ],
      // Concurrent identical selects (a dashboard's panels) are read once.
      {
        replicaLabels: list(cfg.str('query.replica-label')),
        partialResponse: cfg.bool('query.partial-response'),
        coalesce: cfg.bool('query.coalesce-selects'),
      },
    );
  }
  // A receiver alone has no gateway, and no other component reads log blocks: it reads the
  // bucket's log blocks itself, so its Loki API keeps answering for lines it has shipped.
  let receiverLogBlocks: BucketLogs | undefined;
  let logBlockSync: NodeJS.Timeout | undefined;
  if (!opts.query && logStore) {
    const blocks = new BucketLogs({ bucket, logger, deletionDelayMs: cfg.num('store-gateway.deletion-delay') });
    receiverLogBlocks = blocks;
    await blocks.sync();
    logBlockSync = setInterval(
      () => void blocks.sync().catch((e: Error) => logger.warn({ err: e.message }, 'log block sync failed; keeping the previous list')),
      cfg.num('store-gateway.sync-interval'),
    );
    logBlockSync.unref();
  }
  const bucketLogs = gateway?.logs ?? receiverLogBlocks;
  const queryApi = {
    queryable,
    engine: queries.executor,
    tenancy,
    metadata,
    // The head and local blocks, and the bucket through the gateway: a querier in front leaves
    // `all` out of ranges it does not name.
    storeInfo: () => (gateway ? unionStoreTimeRanges(tsdb.timeRanges(), gateway.info()) : tsdb.timeRanges()),
    // A receiver alone is named one: queriers ask it only for the last --querier.query-ingesters-within.
    // `all` also serves the bucket and is always asked.
    storeRole: opts.query ? undefined : ('receiver' as const),
    limits: (t: string) => limits.forTenant(t),
    lookbackDeltaMs: cfg.num('query.lookback-delta'),
    // The log heads and the bucket's log blocks answer the Loki read API (/loki/api/v1/*) of the querier.
    logs: logStore,
    bucketLogs,
    registry,
  };
  let inProcess: InProcessQuerier | undefined;
  let downstream: HttpDownstream | undefined;
  let closeCache: (() => Promise<void>) | undefined;
  // Behind the frontend, the querier's read API (cardinality and Loki's included) is on its own router.
  const querierRouter = withFrontend ? new Router() : router;
  if (withFrontend) {
    // The frontend answers the read API; the querier behind it listens on a private socket.
    mountQueryApi(querierRouter, queryApi);
    inProcess = await serveOnSocket(querierRouter);
    downstream = new HttpDownstream({ socketPath: inProcess.socketPath, timeoutMs: cfg.num('query.timeout') + 30_000 });
    const parts = frontendFrom(cfg, downstream, tenancy, registry, logger, limits);
    generations = parts.generations;
    closeCache = parts.cache ? () => parts.cache!.close() : undefined;
    // It passes the Loki read API (mounted with the query API when there is a log store) through its queue.
    parts.frontend.mount(router);
  } else mountQueryApi(router, queryApi);
  // Queriers read this process's log streams (RF replicas merged there, remote-logs.ts) and, as
  // its remote-read does for metrics, the bucket's log blocks its gateway serves: a querier in
  // front of `all` processes then needs no bucket of its own to read shipped lines.
  if (logStore) {
    const blocks = gateway?.logs;
    mountLogSelectApi(router, { logs: blocks ? mergeLogQueryables([blocks, logStore]) : logStore, tenancy, servesBlocks: !!blocks });
  }
  // Exemplars live in the local heads only (the bucket holds none), so they are read here directly.
  mountExemplarsApi(router, {
    tenancy,
    sources: () => [
      {
        selectExemplars: async (tenant, mint, maxt, sets) => tsdb.openTenant(tenant)?.exemplars.select(mint, maxt, sets) ?? [],
      },
    ],
  });
  let tombstoneTimer: NodeJS.Timeout | undefined;
  mountSeriesDeletion(router, cfg, { tenancy, tombstones, logger, onDeleted: onLate });
  if (!opts.query) {
    // A receiver serves its head without a gateway to re-read the bucket's tombstones: it does.
    const sync = () =>
      tombstones.sync(tsdb.tenants()).catch((e) => logger.warn({ err: e }, 'tombstones not re-read; keeping the previous ones'));
    await sync();
    tombstoneTimer = setInterval(() => void sync(), cfg.num('store-gateway.sync-interval'));
    tombstoneTimer.unref();
  }
  // `all` also compacts its own bucket, unless a separate `strata compactor` does.
  let compaction: { compactor: Compactor; loop: { stop(): void } } | undefined;
  if (opts.query && cfg.bool('compactor.enabled')) {
    const compactor = compactorFrom(cfg, bucket, registry, logger, limits);
    compaction = { compactor, loop: compactorLoop(compactor, cfg.num('compactor.interval'), logger) };
  }
  mountTsdbStatus(querierRouter, { tenancy, status: (tenant, limit) => tsdb.openTenant(tenant)?.tsdbStatus(limit) });
  mountCardinalityApi(querierRouter, {
    tenancy,
    source: (tenant) => tsdb.openTenant(tenant)?.cardinality(),
    growth: (tenant, windowMs, top) => growth.sketches(tenant, windowMs, top),
  });
  mountLimitsApi(router, {
    tenancy,
    limits,
    usage: (tenant) => {
      const t = tsdb.openTenant(tenant);
      if (!t) return { active_series: 0 };
      // The metric nearest its max_global_series_per_metric share is the one with the most series here.
      const top = t.tsdbStatus(1).seriesCountByMetricName[0];
      return { active_series: t.stats().numSeries, ...(top ? { largest_metric: { name: top.name, series: top.value } } : {}) };
    },
  });
  setReady(true);
  streamAggregation.start();
  // The ruler of `all` evaluates over the same stores as the query API and appends its results
  // to this process' own write path (limits, replication, WAL) without HTTP in between; it
  // starts once that path accepts writes.
  let stopRuler: (() => Promise<void>) | undefined;
  if (opts.query) {
    // Rule queries are many and small: on the workers a round of them costs about 1.5x the CPU it costs in place.
    const ruleEngine = cfg.bool('ruler.query-workers') ? queries.executor : engineFrom(cfg);
    const src = inProcessSources(cfg, ruleEngine, queryable, writePath);
    stopRuler = await startRuler(cfg, { logger, registry, router, server, setReady, tenancy }, src.queries, src.writer, { bucket, limits });
  }
  logger.info({ replaySeconds: (Date.now() - startedAt) / 1000, tenants: tsdb.tenants().length }, 'ready');

  const host = addr.address === '0.0.0.0' || addr.address === '::' ? 'localhost' : addr.address;
  const base = `${server.scheme}://${host}:${addr.port}`;
  process.stdout.write(
    [
      '',
      `Strata is ready on ${base}`,
      `  Prometheus remote_write:  ${base}/api/v1/write`,
      ...(logStore ? [`  Loki push (Promtail, Alloy, pino-loki, winston-loki):  ${base}/loki/api/v1/push`] : []),
      `  Grafana Prometheus data source URL:  ${base}/prometheus`,
      `  Data in ${storagePath}`,
      '',
    ].join('\n') + '\n',
  );

  const flushOnShutdown = cfg.bool('receiver.flush-on-shutdown');
  await waitForSignal(logger, async () => {
    setReady(false);
    await stopRuler?.();
    await server.close();
    // Intervals in progress: partials to their owners; outputs of rules with flush_on_shutdown.
    await streamAggregation.stop(true);
    downstream?.close();
    await inProcess?.close();
    await closeCache?.();
    await queries.close();
    stopWatch?.();
    distributor?.close();
    limits.stop();
    shipping.stop();
    clearInterval(tombstoneTimer);
    clearInterval(logBlockSync);
    clearInterval(growthPrune);
    compaction?.loop.stop();
    await compaction?.compactor.stop();
    await gateway?.stop();
    if (flushOnShutdown) {
      // Scale-down: everything in the head goes to the bucket before we exit.
      const blocks = await tsdb.compactAll(true);
      await shipping.syncAll();
      // Log heads too: each becomes a log block, and its WAL is truncated once it is uploaded.
      for (const t of logStore?.tenantIds() ?? []) await logStore!.flush(t);
      logger.info({ blocks: blocks.length }, 'head flushed and shipped');
    }
    await tsdb.close();
    await logStore?.close();
    await bucket.close();
  });
}
