/**
 * Duration expressions (experimental in Prometheus 3): arithmetic in ranges, subquery steps and
 * offsets, `x[5m+1m]`, `offset (1h*2)`, with `step()` and `range()` (the query's step and end -
 * start) and `min_of`/`max_of`. Values are seconds, as Prometheus computes them. Expressions of
 * constants are folded by the parser; those naming step() or range() stay on the node
 * (`rangeExpr`, `stepExpr`, `offsetExpr`) until resolveDurations() sets the numbers for one query,
 * before anything reads the ranges: the engine, the cost estimate and the frontend's windows all
 * see the same ranges as if they had been written as literals, and hit the same limits.
 */
import type { DurationExpr, Expr, QueryDuration } from './ast.js';
import { children } from './children.js';

/** A duration expression's problem: `offset` is the text position it starts at. */
export class DurationError extends Error {
  constructor(
    message: string,
    readonly offset: number,
  ) {
    super(message);
  }
}

/** Bound of a duration in seconds: Prometheus keeps them in int64 nanoseconds. */
const MAX_SECONDS = 2 ** 63 / 1e9;

/** The expression's value in seconds for a query of that step and range (ms). */
export function durationSeconds(e: DurationExpr, stepMs: number, rangeMs: number): number {
  switch (e.kind) {
    case 'DurationLiteral':
      return e.seconds;
    case 'DurationStep':
      return stepMs / 1000;
    case 'DurationRange':
      return rangeMs / 1000;
    case 'DurationCall': {
      const a = durationSeconds(e.args[0], stepMs, rangeMs);
      const b = durationSeconds(e.args[1], stepMs, rangeMs);
      return e.func === 'min_of' ? Math.min(a, b) : Math.max(a, b);
    }
    case 'DurationUnary': {
      const v = durationSeconds(e.expr, stepMs, rangeMs);
      return e.op === '-' ? -v : v;
    }
    case 'DurationBinary': {
      const a = durationSeconds(e.lhs, stepMs, rangeMs);
      const b = durationSeconds(e.rhs, stepMs, rangeMs);
      switch (e.op) {
        case '+':
          return a + b;
        case '-':
          return a - b;
        case '*':
          return a * b;
        case '/':
          if (b === 0) throw new DurationError('division by zero', -1);
          return a / b;
        case '%':
          if (b === 0) throw new DurationError('modulo by zero', -1);
          return a % b;
        case '^':
          return Math.pow(a, b);
      }
    }
  }
}

/**
 * The duration in ms, checked as Prometheus checks it: finite, in range, and above 0 where a
 * negative or zero duration means nothing (ranges and steps; offsets may look forward).
 */
export function durationMs(e: DurationExpr, stepMs: number, rangeMs: number, allowNegative: boolean, offset = -1): number {
  let s: number;
  try {
    s = durationSeconds(e, stepMs, rangeMs);
  } catch (err) {
    if (err instanceof DurationError) throw new DurationError(err.message, offset);
    throw err;
  }
  if (!Number.isFinite(s)) throw new DurationError('duration is NaN or infinite', offset);
  if (s <= 0 && !allowNegative) throw new DurationError('duration must be greater than 0', offset);
  if (Math.abs(s) > MAX_SECONDS) throw new DurationError('duration is out of range', offset);
  // A literal alone is exact; computed seconds convert as Go's float-to-integer does, truncating
  // (so 1001ms + 0s is 1000 ms there too).
  if (e.kind === 'DurationLiteral' && e.ms !== undefined) return e.ms;
  return Math.trunc(s * 1000) || 0;
}

/** Whether the expression names step() or range() (else it is a constant the parser folds). */
export function dependsOnQuery(e: DurationExpr, only?: 'DurationStep' | 'DurationRange'): boolean {
  switch (e.kind) {
    case 'DurationLiteral':
      return false;
    case 'DurationStep':
    case 'DurationRange':
      return only === undefined || e.kind === only;
    case 'DurationCall':
      return dependsOnQuery(e.args[0], only) || dependsOnQuery(e.args[1], only);
    case 'DurationUnary':
      return dependsOnQuery(e.expr, only);
    case 'DurationBinary':
      return dependsOnQuery(e.lhs, only) || dependsOnQuery(e.rhs, only);
  }
}

