/**
 * The query frontend: the Prometheus read API in front of one or more queriers. Range queries
 * are split by interval, answered from the results cache where possible, the rest executed in
 * parallel through the per-tenant queue and merged; every other read endpoint is passed through
 * the same queue. See split.ts, results-cache.ts, generations.ts and tenant-queue.ts.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { StrataError, toStrataError } from '@strata/model';
import { parse, resolveQueryDurations, type Expr } from '@strata/promql';
import {
  failure,
  limitHint,
  parseDurationParam,
  parseTime,
  readParams,
  sendResult,
  tenantOf,
  writeUpgradeError,
  type Router,
  type TenancyConfig,
  type TenantLimits,
} from '@strata/api';
import type { CacheBackend } from './cache-backend.js';
import { dataWindow, type DataWindow } from './data-window.js';
import { passedHeaders, requestWithRetries, type Downstream, type DownstreamResponse } from './downstream.js';
import type { Generations } from './generations.js';
import { FrontendMetrics } from './metrics.js';
import { answerBody, answerOf, hasHistograms, mergeAnswers, vectorBody, type RangeAnswer } from './range-result.js';
import { asExtent, cacheKey, combine, decodeExtent, encodeExtent, extentBytes, missingRanges } from './results-cache.js';
import { alignToStep, splitRange, splittable, type SubRange } from './split.js';
import { TenantQueue } from './tenant-queue.js';
import { applyLookbackToMetadata, limitRange } from './query-limits.js';
import { shardPlan, type ShardPlan } from './shard.js';
import { compositeShardPlan } from './shard-composite.js';
import { mergeSeries, mergeStrings, splitSpan, type Piece } from './metadata-split.js';
import { proxyUpgrade } from './upgrade-proxy.js';

export interface QueryFrontendOptions {
  downstream: Downstream;
  tenancy: TenancyConfig;
  splitIntervalMs: number;
  alignQueriesWithStep: boolean;
  /** Sub-queries of one query executing at once (a tenant's max_query_parallelism overrides it). */
  maxQueryParallelism: number;
  /**
   * Per-tenant limits the frontend enforces before a query runs: max_query_length,
   * max_total_query_length, max_query_lookback, max_estimated_query_cost, max_query_parallelism.
   */
  limits?: (tenant: string) => TenantLimits;
  /** Shards of a shardable query when the tenant's limits do not say (query_sharding_total_shards); 0 or 1: none. */
  totalShards?: number;
  /** Sub-queries executing downstream at once over all tenants (the queriers' capacity). */
  downstreamConcurrency: number;
  maxOutstandingPerTenant: number;
  retries: number;
  /** undefined: no results cache. */
  cache?: CacheBackend;
  maxCacheFreshnessMs: number;
  generations: Generations;
  /** The queriers' --query.lookback-delta and default subquery step: how far back a step reads. */
  lookbackDeltaMs: number;
  defaultSubqueryStepMs: number;
  slowQueryMs: number;
  logger: Logger;
  registry: Registry;
  now?: () => number;
}

/** A downstream answer that is not a success: sent to the client as the querier sent it. */
class DownstreamFailure extends Error {
  constructor(readonly response: DownstreamResponse) {
    super(`downstream answered ${response.status}`);
  }
}

/** What one query did, for its stats log line. */
interface QueryStats {
  splits: number;
  cacheHits: number;
  cachePartial: number;
  cacheMisses: number;
  queueMs: number;
  downstreamRequests: number;
  shards: number;
}

/** Parameters of query_range that are not sent on: the frontend sets them per sub-query. */
const RANGE_OWN = new Set(['query', 'start', 'end', 'step']);

export class QueryFrontend {
  private readonly queue: TenantQueue;
  private readonly metrics: FrontendMetrics;
  private readonly now: () => number;

  constructor(private readonly opts: QueryFrontendOptions) {
    this.metrics = new FrontendMetrics(opts.registry);
    this.queue = new TenantQueue({
      concurrency: opts.downstreamConcurrency,
      maxOutstandingPerTenant: opts.maxOutstandingPerTenant,
      onQueueLength: (n) => this.metrics.queueLength.set(n),
    });
    this.now = opts.now ?? Date.now;
  }

