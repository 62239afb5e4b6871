/**
 * Query sharding (Mimir's design): an aggregation over an expression in which every output series
 * depends on one input series alone ("series-local": selectors under per-series functions and
 * arithmetic with constants) is computed per shard of the series, each shard selecting the series
 * whose label hash falls in it (`__query_shard__="i_of_n"` added to every selector, honoured by
 * the stores), and the shards' partial aggregates are combined here:
 *
 *   sum, count        -> sum of the shards' sums / counts
 *   min, max, group   -> min / max of the shards' values (group's are all 1)
 *   avg               -> the shards' sum and count, divided after summing both
 *   topk, bottomk     -> the k best, per group and step, of the shards' k best
 *
 * Anything else (nested aggregations, binary operations between vectors, functions across series
 * such as histogram_quantile or label_replace, non-constant parameters) is not sharded here; an
 * expression built on such aggregations may be, by shard-composite.ts.
 */
import { Labels, queryShardMatcher, type Matcher } from '@strata/model';
import { formatExpr, formatFloat, usesQueryDurations, type Expr } from '@strata/promql';
import type { MatrixSeriesJson, RangeAnswer } from './range-result.js';

type AggregateExpr = Extract<Expr, { kind: 'AggregateExpr' }>;

/** Functions whose output series at a step is a function of one input series (and constants). */
const SERIES_LOCAL_FUNCTIONS = new Set([
  'abs',
  'ceil',
  'floor',
  'round',
  'exp',
  'ln',
  'log2',
  'log10',
  'sqrt',
  'sgn',
  'clamp',
  'clamp_min',
  'clamp_max',
  'timestamp',
  'rate',
  'irate',
  'increase',
  'delta',
  'idelta',
  'deriv',
  'predict_linear',
  'resets',
  'changes',
  'avg_over_time',
  'min_over_time',
  'max_over_time',
  'sum_over_time',
  'count_over_time',
  'last_over_time',
  'present_over_time',
  'stddev_over_time',
  'stdvar_over_time',
  'quantile_over_time',
  'acos',
  'acosh',
  'asin',
  'asinh',
  'atan',
  'atanh',
  'cos',
  'cosh',
  'sin',
  'sinh',
  'tan',
  'tanh',
  'deg',
  'rad',
]);

function unparen(e: Expr): Expr {
  while (e.kind === 'ParenExpr') e = e.expr;
  return e;
}

/** A number known before evaluation (a literal, possibly signed or parenthesised). */
function isConstant(e: Expr): boolean {
  e = unparen(e);
  if (e.kind === 'NumberLiteral') return true;
  return e.kind === 'UnaryExpr' && isConstant(e.expr);
}

/** Whether every series e yields comes from one selected series, and e selects something. */
function seriesLocal(e: Expr): boolean {
  switch (e.kind) {
    case 'VectorSelector':
    case 'MatrixSelector':
      return true;
    case 'ParenExpr':
    case 'UnaryExpr':
    case 'SubqueryExpr':
      return seriesLocal(e.expr);
    case 'Call': {
      if (!SERIES_LOCAL_FUNCTIONS.has(e.func)) return false;
      const vectors = e.args.filter((a) => !isConstant(a));
      return vectors.length === 1 && seriesLocal(vectors[0]);
    }
    case 'BinaryExpr': {
      if (['and', 'or', 'unless'].includes(e.op)) return false;
      if (isConstant(e.lhs)) return seriesLocal(e.rhs);
      if (isConstant(e.rhs)) return seriesLocal(e.lhs);
      return false;
    }
    default:
      return false;
  }
}

/** The expression with the shard's matcher added to every selector. */
function withShard(e: Expr, m: Matcher): Expr {
  switch (e.kind) {
    case 'NumberLiteral':
    case 'StringLiteral':
      return e;
    case 'VectorSelector':
      return { ...e, matchers: [...e.matchers, m] };
    case 'MatrixSelector':
      return { ...e, vectorSelector: { ...e.vectorSelector, matchers: [...e.vectorSelector.matchers, m] } };
    case 'SubqueryExpr':
    case 'ParenExpr':
    case 'UnaryExpr':
      return { ...e, expr: withShard(e.expr, m) };
    case 'Call':
      return { ...e, args: e.args.map((a) => withShard(a, m)) };
    case 'AggregateExpr':
      return { ...e, expr: withShard(e.expr, m), param: e.param && withShard(e.param, m) };
    case 'BinaryExpr':
      return { ...e, lhs: withShard(e.lhs, m), rhs: withShard(e.rhs, m) };
  }
}

