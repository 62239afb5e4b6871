/**
 * /api/v1/query and /api/v1/query_range exactly as Prometheus answers them: parameters, result
 * JSON (values as strings, "NaN", "+Inf"), warnings and infos, errors with errorType.
 */
import { StrataError, type Querier } from '@strata/model';
import { EncodedJson, parseDurationParam, parseResolution, parseTime, success, type ApiResult } from '@strata/api';
import { astToJson, formatExpr, ParseError, parse, type Expr, type QueryOutcome } from '@strata/promql';
import { resultJson } from './result-json.js';
import type { EncodedOutcome, PromqlExecutor } from './worker-pool.js';

export { resultJson };

/** Prometheus refuses range queries with more points per series than this. */
export const MAX_POINTS_PER_SERIES = 11_000;

function parseQuery(params: URLSearchParams): Expr {
  const q = params.get('query');
  if (q === null || q === '') throw new StrataError('bad-query', 'invalid parameter "query": no query specified');
  try {
    return parse(q);
  } catch (e) {
    if (e instanceof ParseError) throw new StrataError('bad-query', `invalid parameter "query": ${e.message}`);
    throw e;
  }
}

/** /api/v1/format_query: the query in canonical form. */
export function formatQueryHandler(params: URLSearchParams): ApiResult {
  return success(formatExpr(parseQuery(params)));
}

/** /api/v1/parse_query: the syntax tree as JSON. */
export function parseQueryHandler(params: URLSearchParams): ApiResult {
  return success(astToJson(parseQuery(params)));
}

/** Thanos' max_source_resolution parameter; unset: the engine's default (--query.default-resolution). */
function maxResolution(params: URLSearchParams): number | 'auto' | undefined {
  const r = params.get('max_source_resolution');
  return r === null || r === '' ? undefined : parseResolution(r);
}

function timeout(params: URLSearchParams, engine: PromqlExecutor): number {
  const t = params.get('timeout');
  if (!t) return engine.opts.timeoutMs;
  return Math.min(parseDurationParam(t, 'timeout'), engine.opts.timeoutMs);
}

export async function instantQueryHandler(
  params: URLSearchParams,
  q: Querier,
  engine: PromqlExecutor,
  signal: AbortSignal,
  now = Date.now(),
): Promise<ApiResult> {
  const expr = parseQuery(params);
  const source = params.get('query')!;
  const t = params.has('time') ? parseTime(params.get('time')!, 'time') : now;
  const o = { signal, timeoutMs: timeout(params, engine), maxResolution: maxResolution(params), source };
  const limit = limitOf(params);
  // Workers answer with the JSON encoded: this thread only writes the bytes.
  if (engine.instantQueryJson) return respondEncoded(await engine.instantQueryJson(q, expr, t, o, limit));
  return respond(await engine.instantQuery(q, expr, t, o), limit);
}

export async function rangeQueryHandler(
  params: URLSearchParams,
  q: Querier,
  engine: PromqlExecutor,
  signal: AbortSignal,
): Promise<ApiResult> {
  const expr = parseQuery(params);
  const source = params.get('query')!;
  for (const p of ['start', 'end', 'step']) {
    if (!params.get(p)) throw new StrataError('bad-query', `invalid parameter "${p}": missing`);
  }
  const start = parseTime(params.get('start')!, 'start');
  const end = parseTime(params.get('end')!, 'end');
  if (end < start) throw new StrataError('bad-query', 'invalid parameter "end": end timestamp must not be before start time');
  const step = parseDurationParam(params.get('step')!, 'step');
  if (step <= 0)
    throw new StrataError(
      'bad-query',
      'invalid parameter "step": zero or negative query resolution step widths are not accepted. Try a positive integer',
    );
  if ((end - start) / step > MAX_POINTS_PER_SERIES) {
    throw new StrataError(
      'too-many-points',
      'exceeded maximum resolution of 11,000 points per timeseries. Try decreasing the query resolution (?step=XX)',
    );
  }
  const o = { signal, timeoutMs: timeout(params, engine), maxResolution: maxResolution(params), source };
  const limit = limitOf(params);
  if (engine.rangeQueryJson) return respondEncoded(await engine.rangeQueryJson(q, expr, start, end, step, o, limit));
  return respond(await engine.rangeQuery(q, expr, start, end, step, o), limit);
}

function limitOf(params: URLSearchParams): number {
  if (!params.has('limit')) return 0;
  const n = Number(params.get('limit'));
  if (!Number.isInteger(n) || n < 0) throw new StrataError('bad-query', 'invalid parameter "limit": must be a non-negative integer');
  return n;
}

function respond(out: QueryOutcome, limit: number): ApiResult {
  const warnings = [...out.warnings];
  const data = resultJson(out.result, limit, warnings);
  return success(data, warnings, out.infos);
}

/** The same envelope as respond(), around data a worker encoded (its warnings include the truncation one). */
function respondEncoded(out: EncodedOutcome): ApiResult {
  return success(new EncodedJson(out.json), out.warnings, out.infos);
}
