/**
 * LogQL's syntax tree. Log expressions (a stream selector and its pipeline) produce entries; every
 * other node produces samples. Durations are nanoseconds as bigint, as the timestamps they are compared with.
 */
import type { Matcher } from '@strata/model';

/** `|>` and `!>` are Loki 3's pattern line filters (`|> "<_> error <_>"`). */
export type LineFilterOp = '|=' | '!=' | '|~' | '!~' | '|>' | '!>';

/** A line filter's operand: a string, or `ip("...")` (only after `|=` and `!=`). */
export type LineFilterValue = string | { readonly ip: string };

/** One line filter; `values` holds the `or` alternatives (any of them satisfies `|=`/`|~`/`|>`, none may match for `!=`/`!~`/`!>`). */
export interface LineFilterStage {
  readonly k: 'line';
  readonly op: LineFilterOp;
  readonly values: readonly LineFilterValue[];
}

/** `json a="x.y", b` or plain `json`; `logfmt` has the same parameter form plus its flags. */
export interface ExtractParam {
  readonly label: string;
  readonly expr: string;
}

export type ParserStage =
  | { readonly k: 'json'; readonly params: readonly ExtractParam[] }
  | { readonly k: 'logfmt'; readonly params: readonly ExtractParam[]; readonly strict: boolean; readonly keepEmpty: boolean }
  | { readonly k: 'regexp'; readonly re: string }
  | { readonly k: 'pattern'; readonly pattern: string }
  | { readonly k: 'unpack' };

export type CompareOp = '==' | '!=' | '>' | '>=' | '<' | '<=';

export type LabelFilter =
  | { readonly k: 'and' | 'or'; readonly l: LabelFilter; readonly r: LabelFilter }
  | { readonly k: 'string'; readonly matcher: Matcher }
  /** `addr = ip("10.0.0.0/8")`, `addr != ip(...)`. */
  | { readonly k: 'ip'; readonly name: string; readonly negate: boolean; readonly pattern: string }
  /** `unit` says how the label value is read: a float, a Go duration (as seconds) or a byte size. */
  | {
      readonly k: 'number' | 'duration' | 'bytes';
      readonly name: string;
      readonly op: CompareOp;
      readonly value: number;
      readonly text: string;
    };

export interface LabelFormatItem {
  readonly dst: string;
  /** A rename takes the value of `src` (and removes `src`); otherwise `template` is a Go template. */
  readonly src?: string;
  readonly template?: string;
}

/** `drop a, b="x"` / `keep a, b=~"y"`: a bare name, or a name with a matcher on its value. */
export interface LabelSelectItem {
  readonly name: string;
  readonly matcher?: Matcher;
}

export type Stage =
  | LineFilterStage
  | ParserStage
  | { readonly k: 'filter'; readonly filter: LabelFilter }
  | { readonly k: 'line_format'; readonly template: string }
  | { readonly k: 'label_format'; readonly items: readonly LabelFormatItem[] }
  | { readonly k: 'drop' | 'keep'; readonly items: readonly LabelSelectItem[] }
  | { readonly k: 'decolorize' };

export interface LogExpr {
  readonly k: 'log';
  readonly matchers: readonly Matcher[];
  readonly stages: readonly Stage[];
}

export type UnwrapConversion = '' | 'duration' | 'duration_seconds' | 'bytes';

export interface Unwrap {
  readonly label: string;
  readonly conversion: UnwrapConversion;
  /** Label filters after the unwrap (usually `| __error__=""`). */
  readonly post: readonly LabelFilter[];
}

export const LOG_RANGE_FUNCS = ['rate', 'count_over_time', 'bytes_over_time', 'bytes_rate', 'absent_over_time'] as const;
export const UNWRAP_RANGE_FUNCS = [
  'rate',
  'rate_counter',
  'sum_over_time',
  'avg_over_time',
  'min_over_time',
  'max_over_time',
  'stddev_over_time',
  'stdvar_over_time',
  'quantile_over_time',
  'first_over_time',
  'last_over_time',
  'absent_over_time',
] as const;
export type RangeFunc = (typeof LOG_RANGE_FUNCS)[number] | (typeof UNWRAP_RANGE_FUNCS)[number];

export interface Grouping {
  readonly without: boolean;
  readonly labels: readonly string[];
}

export interface RangeAggExpr {
  readonly k: 'range';
  readonly fn: RangeFunc;
  readonly log: LogExpr;
  readonly rangeNs: bigint;
  readonly offsetNs: bigint;
  readonly unwrap?: Unwrap;
  /** quantile_over_time's φ. */
  readonly param?: number;
  /** `max_over_time(...) by (x)`: applied to the samples before the function. */
  readonly grouping?: Grouping;
}

export const VECTOR_AGGS = ['sum', 'avg', 'min', 'max', 'count', 'stddev', 'stdvar', 'topk', 'bottomk', 'sort', 'sort_desc'] as const;
export type VectorAggOp = (typeof VECTOR_AGGS)[number];

export interface VectorAggExpr {
  readonly k: 'agg';
  readonly op: VectorAggOp;
  readonly inner: SampleExpr;
  readonly grouping?: Grouping;
  /** topk/bottomk's k. */
  readonly param?: number;
}

export type BinaryOp = '+' | '-' | '*' | '/' | '%' | '^' | '==' | '!=' | '>' | '>=' | '<' | '<=' | 'and' | 'or' | 'unless';

export interface VectorMatching {
  readonly on: boolean;
  readonly labels: readonly string[];
  readonly group?: 'left' | 'right';
  readonly include: readonly string[];
}

export interface BinaryExpr {
  readonly k: 'binary';
  readonly op: BinaryOp;
  readonly lhs: SampleExpr;
  readonly rhs: SampleExpr;
  readonly bool: boolean;
  readonly matching?: VectorMatching;
}

export interface LabelReplaceExpr {
  readonly k: 'label_replace';
  readonly inner: SampleExpr;
  readonly dst: string;
  readonly replacement: string;
  readonly src: string;
  readonly regex: string;
}

export type SampleExpr =
  | RangeAggExpr
  | VectorAggExpr
  | BinaryExpr
  | LabelReplaceExpr
  | { readonly k: 'number'; readonly value: number }
  | { readonly k: 'vector'; readonly value: number };

export type Expr = LogExpr | SampleExpr;
