/**
 * The Prometheus read API of the querier: PromQL, series, label and metadata endpoints over any
 * Queryable: a receiver's head and blocks, or the querier's fan-out over receivers and store gateways.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { StrataError, type MetricMetadata, type Querier, type Queryable, type SelectHints } from '@strata/model';
import { parse, ParseError } from '@strata/promql';

import type { PromqlExecutor } from './worker-pool.js';
import { formatQueryHandler, instantQueryHandler, parseQueryHandler, rangeQueryHandler } from './promql-api.js';
import {
  createRemoteReadHandler,
  failure,
  labelNamesHandler,
  labelValuesHandler,
  readParams,
  sendResult,
  seriesHandler,
  success,
  tenantOf,
  type ApiResult,
  type Router,
  type TenancyConfig,
  type TenantLimits,
  parseDurationParam,
  parseTime,
} from '@strata/api';
import type { LogQueryable } from '@strata/logs';
import type { Registry } from 'prom-client';
import { fetchBudget } from './fetch-budget.js';
import { mountLokiApi } from './loki-api.js';
import { mountLokiTail } from './loki-tail.js';
import { estimateQueryCost } from './query-cost.js';
import { STORE_ROLE_HEADER, type StoreRole, type StoreTimeRanges } from './store-ranges.js';

export interface MetadataSource {
  /** Metadata per metric family name, as /api/v1/metadata returns it. */
  metadata(
    tenant: string,
    metric: string | undefined,
    limit: number,
    limitPerMetric: number,
  ): Record<string, MetricMetadata[]> | Promise<Record<string, MetricMetadata[]>>;
}

export interface QueryApiDeps {
  queryable: Queryable;
  /** The Engine (evaluation on this thread) or a QueryWorkerPool. */
  engine: PromqlExecutor;
  tenancy: TenancyConfig;
  metadata?: MetadataSource;
  /** Per tenant, the time range this process holds (served at /api/v1/status/stores for queriers). */
  storeInfo?: () => StoreTimeRanges;
  /**
   * What this process serves, named to queriers with the store info (store-ranges.ts): they then
   * ask it only for the part of a range its role covers. Unset (`strata all`): always asked.
   */
  storeRole?: StoreRole;
  /** Per-tenant limits: the querier enforces max_fetched_series_per_query and max_fetched_chunk_bytes_per_query. */
  limits?: (tenant: string) => TenantLimits;
  /** For cost estimates: the engine's lookback delta and default subquery step (defaults 5m, 1m). */
  lookbackDeltaMs?: number;
  defaultSubqueryStepMs?: number;
  /** When set, Loki's read API (/loki/api/v1/*) answers over these logs. */
  logs?: LogQueryable;
  /** The bucket's log blocks, merged with `logs`. */
  bucketLogs?: LogQueryable;
  /** Where the querier's own metrics (open live tails) are registered. */
  registry?: Registry;
}

type ParamsHandler = (params: URLSearchParams, querier: Querier, signal: AbortSignal) => Promise<ApiResult> | ApiResult;

/** partial_response=true|false overrides the querier's default, as in Thanos. */
function partialOf(params: URLSearchParams): boolean | undefined {
  const v = params.get('partial_response');
  return v === null ? undefined : v === 'true' || v === '1';
}

/** The querier one request sees: every call carries the request's partial_response choice and warning sink. */
function perRequest(q: Querier, extra: Pick<SelectHints, 'partialResponse' | 'warn' | 'budget'>): Querier {
  const h = (hints: SelectHints): SelectHints => ({ ...hints, ...extra });
  const selectRaw = q.selectRaw?.bind(q);
  const selectRawInto = q.selectRawInto?.bind(q);
  return {
    select: (m, hints) => q.select(m, h(hints)),
    selectRaw: selectRaw && ((m, hints) => selectRaw(m, h(hints))),
    selectRawInto: selectRawInto && ((m, hints, into) => selectRawInto(m, h(hints), into)),
    series: (m, hints) => q.series(m, h(hints)),
    labelNames: (m, hints) => q.labelNames(m, h(hints)),
    labelValues: (n, m, hints) => q.labelValues(n, m, h(hints)),
  };
}

/** Runs a handler with parsed params and an AbortSignal that fires when the client goes away. */
function wrap(deps: QueryApiDeps, fn: ParamsHandler) {
  return async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const ac = new AbortController();
    const onClose = () => {
      if (!res.writableEnded) ac.abort();
    };
    res.on('close', onClose);
    try {
      const params = await readParams(req);
      const tenant = tenantOf(req, deps.tenancy);
      // Stores left out of a partial response are reported as warnings, as Prometheus reports annotations.
      const warned: string[] = [];
      const querier = perRequest(deps.queryable.querier(tenant), {
        partialResponse: partialOf(params),
        warn: (w) => warned.push(w),
        budget: deps.limits ? fetchBudget(deps.limits(tenant)) : undefined,
      });
      const result = await fn(params, querier, ac.signal);
      if (warned.length && result.status === 200) {
        const body = result.body as { warnings?: string[] };
        body.warnings = [...new Set([...(body.warnings ?? []), ...warned])];
      }
      sendResult(res, result);
    } catch (e) {
      sendResult(res, failure(e));
    } finally {
      res.off('close', onClose);
    }
  };
}

