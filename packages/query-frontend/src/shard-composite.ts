/**
 * Sharding of expressions built on shardable aggregations: `sum(a) / sum(b)`,
 * `sum by (job) (rate(x[5m])) / on (job) group_left count by (job) (up)`,
 * `histogram_quantile(0.9, sum by (le) (rate(x_bucket[5m])))`, `max(sum by (job) (x))`.
 *
 * Every maximal aggregation that shard.ts can shard (a "leg") is computed per shard and merged
 * as shard.ts merges it; what is left of the expression then reads no series of its own, only the
 * legs' answers at the query's steps, so it is evaluated here by the PromQL engine over those
 * answers: each leg stands as a selector of its merged series, and the engine's lookback is 1 ms
 * so that a selector at a step reads the leg's value at exactly that step (never an earlier
 * step's, which a missing step would otherwise show). The answer is the whole query's but for
 * float rounding (the shards sum in another order).
 *
 * The rest may not read time between steps or series by name: no selectors, subqueries or range
 * functions outside the legs (they would need the legs at other times than the steps), and no
 * absent() (it names its selector's labels) nor info() (it reads info series). Legs are aggregations that drop the metric name, so
 * nothing of a leg's selector leaks into the answer; topk/bottomk (which keep names) are legs only
 * when they are the whole query (shard.ts). The expression must be vector-typed: a scalar answer
 * of an instant query has another shape.
 */
import { Labels, Matcher, type Querier, type Series } from '@strata/model';
import { Engine, formatFloat, type Expr } from '@strata/promql';
import type { MatrixSeriesJson, RangeAnswer } from './range-result.js';
import { shardPlan, type ShardPlan } from './shard.js';

/** The label a leg's stand-in selector matches on (never on a stored series: stores do not see it). */
const LEG_LABEL = '__strata_shard_leg__';

/**
 * Engine functions the rest of an expression may not call: absent() names its selector's labels,
 * info() selects info series of its own (which no leg answers).
 */
const REFUSED_FUNCTIONS = new Set(['absent', 'absent_over_time', 'info']);

/** Aggregations whose result has no metric name: the only legs inside a larger expression. */
const NAMELESS_LEGS = new Set(['sum', 'count', 'min', 'max', 'avg', 'group']);

interface Leg {
  plan: ShardPlan;
  /** Queries per shard of this leg (avg has two). */
  width: number;
}

function unparen(e: Expr): Expr {
  while (e.kind === 'ParenExpr') e = e.expr;
  return e;
}

/** Whether e evaluates to an instant vector (else a scalar or string). */
function vectorTyped(e: Expr): boolean {
  switch (e.kind) {
    case 'AggregateExpr':
    case 'VectorSelector':
      return true;
    case 'Call':
      return e.returnType === 'vector';
    case 'BinaryExpr':
      return vectorTyped(e.lhs) || vectorTyped(e.rhs);
    case 'ParenExpr':
    case 'UnaryExpr':
      return vectorTyped(e.expr);
    default:
      return false;
  }
}

/** e with its legs replaced by stand-in selectors (legs collected), or undefined when it cannot be. */
function replaceLegs(e: Expr, legs: Leg[]): Expr | undefined {
  switch (e.kind) {
    case 'NumberLiteral':
    case 'StringLiteral':
      return e;
    case 'VectorSelector':
    case 'MatrixSelector':
    case 'SubqueryExpr':
      return undefined;
    case 'ParenExpr':
    case 'UnaryExpr': {
      const inner = replaceLegs(e.expr, legs);
      return inner && { ...e, expr: inner };
    }
    case 'BinaryExpr': {
      const lhs = replaceLegs(e.lhs, legs);
      const rhs = lhs && replaceLegs(e.rhs, legs);
      return rhs && { ...e, lhs: lhs!, rhs };
    }
    case 'Call': {
      if (REFUSED_FUNCTIONS.has(e.func)) return undefined;
      const args: Expr[] = [];
      for (const a of e.args) {
        const r = replaceLegs(a, legs);
        if (!r) return undefined;
        args.push(r);
      }
      return { ...e, args };
    }
    case 'AggregateExpr': {
      const plan = NAMELESS_LEGS.has(e.op) ? shardPlan(e) : undefined;
      if (plan) {
        const index = legs.length;
        legs.push({ plan, width: plan.queries(0, 2).length });
        return {
          kind: 'VectorSelector',
          name: '',
          matchers: [new Matcher('=', LEG_LABEL, String(index))],
          offset: 0,
          at: null,
          atModifier: null,
          pos: e.pos,
        };
      }
      const inner = replaceLegs(e.expr, legs);
      if (!inner) return undefined;
      const param = e.param && replaceLegs(e.param, legs);
      if (e.param && !param) return undefined;
      return { ...e, expr: inner, param: param ?? null };
    }
  }
}

