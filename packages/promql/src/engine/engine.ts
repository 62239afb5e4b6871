/** The PromQL engine: instant and range queries over any Querier, with limits and timeouts. */
import { Labels, StrataError, type FloatHistogram, type Querier } from '@strata/model';
import { typeOf, type Expr } from '../ast.js';
import { parse } from '../parser/parser.js';
import { DurationError, resolveDurations } from '../duration.js';
import { DEFAULT_ENGINE_OPTIONS, EvalContext, type EngineOptions } from './context.js';
import { Evaluator, finalizeSeries } from './evaluator.js';
import { statsSelectors } from './histogram-stats.js';
import { outputLabels } from './values.js';
import type { Value } from './values.js';

export interface InstantSample {
  labels: Labels;
  t: number;
  v: number;
  /** Set when the sample is a native histogram (v is then unused). */
  h?: FloatHistogram;
}

export interface RangeSeries {
  labels: Labels;
  timestamps: Float64Array;
  values: Float64Array;
  /** Native histogram points parallel to timestamps; absent for float-only series. */
  histograms?: (FloatHistogram | undefined)[];
}

export type QueryResult =
  | { resultType: 'vector'; vector: InstantSample[] }
  | { resultType: 'scalar'; t: number; v: number }
  | { resultType: 'string'; t: number; value: string }
  | { resultType: 'matrix'; matrix: RangeSeries[] };

export interface QueryOutcome {
  result: QueryResult;
  warnings: string[];
  infos: string[];
}

export interface QueryOptions {
  signal?: AbortSignal;
  timeoutMs?: number;
  /** The query text when an Expr is passed, for positions in annotations. */
  text?: string;
  /** max_source_resolution in ms, or 'auto' (step/5); unset: the engine's defaultResolution. */
  maxResolution?: number | 'auto';
  /**
   * The text an Expr was parsed from, for executors that parse it again elsewhere (a query worker);
   * unlike `text` it does not change annotations. The Engine itself ignores it.
   */
  source?: string;
}

export class Engine {
  readonly opts: EngineOptions;

  constructor(opts: Partial<EngineOptions> = {}) {
    this.opts = { ...DEFAULT_ENGINE_OPTIONS, ...opts };
  }

  async instantQuery(q: Querier, query: string | Expr, timeMs: number, o: QueryOptions = {}): Promise<QueryOutcome> {
    const expr = typeof query === 'string' ? parse(query) : query;
    return this.run(q, expr, timeMs, timeMs, 0, true, { ...o, text: o.text ?? (typeof query === 'string' ? query : '') });
  }

  async rangeQuery(
    q: Querier,
    query: string | Expr,
    startMs: number,
    endMs: number,
    stepMs: number,
    o: QueryOptions = {},
  ): Promise<QueryOutcome> {
    const expr = typeof query === 'string' ? parse(query) : query;
    const t = typeOf(expr);
    if (t !== 'scalar' && t !== 'vector') {
      throw new StrataError(
        'bad-query',
        `invalid expression type "${t === 'matrix' ? 'range vector' : t}" for range query, must be Scalar or instant Vector`,
      );
    }
    return this.run(q, expr, startMs, endMs, stepMs, false, { ...o, text: o.text ?? (typeof query === 'string' ? query : '') });
  }

  private async run(
    q: Querier,
    expr: Expr,
    start: number,
    end: number,
    step: number,
    instant: boolean,
    o: QueryOptions,
  ): Promise<QueryOutcome> {
    const timeoutMs = o.timeoutMs ?? this.opts.timeoutMs;
    const ac = new AbortController();
    const timer = setTimeout(
      () => ac.abort(new StrataError('query-timeout', `query timed out in expression evaluation (timeout ${timeoutMs / 1000}s)`)),
      timeoutMs,
    );
    const onAbort = () => ac.abort(new StrataError('query-canceled', 'query was canceled'));
    o.signal?.addEventListener('abort', onAbort);
    try {
      const n = instant ? 1 : Math.floor((end - start) / step) + 1;
      const steps = new Float64Array(n);
      for (let i = 0; i < n; i++) steps[i] = start + i * step;
      const res = o.maxResolution ?? this.opts.defaultResolution;
      const maxResolution = res === 'auto' ? (instant ? 0 : Math.floor(step / 5)) : res;
      const ctx = new EvalContext(q, this.opts, start, end, ac.signal, timeoutMs, instant ? 0 : step, maxResolution);
      expr = resolveQueryDurations(expr, instant ? 0 : step, end - start);
      ctx.query = o.text ?? '';
      ctx.statsSelectors = statsSelectors(expr);
      const ev = new Evaluator(ctx, steps);
      const v = await ev.eval(expr);
      ctx.throwIfCancelled();
      return { result: toResult(v, steps, instant, expr), warnings: [...ctx.warnings], infos: [...ctx.infos] };
    } catch (e) {
      if (ac.signal.aborted && ac.signal.reason instanceof StrataError && !(e instanceof StrataError && e.id !== 'internal'))
        throw ac.signal.reason;
      if (e instanceof Error && e.name === 'AbortError' && ac.signal.reason instanceof StrataError) throw ac.signal.reason;
      throw e;
    } finally {
      clearTimeout(timer);
      o.signal?.removeEventListener('abort', onAbort);
    }
  }
}

