/** Native histograms in Prometheus' HTTP API JSON: count, sum and the populated buckets with their boundary rule. */
import type { FloatHistogram } from '@strata/model';
import { formatFloat } from './math.js';

export interface HistogramJson {
  count: string;
  sum: string;
  /** [boundary rule, lower, upper, count]; rule 0: (l,u], 1: [l,u), 2: (l,u), 3: [l,u]. */
  buckets?: [number, string, string, string][];
}

export function histogramJson(h: FloatHistogram): HistogramJson {
  const out: HistogramJson = { count: formatFloat(h.count), sum: formatFloat(h.sum) };
  const buckets: [number, string, string, string][] = [];
  for (const b of h.allBuckets()) {
    if (b.count === 0) continue; // empty buckets are left out, as Prometheus does
    const rule = b.lowerInclusive ? (b.upperInclusive ? 3 : 1) : b.upperInclusive ? 0 : 2;
    buckets.push([rule, formatFloat(b.lower), formatFloat(b.upper), formatFloat(b.count)]);
  }
  if (buckets.length > 0) out.buckets = buckets;
  return out;
}
