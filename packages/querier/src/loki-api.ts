/**
 * Loki's read API over a LogQueryable, with its parameters, defaults and JSON shapes: what Grafana's
 * Loki data source and logcli call. Errors are plain text with the status, as Loki answers them.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Labels, StrataError, toStrataError, type Matcher } from '@strata/model';
import {
  computeVolumes,
  DEFAULT_VOLUME_LIMIT,
  DEFAULT_VOLUME_MAX_SERIES,
  evaluateLogql,
  LogqlParseError,
  mergeLogQueriers,
  parseLogql,
  type LogQuerier,
  type LogQueryable,
  type LogqlExpr,
  type LogqlResult,
  type LogqlStats,
  volumeBuckets,
  volumeMatchers,
  type VolumeRequest,
  type VolumeSeries,
} from '@strata/logs';
import { readParams, tenantOf, type Router, type TenancyConfig, type TenantLimits } from '@strata/api';

export interface LokiApiDeps {
  /** The receiver's heads. */
  logs: LogQueryable;
  /**
   * The bucket's log blocks (the store gateway's): merged with the heads stream by stream, by
   * time, with repeated entries dropped, so a query spanning a cut answers as before it.
   */
  bucketLogs?: LogQueryable;
  tenancy: TenancyConfig;
  limits?: (tenant: string) => TenantLimits;
  /** For tests: the current time in ns. */
  nowNs?: () => bigint;
}

export const LOKI_DEFAULTS = {
  limit: 100,
  maxEntriesLimitPerQuery: 5000,
  maxQuerySeries: 500,
  queryTimeoutMs: 60_000,
  /** Loki's default look-back of query_range and of the label and series endpoints. */
  queryRangeSinceNs: 3_600_000_000_000n,
  labelsSinceNs: 6n * 3_600_000_000_000n,
  maxPointsPerSeries: 11_000,
};

const NS_PER_S = 1_000_000_000n;

/** The tenant's logs: the heads, merged with the bucket's log blocks when there are some. */
export function querierOf(deps: Pick<LokiApiDeps, 'logs' | 'bucketLogs'>, tenant: string): LogQuerier {
  const head = deps.logs.logQuerier(tenant);
  return deps.bucketLogs ? mergeLogQueriers([deps.bucketLogs.logQuerier(tenant), head]) : head;
}

/** Loki's timestamp parameter: float seconds (with a dot), integer seconds (≤ 10 digits), integer ns, or RFC 3339. */
export function parseLokiTime(value: string | null, def: bigint, param: string): bigint {
  if (value === null || value === '') return def;
  if (value.includes('.') && /^[+-]?\d*\.\d*(e[+-]?\d+)?$/i.test(value)) {
    const f = Number(value);
    if (Number.isFinite(f)) {
      const s = Math.trunc(f);
      const ms = Math.round((f - s) * 1000);
      return BigInt(s) * NS_PER_S + BigInt(ms) * 1_000_000n;
    }
  }
  if (/^[+-]?\d+$/.test(value)) {
    const n = BigInt(value);
    return value.replace(/^[+-]/, '').length <= 10 ? n * NS_PER_S : n;
  }
  const m = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}:\d{2})$/i.exec(value);
  if (m) {
    const ms = Date.parse(m[1] + m[3]);
    if (!Number.isNaN(ms)) return BigInt(ms) * 1_000_000n + BigInt((m[2] ?? '').padEnd(9, '0') || '0');
  }
  throw new StrataError('bad-query', `invalid ${param}: cannot parse "${value}" to a valid timestamp`);
}