function durationsOf(e: Expr): (QueryDuration | undefined)[] {
  switch (e.kind) {
    case 'VectorSelector':
      return [e.offsetExpr];
    case 'MatrixSelector':
      return [e.rangeExpr, e.vectorSelector.offsetExpr];
    case 'SubqueryExpr':
      return [e.rangeExpr, e.stepExpr, e.offsetExpr];
    default:
      return [];
  }
}

/** Whether any duration of the expression names step() or range() (or only the one named). */
export function usesQueryDurations(e: Expr, only?: 'step' | 'range'): boolean {
  const kind = only === 'step' ? 'DurationStep' : only === 'range' ? 'DurationRange' : undefined;
  if (durationsOf(e).some((d) => d !== undefined && dependsOnQuery(d.expr, kind))) return true;
  return children(e).some((c) => usesQueryDurations(c, only));
}

/**
 * The expression with every step()/range()-dependent duration set for a query of that step (0
 * for instant queries) and range (end - start), in ms; the expression itself when it has none.
 * Throws DurationError for a duration Prometheus refuses.
 */
export function resolveDurations(e: Expr, stepMs: number, rangeMs: number): Expr {
  if (!usesQueryDurations(e)) return e;
  const ms = (d: QueryDuration, allowNegative: boolean) => durationMs(d.expr, stepMs, rangeMs, allowNegative, d.pos.start);
  const walk = (x: Expr): Expr => {
    switch (x.kind) {
      case 'NumberLiteral':
      case 'StringLiteral':
        return x;
      case 'VectorSelector':
        return x.offsetExpr ? { ...x, offset: ms(x.offsetExpr, true), offsetExpr: undefined } : x;
      case 'MatrixSelector':
        return {
          ...x,
          vectorSelector: walk(x.vectorSelector) as typeof x.vectorSelector,
          range: x.rangeExpr ? ms(x.rangeExpr, false) : x.range,
          rangeExpr: undefined,
        };
      case 'SubqueryExpr':
        return {
          ...x,
          expr: walk(x.expr),
          range: x.rangeExpr ? ms(x.rangeExpr, false) : x.range,
          step: x.stepExpr ? ms(x.stepExpr, false) : x.step,
          offset: x.offsetExpr ? ms(x.offsetExpr, true) : x.offset,
          rangeExpr: undefined,
          stepExpr: undefined,
          offsetExpr: undefined,
        };
      case 'ParenExpr':
      case 'UnaryExpr':
        return { ...x, expr: walk(x.expr) };
      case 'Call':
        return { ...x, args: x.args.map(walk) };
      case 'AggregateExpr':
        return { ...x, expr: walk(x.expr), param: x.param && walk(x.param) };
      case 'BinaryExpr':
        return { ...x, lhs: walk(x.lhs), rhs: walk(x.rhs) };
    }
  };
  return walk(e);
}

/** The duration expression as PromQL text that parses back to it. */
export function formatDurationExpr(e: DurationExpr): string {
  switch (e.kind) {
    case 'DurationLiteral':
      return e.text;
    case 'DurationStep':
      return 'step()';
    case 'DurationRange':
      return 'range()';
    case 'DurationCall':
      return `${e.func}(${formatDurationExpr(e.args[0])}, ${formatDurationExpr(e.args[1])})`;
    case 'DurationUnary':
      return `${e.op}${formatDurationExpr(e.expr)}`;
    case 'DurationBinary':
      // Parenthesised whole, so that no precedence question arises (and `offset (a + b)` stays one offset).
      return `(${formatDurationExpr(e.lhs)} ${e.op} ${formatDurationExpr(e.rhs)})`;
  }
}