type Combine = 'sum' | 'min' | 'max' | 'avg' | 'topk' | 'bottomk';

export interface ShardPlan {
  /** The queries one shard runs (one per leg; avg has two: its sum and its count). */
  queries(index: number, of: number): string[];
  /** The answer of the whole query from every shard's answers, perShard[shard][leg]. */
  merge(perShard: readonly (readonly RangeAnswer[])[], range: MergeRange): RangeAnswer | Promise<RangeAnswer>;
}

/** The steps the shards' answers are on, for plans that evaluate something over them (shard-composite.ts). */
export interface MergeRange {
  start: number;
  end: number;
  step: number;
  signal?: AbortSignal;
}

/** How expr is sharded, or undefined when it is not shardable. */
export function shardPlan(query: Expr): ShardPlan | undefined {
  const e = unparen(query);
  // A shard of an instant query runs as a one-step range query, whose step() is not the query's.
  if (e.kind !== 'AggregateExpr' || !seriesLocal(e.expr) || usesQueryDurations(e)) return undefined;
  let combine: Combine;
  let legs: AggregateExpr[] = [e];
  let k = 0;
  switch (e.op) {
    case 'sum':
    case 'count':
      combine = 'sum';
      break;
    case 'min':
    case 'max':
      combine = e.op;
      break;
    case 'group':
      combine = 'max';
      break;
    case 'avg':
      combine = 'avg';
      legs = [
        { ...e, op: 'sum' },
        { ...e, op: 'count' },
      ];
      break;
    case 'topk':
    case 'bottomk': {
      const p = e.param && unparen(e.param);
      if (!p || p.kind !== 'NumberLiteral' || !Number.isInteger(p.value) || p.value < 1 || p.value > 1e6) return undefined;
      combine = e.op;
      k = p.value;
      break;
    }
    default:
      return undefined;
  }
  return {
    queries: (index, of) => legs.map((l) => formatExpr(withShard(l, queryShardMatcher(index, of)))),
    merge: (perShard) => mergeShards(perShard, combine, k, e),
  };
}

const ms = (sec: number): number => Math.round(sec * 1000);

/** Values per series and step (ms), summed / min'd / max'd over the shards. */
interface Accumulated {
  metric: Record<string, string>;
  labels: Labels;
  /** step ms -> [seconds as sent, value] */
  at: Map<number, [number, number]>;
}

function accumulate(
  answers: readonly RangeAnswer[],
  into: Map<string, Accumulated>,
  fold: (have: number, v: number) => number,
): Map<string, Accumulated> {
  for (const a of answers) {
    for (const s of a.series) {
      const labels = Labels.fromObject(s.metric);
      const key = labels.key();
      let acc = into.get(key);
      if (!acc) into.set(key, (acc = { metric: s.metric, labels, at: new Map() }));
      for (const [sec, str] of s.values ?? []) {
        const t = ms(sec);
        const v = Number(str);
        const have = acc.at.get(t);
        if (have) have[1] = fold(have[1], v);
        else acc.at.set(t, [sec, v]);
      }
    }
  }
  return into;
}

/** Prometheus' min and max: NaN only when every value is NaN. */
const FOLDS: Record<'sum' | 'min' | 'max', (a: number, b: number) => number> = {
  sum: (a, b) => a + b,
  min: (a, b) => (Number.isNaN(a) || b < a ? b : a),
  max: (a, b) => (Number.isNaN(a) || b > a ? b : a),
};

function toSeries(accs: Iterable<Accumulated>, value: (acc: Accumulated, t: number, v: number) => number): MatrixSeriesJson[] {
  const out: { labels: Labels; s: MatrixSeriesJson }[] = [];
  for (const acc of accs) {
    const steps = [...acc.at.entries()].sort((a, b) => a[0] - b[0]);
    const values: [number, string][] = steps.map(([t, [sec, v]]) => [sec, formatFloat(value(acc, t, v))]);
    if (values.length > 0) out.push({ labels: acc.labels, s: { metric: acc.metric, values } });
  }
  out.sort((a, b) => Labels.compare(a.labels, b.labels));
  return out.map((x) => x.s);
}

