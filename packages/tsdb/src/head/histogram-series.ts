/**
 * The native histogram samples of one head series, in Prometheus' histogram chunks (encoding 2
 * for integer histograms, 3 for float ones). When a sample can go into the open chunk, and what
 * the next chunk's counter-reset header says, follows Prometheus' appender:
 *
 *   - a staleness marker always fits; after one, only markers do;
 *   - a sample of the other kind (integer / float), or one going from gauge to counter or back,
 *     starts a chunk;
 *   - counters: a reset hint, a lower count or zero count, a bucket that lost observations or
 *     disappeared while populated, or other custom bounds start a chunk headed "counter reset"; a
 *     schema or zero-threshold change one headed "unknown" (Prometheus does not look further);
 *     new buckets re-encode the open chunk with the wider layout, missing empty ones are
 *     inserted into the sample;
 *   - gauges: layouts are widened both ways; schema, threshold or bound changes start a chunk;
 *   - a chunk is cut at `maxSamples` or 1024 bytes (Prometheus' target size), when the sample
 *     crosses a block boundary, or after a float sample of the series (cutOpen).
 *
 * Recoded layouts are canonical (touching spans joined); Prometheus may keep such spans apart,
 * which changes the layout bytes of a recoded chunk but not one decoded sample.
 */
import { CounterResetHint, FloatHistogram, type Series, type Span } from '@strata/model';
import { pooledCopy } from '../chunkenc/bits.js';
import {
  CounterResetHeader,
  decodeHistogramChunk,
  ENCODING_FLOAT_HISTOGRAM,
  FloatHistogramChunkEncoder,
  HistogramChunkEncoder,
  sameSpans,
  type HistogramSample,
} from '../chunkenc/histogram.js';
import { isStaleNaN, STALE_NAN } from '../chunkenc/stale.js';

export interface HistogramChunk {
  minT: number;
  maxT: number;
  encoding: number;
  data: Uint8Array;
}

type Encoder = HistogramChunkEncoder | FloatHistogramChunkEncoder;

const TARGET_CHUNK_BYTES = 1024;

export class HistogramSeriesData {
  readonly chunks: HistogramChunk[] = [];
  open: Encoder | null = null;
  openMinT = 0;
  maxT = -Infinity;

  get numSamples(): number {
    let n = this.open ? this.open.numSamples : 0;
    for (const c of this.chunks) n += (c.data[0] << 8) | c.data[1];
    return n;
  }

  get minT(): number {
    if (this.chunks.length > 0) return this.chunks[0].minT;
    return this.open ? this.openMinT : Infinity;
  }

  /**
   * Appends a sample (in order: t > maxT, checked by the caller). Integer samples carry bucket
   * deltas, float ones absolute counts; `hint` is the sender's counter-reset hint.
   */
  append(t: number, h: HistogramSample, float: boolean, hint: CounterResetHint, maxSamples: number, blockDurationMs: number): void {
    const open = this.open;
    const gauge = hint === CounterResetHint.Gauge;
    let header: CounterResetHeader | undefined; // set: start a chunk with this header
    if (!open || open.numSamples === 0)
      header = gauge
        ? CounterResetHeader.Gauge
        : hint === CounterResetHint.CounterReset
          ? CounterResetHeader.CounterReset
          : CounterResetHeader.Unknown;
    else if ((open.encoding === ENCODING_FLOAT_HISTOGRAM) !== float || (open.header === CounterResetHeader.Gauge) !== gauge) {
      header = gauge ? CounterResetHeader.Gauge : CounterResetHeader.Unknown;
    } else if (Math.floor(t / blockDurationMs) !== Math.floor(this.openMinT / blockDurationMs)) {
      header = gauge ? CounterResetHeader.Gauge : CounterResetHeader.Unknown;
    } else {
      const verdict = gauge ? this.gaugeFit(open, h) : this.counterFit(open, h, hint);
      if (typeof verdict === 'number') header = verdict;
      else {
        h = verdict;
        // Full: the next chunk continues the counter (no reset was seen).
        if (open.numSamples >= maxSamples || open.size >= TARGET_CHUNK_BYTES)
          header = gauge ? CounterResetHeader.Gauge : CounterResetHeader.NotCounterReset;
      }
    }
    if (header !== undefined) {
      this.cut();
      this.open = float ? new FloatHistogramChunkEncoder(header) : new HistogramChunkEncoder(header);
      this.openMinT = t;
    }
    this.open!.append(t, h);
    this.maxT = t;
  }

