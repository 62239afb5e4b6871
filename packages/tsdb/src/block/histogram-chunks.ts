/**
 * Native histogram chunks in blocks (docs/format/block.md#chunk-segments): a series' chunks may
 * be XOR (encoding 1), histogram (2) or float histogram (3), in time order and never overlapping,
 * as Prometheus writes them. Here: checking a histogram chunk, and re-encoding a series' samples
 * of both kinds when its chunks must be merged or split (vertical compaction, deletions, a head
 * whose float and histogram chunks overlap in time).
 *
 * Histograms are the slow path: a merge that must decode them keeps one object per histogram
 * sample. Chunks that need no merge are passed through as they are, whatever their encoding.
 */
import {
  CounterResetHeader,
  decodeHistogramChunk,
  ENCODING_FLOAT_HISTOGRAM,
  ENCODING_HISTOGRAM,
  FloatHistogramChunkEncoder,
  HistogramChunkEncoder,
  type HistogramSample,
} from '../chunkenc/histogram.js';
import { XOREncoder } from '../chunkenc/xor.js';
import type { BlockChunk } from './block-writer.js';

export function isHistogramEncoding(encoding: number | undefined): boolean {
  return encoding === ENCODING_HISTOGRAM || encoding === ENCODING_FLOAT_HISTOGRAM;
}

/** Why a histogram chunk is broken, or undefined: it decodes to its header's count of strictly increasing timestamps within [minT, maxT]. */
export function verifyHistogramChunk(c: BlockChunk): string | undefined {
  const n = (c.data[0] << 8) | c.data[1];
  if (n === 0) return 'empty chunk';
  let ts: number[];
  try {
    ts = decodeHistogramChunk(c.data, c.encoding!).timestamps;
  } catch (e) {
    return (e as Error).message;
  }
  if (ts.length !== n) return `chunk decodes to ${ts.length} of its ${n} samples`;
  if (ts[0] < c.minT || ts[n - 1] > c.maxT) return `chunk samples [${ts[0]}, ${ts[n - 1]}] outside its index range [${c.minT}, ${c.maxT}]`;
  for (let i = 1; i < n; i++) if (!(ts[i] > ts[i - 1])) return `chunk timestamps out of order at sample ${i}`;
  return undefined;
}

/** A histogram sample decoded from a chunk, with what re-encoding it needs to know of that chunk. */
export interface DecodedHistogram {
  h: HistogramSample;
  encoding: number;
  /** The chunk it came from (samples of one chunk share its layout) and its counter-reset header. */
  chunk: BlockChunk;
  header: CounterResetHeader;
  /** Whether it is its chunk's first sample (it alone may keep the chunk's header). */
  first: boolean;
}

/** Decodes a histogram chunk into `ts` and `hs` (appended). */
export function decodeHistogramsOf(c: BlockChunk, ts: number[], hs: (DecodedHistogram | undefined)[]): void {
  const d = decodeHistogramChunk(c.data, c.encoding!);
  for (let k = 0; k < d.timestamps.length; k++) {
    ts.push(d.timestamps[k]);
    hs.push({ h: d.histograms[k], encoding: c.encoding!, chunk: c, header: d.header, first: k === 0 });
  }
}

/**
 * Whether two decoded histogram samples are the same observations: every field (floats bit for
 * bit), buckets compared by index with empty ones left aside, since chunks of one series may lay
 * the same histogram out on wider spans (a replica's chunk that saw a new bucket earlier or later).
 */
export function sameHistogram(a: DecodedHistogram, b: DecodedHistogram): boolean {
  if (a.encoding !== b.encoding) return false;
  const x = a.h;
  const y = b.h;
  if (x.schema !== y.schema || !Object.is(x.zeroThreshold, y.zeroThreshold) || !Object.is(x.count, y.count)) return false;
  if (!Object.is(x.zeroCount, y.zeroCount) || !sameFloatBits(x.sum, y.sum)) return false;
  if (x.customValues.length !== y.customValues.length) return false;
  for (let i = 0; i < x.customValues.length; i++) if (!Object.is(x.customValues[i], y.customValues[i])) return false;
  const float = a.encoding === ENCODING_FLOAT_HISTOGRAM;
  return (
    sameBuckets(populated(x.positiveSpans, x.positiveBuckets, float), populated(y.positiveSpans, y.positiveBuckets, float)) &&
    sameBuckets(populated(x.negativeSpans, x.negativeBuckets, float), populated(y.negativeSpans, y.negativeBuckets, float))
  );
}

