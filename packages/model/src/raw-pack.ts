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
 * Raw series packed, in pieces (RawPiece) of a few megabytes each: `sources` is how many stores
 * wrote; above one, a label set may repeat, also across pieces.
 *
 * Pieces, not one set of arrays: a select of every series over a day packs hundreds of megabytes
 * on the thread that acknowledges writes, and arrays grown by doubling to that size cost one copy
 * of everything packed so far at each doubling, in one stretch (a quarter of a second and more
 * for the last ones) and leave the outgrown buffers to the GC. A packer instead seals its piece
 * once it is large and goes on in a new one, so nothing is copied and no allocation is larger
 * than a piece; pieces move to the worker by transfer, each with its own buffers.
 */
export interface PackedRaw {
  pieces: RawPiece[];
  sources: number;
  /**
   * Local blocks the receiver reads itself (a query worker; see DeferredBlock), in store order
   * among the pieces. Absent when none.
   */
  blocks?: DeferredBlock[];
  /**
   * The packing thread's leases on those blocks, one per entry of `blocks`: not data, never sent
   * (stripped before a transfer); whoever sends the packed select ends them when the receiver is done.
   */
  leases?: BlockLease[];
}

/**
 * A local block whose series a packer leaves out for the receiver to read from the block's files
 * itself, with the same matchers and hints over [start, end] (a query worker has both): its
 * series go before piece `at`, as if the block had packed them there (store order, which the
 * merge of repeated label sets relies on). A source of its own.
 */
export interface DeferredBlock {
  at: number;
  dir: string;
  ulid: string;
  start: number;
  end: number;
  /** The block's files the sender holds in memory, for the receiver to read instead of the disk. */
  files?: SharedBlockFiles;
}

/**
 * A block's files held whole in the sending thread's block cache, in SharedArrayBuffer-backed
 * arrays: crossing to a worker, a structured clone shares their memory, never copies it.
 */
export interface SharedBlockFiles {
  /** By name inside the block's directory ('index', 'chunks/000001'). */
  held: Record<string, Uint8Array>;
  /**
   * Files up to this size that are not held the receiver reads whole, into shared memory, and
   * hands back (BlockReads.loaded) for the sender's cache; larger ones range by range. 0: none.
   */
  wholeUpTo: number;
}

/** What a receiver read of a deferred block (BlockLease.returned): for the sender's cache and read counters. */
export interface BlockReads {
  /** Files read whole from disk, by name inside the block's directory, in shared memory. */
  loaded: Record<string, Uint8Array>;
  /** Bytes read per kind of file ('chunks', 'index'): from disk, and from memory (files held or loaded). */
  bytes: Record<string, { disk: number; memory: number }>;
}

/**
 * A hold on a local block: until released, the block's files are not deleted (retention waits).
 * retain() takes another hold on the same block (a coalesced select handed to a second caller).
 */
export interface BlockLease {
  retain(): BlockLease;
  release(): void;
  /** Takes what the receiver read of the block while leased (files it loaded, bytes it read). */
  returned?(reads: BlockReads): void;
}

/** A block that can be leased to a reader on another thread (a local TSDB block). */
export interface LeasableBlock {
  readonly dir: string;
  readonly ulid: string;
  lease(): BlockLease;
  /** Its files the sender holds in memory now, attached to each select that lists the block. */
  files?(): SharedBlockFiles | undefined;
}

/**
 * One piece of packed series: `layout` holds per series its number of parts, then per part its
 * kind and count (chunks or samples) followed, for XOR chunks, by each chunk's byte length, for
 * histogram chunks by each chunk's encoding and byte length, and for samples with histograms by
 * the length of their histogram column. Chunk bytes follow each other in `bytes`; a samples
 * part's timestamps then values follow each other in `floats` (values copied as bits, so NaN
 * payloads and staleness markers survive), then for samples with histograms the column of
 * histogram-pack.ts. Series without histograms use only the first two kinds, so they cost
 * nothing more. A series lies in one piece.
 */
export interface RawPiece {
  labels: PackedLabels;
  layout: Uint32Array;
  bytes: Uint8Array;
  floats: Float64Array;
}

export const PART_CHUNKS = 0;
export const PART_SAMPLES = 1;
/** Native histogram chunks (Prometheus' encodings 2 and 3). */
export const PART_HISTOGRAM_CHUNKS = 2;
/** Decoded samples of which some are native histograms. */
export const PART_HISTOGRAM_SAMPLES = 3;