  /** For a counter chunk: the sample as it goes in (layout widened if needed), or the header of a new chunk. */
  private counterFit(open: Encoder, h: HistogramSample, hint: CounterResetHint): HistogramSample | CounterResetHeader {
    if (hint === CounterResetHint.CounterReset) return CounterResetHeader.CounterReset;
    if (isStaleNaN(h.sum)) return h;
    if (open.lastStale) return CounterResetHeader.Unknown;
    const l = open.layout;
    const last = open.lastCounts();
    if (h.count < last.count) return CounterResetHeader.CounterReset;
    if (h.schema !== l.schema || h.zeroThreshold !== l.zeroThreshold) return CounterResetHeader.Unknown;
    if (h.schema === -53 && !sameValues(h.customValues, l.customValues)) return CounterResetHeader.CounterReset;
    if (h.zeroCount < last.zeroCount) return CounterResetHeader.CounterReset;
    const float = open.encoding === ENCODING_FLOAT_HISTOGRAM;
    const pos = counterSide(l.positiveSpans, last.positive, h.positiveSpans, absoluteOf(h.positiveBuckets, float));
    const neg = counterSide(l.negativeSpans, last.negative, h.negativeSpans, absoluteOf(h.negativeBuckets, float));
    if (!pos || !neg) return CounterResetHeader.CounterReset;
    return this.widen(open, h, pos.spans, neg.spans, float);
  }

  private gaugeFit(open: Encoder, h: HistogramSample): HistogramSample | CounterResetHeader {
    if (isStaleNaN(h.sum)) return h;
    if (open.lastStale) return CounterResetHeader.Gauge;
    const l = open.layout;
    if (h.schema !== l.schema || h.zeroThreshold !== l.zeroThreshold) return CounterResetHeader.Gauge;
    if (h.schema === -53 && !sameValues(h.customValues, l.customValues)) return CounterResetHeader.Gauge;
    const float = open.encoding === ENCODING_FLOAT_HISTOGRAM;
    return this.widen(open, h, unionSpans(l.positiveSpans, h.positiveSpans), unionSpans(l.negativeSpans, h.negativeSpans), float);
  }

  /** Re-encodes the open chunk if the layout grew, and gives the sample the (possibly wider) layout. */
  private widen(open: Encoder, h: HistogramSample, pos: Span[], neg: Span[], float: boolean): HistogramSample {
    const l = open.layout;
    if (!sameSpans(pos, l.positiveSpans) || !sameSpans(neg, l.negativeSpans)) {
      const old = decodeHistogramChunk(open.bytes(), open.encoding);
      const next = float ? new FloatHistogramChunkEncoder(open.header) : new HistogramChunkEncoder(open.header);
      old.histograms.forEach((s, k) => next.append(old.timestamps[k], isStaleNaN(s.sum) ? s : withLayout(s, pos, neg, float)));
      this.open = next;
    }
    if (sameSpans(pos, h.positiveSpans) && sameSpans(neg, h.negativeSpans)) return h;
    return withLayout(h, pos, neg, float);
  }

  /** Closes the open chunk: the next histogram starts a new one (a float sample came between). */
  cutOpen(): void {
    this.cut();
  }

  private cut(): void {
    if (this.open && this.open.numSamples > 0) {
      this.chunks.push({ minT: this.openMinT, maxT: this.maxT, encoding: this.open.encoding, data: pooledCopy(this.open.bytes()) });
    }
    this.open = null;
  }

  /**
   * Drops chunks wholly older than t (see MemSeries.truncateBefore), except those starting at a
   * time in `keep` (samples a block cut did not capture); whether any sample remains.
   */
  truncateBefore(t: number, keep?: ReadonlySet<number>): boolean {
    let w = 0;
    for (let k = 0; k < this.chunks.length; k++) {
      const c = this.chunks[k];
      if (c.maxT >= t || keep?.has(c.minT)) this.chunks[w++] = c;
    }
    this.chunks.length = w;
    if (this.open && this.maxT < t && !keep?.has(this.openMinT)) this.open = null;
    return this.chunks.length > 0 || this.open !== null;
  }

  /** Chunks overlapping [mint, maxt], the open one as a copy. */
  chunksIn(mint: number, maxt: number): HistogramChunk[] {
    const out: HistogramChunk[] = [];
    for (const c of this.chunks) if (c.maxT >= mint && c.minT <= maxt) out.push(c);
    if (this.open && this.open.numSamples > 0 && this.maxT >= mint && this.openMinT <= maxt) {
      out.push({ minT: this.openMinT, maxT: this.maxT, encoding: this.open.encoding, data: this.open.bytes().slice() });
    }
    return out;
  }