  mount(router: Router): void {
    const both = ['GET', 'POST'];
    router.add(both, '/api/v1/query_range', (req, res) => this.serve(req, res, 'query_range', (ctx) => this.rangeQuery(ctx)));
    router.add(both, '/api/v1/query', (req, res) => this.serve(req, res, 'query', (ctx) => this.instantQuery(ctx)));
    router.add(both, '/api/v1/series', (req, res) =>
      this.serve(req, res, 'series', (ctx) => this.metadataQuery(ctx, '/api/v1/series', 'series')),
    );
    router.add(both, '/api/v1/labels', (req, res) =>
      this.serve(req, res, 'labels', (ctx) => this.metadataQuery(ctx, '/api/v1/labels', 'strings')),
    );
    const passed = ['/api/v1/format_query', '/api/v1/parse_query', '/api/v1/metadata'];
    for (const p of passed) router.add(both, p, (req, res) => this.serve(req, res, p.slice('/api/v1/'.length), (ctx) => this.pass(ctx, p)));
    router.add(both, '/api/v1/label/:name/values', (req, res, params) =>
      this.serve(req, res, 'label_values', (ctx) =>
        this.metadataQuery(ctx, `/api/v1/label/${encodeURIComponent(params.name)}/values`, 'strings'),
      ),
    );
    router.add('POST', '/api/v1/read', (req, res) => this.serve(req, res, 'read', (ctx) => this.passRaw(ctx, '/api/v1/read')));
    router.add('GET', '/api/v1/status/stores', (req, res) =>
      this.serve(req, res, 'status_stores', (ctx) => this.pass(ctx, '/api/v1/status/stores')),
    );
    // Cardinality and the Loki read API are passed on whole, through the same per-tenant queue
    // and limits as PromQL: a tenant's heavy cardinality report or log query waits its turn.
    for (const [methods, p, endpoint] of PASSED_ROUTES)
      router.add(methods, p, (req, res, params) => this.serve(req, res, endpoint, (ctx) => this.pass(ctx, fillPath(p, params))));
    // Loki's live tail is a WebSocket: passed through to a querier by the upgrade proxy, not queued.
    router.addUpgrade('/loki/api/v1/tail', (req, socket, head) => this.tail(req, socket, head));
  }

  private async tail(req: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    let status: number;
    try {
      const tenant = tenantOf(req, this.opts.tenancy);
      status = await proxyUpgrade(this.opts.downstream, req, socket, head, tenant, this.opts.tenancy.header);
    } catch (e) {
      const err = toStrataError(e);
      writeUpgradeError(socket, err);
      status = err.status;
    }
    this.metrics.queries.inc({ endpoint: 'loki_tail', status_code: String(status) });
  }

  private async serve(
    req: IncomingMessage,
    res: ServerResponse,
    endpoint: string,
    fn: (ctx: RequestContext) => Promise<DownstreamResponse>,
  ): Promise<void> {
    const started = performance.now();
    const ac = new AbortController();
    const onClose = () => {
      if (!res.writableEnded) {
        this.metrics.canceled.inc();
        ac.abort();
      }
    };
    res.on('close', onClose);
    const stats: QueryStats = { splits: 0, cacheHits: 0, cachePartial: 0, cacheMisses: 0, queueMs: 0, downstreamRequests: 0, shards: 0 };
    let tenant = '';
    let params: URLSearchParams | undefined;
    let status = 500;
    try {
      tenant = tenantOf(req, this.opts.tenancy);
      const ctx: RequestContext = { req, tenant, signal: ac.signal, stats, params: undefined };
      if (endpoint !== 'read') ctx.params = params = await readParams(req);
      const out = await fn(ctx);
      status = out.status;
      const headers: Record<string, string> = { 'Content-Type': out.headers['content-type'] ?? 'application/json' };
      if (out.headers['content-encoding']) headers['Content-Encoding'] = out.headers['content-encoding'];
      if (out.headers['retry-after']) headers['Retry-After'] = out.headers['retry-after'];
      headers['Content-Length'] = String(out.body.length);
      if (!res.destroyed) {
        res.writeHead(out.status, headers);
        res.end(out.body);
      }
    } catch (e) {
      const err = e instanceof DownstreamFailure ? undefined : toStrataError(e);
      if (e instanceof DownstreamFailure) {
        status = e.response.status;
        const headers: Record<string, string> = { 'Content-Type': e.response.headers['content-type'] ?? 'application/json' };
        if (e.response.headers['retry-after']) headers['Retry-After'] = e.response.headers['retry-after'];
        if (!res.destroyed) {
          res.writeHead(status, headers);
          res.end(e.response.body);
        }
      } else {
        if (err!.id === 'too-many-outstanding-requests') this.metrics.rejected.inc();
        const r = failure(err);
        status = r.status;
        if (!res.destroyed) sendResult(res, r);
      }
    } finally {
      res.off('close', onClose);
      const secs = (performance.now() - started) / 1000;
      this.metrics.queries.inc({ endpoint, status_code: String(status) });
      this.metrics.duration.observe({ endpoint }, secs);
      this.logStats(endpoint, tenant, params, status, secs, stats, ac.signal.aborted);
    }
  }