/** Where a packer stood, to drop what a failed store had written (RawPacker.rollback). */
export interface PackMark {
  /** Pieces sealed by then. */
  sealed: number;
  li: number;
  bi: number;
  fi: number;
  ui: number;
  si: number;
  n: number;
  sources: number;
  /** Blocks deferred by then. */
  blocks: number;
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

/**
 * When the open piece holds this much of any kind, the next series begins a new piece (see
 * PackedRaw): about 4 MiB of chunk bytes, 2 MiB of label code units, 2 MiB of layout, 4 MiB of
 * samples, or this many label strings or series.
 */
const PIECE_BYTES = 4 << 20;
const PIECE_UNITS = 1 << 20;
const PIECE_LAYOUT = 512 << 10;
const PIECE_FLOATS = 512 << 10;
const PIECE_STRINGS = 256 << 10;
const PIECE_SERIES = 64 << 10;

/** A sealed piece: its arrays whole and how much of each it uses. */
interface Sealed {
  layout: Uint32Array;
  li: number;
  bytes: Uint8Array;
  bi: number;
  floats: Float64Array;
  fi: number;
  units: Uint16Array;
  ui: number;
  lens: Uint32Array;
  si: number;
  counts: Uint32Array;
  n: number;
}

/** A new piece's array: as large as the last one grew, up to twice the threshold (a reserved piece may have been larger). */
function nextCapacity(prev: number, threshold: number, initial: number): number {
  return Math.max(initial, Math.min(prev, 2 * threshold));
}

export interface RawPackerOptions {
  /**
   * Local blocks that can be leased leave their series to the receiver (deferBlock): set by the
   * query worker pool, whose workers read the blocks' files themselves.
   */
  deferBlocks?: boolean;
}

export class RawPacker {
  /** Whether stores may defer their local blocks to the receiver (RawPackerOptions.deferBlocks). */
  readonly defersBlocks: boolean;
  private deferred: DeferredBlock[] = [];
  private leases: BlockLease[] = [];

  constructor(o: RawPackerOptions = {}) {
    this.defersBlocks = o.deferBlocks ?? false;
  }

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
  /** Series in the open piece. */
  private n = 0;
  private sources = 0;
  /** Pieces sealed before the open one, and the series they hold. */
  private sealed: Sealed[] = [];
  private sealedSeries = 0;
  /** The open piece is not sealed before it holds this many series: what reserve() sized it for. */
  private reservedUntil = 0;
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
    return this.sealedSeries + this.n;
  }

  /** Whether the open piece is large enough to be sealed before the next series. */
  private get large(): boolean {
    return (
      this.bi >= PIECE_BYTES ||
      this.ui >= PIECE_UNITS ||
      this.li >= PIECE_LAYOUT ||
      this.fi >= PIECE_FLOATS ||
      this.si >= PIECE_STRINGS ||
      this.n >= PIECE_SERIES
    );
  }

  /**
   * Seals the open piece and opens a new one, its arrays sized for `next` when given (what a
   * reservation needs), else as large as the sealed piece's grew (up to twice the thresholds).
   */
  private seal(next?: RawSizes): void {
    this.sealed.push({
      layout: this.layout,
      li: this.li,
      bytes: this.bytes,
      bi: this.bi,
      floats: this.floats,
      fi: this.fi,
      units: this.units,
      ui: this.ui,
      lens: this.lens,
      si: this.si,
      counts: this.counts,
      n: this.n,
    });
    this.sealedSeries += this.n;
    this.layout = new Uint32Array(next ? Math.max(1024, next.layout) : nextCapacity(this.layout.length, PIECE_LAYOUT, 1024));
    this.bytes = new Uint8Array(next ? Math.max(1024, next.bytes) : nextCapacity(this.bytes.length, PIECE_BYTES, 64 * 1024));
    this.floats = new Float64Array(next ? Math.max(256, next.floats) : nextCapacity(this.floats.length, PIECE_FLOATS, 256));
    this.units = new Uint16Array(next ? Math.max(1024, next.units) : nextCapacity(this.units.length, PIECE_UNITS, 16 * 1024));
    this.lens = new Uint32Array(next ? Math.max(256, next.strings) : nextCapacity(this.lens.length, PIECE_STRINGS, 1024));
    this.counts = new Uint32Array(next ? Math.max(256, next.series) : nextCapacity(this.counts.length, PIECE_SERIES, 256));
    this.li = this.bi = this.fi = this.ui = this.si = this.n = 0;
    this.reservedUntil = 0;
  }