/** Loki's step/interval: a Prometheus duration (`5m`) or float seconds, in ns. */
function parseStep(value: string, param: string): bigint {
  const f = Number(value);
  if (value.trim() !== '' && Number.isFinite(f)) return BigInt(Math.round(f * 1e9));
  const m = /^(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?(?:(\d+)ms)?$/.exec(value);
  if (!m || value === '') throw new StrataError('bad-query', `invalid ${param}: cannot parse "${value}" to a valid duration`);
  const [d, h, mi, s, ms] = m.slice(1).map((x) => BigInt(x ?? 0));
  return ((((d * 24n + h) * 60n + mi) * 60n + s) * 1000n + ms) * 1_000_000n;
}

export function parseQueryParam(params: URLSearchParams, name = 'query'): LogqlExpr {
  const q = params.get(name);
  if (q === null || q === '') throw new StrataError('bad-query', `parse error : query is required`);
  try {
    return parseLogql(q);
  } catch (e) {
    if (e instanceof LogqlParseError) throw new StrataError('bad-query', e.message);
    throw e;
  }
}

export function intParam(params: URLSearchParams, name: string, def: number): number {
  const v = params.get(name);
  if (v === null || v === '') return def;
  if (!/^\d+$/.test(v)) throw new StrataError('bad-query', `invalid ${name}: "${v}" is not a non-negative integer`);
  return Number(v);
}

function directionParam(params: URLSearchParams): 'forward' | 'backward' {
  const d = (params.get('direction') ?? 'backward').toLowerCase();
  if (d !== 'forward' && d !== 'backward')
    throw new StrataError('bad-query', `invalid direction "${params.get('direction')}": must be forward or backward`);
  return d;
}

function labelsObject(l: Labels): Record<string, string> {
  const o: Record<string, string> = {};
  for (let i = 0; i < l.pairs.length; i += 2) o[l.pairs[i]] = l.pairs[i + 1];
  return o;
}

function formatValue(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  return String(v);
}

/** Sample timestamps as Loki writes them: float seconds. */
const seconds = (ns: bigint): number => Number(ns / 1_000_000n) / 1000;

function statsJson(s: LogqlStats, execSeconds: number): unknown {
  const rate = (n: number) => (execSeconds > 0 ? Math.round(n / execSeconds) : 0);
  return {
    summary: {
      bytesProcessedPerSecond: rate(s.bytesProcessed),
      linesProcessedPerSecond: rate(s.linesProcessed),
      totalBytesProcessed: s.bytesProcessed,
      totalLinesProcessed: s.linesProcessed,
      totalEntriesReturned: s.entriesReturned,
      execTime: execSeconds,
      queueTime: 0,
      subqueries: 0,
      totalPostFilterLines: s.entriesReturned,
    },
    // Strata's own section (Loki has no sampling): lines the tenant's log_sampling rules left
    // out at ingest from the streams and range this query read.
    strata: { sampledOutLines: s.sampledOutLines, sampledOutBytes: s.sampledOutBytes },
  };
}

/** The `data` of a query answer: Loki's resultType/result/stats. */
export function resultJson(r: LogqlResult, instant: boolean, execSeconds: number): unknown {
  const stats = statsJson(r.stats, execSeconds);
  switch (r.type) {
    case 'streams':
      return {
        resultType: 'streams',
        result: r.streams.map((s) => ({
          stream: labelsObject(s.labels),
          values: s.timestampsNs.map((t, i) => [t.toString(), s.lines[i]]),
        })),
        stats,
      };
    case 'scalar':
      return { resultType: 'scalar', result: [seconds(r.timestampNs), formatValue(r.value)], stats };
    case 'matrix':
      if (instant)
        return {
          resultType: 'vector',
          result: r.series.map((s) => ({ metric: labelsObject(s.labels), value: [seconds(s.timestampsNs[0]), formatValue(s.values[0])] })),
          stats,
        };
      return {
        resultType: 'matrix',
        result: r.series.map((s) => ({
          metric: labelsObject(s.labels),
          values: s.timestampsNs.map((t, i) => [seconds(t), formatValue(s.values[i])]),
        })),
        stats,
      };
  }
}

interface Request {
  params: URLSearchParams;
  querier: LogQuerier;
  limits: TenantLimits | undefined;
  signal: AbortSignal;
  nowNs: bigint;
}

type Answer = { json: unknown } | { status: number; text: string };

function send(res: ServerResponse, a: Answer): void {
  const [status, type, body] =
    'json' in a ? [200, 'application/json', JSON.stringify(a.json)] : [a.status, 'text/plain; charset=utf-8', a.text];
  res.writeHead(status, { 'Content-Type': type, 'Content-Length': Buffer.byteLength(body) });
  res.end(body);
}

function handler(deps: LokiApiDeps, fn: (r: Request) => Promise<unknown>) {
  return async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const ac = new AbortController();
    const onClose = () => {
      if (!res.writableEnded) ac.abort();
    };
    res.on('close', onClose);
    try {
      const params = await readParams(req);
      const tenant = tenantOf(req, deps.tenancy);
      const limits = deps.limits?.(tenant);
      const nowNs = deps.nowNs ? deps.nowNs() : BigInt(Date.now()) * 1_000_000n;
      send(res, { json: await fn({ params, querier: querierOf(deps, tenant), limits, signal: ac.signal, nowNs }) });
    } catch (e) {
      const err = e instanceof LogqlParseError ? new StrataError('bad-query', e.message) : toStrataError(e);
      send(res, { status: err.status, text: err.detail });
    } finally {
      res.off('close', onClose);
    }
  };
}