/** Bucket index and absolute count of each populated bucket (integer samples carry deltas). */
function populated(spans: HistogramSample['positiveSpans'], buckets: ArrayLike<number>, float: boolean): number[] {
  const out: number[] = [];
  let at = 0;
  let k = 0;
  let c = 0;
  for (const s of spans) {
    at += s.offset;
    for (let q = 0; q < s.length; q++, k++, at++) {
      c = float ? buckets[k] : c + buckets[k];
      if (c !== 0) out.push(at, c);
    }
  }
  return out;
}

function sameBuckets(p: number[], q: number[]): boolean {
  if (p.length !== q.length) return false;
  for (let i = 0; i < p.length; i++) if (!Object.is(p[i], q[i])) return false;
  return true;
}

const bitsA = new Float64Array(1);
const bitsB = new Float64Array(1);
const wordsA = new Uint32Array(bitsA.buffer);
const wordsB = new Uint32Array(bitsB.buffer);
function sameFloatBits(a: number, b: number): boolean {
  bitsA[0] = a;
  bitsB[0] = b;
  return wordsA[0] === wordsB[0] && wordsA[1] === wordsB[1];
}

/**
 * Writes a series' samples, floats and histograms in time order, as chunks: floats in XOR chunks
 * of up to `samplesPerChunk`; histograms in chunks of their encoding, a new one whenever the
 * sample comes from another source chunk than the last (so each keeps its chunk's layout) or a
 * float came between. A chunk begun at a source chunk's first sample keeps that chunk's
 * counter-reset header; one begun mid-way says "unknown" (gauges stay gauges): a reader then
 * works out resets itself, which is always right.
 */
export class MixedChunkWriter {
  private xor: XOREncoder | undefined;
  private hist: HistogramChunkEncoder | FloatHistogramChunkEncoder | undefined;
  private histFrom: BlockChunk | undefined;
  private first = 0;
  private last = 0;

  constructor(
    private readonly samplesPerChunk: number,
    private readonly out: BlockChunk[],
    private readonly onChunk: () => void,
  ) {}

  float(t: number, hi: number, lo: number): void {
    this.cutHistogram();
    if (!this.xor) {
      this.xor = new XOREncoder(256);
      this.first = t;
    }
    this.xor.appendBits(t, hi, lo);
    this.last = t;
    if (this.xor.numSamples >= this.samplesPerChunk) this.cutFloat();
  }

  histogram(t: number, d: DecodedHistogram): void {
    this.cutFloat();
    const open = this.hist;
    if (open && (this.histFrom !== d.chunk || open.numSamples >= this.samplesPerChunk)) this.cutHistogram();
    if (!this.hist) {
      const header = d.first ? d.header : d.header === CounterResetHeader.Gauge ? CounterResetHeader.Gauge : CounterResetHeader.Unknown;
      this.hist = d.encoding === ENCODING_FLOAT_HISTOGRAM ? new FloatHistogramChunkEncoder(header) : new HistogramChunkEncoder(header);
      this.histFrom = d.chunk;
      this.first = t;
    }
    this.hist.append(t, d.h);
    this.last = t;
  }

  finish(): void {
    this.cutFloat();
    this.cutHistogram();
  }

  private cutFloat(): void {
    if (!this.xor) return;
    this.out.push({ minT: this.first, maxT: this.last, data: this.xor.bytes().slice() });
    this.xor = undefined;
    this.onChunk();
  }

  private cutHistogram(): void {
    if (!this.hist) return;
    this.out.push({ minT: this.first, maxT: this.last, data: this.hist.bytes().slice(), encoding: this.hist.encoding });
    this.hist = undefined;
    this.histFrom = undefined;
    this.onChunk();
  }
}
