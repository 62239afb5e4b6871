/** What every component starts with: logger, metrics registry, router, HTTP server with a readiness gate. */
import os from 'node:os';
import { collectDefaultMetrics, Counter, Gauge, Registry } from 'prom-client';
import type { Logger } from 'pino';
import { setPaceSlice, StrataError } from '@strata/model';
import {
  HttpClient,
  HttpServer,
  loadHttpClientConfig,
  mountStatusRoutes,
  parseResolution,
  Router,
  WebConfigWatcher,
  type BuildInfoFeatures,
} from '@strata/api';
import { Engine } from '@strata/promql';
import { QueryWorkerPool, type PromqlExecutor } from '@strata/querier';
import type { Config } from '../config.js';
import { createLogger } from '../logger.js';

/** Paths answered even before the component is ready. */
const ALWAYS_SERVED = new Set(['/-/healthy', '/-/ready', '/metrics', '/api/v1/status/buildinfo']);

export interface Component {
  logger: Logger;
  registry: Registry;
  router: Router;
  server: HttpServer;
  setReady(r: boolean): void;
  tenancy: { multiTenancy: boolean; header: string };
}

export function component(cfg: Config, name: string): Component {
  const logger = createLogger(cfg.str('log.level'), name);
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  let ready = false;
  const router = new Router(['', '/prometheus']);
  mountStatusRoutes(router, { registry, isReady: () => ready, features: () => buildInfoFeatures(cfg, name) });
  const webConfig = cfg.str('web.config.file');
  const server = new HttpServer({
    router,
    registry,
    logger,
    web: webConfig ? new WebConfigWatcher(webConfig, logger, registry) : undefined,
    gate: (p) => {
      if (ready) return undefined;
      const bare = p.startsWith('/prometheus/') ? p.slice('/prometheus'.length) : p;
      if (ALWAYS_SERVED.has(bare)) return undefined;
      return new StrataError('not-ready', `Strata ${name} is starting; retry shortly`, { retryAfter: 5 });
    },
  });
  return {
    logger,
    registry,
    router,
    server,
    setReady: (r) => (ready = r),
    tenancy: { multiTenancy: cfg.bool('auth.multitenancy-enabled'), header: cfg.str('auth.tenant-header') },
  };
}

/**
 * What Grafana may use on this process: the rule-group API where a ruler runs (`all` and `ruler`), and
 * sharding where a query frontend shards by default. Per-tenant overrides can change sharding for one
 * tenant; the report follows the default, as Mimir's does.
 */
export function buildInfoFeatures(cfg: Config, name: string): BuildInfoFeatures {
  const flag = (b: boolean) => (b ? 'true' : 'false');
  const frontend = name === 'query-frontend' || (name === 'all' && cfg.bool('query-frontend.enabled'));
  return {
    ruler_config_api: flag(name === 'all' || name === 'ruler'),
    alertmanager_config_api: 'false',
    query_sharding: flag(frontend && cfg.num('limits.query-sharding-total-shards') > 1),
    federated_rules: 'false',
  };
}

export function engineFrom(cfg: Config): Engine {
  // One thread serves writes and queries: queries give way every slice (see model's pace.ts).
  setPaceSlice(cfg.num('query.yield-interval'));
  return new Engine({
    lookbackDeltaMs: cfg.num('query.lookback-delta'),
    maxSamples: cfg.num('query.max-samples'),
    timeoutMs: cfg.num('query.timeout'),
    defaultResolution: parseResolution(cfg.str('query.default-resolution'), 'query.default-resolution'),
  });
}

/**
 * What evaluates PromQL: a pool of --querier.workers worker threads (one per core by default), or
 * the Engine on this thread with 0. `close` ends the workers at shutdown.
 */
export function executorFrom(cfg: Config, logger: Logger, registry: Registry): { executor: PromqlExecutor; close: () => Promise<void> } {
  const engine = engineFrom(cfg);
  const n = cfg.num('querier.workers');
  const size = n < 0 ? os.availableParallelism() : n;
  if (size === 0) return { executor: engine, close: async () => {} };
  const failures = new Counter({
    name: 'strata_query_worker_failures_total',
    help: 'Query worker threads that died (their queries failed with 500) and were replaced.',
    registers: [registry],
  });
  new Gauge({ name: 'strata_query_workers', help: 'Worker threads evaluating PromQL.', registers: [registry] }).set(size);
  const pool = new QueryWorkerPool({
    size,
    engine: engine.opts,
    nice: cfg.num('querier.worker-nice'),
    readBlocks: cfg.bool('querier.workers-read-blocks'),
    onWorkerFailure: (err) => {
      failures.inc();
      logger.error({ err }, 'query worker died; replaced');
    },
  });
  logger.info({ workers: size }, 'PromQL evaluates on worker threads');
  // Queries over rollups evaluate there too: their selects cross decoded with their side data.
  return { executor: pool, close: () => pool.close() };
}

export function list(s: string): string[] {
  return s
    .split(',')
    .map((x) => x.trim())
    .filter(Boolean);
}

export function waitForSignal(logger: Logger, onStop: () => Promise<void>): Promise<void> {
  return new Promise<void>((resolve) => {
    let stopping = false;
    const stop = async (signal: string) => {
      if (stopping) return;
      stopping = true;
      logger.info({ signal }, 'shutting down');
      try {
        await onStop();
      } catch (e) {
        logger.error({ err: e }, 'error during shutdown');
      }
      resolve();
    };
    process.once('SIGTERM', () => void stop('SIGTERM'));
    process.once('SIGINT', () => void stop('SIGINT'));
  });
}

/** An HTTP client from a Prometheus-shaped client configuration file, or plain HTTP without one. */
export function httpClientFrom(file: string): HttpClient {
  return new HttpClient(file ? loadHttpClientConfig(file) : {});
}