/** Runs a query under the tenant's query_timeout; the evaluator stops at its next check of the signal. */
async function withTimeout<T>(r: Request, run: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const timeoutMs = r.limits?.queryTimeout || LOKI_DEFAULTS.queryTimeoutMs;
  const ac = new AbortController();
  const onAbort = () => ac.abort();
  r.signal.addEventListener('abort', onAbort);
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    ac.abort();
  }, timeoutMs);
  try {
    return await run(ac.signal);
  } catch (e) {
    if (timedOut) throw new StrataError('query-timeout', `query timed out after ${timeoutMs / 1000}s (query_timeout)`);
    throw e;
  } finally {
    clearTimeout(timer);
    r.signal.removeEventListener('abort', onAbort);
  }
}

function checkQueryLength(r: Request, startNs: bigint, endNs: bigint, expr: LogqlExpr): void {
  const max = r.limits?.maxQueryLength;
  if (!max) return;
  const lookback = expr.k === 'log' ? 0n : maxRange(expr);
  const lengthMs = Number((endNs - startNs + lookback) / 1_000_000n);
  if (lengthMs > max)
    throw new StrataError(
      'max-query-length',
      `the query time range exceeds the limit (query length: ${lengthMs / 1000}s, limit: ${max / 1000}s); configure the tenant's max_query_length to raise it`,
    );
}

function maxRange(e: LogqlExpr): bigint {
  switch (e.k) {
    case 'range':
      return e.rangeNs + e.offsetNs;
    case 'agg':
    case 'label_replace':
      return maxRange(e.inner);
    case 'binary': {
      const a = maxRange(e.lhs);
      const b = maxRange(e.rhs);
      return a > b ? a : b;
    }
    default:
      return 0n;
  }
}

function entriesLimit(r: Request, expr: LogqlExpr): number {
  const limit = intParam(r.params, 'limit', LOKI_DEFAULTS.limit);
  const max = r.limits?.maxEntriesLimitPerQuery ?? LOKI_DEFAULTS.maxEntriesLimitPerQuery;
  if (expr.k === 'log' && max > 0 && limit > max)
    throw new StrataError(
      'logql-max-entries',
      `max entries limit per query exceeded, limit > max_entries_limit_per_query (${limit} > ${max})`,
    );
  return limit;
}

async function queryRange(r: Request): Promise<unknown> {
  const expr = parseQueryParam(r.params);
  const endNs = parseLokiTime(r.params.get('end'), r.nowNs, 'end');
  const startNs = parseLokiTime(r.params.get('start'), endNs - LOKI_DEFAULTS.queryRangeSinceNs, 'start');
  if (endNs < startNs) throw new StrataError('bad-query', 'end timestamp must not be before or equal to start time');
  const stepParam = r.params.get('step');
  // Loki's default step: a 250th of the range, at least one second.
  let stepNs = stepParam ? parseStep(stepParam, 'step') : ((endNs - startNs) / 250n / NS_PER_S) * NS_PER_S;
  if (!stepParam && stepNs < NS_PER_S) stepNs = NS_PER_S;
  if (stepNs <= 0n)
    throw new StrataError('bad-query', 'zero or negative query resolution step widths are not accepted. Try a positive integer');
  if (expr.k !== 'log' && (endNs - startNs) / stepNs > BigInt(LOKI_DEFAULTS.maxPointsPerSeries))
    throw new StrataError(
      'too-many-points',
      'exceeded maximum resolution of 11,000 points per timeseries. Try decreasing the query resolution (?step=XX)',
    );
  checkQueryLength(r, startNs, endNs, expr);
  const limit = entriesLimit(r, expr);
  const t0 = performance.now();
  const result = await withTimeout(r, (signal) =>
    evaluateLogql(expr, r.querier, {
      startNs,
      endNs,
      stepNs,
      limit,
      direction: directionParam(r.params),
      signal,
      maxSeries: r.limits?.maxQuerySeries ?? LOKI_DEFAULTS.maxQuerySeries,
    }),
  );
  return { status: 'success', data: resultJson(result, false, (performance.now() - t0) / 1000) };
}

