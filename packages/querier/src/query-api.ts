/**
 * The Prometheus read API of the querier: PromQL, series, label and metadata endpoints over any
 * Queryable (the local head now; the fan-out over receivers and store gateways later).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { MetricMetadata, Queryable } from '@strata/model';
import type { Engine } from '@strata/promql';
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
} from '@strata/api';

export interface MetadataSource {
  /** Metadata per metric family name, as /api/v1/metadata returns it. */
  metadata(tenant: string, metric: string | undefined, limit: number, limitPerMetric: number): Record<string, MetricMetadata[]>;
}

export interface QueryApiDeps {
  queryable: Queryable;
  engine: Engine;
  tenancy: TenancyConfig;
  metadata?: MetadataSource;
}

type ParamsHandler = (params: URLSearchParams, tenant: string, signal: AbortSignal) => Promise<ApiResult> | ApiResult;

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
      sendResult(res, await fn(params, tenant, ac.signal));
    } catch (e) {
      sendResult(res, failure(e));
    } finally {
      res.off('close', onClose);
    }
  };
}

export function mountQueryApi(router: Router, deps: QueryApiDeps): void {
  const q = (tenant: string) => deps.queryable.querier(tenant);
  const both = ['GET', 'POST'];
  router.add(both, '/api/v1/query', wrap(deps, (p, t, signal) => instantQueryHandler(p, q(t), deps.engine, signal)));
  router.add(both, '/api/v1/query_range', wrap(deps, (p, t, signal) => rangeQueryHandler(p, q(t), deps.engine, signal)));
  router.add('POST', '/api/v1/read', createRemoteReadHandler(deps.queryable, deps.tenancy));
  router.add(both, '/api/v1/format_query', wrap(deps, (p) => formatQueryHandler(p)));
  router.add(both, '/api/v1/parse_query', wrap(deps, (p) => parseQueryHandler(p)));
  router.add(both, '/api/v1/series', wrap(deps, (p, t, signal) => seriesHandler(p, q(t), signal)));
  router.add(both, '/api/v1/labels', wrap(deps, (p, t, signal) => labelNamesHandler(p, q(t), signal)));
  router.add('GET', '/api/v1/label/:name/values', async (req, res, params) =>
    wrap(deps, (p, t, signal) => labelValuesHandler(params.name, p, q(t), signal))(req, res),
  );
  router.add('GET', '/api/v1/metadata', wrap(deps, (p, t) => {
    const limit = p.has('limit') ? Number(p.get('limit')) : -1;
    const limitPerMetric = p.has('limit_per_metric') ? Number(p.get('limit_per_metric')) : -1;
    const metric = p.get('metric') ?? undefined;
    return success(deps.metadata ? deps.metadata.metadata(t, metric, limit, limitPerMetric) : {});
  }));
}