  private logStats(
    endpoint: string,
    tenant: string,
    params: URLSearchParams | undefined,
    status: number,
    secs: number,
    s: QueryStats,
    canceled: boolean,
  ): void {
    const slow = this.opts.slowQueryMs > 0 && secs * 1000 >= this.opts.slowQueryMs;
    const level = slow ? 'warn' : 'info';
    if (!this.opts.logger.isLevelEnabled(level)) return;
    this.opts.logger[level](
      {
        endpoint,
        tenant,
        query: params?.get('query') ?? undefined,
        start: params?.get('start') ?? undefined,
        end: params?.get('end') ?? undefined,
        step: params?.get('step') ?? undefined,
        status,
        durationMs: Math.round(secs * 1000 * 10) / 10,
        queueMs: Math.round(s.queueMs * 10) / 10,
        splits: s.splits,
        shards: s.shards,
        cacheHits: s.cacheHits,
        cachePartial: s.cachePartial,
        cacheMisses: s.cacheMisses,
        downstreamRequests: s.downstreamRequests,
        canceled,
      },
      slow ? 'slow query' : 'query stats',
    );
  }

  /** One request downstream through the tenant's queue, retried on 5xx. */
  private async downstream(ctx: RequestContext, method: 'GET' | 'POST', path: string, body?: Buffer, ctype?: string) {
    const headers = passedHeaders(ctx.req.headers, this.opts.tenancy.header);
    if (ctype) headers['content-type'] = ctype;
    const { value, queueMs } = await this.queue.run(ctx.tenant, ctx.signal, () => {
      ctx.stats.downstreamRequests++;
      return requestWithRetries(
        this.opts.downstream,
        { method, path, headers, body, signal: ctx.signal, tenant: ctx.tenant },
        { retries: this.opts.retries, backoffMs: 50, onRetry: (r) => this.metrics.retries.inc({ reason: String(r) }) },
      );
    });
    ctx.stats.queueMs += queueMs;
    this.metrics.queueDuration.observe(queueMs / 1000);
    return value;
  }

  /** The request as the client sent it (some querier endpoints answer GET only). */
  private pass(ctx: RequestContext, path: string): Promise<DownstreamResponse> {
    const params = ctx.params!.toString();
    if (ctx.req.method !== 'POST') return this.downstream(ctx, 'GET', params ? `${path}?${params}` : path);
    return this.downstream(ctx, 'POST', path, Buffer.from(params), 'application/x-www-form-urlencoded');
  }

  private async passRaw(ctx: RequestContext, path: string): Promise<DownstreamResponse> {
    const chunks: Buffer[] = [];
    for await (const c of ctx.req as AsyncIterable<Buffer>) chunks.push(c);
    const url = new URL(ctx.req.url ?? '/', 'http://localhost');
    return this.downstream(ctx, 'POST', path + url.search, Buffer.concat(chunks));
  }

  private tenantLimits(tenant: string): TenantLimits | undefined {
    return this.opts.limits?.(tenant);
  }