async function instantQuery(r: Request): Promise<unknown> {
  const expr = parseQueryParam(r.params);
  if (expr.k === 'log')
    throw new StrataError(
      'bad-query',
      'log queries are not supported as an instant query type, please change your query to a range query type',
    );
  const t = parseLokiTime(r.params.get('time'), r.nowNs, 'time');
  checkQueryLength(r, t, t, expr);
  const t0 = performance.now();
  const result = await withTimeout(r, (signal) =>
    evaluateLogql(expr, r.querier, {
      startNs: t,
      endNs: t,
      stepNs: 0n,
      limit: intParam(r.params, 'limit', LOKI_DEFAULTS.limit),
      direction: directionParam(r.params),
      signal,
      maxSeries: r.limits?.maxQuerySeries ?? LOKI_DEFAULTS.maxQuerySeries,
    }),
  );
  return { status: 'success', data: resultJson(result, true, (performance.now() - t0) / 1000) };
}

/** The window of the label, series and index endpoints: `start`/`end`, or `since` back from the end (default 6h). */
function metadataWindow(r: Request): { startNs: bigint; endNs: bigint } {
  const endNs = parseLokiTime(r.params.get('end'), r.nowNs, 'end');
  const since = r.params.get('since');
  const def = endNs - (since ? parseStep(since, 'since') : LOKI_DEFAULTS.labelsSinceNs);
  return { startNs: parseLokiTime(r.params.get('start'), def, 'start'), endNs };
}

/** The stream selector of an optional `query`/`match[]` parameter (pipelines are ignored, as Loki does for metadata). */
function selectorOf(text: string): readonly Matcher[] {
  let e: LogqlExpr;
  try {
    e = parseLogql(text);
  } catch (err) {
    if (err instanceof LogqlParseError) throw new StrataError('bad-query', err.message);
    throw err;
  }
  if (e.k !== 'log') throw new StrataError('bad-query', `parse error : only a stream selector is allowed here, got "${text}"`);
  return e.matchers;
}

async function labelNames(r: Request): Promise<unknown> {
  const w = metadataWindow(r);
  const q = r.params.get('query');
  const names = await r.querier.labelNames(q ? selectorOf(q) : [], { ...w, signal: r.signal });
  return { status: 'success', data: names };
}

async function labelValues(r: Request, name: string): Promise<unknown> {
  const w = metadataWindow(r);
  const q = r.params.get('query');
  const values = await r.querier.labelValues(name, q ? selectorOf(q) : [], { ...w, signal: r.signal });
  return { status: 'success', data: values };
}

async function series(r: Request): Promise<unknown> {
  const w = metadataWindow(r);
  const selectors = [...r.params.getAll('match[]'), ...r.params.getAll('match')];
  if (selectors.length === 0) throw new StrataError('bad-query', 'at least one match[] argument is required');
  const seen = new Map<string, Labels>();
  for (const s of selectors) for (const l of await r.querier.series(selectorOf(s), { ...w, signal: r.signal })) seen.set(l.key(), l);
  return { status: 'success', data: [...seen.values()].sort(Labels.compare).map(labelsObject) };
}

async function indexStats(r: Request): Promise<unknown> {
  const w = metadataWindow(r);
  const matchers = selectorOf(r.params.get('query') ?? '');
  const streams = await r.querier.selectLogs(matchers, { ...w, signal: r.signal });
  let entries = 0;
  let bytes = 0;
  for (const s of streams) {
    entries += s.lines.length;
    for (const l of s.lines) bytes += Buffer.byteLength(l);
  }
  // The seam has no chunk count: each stream with entries counts as one chunk.
  return { streams: streams.length, chunks: streams.length, entries, bytes };
}

/** Loki's volume parameters: `limit` (0 means 100), `targetLabels` (comma-separated), `aggregateBy` (series or labels). */
function volumeRequest(r: Request): VolumeRequest {
  const limitText = r.params.get('limit');
  const limit = limitText ? Number(limitText) : DEFAULT_VOLUME_LIMIT;
  if (!Number.isInteger(limit)) throw new StrataError('bad-query', `invalid limit: cannot parse "${limitText}"`);
  if (limit < 0) throw new StrataError('bad-query', 'limit must be a positive value');
  const aggregateBy = r.params.get('aggregateBy') || 'series';
  if (aggregateBy !== 'series' && aggregateBy !== 'labels') throw new StrataError('bad-query', 'invalid aggregation option');
  const targets = r.params.get('targetLabels') ?? '';
  return {
    matchers: selectorOf(r.params.get('query') ?? ''),
    targetLabels: targets === '' ? [] : targets.split(','),
    aggregateBy,
    limit: limit === 0 ? DEFAULT_VOLUME_LIMIT : limit,
    maxSeries: r.limits?.volumeMaxSeries ?? DEFAULT_VOLUME_MAX_SERIES,
  };
}

