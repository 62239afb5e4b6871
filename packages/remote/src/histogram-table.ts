/**
 * Native histogram samples of a write batch in columnar form: one row per histogram in typed
 * arrays, spans, buckets and custom bounds in shared pools that rows point into. Histograms are
 * few per request next to float samples, but a request of them should still cost a handful of
 * typed-array writes per histogram, not a tree of objects.
 *
 * Integer histograms keep their buckets as the wire sends them (each bucket's delta to the one
 * before, as Prometheus' own histogram.Histogram does), float histograms as absolute counts.
 * Rows can be replaced (a histogram whose resolution was reduced at ingest) by writing the new
 * spans and buckets at the end of the pools and pointing the row there.
 */
import { FloatHistogram, type CounterResetHint, type Span } from '@strata/model';

/** One histogram as plain data: what encoders take and what tests compare. */
export interface WireHistogram {
  t: number;
  /** Float histogram (absolute float counts) rather than an integer one (bucket deltas). */
  float: boolean;
  schema: number;
  zeroThreshold: number;
  zeroCount: number;
  count: number;
  sum: number;
  /** 0 unknown, 1 counter reset, 2 not a reset, 3 gauge (the wire's ResetHint). */
  resetHint: number;
  positiveSpans: Span[];
  /** Deltas for integer histograms, absolute counts for float ones. */
  positiveBuckets: number[];
  negativeSpans: Span[];
  negativeBuckets: number[];
  /** Upper bounds of the custom buckets (schema -53). */
  customValues: number[];
}

/** Row layout of `ranges`: start and length of each pool section a histogram uses. */
const R_PSPAN = 0;
const R_NSPAN = 2;
const R_PBUCKET = 4;
const R_NBUCKET = 6;
const R_CUSTOM = 8;
const STRIDE = 10;

class F64Pool {
  data = new Float64Array(64);
  n = 0;
  push(v: number): void {
    if (this.n === this.data.length) this.data = grownF64(this.data);
    this.data[this.n++] = v;
  }
}

class I32Pool {
  data = new Int32Array(64);
  n = 0;
  push(v: number): void {
    if (this.n === this.data.length) this.data = grownI32(this.data);
    this.data[this.n++] = v;
  }
}

export class HistogramTable {
  n = 0;
  t = new Float64Array(8);
  /** 1 for float histograms. */
  float = new Uint8Array(8);
  resetHint = new Uint8Array(8);
  schema = new Int32Array(8);
  zeroThreshold = new Float64Array(8);
  zeroCount = new Float64Array(8);
  count = new Float64Array(8);
  sum = new Float64Array(8);
  ranges = new Int32Array(8 * STRIDE);
  /** Span offsets and lengths, interleaved. */
  readonly spans = new I32Pool();
  readonly buckets = new F64Pool();
  readonly customValues = new F64Pool();

  /** Sets row i's sum from 8 little-endian bytes: a staleness marker's NaN payload survives. */
  setSumBytes(i: number, src: Uint8Array, at: number): void {
    const b = new Uint8Array(this.sum.buffer, i * 8, 8);
    for (let k = 0; k < 8; k++) b[k] = src[at + k];
  }

  private grow(): void {
    this.t = grownF64(this.t);
    this.float = grownU8(this.float);
    this.resetHint = grownU8(this.resetHint);
    this.schema = grownI32(this.schema);
    this.zeroThreshold = grownF64(this.zeroThreshold);
    this.zeroCount = grownF64(this.zeroCount);
    this.count = grownF64(this.count);
    this.sum = grownF64(this.sum);
    this.ranges = grownI32(this.ranges);
  }

