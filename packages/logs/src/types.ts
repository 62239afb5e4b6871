/**
 * The seam between log storage (push, head, chunks, blocks, gateways) and LogQL evaluation.
 *
 * Timestamps are Unix nanoseconds as in Loki's API. They do not fit a double (2^53 ns is about
 * 104 days), so they travel as bigint / BigInt64Array; evaluation may convert to (ms, ns remainder)
 * internally where it needs speed.
 */
import type { Labels, Matcher } from '@strata/model';
import type { SampledOutCount } from './ingest/sampled-out.js';
import type { LineFilterStage } from './logql/ast.js';

/** One stream's entries inside a time window, ascending by timestamp (entries of equal timestamp in push order). */
export interface LogStreamEntries {
  /** The stream's labels (sorted, no `__name__`). */
  readonly labels: Labels;
  readonly timestampsNs: BigInt64Array;
  readonly lines: readonly string[];
  /** Structured metadata per entry (parallel to `lines`), or undefined when no entry carries any. */
  readonly metadata?: readonly (Labels | undefined)[];
}

export type LogDirection = 'forward' | 'backward';

/**
 * What a store may use to read less. Honouring a hint is optional: the evaluator re-applies every filter,
 * so a store that ignores hints is still correct, only slower.
 */
export interface LogSelectHints {
  /** Inclusive start and exclusive end, as Loki's [start, end). */
  readonly startNs: bigint;
  readonly endNs: bigint;
  /** Every entry the query can use contains each of these strings (case-sensitive): chunks without them can be skipped. */
  readonly requiredSubstrings?: readonly string[];
  /** A pushed-down line predicate (the query's leading line filters); entries failing it may be left out. */
  readonly lineFilter?: (line: string) => boolean;
  /** The filters `lineFilter` was compiled from, for a store across the network to apply them (a function does not cross). */
  readonly lineFilters?: readonly LineFilterStage[];
  /**
   * For log (not metric) queries: at most this many entries in total are needed, the first ones in `direction`;
   * a store may stop early but must then return the `limit` entries nearest the start (forward) or end (backward).
   */
  readonly limit?: number;
  readonly direction?: LogDirection;
  readonly signal?: AbortSignal;
}

/** Reads one tenant's logs. */
export interface LogQuerier {
  /** Each matching stream at most once, its entries in the window merged across sources and deduplicated. */
  selectLogs(matchers: readonly Matcher[], hints: LogSelectHints): Promise<LogStreamEntries[]>;
  /** Stream label sets with entries in the window. */
  series(matchers: readonly Matcher[], hints: LogSelectHints): Promise<Labels[]>;
  labelNames(matchers: readonly Matcher[], hints: LogSelectHints): Promise<string[]>;
  labelValues(name: string, matchers: readonly Matcher[], hints: LogSelectHints): Promise<string[]>;
  /** Lines and bytes sampling left out at ingest from the matching streams in the window, where the source keeps them. */
  sampledOut?(matchers: readonly Matcher[], hints: LogSelectHints): Promise<SampledOutCount>;
}

/** Something that can be queried for logs; per tenant. */
export interface LogQueryable {
  logQuerier(tenant: string): LogQuerier;
}
