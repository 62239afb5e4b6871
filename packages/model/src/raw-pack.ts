/**
 * Selected series undecoded, packed into a few flat typed arrays (PackedRaw) that move to another
 * thread by transfer, not copy. A store writes into a RawPacker while it walks its series, so the
 * thread that owns the store builds no object per series or chunk: the chunk bytes are copied once,
 * from the store straight into the buffer that is transferred.
 *
 * Several stores may write into one packer, one after the other (a source each); the same label set
 * may then appear once per source, and the reader merges such entries in order of appearance, which
 * is querier order, as MergeQuerier.selectRaw would have (see mergeRawDuplicates).
 */
import type { FloatHistogram } from './histogram.js';
import { histogramColumnLength, readHistogramColumn, writeHistogramColumn } from './histogram-pack.js';
import { Labels } from './labels.js';
import type { RawPart, RawSeries } from './storage.js';

/**
 * Label sets as UTF-16 code units: every name and value one after the other in `units`, with each
 * one's length in `lens` and each set's number of pairs in `counts`. All three are typed arrays
 * whose buffers are transferred. An array of hundreds of thousands of strings would be serialized
 * one by one on the sender's thread, and joining them into one string first is one long stretch
 * (tens of ms for a select of 30k series); the code units are instead copied series by series,
 * between the sender's yields, and the receiver makes one string of them (labelText).
 */
export interface PackedLabels {
  units: Uint16Array;
  lens: Uint32Array;
  counts: Uint32Array;
}

/** Copies a string's UTF-16 code units into `to` at `at` (lone surrogates included: no encoding). */
export function writeCodeUnits(x: string, to: Uint16Array, at: number): void {
  for (let k = 0; k < x.length; k++) to[at + k] = x.charCodeAt(k);
}

/** Code units made into a string per this many: String.fromCharCode takes them as arguments. */
const DECODE_RUN = 8192;

/** The labels' text as one string, code unit for code unit. */
export function labelText(p: PackedLabels): string {
  const u = p.units;
  if (u.length <= DECODE_RUN) return String.fromCharCode.apply(null, u as unknown as number[]);
  const runs: string[] = [];
  for (let i = 0; i < u.length; i += DECODE_RUN)
    runs.push(String.fromCharCode.apply(null, u.subarray(i, i + DECODE_RUN) as unknown as number[]));
  return runs.join('');
}

/**
 * Raw series packed: `layout` holds per series its number of parts, then per part its kind and
 * count (chunks or samples) followed, for XOR chunks, by each chunk's byte length, for histogram
 * chunks by each chunk's encoding and byte length, and for samples with histograms by the length
 * of their histogram column. Chunk bytes follow each other in `bytes`; a samples part's
 * timestamps then values follow each other in `floats` (values copied as bits, so NaN payloads
 * and staleness markers survive), then for samples with histograms the column of
 * histogram-pack.ts. Series without histograms use only the first two kinds, so they cost
 * nothing more. `sources`: how many stores wrote; above one, a label set may repeat.
 */
export interface PackedRaw {
  labels: PackedLabels;
  layout: Uint32Array;
  bytes: Uint8Array;
  floats: Float64Array;
  sources: number;
}

export const PART_CHUNKS = 0;
export const PART_SAMPLES = 1;
/** Native histogram chunks (Prometheus' encodings 2 and 3). */
export const PART_HISTOGRAM_CHUNKS = 2;
/** Decoded samples of which some are native histograms. */
export const PART_HISTOGRAM_SAMPLES = 3;

/** Where a packer stood, to drop what a failed store had written (RawPacker.rollback). */
export interface PackMark {
  li: number;
  bi: number;
  fi: number;
  ui: number;
  si: number;
  n: number;
  sources: number;
}

/**
 * What a select will write into a packer, counted before it writes (RawPacker.reserve): each array
 * is then allocated once at its final size. Grown by doubling instead, a 30k-series select leaves
 * megabytes of outgrown buffers behind on the thread that packs, which only a GC frees, and V8
 * answers that external memory with scavenges and full collections ("external memory pressure")
 * on the thread that acknowledges writes; buffers transferred whole leave no such garbage.
 */
