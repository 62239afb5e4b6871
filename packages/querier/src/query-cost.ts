/**
 * A query's cost estimated before execution, for the per-tenant max_estimated_query_cost: the
 * sum over its selectors of the series they match (counted from the stores' indexes with
 * Querier.series, so no chunk is read) times the evaluations that read them (the query's steps,
 * times the inner steps of every enclosing subquery). It is what the engine will do per step
 * and series, known before any sample is loaded; samples per series are left out because the
 * index does not know the scrape interval.
 */
import type { Querier } from '@strata/model';
import { infoSeriesMatchers, infoTimeModifiers, rangeModifierReach, resolveQueryDurations, type Expr } from '@strata/promql';

export interface SelectorCost {
  selector: string;
  series: number;
  /** Evaluations of the selector per series over the whole query. */
  evaluations: number;
}

export interface CostEstimate {
  cost: number;
  selectors: SelectorCost[];
}

export interface CostQuery {
  expr: Expr;
  /** First and last step time (equal for instant queries), ms. */
  start: number;
  end: number;
  /** 0 for instant queries. */
  step: number;
  lookbackDeltaMs: number;
  defaultSubqueryStepMs: number;
  signal?: AbortSignal;
}

/** A selector met on the walk: the times it reads and how often each series is evaluated. */
interface Visit {
  expr: Extract<Expr, { kind: 'VectorSelector' }>;
  from: number;
  to: number;
  evaluations: number;
}

/** Where the walk is: the evaluation times [from, to] and evaluations per series so far. */
interface Frame {
  from: number;
  to: number;
  evaluations: number;
}

function visit(e: Expr, f: Frame, q: CostQuery, out: Visit[]): void {
  switch (e.kind) {
    case 'NumberLiteral':
    case 'StringLiteral':
      return;
    case 'VectorSelector':
    case 'MatrixSelector': {
      const vs = e.kind === 'VectorSelector' ? e : e.vectorSelector;
      const range = e.kind === 'MatrixSelector' ? e.range : q.lookbackDeltaMs;
      const reach = rangeModifierReach(vs.rangeModifier, q.lookbackDeltaMs, e.kind === 'VectorSelector');
      const t = pinned(vs, f, q);
      out.push({
        expr: vs,
        from: t.from - vs.offset - range - reach.back,
        to: t.to - vs.offset + reach.forward,
        evaluations: f.evaluations,
      });
      return;
    }
    case 'SubqueryExpr': {
      const step = e.step > 0 ? e.step : q.defaultSubqueryStepMs;
      const t = pinned(e, f, q);
      const inner: Frame = {
        from: t.from - e.offset - e.range,
        to: t.to - e.offset,
        evaluations: f.evaluations * (Math.floor(e.range / step) + 1),
      };
      return visit(e.expr, inner, q, out);
    }
    case 'ParenExpr':
    case 'UnaryExpr':
      return visit(e.expr, f, q, out);
    case 'Call':
      if (e.func === 'info') return visitInfo(e, f, q, out);
      for (const a of e.args) visit(a, f, q, out);
      return;
    case 'AggregateExpr':
      if (e.param) visit(e.param, f, q, out);
      return visit(e.expr, f, q, out);
    case 'BinaryExpr':
      visit(e.lhs, f, q, out);
      return visit(e.rhs, f, q, out);
  }
}

/**
 * info(v, {selector}): v, and the info series it joins, read at the times v's first selector
 * reads. The selector is no selector of its own (it may match every series): the info series
 * are counted with the matchers the engine adds to it, before v's identifying labels narrow them.
 */
function visitInfo(e: Extract<Expr, { kind: 'Call' }>, f: Frame, q: CostQuery, out: Visit[]): void {
  visit(e.args[0], f, q, out);
  const m = infoTimeModifiers(e.args[0]);
  const t = pinned(m, f, q);
  const expr: Visit['expr'] = { kind: 'VectorSelector', name: '', matchers: infoSeriesMatchers(e), ...m, pos: e.pos };
  out.push({ expr, from: t.from - m.offset - q.lookbackDeltaMs, to: t.to - m.offset, evaluations: f.evaluations });
}

/** The evaluation times of a selector or subquery: pinned by `@`, or those of the frame. */
function pinned(e: { at: number | null; atModifier: 'start' | 'end' | null }, f: Frame, q: CostQuery): { from: number; to: number } {
  if (e.at !== null) return { from: e.at, to: e.at };
  if (e.atModifier === 'start') return { from: q.start, to: q.start };
  if (e.atModifier === 'end') return { from: q.end, to: q.end };
  return f;
}

export async function estimateQueryCost(querier: Querier, q: CostQuery): Promise<CostEstimate> {
  const steps = q.step > 0 ? Math.floor((q.end - q.start) / q.step) + 1 : 1;
  const visits: Visit[] = [];
  // Ranges and offsets of step() and range() as the engine will evaluate them.
  const expr = resolveQueryDurations(q.expr, q.step, q.end - q.start);
  visit(expr, { from: q.start, to: q.end, evaluations: steps }, q, visits);
  const counts = await Promise.all(
    visits.map((v) => querier.series(v.expr.matchers, { start: v.from, end: v.to, signal: q.signal }).then((s) => s.length)),
  );
  const selectors = visits.map((v, i) => ({
    selector: `{${v.expr.matchers.map((m) => m.toString()).join(', ')}}`,
    series: counts[i],
    evaluations: v.evaluations,
  }));
  return { cost: selectors.reduce((sum, s) => sum + s.series * s.evaluations, 0), selectors };
}