/** The volume window: `start`/`end`, or `since` (default 1h, Loki's) back from the end. */
function volumeWindow(r: Request): { startNs: bigint; endNs: bigint } {
  const endNs = parseLokiTime(r.params.get('end'), r.nowNs, 'end');
  const since = r.params.get('since');
  const startNs = parseLokiTime(
    r.params.get('start'),
    endNs - (since ? parseStep(since, 'since') : LOKI_DEFAULTS.queryRangeSinceNs),
    'start',
  );
  if (endNs < startNs) throw new StrataError('bad-query', 'end timestamp must not be before or equal to start time');
  return { startNs, endNs };
}

async function volumeSeries(r: Request, startNs: bigint, endNs: bigint, stepNs: bigint): Promise<VolumeSeries[]> {
  const req = volumeRequest(r);
  const buckets = volumeBuckets(startNs, endNs, stepNs);
  // The buckets cover [start, end], end included, as Loki's `through`.
  const streams = await withTimeout(r, (signal) => r.querier.selectLogs(volumeMatchers(req), { startNs, endNs: endNs + 1n, signal }));
  return computeVolumes(streams, buckets, req);
}

/** `data` as Loki's volume middleware answers it: a vector when every series has one sample, else a matrix. */
function volumeJson(series: VolumeSeries[]): unknown {
  if (series.every((s) => s.samples.length <= 1))
    return {
      resultType: 'vector',
      result: series.map((s) => ({ metric: s.metric, value: [seconds(s.samples[0][0]), String(s.samples[0][1])] })),
    };
  return {
    resultType: 'matrix',
    result: series.map((s) => ({ metric: s.metric, values: s.samples.map(([t, v]) => [seconds(t), String(v)]) })),
  };
}

async function indexVolume(r: Request): Promise<unknown> {
  const w = volumeWindow(r);
  return { status: 'success', data: volumeJson(await volumeSeries(r, w.startNs, w.endNs, 0n)) };
}

async function indexVolumeRange(r: Request): Promise<unknown> {
  const w = volumeWindow(r);
  const stepParam = r.params.get('step');
  // Loki's default step, as for query_range: a 250th of the range, at least one second.
  let stepNs = stepParam ? parseStep(stepParam, 'step') : ((w.endNs - w.startNs) / 250n / NS_PER_S) * NS_PER_S;
  if (!stepParam && stepNs < NS_PER_S) stepNs = NS_PER_S;
  if (stepNs <= 0n)
    throw new StrataError('bad-query', 'zero or negative query resolution step widths are not accepted. Try a positive integer');
  if ((w.endNs - w.startNs) / stepNs > BigInt(LOKI_DEFAULTS.maxPointsPerSeries))
    throw new StrataError(
      'too-many-points',
      'exceeded maximum resolution of 11,000 points per timeseries. Try decreasing the query resolution (?step=XX)',
    );
  return { status: 'success', data: volumeJson(await volumeSeries(r, w.startNs, w.endNs, stepNs)) };
}

export const LOKI_BUILD_INFO = {
  version: '3.0.0',
  revision: 'strata',
  branch: 'main',
  buildUser: 'strata',
  buildDate: '',
  goVersion: '',
};

export function mountLokiApi(router: Router, deps: LokiApiDeps): void {
  const both = ['GET', 'POST'];
  router.add(both, '/loki/api/v1/query_range', handler(deps, queryRange));
  router.add(both, '/loki/api/v1/query', handler(deps, instantQuery));
  router.add(both, '/loki/api/v1/labels', handler(deps, labelNames));
  router.add(both, '/loki/api/v1/label', handler(deps, labelNames));
  router.add(both, '/loki/api/v1/label/:name/values', (req, res, params) => handler(deps, (r) => labelValues(r, params.name))(req, res));
  router.add(both, '/loki/api/v1/series', handler(deps, series));
  router.add(both, '/loki/api/v1/index/stats', handler(deps, indexStats));
  router.add(both, '/loki/api/v1/index/volume', handler(deps, indexVolume));
  router.add(both, '/loki/api/v1/index/volume_range', handler(deps, indexVolumeRange));
  router.add('GET', '/loki/api/v1/status/buildinfo', (_req, res) => send(res, { json: LOKI_BUILD_INFO }));
}
