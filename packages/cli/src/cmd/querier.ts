/** `strata querier`: PromQL over stores reached with remote-read, replicas de-duplicated. */
import { mountAdminApi } from '@strata/api';
import {
  ClusterCardinality,
  FanoutLogQueryable,
  FanoutQueryable,
  LateDataRelay,
  mountClusterCardinality,
  mountLateDataRelay,
  mountExemplarsApi,
  mountQueryApi,
  RemoteExemplars,
  RemoteLogStore,
  RemoteMetadata,
  RemoteStore,
  type LogSource,
} from '@strata/querier';
import { BucketLogs } from '@strata/logs';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import path from 'node:path';
import type { Config } from '../config.js';
import { openBucket } from '../storage.js';
import { component, executorFrom, httpClientFrom, list, waitForSignal } from './common.js';
import { limitsFrom } from './limits-from-config.js';
import { storeRangeRulesOf } from './store-ranges-check.js';

/** Stores' time ranges are refreshed this often (a store is always asked while unknown). */
const STORE_INFO_INTERVAL_MS = 15_000;

export async function runQuerier(cfg: Config): Promise<void> {
  const c = component(cfg, 'querier');
  const client = httpClientFrom(cfg.str('querier.store-client-config-file'));
  const urls = list(cfg.str('querier.stores')).map((url) => client.urlOf(url));
  const stores = urls.map(
    (url) => new RemoteStore({ url, tenantHeader: cfg.str('auth.tenant-header'), timeoutMs: cfg.num('query.timeout'), client }),
  );
  // Metadata is small: a store that does not answer within seconds is skipped, not waited for.
  const metadata = new RemoteMetadata({
    urls,
    tenantHeader: cfg.str('auth.tenant-header'),
    timeoutMs: Math.min(cfg.num('query.timeout'), 10_000),
    client,
  });
  if (stores.length === 0) c.logger.warn('no --querier.stores given: every query will be empty');
  // Receivers are asked for recent data only, store gateways for older data only (Mimir's
  // query-ingesters-within and query-store-after): over the range both hold, each sample is read once.
  const queryable = new FanoutQueryable(() => stores, {
    replicaLabels: list(cfg.str('query.replica-label')),
    partialResponse: cfg.bool('query.partial-response'),
    storeRanges: storeRangeRulesOf(cfg),
  });
  // Loki's read API over every store's logs: receivers answer for their heads, store gateways for
  // the bucket's log blocks, stores without logs hold none; streams held by several (RF receivers,
  // a head and the block it was cut into) are merged and each entry kept once.
  const remoteLogs = urls.map((url) => ({
    name: url,
    logs: new RemoteLogStore({ url, tenantHeader: cfg.str('auth.tenant-header'), timeoutMs: cfg.num('query.timeout'), client }),
  }));
  const logBlocks = querierLogBlocks(cfg, c.logger, c.registry, () => remoteLogs.some((s) => s.logs.servesBlocks));
  // Sources oldest first, as the merge keeps the first copy of a repeated entry: blocks before heads.
  const logSources = (): LogSource[] => [
    ...(logBlocks?.active() ? [logBlocks.source] : []),
    ...remoteLogs.filter((s) => s.logs.servesBlocks),
    ...remoteLogs.filter((s) => !s.logs.servesBlocks),
  ];
  const logs = new FanoutLogQueryable(logSources, { partialResponse: cfg.bool('query.partial-response') });
  const queries = executorFrom(cfg, c.logger, c.registry);
  const limits = limitsFrom(cfg, c.logger);
  mountQueryApi(c.router, {
    queryable,
    engine: queries.executor,
    tenancy: c.tenancy,
    metadata,
    limits: (t) => limits.forTenant(t),
    lookbackDeltaMs: cfg.num('query.lookback-delta'),
    logs,
    registry: c.registry,
  });
  // Exemplars are in the receivers' heads: every store is asked, RF replicas' copies merged into one.
  const exemplarSources = urls.map(
    (url) => new RemoteExemplars({ url, tenantHeader: cfg.str('auth.tenant-header'), timeoutMs: cfg.num('query.timeout'), client }),
  );
  mountExemplarsApi(c.router, { tenancy: c.tenancy, sources: () => exemplarSources });
  // Cardinality over every receiver among the stores, RF replicas counted once (store gateways answer 404 and are left out).
  mountClusterCardinality(c.router, {
    tenancy: c.tenancy,
    cluster: new ClusterCardinality({
      urls: () => urls,
      tenantHeader: cfg.str('auth.tenant-header'),
      timeoutMs: cfg.num('query.timeout'),
      client,
    }),
  });
  // Late-data notices of every receiver among the stores, for query frontends in other processes.
  const storeOf = new Map(urls.map((url, i) => [url, stores[i]]));
  mountLateDataRelay(
    c.router,
    new LateDataRelay({
      urls: () => urls,
      timeoutMs: Math.min(cfg.num('query.timeout'), 5_000),
      client,
      onChanged: (url, tenant) => storeOf.get(url)?.forget(tenant),
    }),
  );
  // Series deletion goes to every store (each needs --web.enable-admin-api); any failure fails it, a retry is safe.
  mountAdminApi(c.router, {
    tenancy: c.tenancy,
    enabled: cfg.bool('web.enable-admin-api'),
    deleteSeries: async (tenant, selectors, start, end) => {
      await Promise.all(stores.map((s) => s.deleteSeries(tenant, selectors, start, end)));
    },
  });
  const refresh = () => Promise.all([...stores.map((s) => s.refresh()), ...remoteLogs.map((s) => s.logs.refresh())]);
  await refresh();
  await logBlocks?.sync();
  const timer = setInterval(() => void refresh(), STORE_INFO_INTERVAL_MS);
  timer.unref();
  const addr = await c.server.listen(cfg.str('http.address'));
  c.setReady(true);
  c.logger.info({ address: `${addr.address}:${addr.port}`, stores: stores.map((s) => s.name) }, 'ready');
  await waitForSignal(c.logger, async () => {
    clearInterval(timer);
    c.setReady(false);
    await c.server.close();
    await queries.close();
    limits.stop();
    await logBlocks?.close();
  });
}

/**
 * The bucket's log blocks read by the querier itself, when it is given a bucket
 * (--objstore.config-file) and no store among --querier.stores serves them (no store gateway
 * answered that it does at the last refresh): receivers drop a head a minute after its block is
 * shipped, so without this a querier in front of receivers alone loses every shipped line. Lines
 * also read by a gateway (one that came up since the last refresh) are merged as repeats.
 */
function querierLogBlocks(
  cfg: Config,
  logger: Logger,
  registry: Registry,
  gatewayServes: () => boolean,
): { source: LogSource; active(): boolean; sync(): Promise<void>; close(): Promise<void> } | undefined {
  const file = cfg.str('objstore.config-file');
  if (!file) return undefined;
  const bucket = openBucket(file, path.resolve(cfg.str('storage.path')), registry);
  const blocks = new BucketLogs({ bucket, logger, deletionDelayMs: cfg.num('store-gateway.deletion-delay') });
  const sync = async () => {
    // While a gateway serves the blocks they are not listed here at all.
    if (gatewayServes()) return;
    await blocks.sync().catch((e: Error) => logger.warn({ err: e.message }, 'log block sync failed; keeping the previous list'));
  };
  const timer = setInterval(() => void sync(), cfg.num('store-gateway.sync-interval'));
  timer.unref();
  return {
    source: { name: 'bucket', logs: blocks },
    active: () => !gatewayServes(),
    sync,
    close: async () => {
      clearInterval(timer);
      await bucket.close();
    },
  };
}