  /**
   * Makes room for `s` more at once, each array at its exact size, so that writing them allocates
   * nothing more (see RawSizes); they go into one piece, a new one if the open piece is large
   * already. Writing more than reserved still works: the arrays double.
   */
  reserve(s: RawSizes): void {
    if (this.n > 0 && this.large) {
      this.seal(s);
      this.reservedUntil = s.series;
      return;
    }
    this.reservedUntil = this.n + s.series;
    this.layout = reserved(this.layout, this.li + s.layout, Uint32Array);
    this.bytes = reserved(this.bytes, this.bi + s.bytes, Uint8Array);
    this.floats = reserved(this.floats, this.fi + s.floats, Float64Array);
    this.units = reserved(this.units, this.ui + s.units, Uint16Array);
    this.lens = reserved(this.lens, this.si + s.strings, Uint32Array);
    this.counts = reserved(this.counts, this.n + s.series, Uint32Array);
  }

  /**
   * A local block left for the receiver to read (see DeferredBlock), as a source of its own: the
   * open piece is sealed first so that the block's series fall between what came before and what
   * comes after. The packer holds `lease` until it is handed out by finish() (or rolled back).
   */
  deferBlock(block: LeasableBlock, start: number, end: number): void {
    if (this.n > 0 || this.li > 0) this.seal();
    this.sources++;
    const files = block.files?.();
    this.deferred.push({ at: this.sealed.length, dir: block.dir, ulid: block.ulid, start, end, ...(files ? { files } : {}) });
    this.leases.push(block.lease());
  }

  /** Takes over (adopt) or retains (append) the deferred blocks of `p`, whose pieces begin at piece `base`. */
  private takeBlocks(p: PackedRaw, base: number, own: boolean): void {
    if (!p.blocks) return;
    for (let i = 0; i < p.blocks.length; i++) {
      this.deferred.push({ ...p.blocks[i], at: base + p.blocks[i].at });
      this.leases.push(own ? p.leases![i] : p.leases![i].retain());
    }
  }

  /** A store starts writing: from the second one on, label sets may repeat. */
  beginSource(): void {
    this.sources++;
  }

