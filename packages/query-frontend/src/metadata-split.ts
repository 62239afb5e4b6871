/**
 * Label names, label values and series requests over a time range, split at the split interval
 * (UTC days) like range queries, so the days a dashboard's template variables keep asking about
 * come from the results cache. Splitting keeps the answer exact: a store counts a block, the head
 * or a series when its time range meets the request's, and the pieces partition the request's
 * range, so what meets the whole meets one piece; the pieces' sorted answers are merged as sets.
 */
import { Labels, compareCodeUnits, mergeSorted } from '@strata/model';

export interface Piece {
  /** Inclusive bounds, ms. */
  start: number;
  end: number;
  index: number;
}

/** [start, end] cut at multiples of `interval` (pieces keep the request's own bounds at both ends). */
export function splitSpan(start: number, end: number, interval: number): Piece[] {
  const out: Piece[] = [];
  for (let s = start; s <= end;) {
    const index = Math.floor(s / interval);
    const e = Math.min(end, (index + 1) * interval - 1);
    out.push({ start: s, end: e, index });
    s = e + 1;
  }
  return out;
}

/** Label names or values of the pieces, each sorted: one sorted list, each once. */
export function mergeStrings(parts: readonly (readonly string[])[]): string[] {
  return mergeSorted(parts, compareCodeUnits);
}

/** Series label sets of the pieces: each once, sorted by labels as the querier sorts them. */
export function mergeSeries(parts: readonly (readonly Record<string, string>[])[]): Record<string, string>[] {
  const byKey = new Map<string, { labels: Labels; metric: Record<string, string> }>();
  for (const p of parts)
    for (const metric of p) {
      const labels = Labels.fromObject(metric);
      const k = labels.key();
      if (!byKey.has(k)) byKey.set(k, { labels, metric });
    }
  return [...byKey.values()].sort((a, b) => Labels.compare(a.labels, b.labels)).map((x) => x.metric);
}