  /**
   * Instant queries are checked against the tenant's limits; a shardable one is answered from its
   * shards (each a one-step range query at the query's time, merged as range answers are), any
   * other is passed on whole.
   */
  private async instantQuery(ctx: RequestContext): Promise<DownstreamResponse> {
    const p = ctx.params!;
    const limits = this.tenantLimits(ctx.tenant);
    let expr: Expr;
    let resolved: Expr;
    let time: number;
    try {
      expr = parse(p.get('query') ?? '');
      // The windows are those of the ranges the engine will evaluate: step() and range() are 0 here.
      resolved = resolveQueryDurations(expr, 0, 0);
      time = p.has('time') ? parseTime(p.get('time')!, 'time') : this.now();
    } catch {
      return this.pass(ctx, '/api/v1/query');
    }
    if (limits) {
      const back = dataWindow(resolved, this.opts.lookbackDeltaMs, this.opts.defaultSubqueryStepMs).back;
      if (!limitRange({ start: time, end: time, step: 0 }, back, limits, this.now())) return emptyAnswer('vector');
      const form = new URLSearchParams(p);
      form.set('time', String(time / 1000));
      await this.checkCost(ctx, limits, form);
    }
    const shards = limits?.queryShardingTotalShards ?? this.opts.totalShards ?? 0;
    const plan = shards > 1 && !p.has('limit') ? (shardPlan(expr) ?? compositeShardPlan(expr)) : undefined;
    if (!plan) return this.pass(ctx, '/api/v1/query');
    ctx.shard = { plan, of: shards };
    ctx.stats.shards = shards;
    this.metrics.sharded.inc();
    ctx.slots = new Slots(limits?.maxQueryParallelism || this.opts.maxQueryParallelism);
    const extra = new URLSearchParams();
    for (const [k, v] of p) if (k !== 'query' && k !== 'time') extra.append(k, v);
    extra.sort();
    // One step: the step's length does not matter, only that it is positive.
    const answer = await this.fetchRange(ctx, time, time, 1000, extra);
    return { status: 200, headers: { 'content-type': 'application/json' }, body: Buffer.from(JSON.stringify(vectorBody(answer))) };
  }

  /**
   * Refuses a query whose estimated cost (asked of the querier, which counts each selector's
   * series in the stores' indexes) is over the tenant's max_estimated_query_cost, before it runs.
   */
  private async checkCost(ctx: RequestContext, limits: TenantLimits, form: URLSearchParams): Promise<void> {
    const max = limits.maxEstimatedQueryCost ?? 0;
    if (!(max > 0)) return;
    const res = await this.downstream(ctx, 'POST', QUERY_COST_PATH, Buffer.from(form.toString()), 'application/x-www-form-urlencoded');
    if (res.status !== 200) throw new DownstreamFailure(res);
    const est = (JSON.parse(res.body.toString('utf8')) as { data: CostEstimate }).data;
    if (est.cost <= max) return;
    const worst = [...est.selectors].sort((a, b) => b.series * b.evaluations - a.series * a.evaluations)[0];
    throw new StrataError(
      'max-estimated-query-cost',
      `the query's estimated cost is ${est.cost} (series × evaluations over its selectors; the costliest, ${worst.selector}, matches ${worst.series} series evaluated ${worst.evaluations} times), above the limit of ${max} (err-strata-max-estimated-query-cost); add label matchers, shorten the range or raise the step, or ${limitHint('maxEstimatedQueryCost')}`,
    );
  }

