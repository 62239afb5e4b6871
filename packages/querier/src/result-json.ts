/**
 * The `data` of a /api/v1/query or /api/v1/query_range answer as Prometheus encodes it: values
 * as strings ("NaN", "+Inf"), timestamps in seconds, native histograms in their JSON form, and a
 * `limit` truncating the result with a warning. The main thread encodes what it evaluated itself;
 * a query worker encodes its own result (encodeResultJson) and hands over the bytes.
 */
import type { Labels } from '@strata/model';
import { formatFloat, histogramJson, type QueryResult, type RangeSeries } from '@strata/promql';

const sec = (ms: number): number => ms / 1000;
const metric = (l: Labels): Record<string, string> => l.toObject();

export function resultJson(r: QueryResult, limit: number, warnings: string[]): { resultType: string; result: unknown } {
  switch (r.resultType) {
    case 'scalar':
      return { resultType: 'scalar', result: [sec(r.t), formatFloat(r.v)] };
    case 'string':
      return { resultType: 'string', result: [sec(r.t), r.value] };
    case 'vector': {
      let v = r.vector;
      if (limit > 0 && v.length > limit) {
        v = v.slice(0, limit);
        warnings.push('results truncated due to limit');
      }
      return {
        resultType: 'vector',
        result: v.map((s) =>
          s.h
            ? { metric: metric(s.labels), histogram: [sec(s.t), histogramJson(s.h)] }
            : { metric: metric(s.labels), value: [sec(s.t), formatFloat(s.v)] },
        ),
      };
    }
    case 'matrix': {
      let m = r.matrix;
      if (limit > 0 && m.length > limit) {
        m = m.slice(0, limit);
        warnings.push('results truncated due to limit');
      }
      return {
        resultType: 'matrix',
        result: m.map((s) =>
          s.histograms
            ? seriesWithHistograms(s)
            : { metric: metric(s.labels), values: Array.from(s.timestamps, (t, i) => [sec(t), formatFloat(s.values[i])]) },
        ),
      };
    }
  }
}

/**
 * The result's JSON as UTF-8 bytes in a buffer of their own (transferable to another thread);
 * `warnings` gets the truncation warning, as resultJson does.
 */
export function encodeResultJson(r: QueryResult, limit: number, warnings: string[]): Uint8Array {
  return new TextEncoder().encode(JSON.stringify(resultJson(r, limit, warnings)));
}

/** A range series with native histogram points: floats under "values", histograms under "histograms", each only when present. */
function seriesWithHistograms(s: RangeSeries): Record<string, unknown> {
  const values: [number, string][] = [];
  const histograms: [number, unknown][] = [];
  s.timestamps.forEach((t, i) => {
    const h = s.histograms![i];
    if (h) histograms.push([sec(t), histogramJson(h)]);
    else values.push([sec(t), formatFloat(s.values[i])]);
  });
  return { metric: metric(s.labels), ...(values.length > 0 ? { values } : {}), ...(histograms.length > 0 ? { histograms } : {}) };
}
