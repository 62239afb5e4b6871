/** The groups of an aggregation's `by`/`without` clause, computed once per input series. */
import { METRIC_NAME, type Labels } from '@strata/model';
import type { AggregateExpr } from '../ast.js';

export function groupLabels(labels: Labels, e: AggregateExpr): Labels {
  if (e.without) return labels.without(METRIC_NAME, ...e.grouping);
  return labels.keep(...e.grouping);
}

/** Per series its group's index (groups numbered in order of first appearance), and the number of groups. */
export function groupIndices(series: readonly { labels: Labels }[], e: AggregateExpr): { groupOf: Int32Array; groups: number } {
  const index = new Map<string, number>();
  const groupOf = new Int32Array(series.length);
  series.forEach((s, j) => {
    const k = groupLabels(s.labels, e).key();
    let g = index.get(k);
    if (g === undefined) {
      g = index.size;
      index.set(k, g);
    }
    groupOf[j] = g;
  });
  return { groupOf, groups: index.size };
}