  /**
   * Label names, label values and series over a time range: split at the split interval and each
   * piece answered from the results cache when all of it is older than the freshness window
   * (metadata-split.ts). Requests without a range or with a limit go whole.
   */
  private async metadataQuery(ctx: RequestContext, path: string, kind: 'strings' | 'series'): Promise<DownstreamResponse> {
    const p = ctx.params!;
    if (!applyLookbackToMetadata(p, this.tenantLimits(ctx.tenant)?.maxQueryLookback ?? 0, this.now())) return emptyList();
    const interval = this.opts.splitIntervalMs;
    if (!this.opts.cache || !p.has('start') || !p.has('end') || p.has('limit') || interval >= Number.MAX_SAFE_INTEGER)
      return this.pass(ctx, path);
    let start: number;
    let end: number;
    try {
      start = parseTime(p.get('start')!, 'start');
      end = parseTime(p.get('end')!, 'end');
    } catch {
      return this.pass(ctx, path);
    }
    // Unbounded or reversed ranges are the querier's to answer (and to refuse).
    if (!(end >= start) || !Number.isFinite(start) || !Number.isFinite(end) || (end - start) / interval > 400) return this.pass(ctx, path);
    const pieces = splitSpan(start, end, interval);
    // Without a piece to cache, splitting would only repeat the index lookups: the request goes whole.
    if (!pieces.some((x) => this.metadataCacheable(x))) return this.pass(ctx, path);
    ctx.stats.splits = pieces.length;
    const rest = new URLSearchParams(p);
    rest.delete('start');
    rest.delete('end');
    rest.sort();
    const answers: unknown[][] = new Array(pieces.length);
    const warnings = new Set<string>();
    await forEachBounded(pieces, this.tenantLimits(ctx.tenant)?.maxQueryParallelism || this.opts.maxQueryParallelism, async (piece, i) => {
      answers[i] = await this.metadataPiece(ctx, path, rest, piece, warnings);
    });
    const data = kind === 'strings' ? mergeStrings(answers as string[][]) : mergeSeries(answers as Record<string, string>[][]);
    const out: Record<string, unknown> = { status: 'success', data };
    if (warnings.size > 0) out.warnings = [...warnings];
    return { status: 200, headers: { 'content-type': 'application/json' }, body: Buffer.from(JSON.stringify(out)) };
  }

  /**
   * The head answers label requests as a whole whenever its range meets the request's, so a
   * piece the head still covers changes as new series arrive: pieces are cached only once the
   * head has moved past them (it spans at most 1.5 block ranges of 2h before it is cut).
   */
  private metadataCacheable(piece: Piece): boolean {
    return piece.end < this.now() - Math.max(this.opts.maxCacheFreshnessMs, METADATA_FRESHNESS_MS);
  }

  private async metadataPiece(
    ctx: RequestContext,
    path: string,
    rest: URLSearchParams,
    piece: Piece,
    warnings: Set<string>,
  ): Promise<unknown[]> {
    const cache = this.opts.cache!;
    const cacheable = this.metadataCacheable(piece);
    const key = cacheKey({
      epoch: this.opts.generations.epoch,
      tenant: ctx.tenant,
      // The piece's own bounds: a part of a day answers differently from the whole day.
      query: `${path}\u0000${rest.toString()}\u0000${piece.start}\u0000${piece.end}`,
      step: 0,
      gridPhase: 0,
      splitIndex: piece.index,
      splitInterval: this.opts.splitIntervalMs,
      generation: this.opts.generations.sum(ctx.tenant, piece.start, piece.end),
    });
    if (cacheable) {
      const hit = cache.getObject
        ? cache.getObject(key)
        : await cache.get(key).then((b) => (b ? JSON.parse(b.toString('utf8')) : undefined));
      this.metrics.cacheLookups.inc({ result: Array.isArray(hit) ? 'hit' : 'miss' });
      if (Array.isArray(hit)) {
        ctx.stats.cacheHits++;
        return hit;
      }
      ctx.stats.cacheMisses++;
    }
    const form = new URLSearchParams(rest);
    form.set('start', String(piece.start / 1000));
    form.set('end', String(piece.end / 1000));
    const res = await this.downstream(ctx, 'POST', path, Buffer.from(form.toString()), 'application/x-www-form-urlencoded');
    if (res.status !== 200) throw new DownstreamFailure(res);
    const body = JSON.parse(res.body.toString('utf8')) as { status?: string; data?: unknown; warnings?: string[] };
    if (body.status !== 'success' || !Array.isArray(body.data))
      throw new StrataError('internal', `the downstream querier answered ${path} with something other than a list`);
    for (const w of body.warnings ?? []) warnings.add(w);
    if (cacheable && !body.warnings?.length) {
      const bytes = res.body.length;
      this.metrics.cacheStoredBytes.inc(bytes);
      if (cache.setObject) cache.setObject(key, body.data, bytes);
      else await cache.set(key, Buffer.from(JSON.stringify(body.data)));
    }
    return body.data;
  }

