/**
 * Values during evaluation. Every expression is evaluated for all steps of the query at once
 * (an instant query is a range query of one step): a vector is a list of series, each with one
 * slot per step in typed arrays and a presence mask (NaN is a value, so absence needs its own bit).
 */
import { METRIC_NAME, type FloatHistogram, type Labels, type RollupSamples } from '@strata/model';

export interface StepSeries {
  labels: Labels;
  values: Float64Array;
  /** 1 where the series has a value at that step. */
  present: Uint8Array;
  /** Prometheus 3 removes __name__ lazily: set by functions/operators, applied when results leave. */
  dropName: boolean;
  /**
   * Native histogram samples: where set (and present) the step's sample is that histogram, not
   * the float. Absent while a series has floats only. Histograms here may be shared with the
   * store or other series: copy before changing one.
   */
  histograms?: (FloatHistogram | undefined)[];
}

export interface VectorValue {
  type: 'vector';
  series: StepSeries[];
}

export interface ScalarValue {
  type: 'scalar';
  values: Float64Array;
}

export interface StringValue {
  type: 'string';
  value: string;
}

/** A range vector: per series, its raw samples; windows are cut per step by the consumer. */
export interface MatrixSeries {
  labels: Labels;
  timestamps: Float64Array;
  values: Float64Array;
  dropName: boolean;
  /** From rollups: what count/avg/quantile_over_time read beside the values. */
  rollup?: RollupSamples;
  /** Native histogram samples parallel to timestamps (see Series.histograms). */
  histograms?: readonly (FloatHistogram | undefined)[];
}

export interface MatrixValue {
  type: 'matrix';
  series: MatrixSeries[];
  /** Window length and the evaluation time of each step (selector time modifiers applied). */
  range: number;
  stepTimes: Float64Array;
}

export type Value = VectorValue | ScalarValue | StringValue | MatrixValue;

export function newStepSeries(labels: Labels, n: number, dropName = false): StepSeries {
  return { labels, values: new Float64Array(n), present: new Uint8Array(n), dropName };
}

/** Makes the step's sample the histogram `h`. */
export function setHistogram(s: StepSeries, i: number, h: FloatHistogram): void {
  if (!s.histograms) s.histograms = new Array(s.values.length);
  s.histograms[i] = h;
  s.present[i] = 1;
}

/** The step's histogram, if its sample is one. */
export function histogramAt(s: StepSeries, i: number): FloatHistogram | undefined {
  return s.histograms === undefined ? undefined : s.histograms[i];
}

/**
 * First index at or after `pos` with ts[i] > t, for cursors that only move forward (step times
 * never decrease): a few linear steps cover the usual case of a step holding a handful of
 * samples; a long jump falls back to binary search.
 */
export function advance(ts: Float64Array, pos: number, t: number): number {
  const n = ts.length;
  for (let k = 0; k < 8; k++) {
    if (pos >= n || ts[pos] > t) return pos;
    pos++;
  }
  return upperBound(ts, t, pos);
}

/** Binary search: first index with ts[i] > t. */
export function upperBound(ts: Float64Array, t: number, lo = 0, hi = ts.length): number {
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (ts[mid] <= t) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * What goes with the metric name when an operation drops it: Prometheus 3's type and unit labels
 * (`__type__`, `__unit__`, its experimental type-and-unit-labels) describe the metric the name
 * names, so `-x` or `rate(x[5m])` keeps neither. Labels beginning with `__` are reserved, so a
 * series without the feature has none of them to lose.
 */
export const NAME_LABELS = [METRIC_NAME, '__type__', '__unit__'] as const;

/** Labels with __name__ (and the type and unit labels) removed when the series is flagged for it. */
export function outputLabels(s: { labels: Labels; dropName: boolean }): Labels {
  return s.dropName ? s.labels.without(...NAME_LABELS) : s.labels;
}

/** The earliest and latest of the times. */
export function bounds(times: Float64Array): { min: number; max: number } {
  let min = Infinity;
  let max = -Infinity;
  for (const t of times) {
    if (t < min) min = t;
    if (t > max) max = t;
  }
  return { min, max };
}
