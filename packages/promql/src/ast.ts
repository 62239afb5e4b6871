/**
 * The typed PromQL syntax tree. The parser (parser/*) builds it from @prometheus-io/lezer-promql's
 * syntax tree; the engine (engine/*) evaluates it; the printer (printer.ts) renders it back as
 * Prometheus' `format_query` does. Times and durations are milliseconds.
 */
import type { Matcher } from '@strata/model';

export type ValueType = 'scalar' | 'vector' | 'matrix' | 'string';

/** Byte offsets into the query string, for error messages. */
export interface PosRange {
  start: number;
  end: number;
}

export type Expr =
  | NumberLiteral
  | StringLiteral
  | VectorSelector
  | MatrixSelector
  | SubqueryExpr
  | Call
  | AggregateExpr
  | BinaryExpr
  | UnaryExpr
  | ParenExpr;

export interface NumberLiteral {
  kind: 'NumberLiteral';
  value: number;
  pos: PosRange;
}

export interface StringLiteral {
  kind: 'StringLiteral';
  value: string;
  pos: PosRange;
}

/**
 * A duration expression naming step() or range() (duration.ts), in seconds like Prometheus'; the
 * node's number is 0 until resolveDurations() sets it for a query.
 */
export type DurationExpr =
  | { kind: 'DurationLiteral'; seconds: number; text: string; /** Exact, for a unit literal (1001ms). */ ms?: number }
  | { kind: 'DurationStep' }
  | { kind: 'DurationRange' }
  | { kind: 'DurationCall'; func: 'min_of' | 'max_of'; args: [DurationExpr, DurationExpr] }
  | { kind: 'DurationUnary'; op: '+' | '-'; expr: DurationExpr }
  | { kind: 'DurationBinary'; op: '+' | '-' | '*' | '/' | '%' | '^'; lhs: DurationExpr; rhs: DurationExpr };

export interface QueryDuration {
  expr: DurationExpr;
  pos: PosRange;
}

/** `@ <time>` / `@ start()` / `@ end()` and `offset` shared by selectors and subqueries. */
export interface TimeModifiers {
  /** Offset in ms; negative offsets look forward. 0 when absent. */
  offset: number;
  /** An offset computed per query (step(), range()); absent once resolved. */
  offsetExpr?: QueryDuration;
  /** Absolute evaluation time from `@ <ts>` in ms, or null. */
  at: number | null;
  /** `@ start()` / `@ end()`, resolved by the engine from the query's range; null when absent. */
  atModifier: 'start' | 'end' | null;
}

/** Prometheus 3's experimental range selector modifiers (x[5m] anchored); see engine/extended-range.ts. */
export type RangeModifier = 'anchored' | 'smoothed';

export interface VectorSelector extends TimeModifiers {
  kind: 'VectorSelector';
  /** `anchored` / `smoothed` written after a range selector (set on its selector), or `smoothed` after this one. */
  rangeModifier?: RangeModifier;
  /** Metric name when given outside braces (or as the quoted first item inside them); '' otherwise. */
  name: string;
  /** All matchers, including the `__name__` equality matcher derived from `name`. */
  matchers: Matcher[];
  pos: PosRange;
}

export interface MatrixSelector {
  kind: 'MatrixSelector';
  vectorSelector: VectorSelector;
  /** Range in ms. */
  range: number;
  /** A range computed per query (step(), range()); absent once resolved. */
  rangeExpr?: QueryDuration;
  pos: PosRange;
}

export interface SubqueryExpr extends TimeModifiers {
  kind: 'SubqueryExpr';
  expr: Expr;
  range: number;
  /** Resolution in ms; 0 means "use the default evaluation interval". */
  step: number;
  /** Range and step computed per query (step(), range()); absent once resolved. */
  rangeExpr?: QueryDuration;
  stepExpr?: QueryDuration;
  pos: PosRange;
}

export interface Call {
  kind: 'Call';
  /** Function name as registered in functions.ts (e.g. 'rate'). */
  func: string;
  /** The function's return type from its signature, set by the parser (as Prometheus' Call carries its Function). */
  returnType: ValueType;
  args: Expr[];
  pos: PosRange;
}

export type AggregateOp =
  | 'sum'
  | 'avg'
  | 'count'
  | 'min'
  | 'max'
  | 'group'
  | 'stddev'
  | 'stdvar'
  | 'topk'
  | 'bottomk'
  | 'quantile'
  | 'count_values'
  | 'limitk'
  | 'limit_ratio';

export interface AggregateExpr {
  kind: 'AggregateExpr';
  op: AggregateOp;
  expr: Expr;
  /** The parameter of topk/bottomk/quantile/count_values/limitk/limit_ratio, else null. */
  param: Expr | null;
  /** Label names of `by (...)` or `without (...)`. */
  grouping: string[];
  without: boolean;
  pos: PosRange;
}

export type ArithmeticOp = '+' | '-' | '*' | '/' | '%' | '^' | 'atan2';
export type ComparisonOp = '==' | '!=' | '>' | '<' | '>=' | '<=';
export type SetOp = 'and' | 'or' | 'unless';
/** Native histogram trim operators: keep the observations below (`</`) or above (`>/`) a bound. */
export type TrimOp = '</' | '>/';
export type BinaryOp = ArithmeticOp | ComparisonOp | SetOp | TrimOp;

export type Cardinality = 'one-to-one' | 'many-to-one' | 'one-to-many' | 'many-to-many';

export interface VectorMatching {
  card: Cardinality;
  /** Labels of on(...) / ignoring(...). */
  matchingLabels: string[];
  /** true for on(...), false for ignoring(...) or when absent. */
  on: boolean;
  /** Extra labels of group_left(...) / group_right(...). */
  include: string[];
  /**
   * fill(v) / fill_left(v) / fill_right(v) (experimental in Prometheus 3): the value a side
   * without a match takes, so the other side's series still yields a result. null: no fill.
   */
  fillLeft?: number | null;
  fillRight?: number | null;
}

export interface BinaryExpr {
  kind: 'BinaryExpr';
  op: BinaryOp;
  lhs: Expr;
  rhs: Expr;
  /** The `bool` modifier on a comparison. */
  returnBool: boolean;
  /** Set when both sides are vectors (set operators are always many-to-many). */
  matching: VectorMatching | null;
  pos: PosRange;
}

export interface UnaryExpr {
  kind: 'UnaryExpr';
  op: '+' | '-';
  expr: Expr;
  pos: PosRange;
}

export interface ParenExpr {
  kind: 'ParenExpr';
  expr: Expr;
  pos: PosRange;
}

/** The static type of an expression, as Prometheus' parser computes it. */
export function typeOf(e: Expr): ValueType {
  switch (e.kind) {
    case 'NumberLiteral':
      return 'scalar';
    case 'StringLiteral':
      return 'string';
    case 'VectorSelector':
    case 'AggregateExpr':
      return 'vector';
    case 'MatrixSelector':
    case 'SubqueryExpr':
      return 'matrix';
    case 'Call':
      return e.returnType;
    case 'BinaryExpr':
      return typeOf(e.lhs) === 'scalar' && typeOf(e.rhs) === 'scalar' ? 'scalar' : 'vector';
    case 'UnaryExpr':
    case 'ParenExpr':
      return typeOf(e.expr);
  }
}

/** Thrown by the parser: position and a message a person understands. */
export class ParseError extends Error {
  constructor(
    message: string,
    readonly pos: PosRange,
    readonly query: string,
  ) {
    super(message);
    this.name = 'ParseError';
  }
}