  /**
   * Whether `h` is what is stored at t (a resent sample): its observations compared bucket by
   * bucket, empty buckets aside (the chunk may have widened the layout); undefined if t holds none.
   */
  sameAt(t: number, h: HistogramSample, float: boolean): boolean | undefined {
    const got = this.samples(t, t);
    if (got.timestamps.length === 0) return undefined;
    const stored = got.histograms[0];
    if (stored === 'stale') return isStaleNaN(h.sum);
    const sent = new FloatHistogram({
      schema: h.schema,
      zeroThreshold: h.zeroThreshold,
      zeroCount: h.zeroCount,
      count: h.count,
      sum: h.sum,
      positiveSpans: h.positiveSpans.map((x) => ({ ...x })),
      positiveBuckets: absoluteOf(h.positiveBuckets, float),
      negativeSpans: h.negativeSpans.map((x) => ({ ...x })),
      negativeBuckets: absoluteOf(h.negativeBuckets, float),
      customValues: h.schema === -53 ? Array.from(h.customValues) : undefined,
    });
    return stored.copy().compact().equals(sent.compact());
  }

  /** Whether a sample exists at exactly t. */
  has(t: number): boolean {
    if (t > this.maxT) return false;
    for (const c of this.chunksIn(t, t)) if (decodeHistogramChunk(c.data, c.encoding).timestamps.includes(t)) return true;
    return false;
  }

  /**
   * Samples in [mint, maxt] as PromQL's float histograms, with the counter-reset hints a
   * Prometheus chunk iterator gives (hintAt). A staleness marker is returned
   * as `stale` (the caller makes it a float sample).
   */
  samples(mint: number, maxt: number): { timestamps: number[]; histograms: (FloatHistogram | 'stale')[] } {
    const out = { timestamps: [] as number[], histograms: [] as (FloatHistogram | 'stale')[] };
    for (const c of this.chunksIn(mint, maxt)) histogramChunkSamples(c.data, c.encoding, mint, maxt, out);
    return out;
  }
}

/**
 * Appends the samples in [mint, maxt] of one histogram chunk (`encoding` 2 or 3) to `out`, as
 * PromQL's float histograms with the counter-reset hints a Prometheus chunk iterator gives
 * (hintAt); a staleness marker as `stale`. The head's select and a query worker decoding chunks
 * that crossed to it both read chunks so, and so answer alike.
 */
export function histogramChunkSamples(
  data: Uint8Array,
  encoding: number,
  mint: number,
  maxt: number,
  out: { timestamps: number[]; histograms: (FloatHistogram | 'stale')[] },
): void {
  const d = decodeHistogramChunk(data, encoding);
  const float = encoding === ENCODING_FLOAT_HISTOGRAM;
  d.timestamps.forEach((t, k) => {
    if (t < mint || t > maxt) return;
    const s = d.histograms[k];
    out.timestamps.push(t);
    if (isStaleNaN(s.sum)) {
      out.histograms.push('stale');
      return;
    }
    out.histograms.push(
      new FloatHistogram({
        schema: s.schema,
        zeroThreshold: s.zeroThreshold,
        zeroCount: s.zeroCount,
        count: s.count,
        sum: s.sum,
        positiveSpans: s.positiveSpans.map((x) => ({ ...x })),
        positiveBuckets: absoluteOf(s.positiveBuckets, float),
        negativeSpans: s.negativeSpans.map((x) => ({ ...x })),
        negativeBuckets: absoluteOf(s.negativeBuckets, float),
        customValues: s.schema === -53 ? Array.from(s.customValues) : undefined,
        counterResetHint: hintAt(d.header, k),
      }),
    );
  });
}

/**
 * As Prometheus' chunk iterators: the first sample of a counter chunk reads as unknown whatever the
 * header says (the previous chunk may be gone, or been added later out of order; Prometheus issue
 * 15346), later ones as not a reset.
 */
function hintAt(header: CounterResetHeader, k: number): CounterResetHint {
  if (header === CounterResetHeader.Gauge) return CounterResetHint.Gauge;
  return k > 0 ? CounterResetHint.NotCounterReset : CounterResetHint.Unknown;
}

function sameValues(a: ArrayLike<number>, b: ArrayLike<number>): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Absolute bucket counts (integer samples carry deltas). */
export function absoluteOf(buckets: ArrayLike<number>, float: boolean): number[] {
  const out: number[] = [];
  let c = 0;
  for (let i = 0; i < buckets.length; i++) out.push(float ? buckets[i] : (c += buckets[i]));
  return out;
}

