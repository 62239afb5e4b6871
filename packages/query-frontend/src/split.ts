/**
 * How a range query is cut into sub-queries whose merged answer equals the unsplit one.
 *
 * A range query evaluates its expression independently at each step time start + k*step: every
 * selector, offset, absolute `@`, and subquery (whose inner steps are aligned to multiples of its
 * own step, not to the query's start) reads data as a function of that one step time. Only
 * `@ start()` and `@ end()` read the query's range itself, and so does `range()` in a duration
 * (`x[range()]`), so a query containing them anywhere is not split (`step()` is the same in every
 * sub-query). Sub-queries keep the original grid: each starts on the first grid point at or after
 * its interval's start, so the union of their steps is exactly the original steps.
 */
import { children, usesQueryDurations, type Expr } from '@strata/promql';

/** True when the answer at each step does not depend on the query's start or end. */
export function splittable(expr: Expr): boolean {
  return !usesQueryDurations(expr, 'range') && noStartEnd(expr);
}

function noStartEnd(expr: Expr): boolean {
  if ((expr.kind === 'VectorSelector' || expr.kind === 'SubqueryExpr') && expr.atModifier !== null) return false;
  if (expr.kind === 'MatrixSelector' && expr.vectorSelector.atModifier !== null) return false;
  return children(expr).every(noStartEnd);
}

export interface SubRange {
  /** First and last step time of the sub-query, on the original grid (ms). */
  start: number;
  end: number;
  /** Index of the interval (start of interval = index * interval), the cache's split identity. */
  index: number;
}

/**
 * The sub-queries of [start, end] at `step`, one per interval of `interval` ms aligned to the
 * epoch (so 24h intervals are UTC days). Intervals holding no step are left out. `end` is
 * clamped down to the grid.
 */
export function splitRange(start: number, end: number, step: number, interval: number): SubRange[] {
  const last = start + Math.floor((end - start) / step) * step;
  const out: SubRange[] = [];
  let s = start;
  while (s <= last) {
    const index = Math.floor(s / interval);
    const boundary = (index + 1) * interval;
    // The last step before the next interval begins.
    const e = Math.min(last, s + Math.ceil((boundary - s) / step) * step - step);
    out.push({ start: s, end: e, index });
    s = e + step;
  }
  return out;
}

/** Step alignment (opt-in): start and end moved down to multiples of the step. */
export function alignToStep(start: number, end: number, step: number): { start: number; end: number } {
  return { start: Math.floor(start / step) * step, end: Math.floor(end / step) * step };
}
