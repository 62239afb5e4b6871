/**
 * Prometheus' native histogram chunks, bit-exact with Prometheus so head chunks go into blocks
 * unchanged: encoding 2 (integer histograms) and 3 (float histograms). Byte format:
 * docs/format/chunk.md. A chunk has one bucket layout (schema, zero threshold, spans, custom
 * bounds), written once after the 3-byte header (sample count, counter-reset flags); each sample
 * then carries its counts against that layout:
 *
 *   integer: the first sample's timestamp, count, zero count, sum and bucket deltas as written;
 *   later ones the delta of delta over time of each of them, the sum XORed with the last one.
 *   float: the first sample's values as float64; later ones each field XORed with its own last
 *   value (timestamps still as delta of delta).
 *
 * Integer histograms hold their buckets as Prometheus' histogram.Histogram does: each bucket's
 * delta to the previous bucket of its side (the first one absolute). A staleness marker (sum =
 * Prometheus' stale NaN) is written without buckets, and after one only further markers fit.
 *
 * The encoders append samples whose layout is the chunk's; a sample with new buckets is made to
 * fit by re-encoding the chunk with the union layout (recode), one missing buckets by inserting
 * empty ones (expandToLayout), as Prometheus does. Which case applies is histogram-append.ts.
 */
import type { Span } from '@strata/model';
import { BitReader, BitWriter, ChunkCorruptError } from './bits.js';
import { isStaleNaN } from './stale.js';
import {
  putCustomBound,
  putVarbitInt,
  putVarbitUint,
  putZeroThreshold,
  readCustomBound,
  readFloat,
  readVarbitInt,
  readVarbitUint,
  readZeroThreshold,
  writeFloat,
  XorField,
} from './varbit.js';

export const ENCODING_HISTOGRAM = 2;
export const ENCODING_FLOAT_HISTOGRAM = 3;

/** The flags in the chunk's third byte (its top two bits): what is known about a counter reset before this chunk. */
export const CounterResetHeader = { Unknown: 0x00, CounterReset: 0x80, NotCounterReset: 0x40, Gauge: 0xc0 } as const;
export type CounterResetHeader = (typeof CounterResetHeader)[keyof typeof CounterResetHeader];

const HEADER_SIZE = 3;
const CUSTOM_BUCKETS_SCHEMA = -53;

/** A histogram sample as the chunks take and give it (Go's histogram.Histogram / FloatHistogram fields). */
export interface HistogramSample {
  schema: number;
  zeroThreshold: number;
  zeroCount: number;
  count: number;
  sum: number;
  positiveSpans: readonly Span[];
  /** Integer histograms: deltas between neighbouring buckets; float histograms: absolute counts. */
  positiveBuckets: ArrayLike<number>;
  negativeSpans: readonly Span[];
  negativeBuckets: ArrayLike<number>;
  /** Bounds of custom buckets (schema -53); empty otherwise. */
  customValues: ArrayLike<number>;
}

export interface ChunkLayout {
  schema: number;
  zeroThreshold: number;
  positiveSpans: Span[];
  negativeSpans: Span[];
  customValues: number[];
}

function bucketCount(spans: readonly Span[]): number {
  let n = 0;
  for (const s of spans) n += s.length;
  return n;
}

function writeLayout(w: BitWriter, l: ChunkLayout): void {
  putZeroThreshold(w, l.zeroThreshold);
  putVarbitInt(w, l.schema);
  for (const spans of [l.positiveSpans, l.negativeSpans]) {
    putVarbitUint(w, spans.length);
    for (const s of spans) {
      putVarbitUint(w, s.length);
      putVarbitInt(w, s.offset);
    }
  }
  // Custom bounds exist only in chunks of schema -53 (so chunks of other schemas read as before them).
  if (l.schema === CUSTOM_BUCKETS_SCHEMA) {
    putVarbitUint(w, l.customValues.length);
    for (const v of l.customValues) putCustomBound(w, v);
  }
}

