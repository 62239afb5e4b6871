/**
 * One series in the head: closed XOR chunks, the open chunk being appended to, and out-of-order
 * samples. All sample data lives in byte buffers and typed arrays.
 */
import type { Labels, RawPacker, RawSizes } from '@strata/model';
import { AppendStatus } from '../api.js';
import { pooledCopy } from '../chunkenc/bits.js';
import { decodeXORBits, XOREncoder, XORIterator, xorNumSamples } from '../chunkenc/xor.js';
import { OOOBuffer } from './ooo-buffer.js';
import type { HistogramSeriesData } from './histogram-series.js';

export interface HeadChunk {
  minT: number;
  maxT: number;
  data: Uint8Array;
}

export class MemSeries {
  /** Closed, immutable chunks in time order. */
  readonly chunks: HeadChunk[] = [];
  open: XOREncoder | null = null;
  openMinT = 0;
  /** Newest in-order timestamp, and the bits of its value for duplicate detection. */
  maxT = -Infinity;
  lastHi = 0;
  lastLo = 0;
  ooo: OOOBuffer | null = null;
  /** Native histogram samples, in chunks of their own (histogram-series.ts); null until the first. */
  hist: HistogramSeriesData | null = null;
  /** Appenders holding staged samples for this series; a truncation must not drop it meanwhile. */
  pendingCommits = 0;

  /** Chunks held: closed, the open one, and the out-of-order buffer (one chunk's worth). */
  get numChunks(): number {
    return this.chunks.length + (this.open ? 1 : 0) + (this.ooo?.length ? 1 : 0);
  }

  constructor(
    readonly ref: number,
    readonly labels: Labels,
  ) {}

  get minT(): number {
    const own = this.floatMinT;
    return this.hist ? Math.min(own, this.hist.minT) : own;
  }

  private get floatMinT(): number {
    if (this.chunks.length > 0) return Math.min(this.chunks[0].minT, this.ooo?.length ? this.ooo.ts[0] : Infinity);
    if (this.open) return Math.min(this.openMinT, this.ooo?.length ? this.ooo.ts[0] : Infinity);
    return this.ooo?.length ? this.ooo.ts[0] : Infinity;
  }

  get numSamples(): number {
    let n = this.open ? this.open.numSamples : 0;
    for (const c of this.chunks) n += xorNumSamples(c.data);
    return n + (this.ooo ? this.ooo.length : 0) + (this.hist ? this.hist.numSamples : 0);
  }

  /**
   * Whether a sample could be appended. `minValidT` bounds in-order appends (the head's horizon);
   * `oooMinT` bounds out-of-order ones (Infinity when out-of-order ingestion is off).
   */
  appendable(t: number, hi: number, lo: number, minValidT: number, oooMinT: number): AppendStatus {
    if (t > this.maxT) return t >= minValidT ? AppendStatus.OK : AppendStatus.TOO_OLD;
    if (t === this.maxT)
      return hi === this.lastHi && lo === this.lastLo ? AppendStatus.DUPLICATE_IDENTICAL : AppendStatus.DUPLICATE_DIFFERENT;
    const existing = this.lookup(t);
    if (existing) return existing[0] === hi && existing[1] === lo ? AppendStatus.DUPLICATE_IDENTICAL : AppendStatus.DUPLICATE_DIFFERENT;
    return t >= oooMinT ? AppendStatus.OK : AppendStatus.TOO_OLD;
  }

  /** Whether a sample exists at exactly t. */
  has(t: number): boolean {
    if (t > this.maxT) return false;
    if (t === this.maxT) return true;
    return this.lookup(t) !== undefined;
  }

  /** The value bits stored at exactly t, if any. */
  private lookup(t: number): [number, number] | undefined {
    if (this.ooo) {
      const i = this.ooo.find(t);
      if (i >= 0) return [this.ooo.bits[2 * i + 1], this.ooo.bits[2 * i]];
    }
    const search = (data: Uint8Array): [number, number] | undefined => {
      const it = new XORIterator(data);
      while (it.next()) {
        if (it.t === t) return [it.hi, it.lo];
        if (it.t > t) return undefined;
      }
      return undefined;
    };
    if (this.open && t >= this.openMinT) return search(this.open.bytes());
    for (let i = this.chunks.length - 1; i >= 0; i--) {
      const c = this.chunks[i];
      if (t > c.maxT) return undefined;
      if (t >= c.minT) return search(c.data);
    }
    return undefined;
  }

  /**
   * Appends a sample that appendable() accepted. In-order samples go to the open chunk, which is
   * cut at `samplesPerChunk` samples or when the sample crosses a block boundary (so chunks never
   * span two blocks); older samples go to the out-of-order buffer.
   */
  append(t: number, hi: number, lo: number, samplesPerChunk: number, blockDurationMs: number): void {
    if (t > this.maxT) {
      if (
        this.open === null ||
        this.open.numSamples >= samplesPerChunk ||
        Math.floor(t / blockDurationMs) !== Math.floor(this.openMinT / blockDurationMs)
      ) {
        this.cut();
        this.open = new XOREncoder(64);
        this.openMinT = t;
      }
      this.open!.appendBits(t, hi, lo);
      this.maxT = t;
      this.lastHi = hi;
      this.lastLo = lo;
    } else if (t < this.maxT) {
      if (!this.ooo) this.ooo = new OOOBuffer();
      this.ooo.insert(t, hi, lo);
    }
  }