export interface RawSizes {
  series: number;
  /** Layout entries (Uint32). */
  layout: number;
  bytes: number;
  /** Float64 entries (out-of-order timestamps and values). */
  floats: number;
  /** Label code units, and label strings (names and values). */
  units: number;
  strings: number;
}

export function emptyRawSizes(): RawSizes {
  return { series: 0, layout: 0, bytes: 0, floats: 0, units: 0, strings: 0 };
}

/** Grows `a` to exactly `need` elements (no doubling), keeping what it holds. */
function reserved<T extends Uint8Array | Uint16Array | Uint32Array | Float64Array>(a: T, need: number, make: new (n: number) => T): T {
  if (need <= a.length) return a;
  const b = new make(need);
  b.set(a);
  return b;
}

/**
 * Grows `a` by doubling to hold `need` elements. Takes the array's class, not a closure: a closure
 * made at each call would be an allocation per series and chunk on the packing thread.
 */
function grown<T extends Uint8Array | Uint16Array | Uint32Array | Float64Array>(a: T, need: number, make: new (n: number) => T): T {
  if (need <= a.length) return a;
  let n = Math.max(1, a.length * 2);
  while (n < need) n *= 2;
  const b = new make(n);
  b.set(a);
  return b;
}

export class RawPacker {
  // Small to begin with: a store that knows its sizes reserves them.
  private layout: Uint32Array = new Uint32Array(1024);
  private li = 0;
  private bytes: Uint8Array = new Uint8Array(64 * 1024);
  private bi = 0;
  private floats: Float64Array = new Float64Array(256);
  private fi = 0;
  /** Label names and values as code units (see PackedLabels). */
  private units: Uint16Array = new Uint16Array(16 * 1024);
  private ui = 0;
  private lens: Uint32Array = new Uint32Array(1024);
  private si = 0;
  private counts: Uint32Array = new Uint32Array(256);
  private n = 0;
  private sources = 0;
  /**
   * Where the open series began in each array (to drop it when it gets no part), as plain fields:
   * a mark object per series would be garbage on the packing thread for every series of a select.
   */
  private startLi = 0;
  private startBi = 0;
  private startFi = 0;
  private startUi = 0;
  private startSi = 0;
  /** The layout slot of the open series' part count. */
  private partsAt = -1;
  /** The layout slot of the open chunks part's count, or -1 when the last part is not chunks. */
  private chunkCountAt = -1;
  /** The kind of that open chunks part (XOR or histogram chunks). */
  private chunkKind = PART_CHUNKS;

  /** Series packed so far. */
  get length(): number {
    return this.n;
  }

  /**
   * Makes room for `s` more at once, each array at its exact size, so that writing them allocates
   * nothing more (see RawSizes). Writing more than reserved still works: the arrays double.
   */
  reserve(s: RawSizes): void {
    this.layout = reserved(this.layout, this.li + s.layout, Uint32Array);
    this.bytes = reserved(this.bytes, this.bi + s.bytes, Uint8Array);
    this.floats = reserved(this.floats, this.fi + s.floats, Float64Array);
    this.units = reserved(this.units, this.ui + s.units, Uint16Array);
    this.lens = reserved(this.lens, this.si + s.strings, Uint32Array);
    this.counts = reserved(this.counts, this.n + s.series, Uint32Array);
  }

  /** A store starts writing: from the second one on, label sets may repeat. */
  beginSource(): void {
    this.sources++;
  }