function readLayout(r: BitReader): ChunkLayout {
  const zeroThreshold = readZeroThreshold(r);
  const schema = readVarbitInt(r);
  if (schema !== CUSTOM_BUCKETS_SCHEMA && (schema < -9 || schema > 52))
    throw new ChunkCorruptError(`histogram chunk: unknown schema ${schema}`);
  const sides: Span[][] = [];
  for (let side = 0; side < 2; side++) {
    const n = readVarbitUint(r);
    if (n > r.bitsLeft) throw new ChunkCorruptError('histogram chunk: span count past the end');
    const spans: Span[] = [];
    for (let k = 0; k < n; k++) {
      const length = readVarbitUint(r);
      spans.push({ offset: readVarbitInt(r), length });
    }
    sides.push(spans);
  }
  const customValues: number[] = [];
  if (schema === CUSTOM_BUCKETS_SCHEMA) {
    const n = readVarbitUint(r);
    if (n > r.bitsLeft) throw new ChunkCorruptError('histogram chunk: bound count past the end');
    for (let k = 0; k < n; k++) customValues.push(readCustomBound(r));
  }
  if (bucketCount(sides[0]) + bucketCount(sides[1]) > r.bitsLeft) throw new ChunkCorruptError('histogram chunk: more buckets than bits');
  return { schema, zeroThreshold, positiveSpans: sides[0], negativeSpans: sides[1], customValues };
}

function layoutOf(h: HistogramSample): ChunkLayout {
  return {
    schema: h.schema,
    zeroThreshold: h.zeroThreshold,
    positiveSpans: h.positiveSpans.map((s) => ({ offset: s.offset, length: s.length })),
    negativeSpans: h.negativeSpans.map((s) => ({ offset: s.offset, length: s.length })),
    customValues: h.schema === CUSTOM_BUCKETS_SCHEMA ? Array.from(h.customValues) : [],
  };
}

const EMPTY_LAYOUT: ChunkLayout = { schema: 0, zeroThreshold: 0, positiveSpans: [], negativeSpans: [], customValues: [] };

/** Whether two span lists are the same. */
export function sameSpans(a: readonly Span[], b: readonly Span[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i].offset !== b[i].offset || a[i].length !== b[i].length) return false;
  return true;
}

abstract class HistogramEncoderBase {
  protected readonly w: BitWriter;
  protected n = 0;
  protected t = 0;
  protected tDelta = 0;
  /** The chunk's layout; set by the first sample. */
  layout: ChunkLayout = EMPTY_LAYOUT;
  /** Whether the last sample was a staleness marker (then only markers may follow). */
  lastStale = false;

  constructor(header: CounterResetHeader) {
    this.w = new BitWriter(128);
    this.w.writeBits(0, 16);
    this.w.writeByte(header);
  }

  get numSamples(): number {
    return this.n;
  }

  get lastTimestamp(): number {
    return this.t;
  }

  get size(): number {
    return (this.w.nbits + 7) >>> 3;
  }

  get header(): CounterResetHeader {
    return (this.w.buf[2] & 0xc0) as CounterResetHeader;
  }

  set header(h: CounterResetHeader) {
    this.w.buf[2] = (this.w.buf[2] & 0x3f) | h;
  }

  /** The chunk's bytes (a view; copy before appending more if it must be kept). */
  bytes(): Uint8Array {
    const b = this.w.bytes();
    b[0] = this.n >>> 8;
    b[1] = this.n & 0xff;
    return b;
  }

