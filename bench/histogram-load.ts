/**
 * Native histogram load for the benchmarks: observations drawn per series and scrape, kept as
 * cumulative counts both in exponential buckets (schema 3, as a Prometheus client's default
 * native histogram resolution) and in classic `le` buckets, so the two answer for the same
 * distribution. Deterministic: every system measured receives the same bytes.
 */
import type { Span } from '@strata/model';
import type { WireHistogram } from '@strata/remote';

export const NATIVE_SCHEMA = 3;
/** Classic bucket bounds for the same observations (seconds), without +Inf. */
export const CLASSIC_BOUNDS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/** One series' distribution so far: exponential bucket counts by index, classic counts by bound, count and sum. */
export class CumulativeHistogram {
  readonly native = new Map<number, number>();
  readonly classic = new Float64Array(CLASSIC_BOUNDS.length + 1);
  count = 0;
  sum = 0;

  observe(v: number): void {
    this.count++;
    this.sum += v;
    // Bucket i of schema s holds (2^((i-1)/2^s), 2^(i/2^s)].
    const i = Math.ceil(Math.log2(v) * 2 ** NATIVE_SCHEMA);
    this.native.set(i, (this.native.get(i) ?? 0) + 1);
    let b = 0;
    while (b < CLASSIC_BOUNDS.length && v > CLASSIC_BOUNDS[b]) b++;
    this.classic[b]++;
  }

  /** The integer native histogram sample at `t` (bucket deltas, spans over the populated buckets). */
  wire(t: number): WireHistogram {
    const idx = [...this.native.keys()].sort((a, b) => a - b);
    const spans: Span[] = [];
    const deltas: number[] = [];
    let prevIdx = 0;
    let prevCount = 0;
    for (let k = 0; k < idx.length; k++) {
      const i = idx[k];
      if (k === 0) spans.push({ offset: i, length: 1 });
      else if (i === prevIdx + 1) spans[spans.length - 1].length++;
      else spans.push({ offset: i - prevIdx - 1, length: 1 });
      const c = this.native.get(i)!;
      deltas.push(c - prevCount);
      prevCount = c;
      prevIdx = i;
    }
    return {
      t,
      float: false,
      schema: NATIVE_SCHEMA,
      zeroThreshold: 2.938735877055719e-39,
      zeroCount: 0,
      count: this.count,
      sum: this.sum,
      resetHint: 2,
      positiveSpans: spans,
      positiveBuckets: deltas,
      negativeSpans: [],
      negativeBuckets: [],
      customValues: [],
    };
  }

  /** Cumulative count of classic bucket `b` (CLASSIC_BOUNDS.length is +Inf). */
  cumulative(b: number): number {
    let n = 0;
    for (let k = 0; k <= b; k++) n += this.classic[k];
    return n;
  }
}

/**
 * Latencies of one scrape interval: log-normal around a series-specific median of 20..200 ms, so
 * a series populates some 20 to 30 exponential buckets, a realistic native histogram.
 */
export function observeScrape(h: CumulativeHistogram, series: number, next: () => number, n = 10): void {
  const median = 0.02 * (1 + (series % 10));
  for (let k = 0; k < n; k++) {
    // Box-Muller: a standard normal from two uniforms.
    const z = Math.sqrt(-2 * Math.log(1 - next())) * Math.cos(2 * Math.PI * next());
    h.observe(median * Math.exp(0.6 * z));
  }
}
