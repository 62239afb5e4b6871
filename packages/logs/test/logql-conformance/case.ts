/**
 * One conformance case: a LogQL expression and what Loki's documented semantics say it returns over
 * the data set in dataset.ts. Times are seconds after T0. Log queries default to [0s, 60s) forward
 * with limit 1000; metric queries default to an instant query at 60s (windows (60s - range, 60s]).
 */
export type LabelSet = Record<string, string>;

export interface Case {
  q: string;
  /** Window of a log query or a metric range query (seconds after T0). */
  start?: number;
  end?: number;
  /** A metric range query's step in seconds; absent: instant query at `at` (default 60). */
  step?: number;
  at?: number;
  limit?: number;
  dir?: 'forward' | 'backward';
  /** Expected streams: each entry is the time of an unchanged data-set line, or [time, rewritten line]. */
  streams?: [LabelSet, (number | [number, string])[]][];
  vector?: [LabelSet, number][];
  matrix?: [LabelSet, [number, number][]][];
  scalar?: number;
  /** The result's order matters (sort, sort_desc). */
  ordered?: boolean;
  error?: RegExp;
}

export const P = { app: 'api', env: 'prod' };
export const D = { app: 'api', env: 'dev' };
export const H1 = { app: 'web', env: 'prod', host: 'h1' };
export const H2 = { app: 'web', env: 'prod', host: 'h2' };
export const B = { app: 'batch', env: 'dev', level: 'info' };