  /** Appends a sample whose buckets follow the chunk's layout (any layout for the first sample). */
  append(t: number, h: HistogramSample): void {
    const stale = isStaleNaN(h.sum);
    if (this.n > 0 && !stale) {
      if (this.lastStale) throw new Error('histogram chunk: only staleness markers may follow a staleness marker');
      if (!this.fits(h)) throw new Error('histogram chunk: sample does not follow the chunk layout');
    }
    if (this.n === 0) {
      this.layout = stale ? EMPTY_LAYOUT : layoutOf(h);
      writeLayout(this.w, this.layout);
      this.first(t, h, stale);
      this.tDelta = 0;
    } else {
      const tDelta = t - this.t;
      putVarbitInt(this.w, tDelta - this.tDelta);
      this.next(h, stale);
      this.tDelta = tDelta;
    }
    this.t = t;
    this.lastStale = stale;
    this.n++;
  }

  /** Whether h has exactly the chunk's layout. */
  fits(h: HistogramSample): boolean {
    const l = this.layout;
    if (h.schema !== l.schema || h.zeroThreshold !== l.zeroThreshold) return false;
    if (!sameSpans(h.positiveSpans, l.positiveSpans) || !sameSpans(h.negativeSpans, l.negativeSpans)) return false;
    if (h.schema === CUSTOM_BUCKETS_SCHEMA) {
      if (h.customValues.length !== l.customValues.length) return false;
      for (let i = 0; i < l.customValues.length; i++) if (h.customValues[i] !== l.customValues[i]) return false;
    }
    return true;
  }

  protected abstract first(t: number, h: HistogramSample, stale: boolean): void;
  protected abstract next(h: HistogramSample, stale: boolean): void;
}

/** Encoding 2: integer histograms. */
export class HistogramChunkEncoder extends HistogramEncoderBase {
  readonly encoding = ENCODING_HISTOGRAM;
  private cnt = 0;
  private zCnt = 0;
  private cntDelta = 0;
  private zCntDelta = 0;
  private readonly sum = new XorField();
  private pBuckets = new Float64Array(0);
  private pDeltas = new Float64Array(0);
  private nBuckets = new Float64Array(0);
  private nDeltas = new Float64Array(0);

  protected first(t: number, h: HistogramSample, stale: boolean): void {
    const w = this.w;
    const np = bucketCount(this.layout.positiveSpans);
    const nn = bucketCount(this.layout.negativeSpans);
    this.pBuckets = new Float64Array(np);
    this.pDeltas = new Float64Array(np);
    this.nBuckets = new Float64Array(nn);
    this.nDeltas = new Float64Array(nn);
    const count = stale ? 0 : h.count;
    const zeroCount = stale ? 0 : h.zeroCount;
    putVarbitInt(w, t);
    putVarbitUint(w, count);
    putVarbitUint(w, zeroCount);
    writeFloat(w, h.sum);
    this.sum.set(h.sum);
    if (!stale) {
      for (let i = 0; i < np; i++) putVarbitInt(w, (this.pBuckets[i] = h.positiveBuckets[i]));
      for (let i = 0; i < nn; i++) putVarbitInt(w, (this.nBuckets[i] = h.negativeBuckets[i]));
    }
    this.cnt = count;
    this.zCnt = zeroCount;
    this.cntDelta = 0;
    this.zCntDelta = 0;
  }

  protected next(h: HistogramSample, stale: boolean): void {
    const w = this.w;
    // A marker counts as an empty histogram; its count deltas are written as 0 (Prometheus does the same).
    const count = stale ? 0 : h.count;
    const zeroCount = stale ? 0 : h.zeroCount;
    const cntDelta = count - this.cnt;
    const zCntDelta = zeroCount - this.zCnt;
    putVarbitInt(w, stale ? 0 : cntDelta - this.cntDelta);
    putVarbitInt(w, stale ? 0 : zCntDelta - this.zCntDelta);
    this.sum.write(w, h.sum);
    if (!stale) {
      for (let i = 0; i < this.pBuckets.length; i++) {
        const delta = h.positiveBuckets[i] - this.pBuckets[i];
        putVarbitInt(w, delta - this.pDeltas[i]);
        this.pDeltas[i] = delta;
        this.pBuckets[i] = h.positiveBuckets[i];
      }
      for (let i = 0; i < this.nBuckets.length; i++) {
        const delta = h.negativeBuckets[i] - this.nBuckets[i];
        putVarbitInt(w, delta - this.nDeltas[i]);
        this.nDeltas[i] = delta;
        this.nBuckets[i] = h.negativeBuckets[i];
      }
    }
    this.cnt = count;
    this.zCnt = zeroCount;
    this.cntDelta = cntDelta;
    this.zCntDelta = zCntDelta;
  }