  /** Starts a row; the caller then adds its sections with the add* methods in any order. */
  begin(
    t: number,
    float: boolean,
    schema: number,
    zeroThreshold: number,
    zeroCount: number,
    count: number,
    sum: number,
    hint: number,
  ): number {
    if (this.n === this.t.length) this.grow();
    const i = this.n++;
    this.t[i] = t;
    this.float[i] = float ? 1 : 0;
    this.schema[i] = schema;
    this.zeroThreshold[i] = zeroThreshold;
    this.zeroCount[i] = zeroCount;
    this.count[i] = count;
    this.sum[i] = sum;
    this.resetHint[i] = hint;
    this.ranges.fill(0, i * STRIDE, (i + 1) * STRIDE);
    return i;
  }

  /** Appends spans (offset, length pairs in `pairs`) as the positive or negative spans of row i. */
  setSpans(i: number, negative: boolean, pairs: ArrayLike<number>, n = pairs.length): void {
    const at = this.spans.n / 2;
    for (let k = 0; k < n; k++) this.spans.push(pairs[k]);
    const r = i * STRIDE + (negative ? R_NSPAN : R_PSPAN);
    this.ranges[r] = at;
    this.ranges[r + 1] = n / 2;
  }

  setBuckets(i: number, negative: boolean, values: ArrayLike<number>, n = values.length): void {
    const at = this.buckets.n;
    for (let k = 0; k < n; k++) this.buckets.push(values[k]);
    const r = i * STRIDE + (negative ? R_NBUCKET : R_PBUCKET);
    this.ranges[r] = at;
    this.ranges[r + 1] = n;
  }

  setCustomValues(i: number, values: ArrayLike<number>, n = values.length): void {
    const at = this.customValues.n;
    for (let k = 0; k < n; k++) this.customValues.push(values[k]);
    this.ranges[i * STRIDE + R_CUSTOM] = at;
    this.ranges[i * STRIDE + R_CUSTOM + 1] = n;
  }

  /** Number of spans of one side; span k's offset is spanOffset(i, neg, k). */
  numSpans(i: number, negative: boolean): number {
    return this.ranges[i * STRIDE + (negative ? R_NSPAN : R_PSPAN) + 1];
  }

  spanOffset(i: number, negative: boolean, k: number): number {
    return this.spans.data[(this.ranges[i * STRIDE + (negative ? R_NSPAN : R_PSPAN)] + k) * 2];
  }

  spanLength(i: number, negative: boolean, k: number): number {
    return this.spans.data[(this.ranges[i * STRIDE + (negative ? R_NSPAN : R_PSPAN)] + k) * 2 + 1];
  }

  numBuckets(i: number, negative: boolean): number {
    return this.ranges[i * STRIDE + (negative ? R_NBUCKET : R_PBUCKET) + 1];
  }

  /** Index of row i's first bucket of one side in `buckets.data`. */
  bucketsAt(i: number, negative: boolean): number {
    return this.ranges[i * STRIDE + (negative ? R_NBUCKET : R_PBUCKET)];
  }

  numCustomValues(i: number): number {
    return this.ranges[i * STRIDE + R_CUSTOM + 1];
  }

  customValuesAt(i: number): number {
    return this.ranges[i * STRIDE + R_CUSTOM];
  }

  /** Appends a histogram given as plain data. */
  push(h: WireHistogram): number {
    const i = this.begin(h.t, h.float, h.schema, h.zeroThreshold, h.zeroCount, h.count, h.sum, h.resetHint);
    this.fill(i, h);
    return i;
  }

  /** Points row i at new contents (the old sections stay in the pools, unreferenced). */
  replace(i: number, h: WireHistogram): void {
    this.t[i] = h.t;
    this.float[i] = h.float ? 1 : 0;
    this.schema[i] = h.schema;
    this.zeroThreshold[i] = h.zeroThreshold;
    this.zeroCount[i] = h.zeroCount;
    this.count[i] = h.count;
    this.sum[i] = h.sum;
    this.resetHint[i] = h.resetHint;
    this.fill(i, h);
  }

  private fill(i: number, h: WireHistogram): void {
    this.setSpans(i, false, spanPairs(h.positiveSpans));
    this.setSpans(i, true, spanPairs(h.negativeSpans));
    this.setBuckets(i, false, h.positiveBuckets);
    this.setBuckets(i, true, h.negativeBuckets);
    this.setCustomValues(i, h.customValues);
  }