function indices(spans: readonly Span[]): number[] {
  const out: number[] = [];
  let at = 0;
  for (const s of spans) {
    at += s.offset;
    for (let k = 0; k < s.length; k++) out.push(at++);
  }
  return out;
}

function spansOf(idx: readonly number[]): Span[] {
  const spans: Span[] = [];
  let prevEnd = 0;
  for (const i of idx) {
    const last = spans[spans.length - 1];
    if (last && i === prevEnd) last.length++;
    else spans.push({ offset: spans.length === 0 ? i : i - prevEnd, length: 1 });
    prevEnd = i + 1;
  }
  return spans;
}

function unionSpans(a: readonly Span[], b: readonly Span[]): Span[] {
  if (sameSpans(a, b)) return a.map((s) => ({ ...s }));
  return spansOf([...new Set([...indices(a), ...indices(b)])].sort((x, y) => x - y));
}

/**
 * One side of a counter: the union layout, or undefined for a reset (a bucket of the chunk
 * that lost observations, or disappeared while it held some).
 */
function counterSide(
  chunkSpans: readonly Span[],
  last: readonly number[],
  spans: readonly Span[],
  counts: readonly number[],
): { spans: Span[] } | undefined {
  const ci = indices(chunkSpans);
  const hi = indices(spans);
  const byIdx = new Map<number, number>();
  hi.forEach((i, k) => byIdx.set(i, counts[k]));
  for (let k = 0; k < ci.length; k++) {
    const now = byIdx.get(ci[k]);
    if (now === undefined ? last[k] !== 0 : now < last[k]) return undefined;
  }
  return { spans: unionSpans(chunkSpans, spans) };
}

/** The sample with buckets laid out on (a superset of) its spans, empty buckets added. */
function withLayout(h: HistogramSample, pos: Span[], neg: Span[], float: boolean): HistogramSample {
  const side = (from: readonly Span[], buckets: ArrayLike<number>, to: Span[]) => {
    const abs = absoluteOf(buckets, float);
    const byIdx = new Map<number, number>();
    indices(from).forEach((i, k) => byIdx.set(i, abs[k]));
    const out = indices(to).map((i) => byIdx.get(i) ?? 0);
    if (float) return out;
    let prev = 0;
    return out.map((c) => {
      const d = c - prev;
      prev = c;
      return d;
    });
  };
  return {
    ...h,
    positiveSpans: pos,
    positiveBuckets: side(h.positiveSpans, h.positiveBuckets, pos),
    negativeSpans: neg,
    negativeBuckets: side(h.negativeSpans, h.negativeBuckets, neg),
  };
}

/**
 * A series' float samples and its histogram samples merged by time, as Series carries them: one
 * timestamp column, histograms beside the values (undefined for float samples); a float and a
 * histogram at one timestamp keep the float. A histogram
 * staleness marker becomes a float staleness marker, as Prometheus' query path sees it.
 */
export function withHistograms(
  data: { timestamps: Float64Array; values: Float64Array } | undefined,
  h: { timestamps: number[]; histograms: (FloatHistogram | 'stale')[] },
): Pick<Series, 'timestamps' | 'values' | 'histograms'> | undefined {
  const nf = data ? data.timestamps.length : 0;
  const nh = h.timestamps.length;
  const n = nf + nh;
  if (n === 0) return undefined;
  const ts = new Float64Array(n);
  const vs = new Float64Array(n);
  // Float values copied as bits, so NaN payloads (staleness markers) survive.
  const vb = new Uint32Array(vs.buffer);
  const fb = data && new Uint32Array(data.values.buffer, data.values.byteOffset, 2 * nf);
  const hs: (FloatHistogram | undefined)[] = new Array<FloatHistogram | undefined>(n);
  let i = 0;
  let j = 0;
  let k = 0;
  while (i < nf || j < nh) {
    if (j >= nh || (i < nf && data!.timestamps[i] <= h.timestamps[j])) {
      // A float and a histogram at one time: the float, as Prometheus' remote-read client decides.
      if (j < nh && data!.timestamps[i] === h.timestamps[j]) j++;
      ts[k] = data!.timestamps[i];
      vb[2 * k] = fb![2 * i];
      vb[2 * k + 1] = fb![2 * i + 1];
      hs[k] = undefined;
      i++;
    } else {
      ts[k] = h.timestamps[j];
      const x = h.histograms[j++];
      if (x === 'stale') {
        vs[k] = STALE_NAN;
        hs[k] = undefined;
      } else {
        vs[k] = 0;
        hs[k] = x;
      }
    }
    k++;
  }
  if (k < n) hs.length = k;
  return { timestamps: ts.subarray(0, k), values: vs.subarray(0, k), histograms: hs };
}