  /** The last sample's count and zero count, and its absolute bucket counts (for reset detection). */
  lastCounts(): { count: number; zeroCount: number; positive: number[]; negative: number[] } {
    return { count: this.cnt, zeroCount: this.zCnt, positive: absolute(this.pBuckets), negative: absolute(this.nBuckets) };
  }
}

/** Encoding 3: float histograms. */
export class FloatHistogramChunkEncoder extends HistogramEncoderBase {
  readonly encoding = ENCODING_FLOAT_HISTOGRAM;
  private readonly cnt = new XorField();
  private readonly zCnt = new XorField();
  private readonly sum = new XorField();
  private pBuckets: XorField[] = [];
  private nBuckets: XorField[] = [];

  protected first(t: number, h: HistogramSample, stale: boolean): void {
    const w = this.w;
    const count = stale ? 0 : h.count;
    const zeroCount = stale ? 0 : h.zeroCount;
    putVarbitInt(w, t);
    writeFloat(w, count);
    writeFloat(w, zeroCount);
    writeFloat(w, h.sum);
    this.cnt.set(count);
    this.zCnt.set(zeroCount);
    this.sum.set(h.sum);
    const fields = (n: number, values: ArrayLike<number>) => {
      const out: XorField[] = [];
      for (let i = 0; i < n; i++) {
        const f = new XorField();
        f.set(values[i]);
        writeFloat(w, values[i]);
        out.push(f);
      }
      return out;
    };
    this.pBuckets = fields(stale ? 0 : bucketCount(this.layout.positiveSpans), h.positiveBuckets);
    this.nBuckets = fields(stale ? 0 : bucketCount(this.layout.negativeSpans), h.negativeBuckets);
  }

  protected next(h: HistogramSample, stale: boolean): void {
    const w = this.w;
    if (stale) {
      // Prometheus writes a marker as an empty histogram: count and zero count 0, no buckets.
      this.cnt.write(w, 0);
      this.zCnt.write(w, 0);
      this.sum.write(w, h.sum);
      return;
    }
    this.cnt.write(w, h.count);
    this.zCnt.write(w, h.zeroCount);
    this.sum.write(w, h.sum);
    for (let i = 0; i < this.pBuckets.length; i++) this.pBuckets[i].write(w, h.positiveBuckets[i]);
    for (let i = 0; i < this.nBuckets.length; i++) this.nBuckets[i].write(w, h.negativeBuckets[i]);
  }

  lastCounts(): { count: number; zeroCount: number; positive: number[]; negative: number[] } {
    return {
      count: this.cnt.value,
      zeroCount: this.zCnt.value,
      positive: this.pBuckets.map((f) => f.value),
      negative: this.nBuckets.map((f) => f.value),
    };
  }
}

function absolute(deltas: Float64Array): number[] {
  const out: number[] = [];
  let c = 0;
  for (let i = 0; i < deltas.length; i++) out.push((c += deltas[i]));
  return out;
}

export interface DecodedHistogramChunk {
  header: CounterResetHeader;
  layout: ChunkLayout;
  timestamps: number[];
  /** Samples with the chunk's layout (staleness markers with none). */
  histograms: HistogramSample[];
}