  private async rangeQuery(ctx: RequestContext): Promise<DownstreamResponse> {
    const plan = this.plan(ctx.params!);
    // Anything the frontend cannot plan (bad parameters, a query that does not parse) goes to the
    // querier unchanged, which answers with exactly its own error.
    if (!plan) return this.pass(ctx, '/api/v1/query_range');
    const { expr, resolved, step, extra } = plan;
    let { start, end } = plan;
    if (this.opts.alignQueriesWithStep) ({ start, end } = alignToStep(start, end, step));
    const limits = this.tenantLimits(ctx.tenant);
    if (limits) {
      const back = dataWindow(resolved, this.opts.lookbackDeltaMs, this.opts.defaultSubqueryStepMs).back;
      const limited = limitRange({ start, end, step }, back, limits, this.now());
      if (!limited) return emptyAnswer('matrix');
      ({ start, end } = limited);
      const form = new URLSearchParams(extra);
      form.set('query', ctx.params!.get('query')!);
      form.set('start', String(start / 1000));
      form.set('end', String(end / 1000));
      form.set('step', String(step / 1000));
      await this.checkCost(ctx, limits, form);
    }
    const parallelism = limits?.maxQueryParallelism || this.opts.maxQueryParallelism;
    ctx.slots = new Slots(parallelism);
    const shards = limits?.queryShardingTotalShards ?? this.opts.totalShards ?? 0;
    // A series limit counts series of the whole answer, which no shard sees.
    const sharding = shards > 1 && !ctx.params!.has('limit') ? (shardPlan(expr) ?? compositeShardPlan(expr)) : undefined;
    if (sharding) {
      ctx.shard = { plan: sharding, of: shards };
      ctx.stats.shards = shards;
      this.metrics.sharded.inc();
    }
    const split = splittable(expr) && !ctx.params!.has('limit');
    const subs: SubRange[] = split ? splitRange(start, end, step, this.opts.splitIntervalMs) : [{ start, end, index: -1 }];
    ctx.stats.splits = subs.length;
    this.metrics.splits.inc(subs.length);
    const window = dataWindow(resolved, this.opts.lookbackDeltaMs, this.opts.defaultSubqueryStepMs);
    const answers: RangeAnswer[] = new Array(subs.length);
    await forEachBounded(subs, parallelism, async (sub, i) => {
      answers[i] =
        this.opts.cache && split
          ? await this.cachedSplit(ctx, sub, step, extra, window)
          : await this.fetchRange(ctx, sub.start, sub.end, step, extra);
    });
    const body = Buffer.from(JSON.stringify(answerBody(mergeAnswers(answers))));
    return { status: 200, headers: { 'content-type': 'application/json' }, body };
  }

  /** `resolved`: expr with step() and range() in its durations set for this query (the ranges the engine evaluates). */
  private plan(
    p: URLSearchParams,
  ): { expr: Expr; resolved: Expr; start: number; end: number; step: number; extra: URLSearchParams } | undefined {
    const q = p.get('query');
    const [s, e, st] = [p.get('start'), p.get('end'), p.get('step')];
    if (!q || !s || !e || !st) return undefined;
    try {
      const expr = parse(q);
      const start = parseTime(s, 'start');
      const end = parseTime(e, 'end');
      const step = parseDurationParam(st, 'step');
      if (!(step > 0) || end < start || (end - start) / step > 11_000) return undefined;
      const extra = new URLSearchParams();
      for (const [k, v] of p) if (!RANGE_OWN.has(k)) extra.append(k, v);
      extra.sort();
      return { expr, resolved: resolveQueryDurations(expr, step, end - start), start, end, step, extra };
    } catch {
      return undefined;
    }
  }

  /** The answer for [start, end]: one query downstream, or every shard's queries merged. */
  private async fetchRange(ctx: RequestContext, start: number, end: number, step: number, extra: URLSearchParams): Promise<RangeAnswer> {
    if (!ctx.shard) return this.fetchOne(ctx, ctx.params!.get('query')!, start, end, step, extra);
    const { plan, of } = ctx.shard;
    const perShard = await Promise.all(
      Array.from({ length: of }, (_, i) =>
        Promise.all(
          plan.queries(i, of).map((q) => {
            this.metrics.shardQueries.inc();
            return this.fetchOne(ctx, q, start, end, step, extra);
          }),
        ),
      ),
    );
    // Shards' partial aggregates of native histograms would have to be added bucket by bucket,
    // which their JSON form does not allow exactly: such a query is answered whole.
    if (hasHistograms(perShard.flat())) return this.fetchOne(ctx, ctx.params!.get('query')!, start, end, step, extra);
    return plan.merge(perShard, { start, end, step, signal: ctx.signal });
  }