  /** Keeps a sample outside the in-order chunks (it lands in the out-of-order buffer). */
  keepOutOfOrder(t: number, hi: number, lo: number): void {
    if (!this.ooo) this.ooo = new OOOBuffer();
    this.ooo.insert(t, hi, lo);
  }

  /** Closes the open chunk: the next float starts a new one (a histogram sample came between). */
  cutOpen(): void {
    this.cut();
  }

  private cut(): void {
    if (this.open && this.open.numSamples > 0) {
      this.chunks.push({ minT: this.openMinT, maxT: this.maxT, data: pooledCopy(this.open.bytes()) });
    }
    this.open = null;
  }

  /**
   * Drops data older than t (it now lives in a block). Chunks never span a block boundary, so
   * whole chunks go; histogram chunks starting at a time in `keepHistograms` stay (see
   * HistogramSeriesData.truncateBefore). Returns whether the series still holds any sample.
   */
  truncateBefore(t: number, keepHistograms?: ReadonlySet<number>): boolean {
    let k = 0;
    while (k < this.chunks.length && this.chunks[k].maxT < t) k++;
    if (k > 0) this.chunks.splice(0, k);
    if (this.open && this.maxT < t) this.open = null;
    if (this.ooo && this.ooo.truncateBefore(t) === 0) this.ooo = null;
    if (this.hist && !this.hist.truncateBefore(t, keepHistograms)) this.hist = null;
    return this.chunks.length > 0 || this.open !== null || this.ooo !== null || this.hist !== null;
  }

  /** Whether out-of-order samples fall in [mint, maxt]. */
  hasOOOIn(mint: number, maxt: number): boolean {
    if (!this.ooo) return false;
    const i = this.ooo.lowerBound(mint);
    return i < this.ooo.length && this.ooo.ts[i] <= maxt;
  }

  /** In-order chunks overlapping [mint, maxt], the open one included (as a copy). */
  chunksIn(mint: number, maxt: number): HeadChunk[] {
    const out: HeadChunk[] = [];
    for (const c of this.chunks) if (c.maxT >= mint && c.minT <= maxt) out.push(c);
    if (this.open && this.open.numSamples > 0 && this.maxT >= mint && this.openMinT <= maxt) {
      out.push({ minT: this.openMinT, maxT: this.maxT, data: this.open.bytes().slice() });
    }
    return out;
  }

  /** Adds to `acc` what packRaw() would write (a series without data in the range counts too: it is cheap to overcount). */
  addRawSize(mint: number, maxt: number, acc: RawSizes): void {
    const pairs = this.labels.pairs;
    acc.series++;
    acc.strings += pairs.length;
    for (let k = 0; k < pairs.length; k++) acc.units += pairs[k].length;
    let chunks = 0;
    for (const c of this.chunks)
      if (c.maxT >= mint && c.minT <= maxt) {
        chunks++;
        acc.bytes += c.data.length;
      }
    if (this.open && this.open.numSamples > 0 && this.maxT >= mint && this.openMinT <= maxt) {
      chunks++;
      // The open chunk may grow by a sample or two while the select yields: a little room for that.
      acc.bytes += this.open.bytes().length + 32;
    }
    acc.layout += 1 + (chunks > 0 ? 2 + chunks : 0);
    if (this.hist) {
      // Histogram chunks: a part of their own, two layout entries each (encoding, length).
      let n = 0;
      for (const c of this.hist.chunks)
        if (c.maxT >= mint && c.minT <= maxt) {
          n++;
          acc.bytes += c.data.length;
        }
      const h = this.hist;
      if (h.open && h.open.numSamples > 0 && h.maxT >= mint && h.openMinT <= maxt) {
        n++;
        acc.bytes += h.open.bytes().length + 64;
      }
      if (n > 0) acc.layout += 2 + 2 * n;
    }
    const o = this.ooo;
    if (o && o.length > 0) {
      const n = o.lowerBound(maxt + 1) - o.lowerBound(mint);
      if (n > 0) {
        acc.layout += 2;
        acc.floats += 2 * n;
      }
    }
  }

  /** Writes what chunksIn(), the histogram chunks and oooSamples() would give into a packer, without making either (a series without any is left out). */
  packRaw(mint: number, maxt: number, into: RawPacker): void {
    into.beginSeries(this.labels);
    for (const c of this.chunks) if (c.maxT >= mint && c.minT <= maxt) into.chunk(c.data);
    if (this.open && this.open.numSamples > 0 && this.maxT >= mint && this.openMinT <= maxt) into.chunk(this.open.bytes());
    const h = this.hist;
    if (h) {
      for (const c of h.chunks) if (c.maxT >= mint && c.minT <= maxt) into.histogramChunk(c.encoding, c.data);
      if (h.open && h.open.numSamples > 0 && h.maxT >= mint && h.openMinT <= maxt) into.histogramChunk(h.open.encoding, h.open.bytes());
    }
    const o = this.ooo;
    if (o && o.length > 0) {
      const from = o.lowerBound(mint);
      const to = o.lowerBound(maxt + 1);
      if (to > from) into.samplesFromBits(o.ts, o.bits, from, to);
    }
    into.endSeries();
  }

