/**
 * The per-tenant time limits the frontend checks before a query runs, as Mimir's query-frontend
 * does: max_query_lookback moves the start of a query forward to now - lookback (a query wholly
 * before it answers empty), then max_total_query_length bounds end - start of a range query and
 * max_query_length bounds the time the query reads, end - start plus its lookback (the longest
 * window and offset of its selectors, or the lookback delta).
 */
import { StrataError } from '@strata/model';
import { limitHint, parseTime, type TenantLimits } from '@strata/api';
import { formatDuration } from '@strata/promql';

export type TimeLimits = Pick<TenantLimits, 'maxQueryLength' | 'maxQueryLookback' | 'maxTotalQueryLength'>;

export interface LimitedRange {
  /** First and last step (equal for instant queries), ms. */
  start: number;
  end: number;
}

/**
 * The range to evaluate under the limits, or null when none of it may be read (the answer is
 * empty). `step` is 0 for an instant query; `backMs` is how far before a step the query reads.
 * Throws the limit's StrataError when the query is too long.
 */
export function limitRange(
  q: { start: number; end: number; step: number },
  backMs: number,
  limits: TimeLimits,
  now: number,
): LimitedRange | null {
  let { start } = q;
  const { end, step } = q;
  const lookback = limits.maxQueryLookback ?? 0;
  if (lookback > 0) {
    const min = now - lookback;
    if (end < min) return null;
    // Kept on the query's grid, so the steps left are steps of the original query.
    if (start < min) start = step > 0 ? start + Math.ceil((min - start) / step) * step : min;
    if (start > end) return null;
  }
  const total = limits.maxTotalQueryLength ?? 0;
  if (step > 0 && total > 0 && end - start > total)
    throw new StrataError(
      'max-total-query-length',
      `the query time range exceeds the limit (query length: ${formatDuration(end - start)}, limit: ${formatDuration(total)}) (err-strata-max-total-query-length); shorten it, or ${limitHint('maxTotalQueryLength')}`,
    );
  const length = limits.maxQueryLength ?? 0;
  const reads = end - start + Math.max(0, backMs);
  if (length > 0 && reads > length)
    throw new StrataError(
      'max-query-length',
      `the query reads a longer time range than the limit (range and lookback: ${formatDuration(reads)}, limit: ${formatDuration(length)}) (err-strata-max-query-length); shorten the range or the selectors' windows, or ${limitHint('maxQueryLength')}`,
    );
  return { start, end };
}

/**
 * max_query_lookback on a label or series request, as Mimir applies it: the start (all time when
 * absent) moves forward to now - lookback. False when the whole request is before it (the answer
 * is an empty list). A start or end that does not parse is left for the querier to refuse.
 */
export function applyLookbackToMetadata(p: URLSearchParams, lookbackMs: number, now: number): boolean {
  if (!(lookbackMs > 0)) return true;
  const min = now - lookbackMs;
  let start = -Infinity;
  let end = Infinity;
  try {
    if (p.has('start')) start = parseTime(p.get('start')!, 'start');
    if (p.has('end')) end = parseTime(p.get('end')!, 'end');
  } catch {
    return true;
  }
  if (end < min) return false;
  if (start < min) p.set('start', String(min / 1000));
  return true;
}