  beginSeries(labels: Labels): void {
    this.startLi = this.li;
    this.startBi = this.bi;
    this.startFi = this.fi;
    this.startUi = this.ui;
    this.startSi = this.si;
    const pairs = labels.pairs;
    this.lens = grown(this.lens, this.si + pairs.length, Uint32Array);
    let chars = 0;
    for (let k = 0; k < pairs.length; k++) chars += pairs[k].length;
    const u = (this.units = grown(this.units, this.ui + chars, Uint16Array));
    for (let k = 0; k < pairs.length; k++) {
      const x = pairs[k];
      writeCodeUnits(x, u, this.ui);
      this.ui += x.length;
      this.lens[this.si++] = x.length;
    }
    this.counts = grown(this.counts, this.n + 1, Uint32Array);
    this.counts[this.n++] = pairs.length >> 1;
    this.layout = grown(this.layout, this.li + 1, Uint32Array);
    this.partsAt = this.li;
    this.layout[this.li++] = 0;
    this.chunkCountAt = -1;
  }

  /** Appends one chunk's bytes (copied now: the store may change them later, an open head chunk does). */
  chunk(data: Uint8Array): void {
    this.openChunks(PART_CHUNKS, 1);
    this.copyChunk(data);
  }

  /** Closes the open chunks part: the next chunk begins a part of its own, decoded apart and then merged. */
  endPart(): void {
    this.chunkCountAt = -1;
  }

  /**
   * Appends one native histogram chunk (`encoding` 2 or 3, the bytes without it), copied now; a
   * run of them is one part, apart from the series' XOR chunks.
   */
  histogramChunk(encoding: number, data: Uint8Array): void {
    // Not `this.layout[this.openChunks(...)]`: that reads the array before openChunks grows it.
    const at = this.openChunks(PART_HISTOGRAM_CHUNKS, 2);
    this.layout[at] = encoding;
    this.copyChunk(data);
  }

  /** Room for a chunk's `slots` layout entries in a chunks part of `kind`; returns the first slot. */
  private openChunks(kind: number, slots: number): number {
    const open = this.chunkCountAt >= 0 && this.chunkKind === kind;
    const l = (this.layout = grown(this.layout, this.li + (open ? slots : 2 + slots), Uint32Array));
    if (!open) {
      l[this.partsAt]++;
      l[this.li++] = kind;
      this.chunkCountAt = this.li;
      this.chunkKind = kind;
      l[this.li++] = 0;
    }
    l[this.chunkCountAt]++;
    const at = this.li;
    this.li += slots;
    return at;
  }

  /** The chunk's bytes, and its length as the last of its layout slots. */
  private copyChunk(data: Uint8Array): void {
    this.layout[this.li - 1] = data.length;
    this.bytes = grown(this.bytes, this.bi + data.length, Uint8Array);
    this.bytes.set(data, this.bi);
    this.bi += data.length;
  }

  /**
   * Appends a samples part; set() between Float64Arrays copies bytes, so NaN payloads survive.
   * With `histograms` (as Series carries them) the part carries them too.
   */
  samples(timestamps: Float64Array, values: Float64Array, histograms?: readonly (FloatHistogram | undefined)[]): void {
    const n = timestamps.length;
    if (histograms) {
      const len = histogramColumnLength(histograms);
      const l = (this.layout = grown(this.layout, this.li + 3, Uint32Array));
      l[this.partsAt]++;
      l[this.li++] = PART_HISTOGRAM_SAMPLES;
      l[this.li++] = n;
      l[this.li++] = len;
      this.chunkCountAt = -1;
      const f = (this.floats = grown(this.floats, this.fi + 2 * n + len, Float64Array));
      f.set(timestamps, this.fi);
      f.set(values, this.fi + n);
      this.fi = writeHistogramColumn(histograms, f, this.fi + 2 * n);
      return;
    }
    const f = this.openSamples(n);
    f.set(timestamps, this.fi);
    f.set(values, this.fi + n);
    this.fi += 2 * n;
  }

  /**
   * Appends samples [from, to) of timestamps with their values given as the two 32-bit words of
   * each double, low word first (the head's out-of-order buffer keeps them so).
   */
  samplesFromBits(ts: Float64Array, bits: Uint32Array, from: number, to: number): void {
    const n = to - from;
    const f = this.openSamples(n);
    f.set(ts.subarray(from, to), this.fi);
    new Uint32Array(f.buffer, (this.fi + n) * 8, 2 * n).set(bits.subarray(2 * from, 2 * to));
    this.fi += 2 * n;
  }