function toResult(v: Value, steps: Float64Array, instant: boolean, expr: Expr): QueryResult {
  if (v.type === 'string') return { resultType: 'string', t: steps[0], value: v.value };
  if (v.type === 'scalar') {
    if (instant) return { resultType: 'scalar', t: steps[0], v: v.values[0] };
    return { resultType: 'matrix', matrix: [{ labels: Labels.EMPTY, timestamps: Float64Array.from(steps), values: v.values }] };
  }
  if (v.type === 'matrix') {
    // An instant query of a range vector returns the window's raw samples.
    const t = v.stepTimes[0];
    const matrix: RangeSeries[] = [];
    for (const s of v.series) {
      let from = 0;
      while (from < s.timestamps.length && s.timestamps[from] <= t - v.range) from++;
      let to = from;
      while (to < s.timestamps.length && s.timestamps[to] <= t) to++;
      if (to > from)
        matrix.push({
          labels: outputLabels(s),
          timestamps: s.timestamps.slice(from, to),
          values: s.values.slice(from, to),
          ...(s.histograms ? { histograms: s.histograms.slice(from, to) } : {}),
        });
    }
    return { resultType: 'matrix', matrix };
  }
  const series = finalizeSeries(v.series);
  if (instant) {
    const vector: InstantSample[] = [];
    for (const s of series) {
      if (!s.present[0]) continue;
      const h = s.histograms?.[0];
      vector.push(h ? { labels: s.labels, t: steps[0], v: 0, h } : { labels: s.labels, t: steps[0], v: s.values[0] });
    }
    sortInstant(vector, expr);
    return { resultType: 'vector', vector };
  }
  const matrix: RangeSeries[] = [];
  for (const s of series) {
    let k = 0;
    for (let i = 0; i < steps.length; i++) if (s.present[i]) k++;
    if (k === 0) continue;
    const ts = new Float64Array(k);
    const vs = new Float64Array(k);
    const hs = s.histograms ? new Array<FloatHistogram | undefined>(k) : undefined;
    k = 0;
    for (let i = 0; i < steps.length; i++) {
      if (!s.present[i]) continue;
      ts[k] = steps[i];
      vs[k] = s.values[i];
      if (hs) hs[k] = s.histograms![i];
      k++;
    }
    matrix.push({ labels: s.labels, timestamps: ts, values: vs, ...(hs ? { histograms: hs } : {}) });
  }
  matrix.sort((a, b) => Labels.compare(a.labels, b.labels));
  return { resultType: 'matrix', matrix };
}

/** Instant results of sort*() and topk/bottomk come ordered; others by labels. */
function sortInstant(vector: InstantSample[], expr: Expr): void {
  let e = expr;
  while (e.kind === 'ParenExpr') e = e.expr;
  const byValue = (desc: boolean) => (a: InstantSample, b: InstantSample) => {
    if (Number.isNaN(a.v)) return Number.isNaN(b.v) ? 0 : 1;
    if (Number.isNaN(b.v)) return -1;
    return desc ? b.v - a.v : a.v - b.v;
  };
  if (e.kind === 'Call' && (e.func === 'sort' || e.func === 'sort_desc')) {
    vector.sort(byValue(e.func === 'sort_desc'));
    return;
  }
  if (e.kind === 'Call' && (e.func === 'sort_by_label' || e.func === 'sort_by_label_desc')) {
    const names = e.args.slice(1).map((a) => (a.kind === 'StringLiteral' ? a.value : ''));
    const desc = e.func === 'sort_by_label_desc';
    vector.sort((a, b) => {
      for (const n of names) {
        const c = a.labels.get(n).localeCompare(b.labels.get(n), undefined, { numeric: true });
        if (c !== 0) return desc ? -c : c;
      }
      const c = Labels.compare(a.labels, b.labels);
      return desc ? -c : c;
    });
    return;
  }
  if (e.kind === 'AggregateExpr' && (e.op === 'topk' || e.op === 'bottomk')) {
    vector.sort(byValue(e.op === 'topk'));
    return;
  }
  vector.sort((a, b) => Labels.compare(a.labels, b.labels));
}

/**
 * step() and range() in durations set for this query, before anything reads a range: a range of
 * range()*1000 is then held to the same limits as one written out. Prometheus' refusals of a
 * duration are the query's fault (400).
 */
export function resolveQueryDurations(expr: Expr, stepMs: number, rangeMs: number): Expr {
  try {
    return resolveDurations(expr, stepMs, rangeMs);
  } catch (e) {
    if (e instanceof DurationError) throw new StrataError('bad-query', e.offset >= 0 ? `${e.offset}: ${e.message}` : e.message);
    throw e;
  }
}