/** Decodes a whole histogram chunk (encoding 2 or 3). */
export function decodeHistogramChunk(chunk: Uint8Array, encoding: number): DecodedHistogramChunk {
  if (chunk.length < HEADER_SIZE) throw new ChunkCorruptError('histogram chunk: shorter than its header');
  const total = (chunk[0] << 8) | chunk[1];
  const header = (chunk[2] & 0xc0) as CounterResetHeader;
  const timestamps: number[] = [];
  const histograms: HistogramSample[] = [];
  if (total === 0) return { header, layout: EMPTY_LAYOUT, timestamps, histograms };
  const r = new BitReader(chunk, HEADER_SIZE);
  const layout = readLayout(r);
  const np = bucketCount(layout.positiveSpans);
  const nn = bucketCount(layout.negativeSpans);
  const float = encoding === ENCODING_FLOAT_HISTOGRAM;
  let t = 0;
  let tDelta = 0;
  // Integer state.
  let cnt = 0;
  let zCnt = 0;
  let cntDelta = 0;
  let zCntDelta = 0;
  const pB = new Float64Array(np);
  const pD = new Float64Array(np);
  const nB = new Float64Array(nn);
  const nD = new Float64Array(nn);
  // Float state.
  const fCnt = new XorField();
  const fZCnt = new XorField();
  const fSum = new XorField();
  const fP = Array.from({ length: np }, () => new XorField());
  const fN = Array.from({ length: nn }, () => new XorField());
  let sum: number;
  for (let k = 0; k < total; k++) {
    let stale: boolean;
    if (k === 0) {
      t = readVarbitInt(r);
      if (float) {
        fCnt.set(readFloat(r));
        fZCnt.set(readFloat(r));
      } else {
        cnt = readVarbitUint(r);
        zCnt = readVarbitUint(r);
      }
      sum = readFloat(r);
      fSum.set(sum);
      stale = isStaleNaN(sum);
      if (!stale) {
        for (let i = 0; i < np; i++) {
          if (float) fP[i].set(readFloat(r));
          else pB[i] = readVarbitInt(r);
        }
        for (let i = 0; i < nn; i++) {
          if (float) fN[i].set(readFloat(r));
          else nB[i] = readVarbitInt(r);
        }
      }
    } else {
      tDelta += readVarbitInt(r);
      t += tDelta;
      if (float) {
        fCnt.read(r);
        fZCnt.read(r);
      } else {
        cntDelta += readVarbitInt(r);
        cnt += cntDelta;
        zCntDelta += readVarbitInt(r);
        zCnt += zCntDelta;
      }
      sum = fSum.read(r);
      stale = isStaleNaN(sum);
      if (!stale) {
        for (let i = 0; i < np; i++) {
          if (float) fP[i].read(r);
          else {
            pD[i] += readVarbitInt(r);
            pB[i] += pD[i];
          }
        }
        for (let i = 0; i < nn; i++) {
          if (float) fN[i].read(r);
          else {
            nD[i] += readVarbitInt(r);
            nB[i] += nD[i];
          }
        }
      }
    }
    timestamps.push(t);
    const h: HistogramSample = stale
      ? {
          schema: 0,
          zeroThreshold: 0,
          zeroCount: 0,
          count: 0,
          sum,
          positiveSpans: [],
          positiveBuckets: [],
          negativeSpans: [],
          negativeBuckets: [],
          customValues: [],
        }
      : {
          schema: layout.schema,
          zeroThreshold: layout.zeroThreshold,
          zeroCount: float ? fZCnt.value : zCnt,
          count: float ? fCnt.value : cnt,
          sum,
          positiveSpans: layout.positiveSpans,
          positiveBuckets: float ? fP.map((f) => f.value) : Array.from(pB),
          negativeSpans: layout.negativeSpans,
          negativeBuckets: float ? fN.map((f) => f.value) : Array.from(nB),
          customValues: layout.customValues,
        };
    histograms.push(h);
  }
  return { header, layout, timestamps, histograms };
}