  private openSamples(n: number): Float64Array {
    const l = (this.layout = grown(this.layout, this.li + 2, Uint32Array));
    l[this.partsAt]++;
    l[this.li++] = PART_SAMPLES;
    l[this.li++] = n;
    this.chunkCountAt = -1;
    return (this.floats = grown(this.floats, this.fi + 2 * n, Float64Array));
  }

  /** Ends the open series; one that got no part is dropped. Returns whether it was kept. */
  endSeries(): boolean {
    const kept = this.layout[this.partsAt] > 0;
    if (!kept) {
      this.li = this.startLi;
      this.bi = this.startBi;
      this.fi = this.startFi;
      this.ui = this.startUi;
      this.si = this.startSi;
      this.n--;
    }
    this.partsAt = -1;
    this.chunkCountAt = -1;
    return kept;
  }

  /** One RawSeries as a whole (stores that hand out RawSeries objects). */
  add(s: RawSeries): void {
    this.beginSeries(s.labels);
    for (const p of s.parts) {
      if ('chunks' in p) for (const c of p.chunks) this.chunk(c);
      else if ('histogramChunks' in p) p.histogramChunks.forEach((c, k) => this.histogramChunk(p.encodings[k], c));
      else this.samples(p.timestamps, p.values, p.histograms);
      // Two chunk parts in a row stay two parts: each is decoded on its own, then merged.
      this.endPart();
    }
    this.endSeries();
  }

  /** Appends another packer's finished output after what this one holds. */
  append(p: PackedRaw): void {
    this.layout = grown(this.layout, this.li + p.layout.length, Uint32Array);
    this.layout.set(p.layout, this.li);
    this.li += p.layout.length;
    this.bytes = grown(this.bytes, this.bi + p.bytes.length, Uint8Array);
    this.bytes.set(p.bytes, this.bi);
    this.bi += p.bytes.length;
    this.floats = grown(this.floats, this.fi + p.floats.length, Float64Array);
    this.floats.set(p.floats, this.fi);
    this.fi += p.floats.length;
    this.units = grown(this.units, this.ui + p.labels.units.length, Uint16Array);
    this.units.set(p.labels.units, this.ui);
    this.ui += p.labels.units.length;
    this.lens = grown(this.lens, this.si + p.labels.lens.length, Uint32Array);
    this.lens.set(p.labels.lens, this.si);
    this.si += p.labels.lens.length;
    this.counts = grown(this.counts, this.n + p.labels.counts.length, Uint32Array);
    this.counts.set(p.labels.counts, this.n);
    this.n += p.labels.counts.length;
    this.sources += p.sources;
  }

  /**
   * As append(), but takes over the arrays of `p` instead of copying them when this packer holds
   * nothing yet: a select read into a packer of its own (the fan-out's) costs no second copy. The
   * caller must own `p` alone (nobody else reads or transfers its buffers).
   */
  adopt(p: PackedRaw): void {
    if (this.li + this.bi + this.fi + this.ui + this.si + this.n + this.sources > 0) return this.append(p);
    this.layout = p.layout;
    this.li = p.layout.length;
    this.bytes = p.bytes;
    this.bi = p.bytes.length;
    this.floats = p.floats;
    this.fi = p.floats.length;
    this.units = p.labels.units;
    this.ui = p.labels.units.length;
    this.lens = p.labels.lens;
    this.si = p.labels.lens.length;
    this.counts = p.labels.counts;
    this.n = p.labels.counts.length;
    this.sources = p.sources;
  }

  mark(): PackMark {
    return { li: this.li, bi: this.bi, fi: this.fi, ui: this.ui, si: this.si, n: this.n, sources: this.sources };
  }

  /** Drops everything written since `m` (a store that failed half way). */
  rollback(m: PackMark): void {
    this.li = m.li;
    this.bi = m.bi;
    this.fi = m.fi;
    this.ui = m.ui;
    this.si = m.si;
    this.n = m.n;
    this.sources = m.sources;
  }