function notes(perShard: readonly (readonly RangeAnswer[])[]): { warnings: string[]; infos: string[] } {
  const warnings = new Set<string>();
  const infos = new Set<string>();
  for (const legs of perShard)
    for (const a of legs) {
      for (const w of a.warnings) warnings.add(w);
      for (const i of a.infos) infos.add(i);
    }
  return { warnings: [...warnings], infos: [...infos] };
}

function mergeShards(perShard: readonly (readonly RangeAnswer[])[], combine: Combine, k: number, agg: AggregateExpr): RangeAnswer {
  const { warnings, infos } = notes(perShard);
  if (combine === 'sum' || combine === 'min' || combine === 'max') {
    const accs = accumulate(
      perShard.map((legs) => legs[0]),
      new Map(),
      FOLDS[combine],
    );
    return { series: toSeries(accs.values(), (_a, _t, v) => v), warnings, infos };
  }
  if (combine === 'avg') {
    const sums = accumulate(
      perShard.map((legs) => legs[0]),
      new Map(),
      FOLDS.sum,
    );
    const counts = accumulate(
      perShard.map((legs) => legs[1]),
      new Map(),
      FOLDS.sum,
    );
    return {
      series: toSeries(sums.values(), (acc, t, v) => v / (counts.get(acc.labels.key())?.at.get(t)?.[1] ?? NaN)),
      warnings,
      infos,
    };
  }
  return { series: mergeTopK(perShard, combine, k, agg), warnings, infos };
}

/** The grouping key of a series for topk/bottomk: its `by` labels, or all but the `without` ones and the name. */
function groupKey(labels: Labels, agg: AggregateExpr): string {
  const pairs: string[] = [];
  labels.forEach((n, v) => {
    const listed = agg.grouping.includes(n);
    if (agg.without ? !listed && n !== '__name__' : listed) pairs.push(n, v);
  });
  return JSON.stringify(pairs);
}

/**
 * topk/bottomk: the shards' candidates are disjoint series; at each step each group keeps the k
 * best over all shards. NaN ranks last either way, as Prometheus ranks it.
 */
function mergeTopK(
  perShard: readonly (readonly RangeAnswer[])[],
  op: 'topk' | 'bottomk',
  k: number,
  agg: AggregateExpr,
): MatrixSeriesJson[] {
  interface Candidate {
    series: number;
    sec: number;
    str: string;
    v: number;
  }
  const all: { labels: Labels; metric: Record<string, string>; group: string }[] = [];
  /** group -> step ms -> candidates */
  const byGroup = new Map<string, Map<number, Candidate[]>>();
  for (const legs of perShard) {
    for (const s of legs[0].series) {
      const labels = Labels.fromObject(s.metric);
      const idx = all.length;
      const group = groupKey(labels, agg);
      all.push({ labels, metric: s.metric, group });
      let steps = byGroup.get(group);
      if (!steps) byGroup.set(group, (steps = new Map()));
      for (const [sec, str] of s.values ?? []) {
        const t = ms(sec);
        let c = steps.get(t);
        if (!c) steps.set(t, (c = []));
        c.push({ series: idx, sec, str, v: Number(str) });
      }
    }
  }
  const better = (a: number, b: number): number => {
    if (Number.isNaN(a) || Number.isNaN(b)) return Number(Number.isNaN(a)) - Number(Number.isNaN(b));
    return op === 'topk' ? b - a : a - b;
  };
  const kept: Map<number, [number, number, string][]> = new Map();
  for (const steps of byGroup.values()) {
    for (const [t, cands] of steps) {
      cands.sort((a, b) => better(a.v, b.v));
      for (const c of cands.slice(0, k)) {
        let list = kept.get(c.series);
        if (!list) kept.set(c.series, (list = []));
        list.push([t, c.sec, c.str]);
      }
    }
  }
  const out: { labels: Labels; s: MatrixSeriesJson }[] = [];
  for (const [idx, list] of kept) {
    list.sort((a, b) => a[0] - b[0]);
    out.push({ labels: all[idx].labels, s: { metric: all[idx].metric, values: list.map(([, sec, str]) => [sec, str]) } });
  }
  out.sort((a, b) => Labels.compare(a.labels, b.labels));
  return out.map((x) => x.s);
}