  /** Out-of-order samples in [mint, maxt] (value bits kept), or undefined when there are none. */
  oooSamples(mint: number, maxt: number): { timestamps: Float64Array; values: Float64Array } | undefined {
    const o = this.ooo;
    if (!o || o.length === 0) return undefined;
    const from = o.lowerBound(mint);
    const to = o.lowerBound(maxt + 1);
    if (to <= from) return undefined;
    const ts = new Float64Array(to - from);
    const vs = new Float64Array(to - from);
    const vb = new Uint32Array(vs.buffer);
    for (let j = from; j < to; j++) {
      ts[j - from] = o.ts[j];
      vb[2 * (j - from)] = o.bits[2 * j];
      vb[2 * (j - from) + 1] = o.bits[2 * j + 1];
    }
    return { timestamps: ts, values: vs };
  }

  /**
   * Samples in [mint, maxt], in-order and out-of-order data merged by timestamp, values copied as
   * raw bits. Returns undefined when there are none.
   */
  samples(mint: number, maxt: number): { timestamps: Float64Array; values: Float64Array } | undefined {
    // Decoded in place by the bulk decoder (synchronous, so the open chunk needs no copy): a
    // rule's or panel's short range over a long chunk decodes most of the chunk to reach it.
    const chunks = this.chunks;
    const open = this.open && this.open.numSamples > 0 && this.maxT >= mint && this.openMinT <= maxt ? this.open.bytes() : undefined;
    let n = open ? xorNumSamples(open) : 0;
    let first = chunks.length;
    let last = 0;
    for (let c = 0; c < chunks.length; c++)
      if (chunks[c].maxT >= mint && chunks[c].minT <= maxt) {
        if (c < first) first = c;
        last = c + 1;
        n += xorNumSamples(chunks[c].data);
      }
    let oooFrom = 0;
    let oooTo = 0;
    if (this.ooo && this.ooo.length > 0) {
      oooFrom = this.ooo.lowerBound(mint);
      oooTo = this.ooo.lowerBound(maxt + 1);
    }
    const oooN = oooTo - oooFrom;
    if (n + oooN === 0) return undefined;
    // Into scratch arrays first, then copied out at the size found: a window is often a small
    // part of its chunks, and each typed array made costs more than copying a few samples.
    if (scratchTs.length < n) growScratch(n);
    const ts = scratchTs;
    const vb = scratchBits;
    let k = 0;
    for (let c = first; c < last; c++)
      if (chunks[c].maxT >= mint && chunks[c].minT <= maxt) k = decodeXORBits(chunks[c].data, ts, vb, k, mint, maxt);
    if (open) k = decodeXORBits(open, ts, vb, k, mint, maxt);
    if (oooN > 0) {
      // Merge the sorted in-order run [0, k) with the sorted OOO run; equal timestamps keep the in-order sample.
      const mts = new Float64Array(k + oooN);
      const mvs = new Float64Array(k + oooN);
      const mvb = new Uint32Array(mvs.buffer);
      const o = this.ooo!;
      let i = 0;
      let j = oooFrom;
      let m = 0;
      while (i < k || j < oooTo) {
        if (j >= oooTo || (i < k && ts[i] <= o.ts[j])) {
          if (j < oooTo && ts[i] === o.ts[j]) j++;
          mts[m] = ts[i];
          mvb[2 * m] = vb[2 * i];
          mvb[2 * m + 1] = vb[2 * i + 1];
          i++;
        } else {
          mts[m] = o.ts[j];
          mvb[2 * m] = o.bits[2 * j];
          mvb[2 * m + 1] = o.bits[2 * j + 1];
          j++;
        }
        m++;
      }
      return { timestamps: mts.subarray(0, m), values: mvs.subarray(0, m) };
    }
    // Chunks overlapping the range may still hold no sample inside it (a range between two
    // samples): no series then, as a block answers.
    if (k === 0) return undefined;
    // slice() of a typed array into its own type copies bytes, so NaN payloads stay bit-exact.
    return { timestamps: ts.slice(0, k), values: scratchValues.slice(0, k) };
  }
}

/** samples()' decode target (it never yields, so one per thread serves every series). */
let scratchTs = new Float64Array(256);
let scratchValues = new Float64Array(256);
let scratchBits = new Uint32Array(scratchValues.buffer);

function growScratch(n: number): void {
  const size = Math.max(n, scratchTs.length * 2);
  scratchTs = new Float64Array(size);
  scratchValues = new Float64Array(size);
  scratchBits = new Uint32Array(scratchValues.buffer);
}