  /** Row i as plain data (allocates: encoders, tests and the slow path of validation). */
  get(i: number): WireHistogram {
    const spans = (neg: boolean): Span[] => {
      const out: Span[] = [];
      for (let k = 0; k < this.numSpans(i, neg); k++) out.push({ offset: this.spanOffset(i, neg, k), length: this.spanLength(i, neg, k) });
      return out;
    };
    const buckets = (neg: boolean): number[] =>
      Array.from(this.buckets.data.subarray(this.bucketsAt(i, neg), this.bucketsAt(i, neg) + this.numBuckets(i, neg)));
    const cvAt = this.customValuesAt(i);
    return {
      t: this.t[i],
      float: this.float[i] === 1,
      schema: this.schema[i],
      zeroThreshold: this.zeroThreshold[i],
      zeroCount: this.zeroCount[i],
      count: this.count[i],
      sum: this.sum[i],
      resetHint: this.resetHint[i],
      positiveSpans: spans(false),
      positiveBuckets: buckets(false),
      negativeSpans: spans(true),
      negativeBuckets: buckets(true),
      customValues: Array.from(this.customValues.data.subarray(cvAt, cvAt + this.numCustomValues(i))),
    };
  }
}

function spanPairs(spans: readonly Span[]): number[] {
  const out: number[] = [];
  for (const s of spans) out.push(s.offset, s.length);
  return out;
}

function grownF64(a: Float64Array<ArrayBuffer>): Float64Array<ArrayBuffer> {
  const b = new Float64Array(a.length * 2);
  b.set(a);
  return b;
}

function grownI32(a: Int32Array<ArrayBuffer>): Int32Array<ArrayBuffer> {
  const b = new Int32Array(a.length * 2);
  b.set(a);
  return b;
}

function grownU8(a: Uint8Array<ArrayBuffer>): Uint8Array<ArrayBuffer> {
  const b = new Uint8Array(a.length * 2);
  b.set(a);
  return b;
}

/**
 * Row i as a FloatHistogram (integer deltas summed to absolute counts): the form the model's
 * operations (resolution reduction, PromQL) take.
 */
export function rowToFloatHistogram(table: HistogramTable, i: number): FloatHistogram {
  const h = table.get(i);
  const abs = (b: number[]) => {
    if (h.float) return b;
    let c = 0;
    return b.map((d) => (c += d));
  };
  return new FloatHistogram({
    schema: h.schema,
    zeroThreshold: h.zeroThreshold,
    zeroCount: h.zeroCount,
    count: h.count,
    sum: h.sum,
    positiveSpans: h.positiveSpans,
    positiveBuckets: abs(h.positiveBuckets),
    negativeSpans: h.negativeSpans,
    negativeBuckets: abs(h.negativeBuckets),
    customValues: h.schema === -53 ? h.customValues : undefined,
    counterResetHint: h.resetHint as CounterResetHint,
  });
}

/** A FloatHistogram as wire data; `float` false turns absolute counts back into deltas (exact for integers). */
export function wireFromFloatHistogram(fh: FloatHistogram, t: number, float: boolean): WireHistogram {
  const deltas = (b: number[]) => {
    if (float) return b.slice();
    let prev = 0;
    return b.map((c) => {
      const d = c - prev;
      prev = c;
      return d;
    });
  };
  return {
    t,
    float,
    schema: fh.schema,
    zeroThreshold: fh.zeroThreshold,
    zeroCount: fh.zeroCount,
    count: fh.count,
    sum: fh.sum,
    resetHint: fh.counterResetHint,
    positiveSpans: fh.positiveSpans.map((s) => ({ ...s })),
    positiveBuckets: deltas(fh.positiveBuckets),
    negativeSpans: fh.negativeSpans.map((s) => ({ ...s })),
    negativeBuckets: deltas(fh.negativeBuckets),
    customValues: fh.customValues?.slice() ?? [],
  };
}