export function mountQueryApi(router: Router, deps: QueryApiDeps): void {
  const both = ['GET', 'POST'];
  if (deps.logs) {
    const logs = { logs: deps.logs, bucketLogs: deps.bucketLogs, tenancy: deps.tenancy, limits: deps.limits };
    mountLokiApi(router, logs);
    mountLokiTail(router, { ...logs, registry: deps.registry });
  }
  router.add(
    both,
    '/api/v1/query',
    wrap(deps, (p, q, signal) => instantQueryHandler(p, q, deps.engine, signal)),
  );
  router.add(
    both,
    '/api/v1/query_range',
    wrap(deps, (p, q, signal) => rangeQueryHandler(p, q, deps.engine, signal)),
  );
  router.add(
    both,
    QUERY_COST_PATH,
    wrap(deps, (p, q, signal) => queryCostHandler(deps, p, q, signal)),
  );
  router.add('POST', '/api/v1/read', createRemoteReadHandler(deps.queryable, deps.tenancy));
  router.add(
    both,
    '/api/v1/format_query',
    wrap(deps, (p) => formatQueryHandler(p)),
  );
  router.add(
    both,
    '/api/v1/parse_query',
    wrap(deps, (p) => parseQueryHandler(p)),
  );
  router.add(
    both,
    '/api/v1/series',
    wrap(deps, (p, q, signal) => seriesHandler(p, q, signal)),
  );
  router.add(
    both,
    '/api/v1/labels',
    wrap(deps, (p, q, signal) => labelNamesHandler(p, q, signal)),
  );
  router.add(['GET', 'POST'], '/api/v1/label/:name/values', async (req, res, params) =>
    wrap(deps, (p, q, signal) => labelValuesHandler(params.name, p, q, signal))(req, res),
  );
  router.add('GET', '/api/v1/metadata', async (req, res) => {
    const t = tenantOf(req, deps.tenancy);
    return wrap(deps, (p) => metadataOf(deps, p, t))(req, res);
  });
  if (deps.storeInfo) {
    const info = deps.storeInfo;
    // Tenant names and time ranges are a tenant's data too: with multi-tenancy a caller sees
    // only its own tenant's entry.
    router.add('GET', '/api/v1/status/stores', (req, res) => {
      // Named on every answer, an error too: a querier learns it before it knows any tenant.
      if (deps.storeRole) res.setHeader(STORE_ROLE_HEADER, deps.storeRole);
      try {
        const all = info();
        if (!deps.tenancy.multiTenancy) return sendResult(res, success(all));
        const t = tenantOf(req, deps.tenancy);
        sendResult(res, success(t in all ? { [t]: all[t] } : {}));
      } catch (e) {
        sendResult(res, failure(e));
      }
    });
  }
}

/**
 * Strata's own endpoint: the estimated cost of a query (query-cost.ts) with the same parameters
 * as /api/v1/query_range (or time for an instant query), asked by the query frontend before it
 * runs a query under max_estimated_query_cost.
 */
export const QUERY_COST_PATH = '/api/v1/query_cost';

async function queryCostHandler(deps: QueryApiDeps, p: URLSearchParams, q: Querier, signal: AbortSignal): Promise<ApiResult> {
  let expr;
  try {
    expr = parse(p.get('query') ?? '');
  } catch (e) {
    if (e instanceof ParseError) throw new StrataError('bad-query', `invalid parameter "query": ${e.message}`);
    throw e;
  }
  const range = p.has('start');
  const start = range ? parseTime(p.get('start')!, 'start') : p.has('time') ? parseTime(p.get('time')!, 'time') : Date.now();
  const end = range ? parseTime(p.get('end') ?? '', 'end') : start;
  const step = range ? parseDurationParam(p.get('step') ?? '', 'step') : 0;
  return success(
    await estimateQueryCost(q, {
      expr,
      start,
      end,
      step,
      lookbackDeltaMs: deps.lookbackDeltaMs ?? 5 * 60_000,
      defaultSubqueryStepMs: deps.defaultSubqueryStepMs ?? 60_000,
      signal,
    }),
  );
}

async function metadataOf(deps: QueryApiDeps, p: URLSearchParams, t: string): Promise<ApiResult> {
  const limit = p.has('limit') ? Number(p.get('limit')) : -1;
  const limitPerMetric = p.has('limit_per_metric') ? Number(p.get('limit_per_metric')) : -1;
  const metric = p.get('metric') ?? undefined;
  return success(deps.metadata ? await deps.metadata.metadata(t, metric, limit, limitPerMetric) : {});
}