  /**
   * The packed arrays: views of this packer's buffers, not copies. A view's buffer may be longer
   * than the view (growth doubles it); transferring it moves the whole buffer, which only ever
   * holds this packer's data. The packer must not be written to afterwards.
   */
  finish(): PackedRaw {
    return {
      labels: { units: this.units.subarray(0, this.ui), lens: this.lens.subarray(0, this.si), counts: this.counts.subarray(0, this.n) },
      layout: this.layout.subarray(0, this.li),
      bytes: this.bytes.subarray(0, this.bi),
      floats: this.floats.subarray(0, this.fi),
      sources: this.sources,
    };
  }
}

export function unpackLabels(p: PackedLabels): Labels[] {
  const text = labelText(p);
  const out: Labels[] = new Array(p.counts.length);
  let si = 0;
  let at = 0;
  for (let i = 0; i < p.counts.length; i++) {
    const n = 2 * p.counts[i];
    const pairs: string[] = new Array(n);
    for (let k = 0; k < n; k++) {
      const len = p.lens[si++];
      pairs[k] = text.substring(at, at + len);
      at += len;
    }
    out[i] = Labels.fromSortedPairs(pairs);
  }
  return out;
}

/** The RawSeries a PackedRaw holds, views into its arrays; label sets repeated by several sources are merged. */
export function unpackRaw(p: PackedRaw): RawSeries[] {
  const labels = unpackLabels(p.labels);
  const out: RawSeries[] = new Array(labels.length);
  let li = 0;
  let bi = 0;
  let fi = 0;
  for (let i = 0; i < labels.length; i++) {
    const nParts = p.layout[li++];
    const parts: RawPart[] = [];
    for (let k = 0; k < nParts; k++) {
      const kind = p.layout[li++];
      const n = p.layout[li++];
      if (kind === PART_CHUNKS) {
        const chunks: Uint8Array[] = new Array(n);
        for (let c = 0; c < n; c++) {
          const len = p.layout[li++];
          chunks[c] = p.bytes.subarray(bi, bi + len);
          bi += len;
        }
        parts.push({ chunks });
      } else if (kind === PART_HISTOGRAM_CHUNKS) {
        const histogramChunks: Uint8Array[] = new Array(n);
        const encodings: number[] = new Array(n);
        for (let c = 0; c < n; c++) {
          encodings[c] = p.layout[li++];
          const len = p.layout[li++];
          histogramChunks[c] = p.bytes.subarray(bi, bi + len);
          bi += len;
        }
        parts.push({ histogramChunks, encodings });
      } else if (kind === PART_HISTOGRAM_SAMPLES) {
        li++; // the column's length: readHistogramColumn finds its end itself
        const { hs, next } = readHistogramColumn(p.floats, fi + 2 * n, n);
        parts.push({ timestamps: p.floats.subarray(fi, fi + n), values: p.floats.subarray(fi + n, fi + 2 * n), histograms: hs });
        fi = next;
      } else {
        parts.push({ timestamps: p.floats.subarray(fi, fi + n), values: p.floats.subarray(fi + n, fi + 2 * n) });
        fi += 2 * n;
      }
    }
    out[i] = { labels: labels[i], parts };
  }
  return p.sources > 1 ? mergeRawDuplicates(out) : out;
}

/** Entries with equal label sets become one, their parts concatenated in order (earlier parts win ties). */
export function mergeRawDuplicates(series: readonly RawSeries[]): RawSeries[] {
  const byKey = new Map<string, RawSeries>();
  for (const s of series) {
    const k = s.labels.key();
    const have = byKey.get(k);
    if (have) have.parts.push(...s.parts);
    else byKey.set(k, { labels: s.labels, parts: [...s.parts] });
  }
  return [...byKey.values()];
}

export function rawTransfer(p: PackedRaw): ArrayBuffer[] {
  return [
    p.labels.units.buffer,
    p.labels.lens.buffer,
    p.labels.counts.buffer,
    p.layout.buffer,
    p.bytes.buffer,
    p.floats.buffer,
  ] as ArrayBuffer[];
}
