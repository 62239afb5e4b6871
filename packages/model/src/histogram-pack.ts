/**
 * Float histograms as runs of doubles, so that they cross to another thread inside a transferred
 * Float64Array instead of as objects: structured cloning would copy each one field by field and
 * drop FloatHistogram's prototype (the receiver would get plain objects without methods).
 *
 * One histogram is written as
 *   schema, zeroThreshold, zeroCount, count, sum, counterResetHint,
 *   #positive spans, #negative spans, #positive buckets, #negative buckets, #custom values,
 *   positive spans (offset, length)..., negative spans..., positive buckets..., negative buckets...,
 *   custom values...
 * Every field is a double already (span offsets and lengths are small integers), so nothing is
 * rounded; a run's length follows from its counts (histogramRunLength).
 */
import { FloatHistogram, type CounterResetHint, type Span } from './histogram.js';

const HEADER = 11;

/** Doubles writeHistogram() takes for `h`. */
export function histogramRunLength(h: FloatHistogram): number {
  const cv = h.customValues?.length ?? 0;
  return HEADER + 2 * (h.positiveSpans.length + h.negativeSpans.length) + h.positiveBuckets.length + h.negativeBuckets.length + cv;
}

/** Writes `h` at `at`; returns the index after it. `to` must have room (histogramRunLength). */
export function writeHistogram(h: FloatHistogram, to: Float64Array, at: number): number {
  to[at++] = h.schema;
  to[at++] = h.zeroThreshold;
  to[at++] = h.zeroCount;
  to[at++] = h.count;
  to[at++] = h.sum;
  to[at++] = h.counterResetHint;
  to[at++] = h.positiveSpans.length;
  to[at++] = h.negativeSpans.length;
  to[at++] = h.positiveBuckets.length;
  to[at++] = h.negativeBuckets.length;
  to[at++] = h.customValues?.length ?? 0;
  for (const s of h.positiveSpans) {
    to[at++] = s.offset;
    to[at++] = s.length;
  }
  for (const s of h.negativeSpans) {
    to[at++] = s.offset;
    to[at++] = s.length;
  }
  for (const b of h.positiveBuckets) to[at++] = b;
  for (const b of h.negativeBuckets) to[at++] = b;
  if (h.customValues) for (const v of h.customValues) to[at++] = v;
  return at;
}

/** The histogram written at `at`, and the index after it. */
export function readHistogram(from: Float64Array, at: number): { h: FloatHistogram; next: number } {
  const schema = from[at];
  const zeroThreshold = from[at + 1];
  const zeroCount = from[at + 2];
  const count = from[at + 3];
  const sum = from[at + 4];
  const counterResetHint = from[at + 5] as CounterResetHint;
  const nps = from[at + 6];
  const nns = from[at + 7];
  const npb = from[at + 8];
  const nnb = from[at + 9];
  const ncv = from[at + 10];
  at += HEADER;
  const spans = (n: number): Span[] => {
    const out: Span[] = new Array(n);
    for (let k = 0; k < n; k++, at += 2) out[k] = { offset: from[at], length: from[at + 1] };
    return out;
  };
  const positiveSpans = spans(nps);
  const negativeSpans = spans(nns);
  const numbers = (n: number): number[] => {
    const out: number[] = new Array(n);
    for (let k = 0; k < n; k++) out[k] = from[at++];
    return out;
  };
  const positiveBuckets = numbers(npb);
  const negativeBuckets = numbers(nnb);
  // Only custom-bucket histograms have bounds; an empty list stays absent, as FloatHistogram has it.
  const customValues = ncv > 0 ? numbers(ncv) : undefined;
  const h = new FloatHistogram({
    schema,
    zeroThreshold,
    zeroCount,
    count,
    sum,
    positiveSpans,
    positiveBuckets,
    negativeSpans,
    negativeBuckets,
    customValues,
    counterResetHint,
  });
  return { h, next: at };
}

/**
 * A series' histogram column (undefined where a sample is a float) as doubles: per sample the
 * length of its run (0 for a float sample), then the run.
 */
export function packHistogramColumn(hs: readonly (FloatHistogram | undefined)[]): Float64Array {
  const out = new Float64Array(histogramColumnLength(hs));
  writeHistogramColumn(hs, out, 0);
  return out;
}

/** Writes what packHistogramColumn() would give at `at`; returns the index after it. */
export function writeHistogramColumn(hs: readonly (FloatHistogram | undefined)[], to: Float64Array, at: number): number {
  for (const h of hs) {
    if (!h) {
      to[at++] = 0;
      continue;
    }
    const start = at++;
    at = writeHistogram(h, to, at);
    to[start] = at - start - 1;
  }
  return at;
}

/** Doubles writeHistogramColumn() takes. */
export function histogramColumnLength(hs: readonly (FloatHistogram | undefined)[]): number {
  let n = hs.length;
  for (const h of hs) if (h) n += histogramRunLength(h);
  return n;
}

/** Reads `n` samples' column written at `at`: the histograms, and the index after them. */
export function readHistogramColumn(from: Float64Array, at: number, n: number): { hs: (FloatHistogram | undefined)[]; next: number } {
  const hs: (FloatHistogram | undefined)[] = new Array(n);
  for (let k = 0; k < n; k++) {
    const len = from[at++];
    if (len === 0) {
      hs[k] = undefined;
      continue;
    }
    const r = readHistogram(from, at);
    hs[k] = r.h;
    at = r.next;
  }
  return { hs, next: at };
}