  private async fetchOne(
    ctx: RequestContext,
    query: string,
    start: number,
    end: number,
    step: number,
    extra: URLSearchParams,
  ): Promise<RangeAnswer> {
    const form = new URLSearchParams(extra);
    form.set('query', query);
    form.set('start', String(start / 1000));
    form.set('end', String(end / 1000));
    form.set('step', String(step / 1000));
    const send = () =>
      this.downstream(ctx, 'POST', '/api/v1/query_range', Buffer.from(form.toString()), 'application/x-www-form-urlencoded');
    // max_query_parallelism bounds every request of the query in flight: splits and shards together.
    const res = await (ctx.slots ? ctx.slots.run(send) : send());
    if (res.status !== 200) throw new DownstreamFailure(res);
    let answer: RangeAnswer | undefined;
    try {
      answer = answerOf(JSON.parse(res.body.toString('utf8')));
    } catch {
      answer = undefined;
    }
    if (!answer) throw new StrataError('internal', 'the downstream querier answered a range query with something other than a matrix');
    return answer;
  }

  private async cachedSplit(ctx: RequestContext, sub: SubRange, step: number, extra: URLSearchParams, w: DataWindow): Promise<RangeAnswer> {
    const cache = this.opts.cache!;
    const interval = this.opts.splitIntervalMs;
    // Read before anything downstream (see generations.ts for why this order is safe).
    const now = this.now();
    const freshFrom = now - this.opts.maxCacheFreshnessMs;
    const generation = this.generationOf(ctx.tenant, sub.index * interval, (sub.index + 1) * interval - 1, w);
    const key = cacheKey({
      epoch: this.opts.generations.epoch,
      tenant: ctx.tenant,
      // Shards sum in another order: their answers may differ from the whole query's in the last bits.
      query: ctx.params!.get('query') + '\u0000' + extra.toString() + (ctx.shard ? `\u0000shards=${ctx.shard.of}` : ''),
      step,
      gridPhase: ((sub.start % step) + step) % step,
      splitIndex: sub.index,
      splitInterval: interval,
      generation,
    });
    const cached = cache.getObject ? asExtent(cache.getObject(key)) : decodeExtent(await cache.get(key));
    const missing = missingRanges(sub.start, sub.end, step, cached);
    if (missing.length === 0) ctx.stats.cacheHits++;
    else if (cached && missing.length > 0 && !(cached.end < sub.start || cached.start > sub.end)) ctx.stats.cachePartial++;
    else ctx.stats.cacheMisses++;
    this.metrics.cacheLookups.inc({ result: missing.length === 0 ? 'hit' : cached ? 'partial' : 'miss' });
    const fetched = await Promise.all(
      missing.map(async (m) => ({ start: m.start, end: m.end, answer: await this.fetchRange(ctx, m.start, m.end, step, extra) })),
    );
    // A step is cacheable once everything it reads is older than the freshness window (strictly:
    // a receiver bumps generations only for samples before its own now minus the window).
    let until = w.forward === -Infinity ? Infinity : freshFrom - w.forward - 1;
    if (w.fixed && w.fixed.max > freshFrom) until = -Infinity;
    const { answer, store } = combine(sub.start, sub.end, step, cached, fetched, until);
    if (store && cache.setObject) {
      // Kept as the object it is: nothing in the frontend changes an answer once it is built.
      const bytes = extentBytes(store);
      this.metrics.cacheStoredBytes.inc(bytes);
      cache.setObject(key, store, bytes);
    } else if (store) {
      const bytes = encodeExtent(store);
      this.metrics.cacheStoredBytes.inc(bytes.length);
      await cache.set(key, bytes);
    }
    return answer;
  }

  /** The generation of every bucket the steps of [from, to] can read. */
  private generationOf(tenant: string, from: number, to: number, w: DataWindow): number {
    const g = this.opts.generations;
    let sum = w.back === -Infinity ? 0 : g.sum(tenant, from - w.back, to + w.forward);
    if (w.fixed) sum += g.sum(tenant, w.fixed.min, w.fixed.max);
    return sum;
  }
}