  beginSeries(labels: Labels): void {
    // Between series only: a series lies in one piece.
    if (this.n > 0 && this.n >= this.reservedUntil && this.large) this.seal();
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

  /**
   * Appends another packer's finished output after what this one holds, its pieces copied (the
   * caller may transfer `p` elsewhere), one by one: no copy is larger than a piece.
   */
  append(p: PackedRaw): void {
    if (this.n > 0 || this.li > 0) this.seal();
    this.takeBlocks(p, this.sealed.length, false);
    for (const piece of p.pieces) this.push(copyPiece(piece));
    this.sources += p.sources;
  }

  /**
   * As append(), but takes over the pieces of `p` instead of copying them: a select read into a
   * packer of its own (the fan-out's) costs no second copy. The caller must own `p` alone
   * (nobody else reads or transfers its buffers).
   */
  adopt(p: PackedRaw): void {
    if (this.n > 0 || this.li > 0) this.seal();
    this.takeBlocks(p, this.sealed.length, true);
    for (const piece of p.pieces) this.push(piece);
    this.sources += p.sources;
  }

  /** A finished piece after what this packer holds: the open piece is sealed first unless it is empty. */
  private push(piece: RawPiece): void {
    if (this.n > 0 || this.li > 0) this.seal();
    const n = piece.labels.counts.length;
    this.sealed.push({
      layout: piece.layout,
      li: piece.layout.length,
      bytes: piece.bytes,
      bi: piece.bytes.length,
      floats: piece.floats,
      fi: piece.floats.length,
      units: piece.labels.units,
      ui: piece.labels.units.length,
      lens: piece.labels.lens,
      si: piece.labels.lens.length,
      counts: piece.labels.counts,
      n,
    });
    this.sealedSeries += n;
  }

  mark(): PackMark {
    return {
      sealed: this.sealed.length,
      li: this.li,
      bi: this.bi,
      fi: this.fi,
      ui: this.ui,
      si: this.si,
      n: this.n,
      sources: this.sources,
      blocks: this.deferred.length,
    };
  }

  /** Drops everything written since `m` (a store that failed half way), pieces sealed since included. */
  rollback(m: PackMark): void {
    if (this.sealed.length > m.sealed) {
      // The piece open at the mark was sealed since: it is the open one again.
      const open = this.sealed[m.sealed];
      this.sealed.length = m.sealed;
      this.sealedSeries = this.sealed.reduce((k, x) => k + x.n, 0);
      this.layout = open.layout;
      this.bytes = open.bytes;
      this.floats = open.floats;
      this.units = open.units;
      this.lens = open.lens;
      this.counts = open.counts;
    }
    this.li = m.li;
    this.bi = m.bi;
    this.fi = m.fi;
    this.ui = m.ui;
    this.si = m.si;
    this.n = m.n;
    this.sources = m.sources;
    this.reservedUntil = 0;
    for (const l of this.leases.splice(m.blocks)) l.release();
    this.deferred.length = m.blocks;
  }

  /**
   * The packed pieces: views of this packer's buffers, not copies. A view's buffer may be longer
   * than the view (growth doubles it); transferring it moves the whole buffer, which only ever
   * holds this packer's data. The packer must not be written to afterwards.
   */
  finish(): PackedRaw {
    const pieces = this.sealed.map(view);
    if (this.n > 0) {
      const { layout, li, bytes, bi, floats, fi, units, ui, lens, si, counts, n } = this;
      pieces.push(view({ layout, li, bytes, bi, floats, fi, units, ui, lens, si, counts, n }));
    }
    if (this.deferred.length === 0) return { pieces, sources: this.sources };
    return { pieces, sources: this.sources, blocks: this.deferred, leases: this.leases };
  }
}

/** A sealed piece's used part. */
function view(x: Sealed): RawPiece {
  return {
    labels: { units: x.units.subarray(0, x.ui), lens: x.lens.subarray(0, x.si), counts: x.counts.subarray(0, x.n) },
    layout: x.layout.subarray(0, x.li),
    bytes: x.bytes.subarray(0, x.bi),
    floats: x.floats.subarray(0, x.fi),
  };
}

function copyPiece(p: RawPiece): RawPiece {
  return {
    labels: { units: p.labels.units.slice(), lens: p.labels.lens.slice(), counts: p.labels.counts.slice() },
    layout: p.layout.slice(),
    bytes: p.bytes.slice(),
    floats: p.floats.slice(),
  };
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
  const out = p.pieces.length === 1 ? unpackPiece(p.pieces[0]) : p.pieces.flatMap(unpackPiece);
  return p.sources > 1 ? mergeRawDuplicates(out) : out;
}

function unpackPiece(p: RawPiece): RawSeries[] {
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
  return out;
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

/** Ends the leases a packed select holds (its receiver is done with the blocks, or never got them). */
export function releaseBlocks(p: PackedRaw): void {
  if (p.leases) for (const l of p.leases.splice(0)) l.release();
}

/**
 * The deferred blocks' pieces put in their places: `read` gives each block's own packed series
 * (read from its files by the receiver), and the result is what the sender would have packed had
 * the blocks written themselves.
 */
export async function resolveBlocks(p: PackedRaw, read: (b: DeferredBlock) => Promise<PackedRaw>): Promise<PackedRaw> {
  if (!p.blocks || p.blocks.length === 0) return p;
  const reads = await Promise.all(p.blocks.map(read));
  const pieces: RawPiece[] = [];
  let k = 0;
  for (let i = 0; i <= p.pieces.length; i++) {
    for (; k < p.blocks.length && p.blocks[k].at === i; k++) pieces.push(...reads[k].pieces);
    if (i < p.pieces.length) pieces.push(p.pieces[i]);
  }
  return { pieces, sources: p.sources };
}

export function rawTransfer(p: PackedRaw): ArrayBuffer[] {
  return p.pieces.flatMap(
    (x) =>
      [
        x.labels.units.buffer,
        x.labels.lens.buffer,
        x.labels.counts.buffer,
        x.layout.buffer,
        x.bytes.buffer,
        x.floats.buffer,
      ] as ArrayBuffer[],
  );
}