/** The legs' merged answers as the engine reads series: each stand-in selector yields its leg's. */
class LegQuerier implements Querier {
  constructor(private readonly legs: readonly Series[][]) {}

  async select(matchers: readonly Matcher[]): Promise<Series[]> {
    const m = matchers.find((x) => x.name === LEG_LABEL);
    return m ? (this.legs[Number(m.value)] ?? []) : [];
  }

  async series(): Promise<Labels[]> {
    return [];
  }

  async labelNames(): Promise<string[]> {
    return [];
  }

  async labelValues(): Promise<string[]> {
    return [];
  }
}

function asSeries(answer: RangeAnswer): Series[] {
  const out = answer.series.map((s) => {
    const values = s.values ?? [];
    return {
      labels: Labels.fromObject(s.metric),
      timestamps: Float64Array.from(values, ([sec]) => Math.round(sec * 1000)),
      values: Float64Array.from(values, ([, v]) => Number(v)),
    };
  });
  return out.sort((a, b) => Labels.compare(a.labels, b.labels));
}

/** Reads exactly the step's value of each leg (see the header). */
const OVER_LEGS = new Engine({ lookbackDeltaMs: 1 });

/**
 * How an expression of shardable aggregations is sharded, or undefined. Only for expressions
 * shard.ts cannot shard whole (its plan, when there is one, costs no evaluation here).
 */
export function compositeShardPlan(query: Expr): ShardPlan | undefined {
  const legs: Leg[] = [];
  const rest = replaceLegs(query, legs);
  if (!rest || legs.length === 0 || !vectorTyped(unparen(query))) return undefined;
  return {
    queries: (index, of) => legs.flatMap((l) => l.plan.queries(index, of)),
    merge: async (perShard, range) => {
      const merged: RangeAnswer[] = [];
      let at = 0;
      for (const leg of legs) {
        const from = at;
        merged.push(
          await leg.plan.merge(
            perShard.map((answers) => answers.slice(from, from + leg.width)),
            range,
          ),
        );
        at += leg.width;
      }
      const warnings = new Set(merged.flatMap((a) => a.warnings));
      const infos = new Set(merged.flatMap((a) => a.infos));
      // The legs' steps are the query's (start + k * step), which the engine evaluates again.
      const outcome = await OVER_LEGS.rangeQuery(
        new LegQuerier(merged.map(asSeries)),
        rest,
        range.start,
        range.end,
        Math.max(range.step, 2),
        { signal: range.signal },
      );
      for (const w of outcome.warnings) warnings.add(w);
      for (const i of outcome.infos) infos.add(i);
      const r = outcome.result;
      const series: MatrixSeriesJson[] =
        r.resultType === 'matrix'
          ? [...r.matrix]
              .sort((a, b) => Labels.compare(a.labels, b.labels))
              .map((s) => ({
                metric: s.labels.toObject(),
                values: Array.from(s.timestamps, (t, k): [number, string] => [t / 1000, formatFloat(s.values[k])]),
              }))
          : [];
      return { series, warnings: [...warnings], infos: [...infos] };
    },
  };
}