const GET_POST = ['GET', 'POST'];

/** Read endpoints the frontend passes on unchanged: [methods, path, endpoint label of the metrics]. */
const PASSED_ROUTES: readonly (readonly [string[], string, string])[] = [
  [['GET'], '/api/v1/status/tsdb', 'status_tsdb'],
  // Mimir's cardinality API, and Strata's growth and sketches.
  [GET_POST, '/api/v1/cardinality/label_names', 'cardinality_label_names'],
  [GET_POST, '/api/v1/cardinality/label_values', 'cardinality_label_values'],
  [GET_POST, '/api/v1/cardinality/active_series', 'cardinality_active_series'],
  [GET_POST, '/api/v1/cardinality/growth', 'cardinality_growth'],
  [GET_POST, '/api/v1/cardinality/sketches', 'cardinality_sketches'],
  // Loki's read API (its push goes to receivers; its tail, a WebSocket, goes through the upgrade proxy).
  [GET_POST, '/loki/api/v1/query_range', 'loki_query_range'],
  [GET_POST, '/loki/api/v1/query', 'loki_query'],
  [GET_POST, '/loki/api/v1/labels', 'loki_labels'],
  [GET_POST, '/loki/api/v1/label', 'loki_labels'],
  [GET_POST, '/loki/api/v1/label/:name/values', 'loki_label_values'],
  [GET_POST, '/loki/api/v1/series', 'loki_series'],
  [GET_POST, '/loki/api/v1/index/stats', 'loki_index_stats'],
  [GET_POST, '/loki/api/v1/index/volume', 'loki_index_volume'],
  [GET_POST, '/loki/api/v1/index/volume_range', 'loki_index_volume_range'],
  [['GET'], '/loki/api/v1/status/buildinfo', 'loki_buildinfo'],
];

/** A route's path with its `:name` parts filled in from the request's parameters. */
function fillPath(route: string, params: Record<string, string>): string {
  return route.replace(/:([a-z]+)/g, (_m, name: string) => encodeURIComponent(params[name] ?? ''));
}

/** The success answer with no series (a query wholly before max_query_lookback). */
function emptyList(): DownstreamResponse {
  return { status: 200, headers: { 'content-type': 'application/json' }, body: Buffer.from('{"status":"success","data":[]}') };
}

function emptyAnswer(resultType: 'matrix' | 'vector'): DownstreamResponse {
  const body = Buffer.from(JSON.stringify({ status: 'success', data: { resultType, result: [] } }));
  return { status: 200, headers: { 'content-type': 'application/json' }, body };
}

/** What the querier's cost endpoint answers (packages/querier/src/query-cost.ts). */
interface CostEstimate {
  cost: number;
  selectors: { selector: string; series: number; evaluations: number }[];
}

/** How old the end of a label or series request's piece must be to be cached (see metadataPiece). */
const METADATA_FRESHNESS_MS = 6 * 3_600_000;

/** The querier's cost estimate endpoint. */
const QUERY_COST_PATH = '/api/v1/query_cost';

interface RequestContext {
  req: IncomingMessage;
  tenant: string;
  signal: AbortSignal;
  stats: QueryStats;
  params: URLSearchParams | undefined;
  /** Set for a sharded query. */
  shard?: { plan: ShardPlan; of: number };
  /** The query's downstream requests in flight, at most max_query_parallelism. */
  slots?: Slots;
}

/** A counting semaphore. */
class Slots {
  private free: number;
  private readonly waiting: (() => void)[] = [];

  constructor(n: number) {
    this.free = Math.max(1, n);
  }

  async run<T>(fn: () => Promise<T>): Promise<T> {
    if (this.free > 0) this.free--;
    else await new Promise<void>((resolve) => this.waiting.push(resolve));
    try {
      return await fn();
    } finally {
      const next = this.waiting.shift();
      if (next) next();
      else this.free++;
    }
  }
}

/** Runs fn over items with at most `limit` at once; the first failure rejects (others still settle). */
async function forEachBounded<T>(items: readonly T[], limit: number, fn: (item: T, i: number) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      await fn(items[i], i);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker));
}
