/**
 * A block opened for queries: meta.json, the index through ranged reads, and chunks read one by
 * one from their segment files. Implements the Querier contract, so PromQL runs over blocks
 * exactly as over the head. Byte format: docs/format/block.md.
 */
import fsp from 'node:fs/promises';
import path from 'node:path';
import { crc32cRange } from './crc32c-small.js';
import {
  Labels,
  inQueryShards,
  type FloatHistogram,
  pace,
  splitQueryShard,
  type Matcher,
  type QueryShard,
  type BlockLease,
  type LeasableBlock,
  type RawPacker,
  type Querier,
  type RawPart,
  type RawSeries,
  type SelectHints,
  type Series,
} from '@strata/model';
import { decodeXORBits, xorNumSamples } from '../chunkenc/xor.js';
import { STALE_NAN } from '../chunkenc/stale.js';
import { histogramChunkSamples } from '../head/histogram-series.js';
import { isHistogramEncoding } from './histogram-chunks.js';
import { FileByteSource, type ByteSource } from './bytesource.js';
import type { BlockFileKind, SegmentCache } from './segment-cache.js';
import { DecBuf } from './encbuf.js';
import { IndexCorruptError, IndexReader, type ChunkMeta } from './index-reader.js';
import { CHUNKS_DIR, INDEX_FILE, META_FILE, parseMeta, type BlockMeta } from './meta.js';
import { CHUNK_ENCODING_XOR } from './format.js';
import { UnsupportedChunkError } from './corrupt.js';
import { AGGR_NAMES, CHUNK_ENCODING_AGGR, decodeAggrChunk, encodeAggrChunk, type AggrPart } from '../downsample/aggr-chunk.js';
import { histogramRollupFromChunks, isHistogramAggrChunk } from '../downsample/histogram-rollup.js';
import { AGGR_ENTRIES_FILE, AggrEntries } from '../downsample/aggr-entries.js';
import { ALL_AGGRS, aggrBit, fromChunks, type AggrSet } from '../downsample/rollup.js';
import { aggregatesFor, joinParts, modeFor, type Part, type SourcePart } from '../downsample/rollup-query.js';

/** Chunks closer than this are fetched with one ranged read. */
export const MERGE_GAP = 4 * 1024;
/**
 * Aggregate entries at most this far apart are fetched with one ranged read, the bytes between
 * them (other aggregates) read and dropped: a bucket request costs far more than 2 KiB of
 * transfer. Half of MERGE_GAP: between two chunks' counters lie the next chunk's count, sum, min
 * and max, so with 4 KiB a rate over a block of small chunks would fetch them all. At 2 KiB the
 * counters of one series' chunks of a 1h rollup join (about 1.1 KiB apart), those of two series
 * (about 2.6 KiB) do not: the 30-day rate of the rollup query bench reads 900 ranges instead of
 * 1,800 for 1.9x the bytes.
 */
export const ENTRY_MERGE_GAP = 2 * 1024;
/** Ranged reads of entries in flight at once per select: a bucket answers them in parallel. */
const ENTRY_READS_IN_FLIGHT = 8;
/** Room read past the last merged chunk's start; a longer chunk is fetched on its own. */
const MAX_CHUNK_GUESS = 1024;

export interface BlockSources {
  meta: () => Promise<string>;
  index: ByteSource;
  /** The chunk segment file with 0-based sequence number `seq` (file name seq+1, 6 digits). */
  segment: (seq: number) => ByteSource;
  /** A rollup block's entries table (aggr-entries.ts), undefined when the block has none. */
  aggrEntries?: () => Promise<Uint8Array | undefined>;
  close?: () => Promise<void>;
}

/** A local block directory; its files read through `cache` when given (see segment-cache.ts), else directly. */
export function localBlockSources(dir: string, cache?: SegmentCache): BlockSources {
  return blockDirSources(dir, (name, kind) => (cache ? cache.source(name, kind) : new FileByteSource(name)));
}

/** A local block directory whose index and chunk segment files are read through `file`. */
export function blockDirSources(dir: string, file: (name: string, kind: BlockFileKind) => ByteSource): BlockSources {
  const segments = new Map<number, ByteSource>();
  return {
    meta: () => fsp.readFile(path.join(dir, META_FILE), 'utf8'),
    aggrEntries: () =>
      fsp.readFile(path.join(dir, AGGR_ENTRIES_FILE)).catch((e: NodeJS.ErrnoException) => {
        if (e.code === 'ENOENT') return undefined;
        throw e;
      }),
    index: file(path.join(dir, INDEX_FILE), 'index'),
    segment: (seq) => {
      let s = segments.get(seq);
      if (!s) {
        const name = path.join(dir, CHUNKS_DIR, String(seq + 1).padStart(6, '0'));
        segments.set(seq, (s = file(name, 'chunks')));
      }
      return s;
    },
    close: async () => {
      for (const s of segments.values()) await s.close?.();
    },
  };
}

/** One series of a block with its raw chunks (without the encoding byte), oldest first. */
export interface SeriesChunks {
  labels: Labels;
  chunks: Uint8Array[];
  /** Each chunk's encoding, set only when the series holds native histogram chunks (all XOR otherwise). */
  encodings?: Uint8Array;
  /** Each chunk's minT and maxT from the index, in pairs. */
  ranges: Float64Array;
}

/**
 * Decodes a series' chunks, given as lists in time order that do not overlap (one list per
 * block), straight into one pair of arrays: the samples in [from, to], or undefined if none.
 * `encodings` (per list, each chunk's encoding; undefined for a list of XOR chunks) marks lists
 * holding histogram chunks: the series then carries `histograms`, as the head's select gives it.
 */
export function decodeSeriesChunks(
  labels: Labels,
  lists: Uint8Array[][],
  from: number,
  to: number,
  encodings?: readonly (Uint8Array | undefined)[],
): Series | undefined {
  if (encodings?.some((e) => e !== undefined)) return decodeMixedChunks(labels, lists, encodings, from, to);
  let n = 0;
  for (const l of lists) for (const d of l) n += xorNumSamples(d);
  const ts = new Float64Array(n);
  const vs = new Float64Array(n);
  const vb = new Uint32Array(vs.buffer);
  let k = 0;
  for (const l of lists) for (const d of l) k = decodeXORBits(d, ts, vb, k, from, to);
  return k === 0 ? undefined : { labels, timestamps: k === n ? ts : ts.subarray(0, k), values: k === n ? vs : vs.subarray(0, k) };
}

/**
 * decodeSeriesChunks for a series with histogram chunks: float and histogram samples in one
 * timestamp column, histograms beside the values (undefined for floats); a histogram staleness
 * marker becomes a float one, as in the head (head.ts withHistograms).
 */
function decodeMixedChunks(
  labels: Labels,
  lists: Uint8Array[][],
  encodings: readonly (Uint8Array | undefined)[],
  from: number,
  to: number,
): Series | undefined {
  let n = 0;
  for (const l of lists) for (const d of l) n += xorNumSamples(d);
  const ts = new Float64Array(n);
  const vs = new Float64Array(n);
  const vb = new Uint32Array(vs.buffer);
  const hs: (FloatHistogram | undefined)[] = new Array<FloatHistogram | undefined>(n).fill(undefined);
  const got = { timestamps: [] as number[], histograms: [] as (FloatHistogram | 'stale')[] };
  const hts = got.timestamps;
  const hvs = got.histograms;
  let k = 0;
  lists.forEach((l, li) => {
    const encs = encodings[li];
    l.forEach((d, ci) => {
      const enc = encs ? encs[ci] : CHUNK_ENCODING_XOR;
      if (!isHistogramEncoding(enc)) {
        k = decodeXORBits(d, ts, vb, k, from, to);
        return;
      }
      hts.length = 0;
      hvs.length = 0;
      histogramChunkSamples(d, enc, from, to, got);
      for (let q = 0; q < hts.length; q++, k++) {
        ts[k] = hts[q];
        const h = hvs[q];
        if (h === 'stale') vs[k] = STALE_NAN;
        else hs[k] = h;
      }
    });
  });
  if (k === 0) return undefined;
  if (k < n) hs.length = k;
  return { labels, timestamps: ts.subarray(0, k), values: vs.subarray(0, k), histograms: hs };
}

/** Series a raw select reads per batch of index entries and chunks (selectRawInto). */
const RAW_BATCH = 2048;

/**
 * One block's series into a packer as its selectRaw() gives it: its `n` chunks from `datas[at]`
 * on (encodings in `encs`), XOR chunks as a part, histogram chunks as another.
 */
function packChunks(labels: Labels, datas: Uint8Array[], encs: Uint8Array, at: number, n: number, into: RawPacker): void {
  into.beginSeries(labels);
  let hist = false;
  for (let i = at; i < at + n; i++) {
    if (encs[i] === CHUNK_ENCODING_XOR) into.chunk(datas[i]);
    else hist = true;
  }
  if (hist) {
    into.endPart();
    for (let i = at; i < at + n; i++) if (encs[i] !== CHUNK_ENCODING_XOR) into.histogramChunk(encs[i], datas[i]);
  }
  into.endSeries();
}

export class BlockReader implements Querier {
  private entries: Promise<AggrEntries | undefined> | undefined;
  /** Set by shareWithWorkers(): the block as query workers read it, and the holds on it. */
  private shared: { block: LeasableBlock; holds: number; unheld: (() => void)[] } | undefined;

  private constructor(
    readonly meta: BlockMeta,
    readonly index: IndexReader,
    private readonly sources: BlockSources,
  ) {}

  /** Opens a block; a corrupt or incomplete block is an error naming it, never a crash. */
  /** Downsampling window in ms (meta.json thanos.downsample.resolution); 0 for raw data. */
  get resolution(): number {
    return this.meta.thanos?.downsample?.resolution ?? 0;
  }

  /** Raw blocks hold XOR chunks, rollups Thanos' aggregate chunks. */
  private get encoding(): number {
    return this.resolution > 0 ? CHUNK_ENCODING_AGGR : CHUNK_ENCODING_XOR;
  }

  static async open(sources: BlockSources, name: string): Promise<BlockReader> {
    let meta: BlockMeta;
    try {
      meta = parseMeta(await sources.meta(), `block ${name}`);
    } catch (e) {
      throw new Error(`block ${name}: cannot read meta.json: ${(e as Error).message}`, { cause: e });
    }
    const index = await IndexReader.open(sources.index, `block ${name} index`);
    return new BlockReader(meta, index, sources);
  }

  /** A local block (for a query worker's reads, see WorkerBlockFiles). */
  static openDir(dir: string, cache?: SegmentCache): Promise<BlockReader> {
    return BlockReader.open(localBlockSources(dir, cache), path.basename(dir));
  }

  /**
   * Lets packers that defer blocks (RawPackerOptions.deferBlocks: the query worker pool's) leave
   * this block's series to the receiving thread, which reads the files in `dir` itself; each such
   * select holds a lease on the block until the receiver is done (see unleased()). For local
   * blocks whose deletion waits for unleased(); never for blocks another component may delete.
   * With `cache` (the one this block reads through), each select attaches the block's files the
   * cache holds, and what the receiver read comes back to it: the files it loaded are kept, its
   * bytes counted.
   */
  shareWithWorkers(dir: string, cache?: SegmentCache): void {
    const shared: NonNullable<BlockReader['shared']> = {
      holds: 0,
      unheld: [],
      block: {
        dir,
        ulid: this.meta.ulid,
        files: () => cache?.held(dir),
        lease: () => {
          shared.holds++;
          let released = false;
          const lease: BlockLease = {
            retain: () => shared.block.lease(),
            returned: (reads) => cache?.adopt(dir, reads),
            release: () => {
              if (released) return;
              released = true;
              if (--shared.holds === 0) for (const f of shared.unheld.splice(0)) f();
            },
          };
          return lease;
        },
      },
    };
    this.shared = shared;
  }

  /**
   * A lease for a read on this thread (undefined for a block no one deletes under its readers):
   * dropping a local block closes and deletes its files only after every such read is done, as for
   * the workers' reads, instead of under a read between two of its file reads.
   */
  hold(): BlockLease | undefined {
    return this.shared?.block.lease();
  }

  /** Leases on this block held by selects still being read elsewhere. */
  get leases(): number {
    return this.shared?.holds ?? 0;
  }

  /** Resolves once no lease on this block is held (at once when none is). */
  unleased(): Promise<void> {
    const s = this.shared;
    if (!s || s.holds === 0) return Promise.resolve();
    return new Promise((resolve) => s.unheld.push(resolve));
  }

  /** A chunk's bytes (without the encoding byte); its encoding goes to `encodings[at]` when given. */
  async chunk(ref: number, encodings?: Uint8Array, at = 0): Promise<Uint8Array> {
    const seq = Math.floor(ref / 2 ** 32);
    const off = ref % 2 ** 32;
    const src = this.sources.segment(seq);
    let buf = await src.read(off, 256);
    const d = new DecBuf(buf);
    const len = d.uvarint();
    const need = d.pos + 1 + len + 4;
    if (buf.length < need) buf = await src.read(off, need);
    if (buf.length < need) throw new IndexCorruptError(`block ${this.meta.ulid} chunks`, `chunk ${ref} runs past the end of its segment`);
    const encAt = d.pos;
    this.checkEncoding(ref, buf[encAt]);
    const body = buf.subarray(encAt, encAt + 1 + len);
    if (crc32cRange(buf, encAt, encAt + 1 + len) !== buf.readUInt32BE(encAt + 1 + len))
      throw new IndexCorruptError(`block ${this.meta.ulid} chunks`, `chunk ${ref} checksum mismatch`);
    if (encodings) encodings[at] = buf[encAt];
    return body.subarray(1);
  }

  /** Raw blocks hold XOR and native histogram chunks (encodings 2, 3), rollups aggregate chunks only. */
  private checkEncoding(ref: number, encoding: number): void {
    if (encoding === this.encoding) return;
    if (this.resolution === 0 && isHistogramEncoding(encoding)) return;
    throw new UnsupportedChunkError(
      `block ${this.meta.ulid}: chunk ${ref} has encoding ${encoding}; expected ${this.encoding} in a block of its resolution`,
    );
  }

  /**
   * Reads several chunks, merging reads of nearby chunks in the same segment into one ranged
   * request (gaps up to MERGE_GAP bytes are read and thrown away): fewer round trips to a bucket.
   * Each chunk's encoding byte goes to `encodings[i]` when given (refs.length long).
   */
  async chunksOf(refs: number[], encodings?: Uint8Array): Promise<Uint8Array[]> {
    // Read in file order; refs (segment << 32 | offset) usually come ascending already, as a
    // block's series and their chunks are written in the same order, and then are not sorted.
    const n = refs.length;
    const order = new Uint32Array(n);
    let sorted = true;
    for (let i = 0; i < n; i++) {
      order[i] = i;
      if (i > 0 && refs[i] < refs[i - 1]) sorted = false;
    }
    if (!sorted) order.sort((a, b) => refs[a] - refs[b]);
    const seqOf = (k: number) => Math.floor(refs[order[k]] / 2 ** 32);
    const offOf = (k: number) => refs[order[k]] % 2 ** 32;
    const out: Uint8Array[] = new Array(n);
    let k = 0;
    while (k < n) {
      let j = k;
      const seq = seqOf(k);
      while (j + 1 < n && seqOf(j + 1) === seq && offOf(j + 1) - offOf(j) <= MERGE_GAP) j++;
      if (j === k) out[order[k]] = await this.chunk(refs[order[k]], encodings, order[k]);
      else {
        const from = offOf(k);
        const to = offOf(j) + MAX_CHUNK_GUESS;
        const buf = await this.sources.segment(seq).read(from, to - from);
        for (let m = k; m <= j; m++) {
          const i = order[m];
          out[i] = this.parseChunk(refs[i], buf, offOf(m) - from, encodings, i) ?? (await this.chunk(refs[i], encodings, i));
          const y = pace();
          if (y) await y;
        }
      }
      k = j + 1;
    }
    return out;
  }

  /** A chunk at `at` in `buf`, or undefined if `buf` ends before the chunk does. */
  private parseChunk(ref: number, buf: Buffer, at: number, encodings?: Uint8Array, i = 0): Uint8Array | undefined {
    const d = new DecBuf(buf, at);
    let len: number;
    try {
      len = d.uvarint();
    } catch {
      return undefined;
    }
    const encAt = d.pos;
    if (encAt + 1 + len + 4 > buf.length) return undefined;
    this.checkEncoding(ref, buf[encAt]);
    if (crc32cRange(buf, encAt, encAt + 1 + len) !== buf.readUInt32BE(encAt + 1 + len))
      throw new IndexCorruptError(`block ${this.meta.ulid} chunks`, `chunk ${ref} checksum mismatch`);
    if (encodings) encodings[i] = buf[encAt];
    return buf.subarray(encAt + 1, encAt + 1 + len);
  }

  /** The entries table, read once; undefined without one, or when it is damaged (chunks are then read whole, their checksums still checked). */
  private entriesTable(): Promise<AggrEntries | undefined> {
    this.entries ??= (async () => {
      const raw = await this.sources.aggrEntries?.();
      if (!raw) return undefined;
      try {
        return AggrEntries.decode(raw, `block ${this.meta.ulid} ${AGGR_ENTRIES_FILE}`);
      } catch {
        return undefined;
      }
    })();
    return this.entries;
  }

  /**
   * Rollup chunks holding only the aggregates in `want` (the others absent): with an entries
   * table, only those entries are fetched (with the bytes of gaps up to ENTRY_MERGE_GAP between
   * two of them, read in the same request), each entry checked against its CRC32C. Without one,
   * the chunks are read whole.
   */
  async aggrChunksOf(refs: number[], want: AggrSet): Promise<Uint8Array[]> {
    const table = want === ALL_AGGRS || refs.length === 0 ? undefined : await this.entriesTable();
    if (!table) return this.chunksOf(refs);
    type Wanted = { i: number; entry: number; seq: number; offset: number; length: number; crc: number };
    const wanted: Wanted[] = [];
    const whole: number[] = [];
    const parts: (AggrPart | undefined)[][] = refs.map(() => []);
    refs.forEach((ref, i) => {
      const k = table.find(ref);
      if (k < 0) return whole.push(i);
      const seq = Math.floor(ref / 2 ** 32);
      for (let e = 0; e < AGGR_NAMES.length; e++) {
        if (!(want & aggrBit(e))) continue;
        const r = table.range(k, ref % 2 ** 32, e);
        if (r) wanted.push({ i, entry: e, seq, ...r });
      }
    });
    wanted.sort((a, b) => a.seq - b.seq || a.offset - b.offset);
    const runs: Wanted[][] = [];
    for (const w of wanted) {
      const run = runs[runs.length - 1];
      const last = run?.[run.length - 1];
      if (last && last.seq === w.seq && w.offset - (last.offset + last.length) <= ENTRY_MERGE_GAP) run.push(w);
      else runs.push([w]);
    }
    const readRun = async (run: Wanted[]): Promise<void> => {
      const from = run[0].offset;
      const end = run[run.length - 1].offset + run[run.length - 1].length;
      const buf = await this.sources.segment(run[0].seq).read(from, end - from);
      for (const w of run) {
        const at = w.offset - from;
        if (at + w.length > buf.length)
          throw new IndexCorruptError(`block ${this.meta.ulid} chunks`, `chunk entry at ${w.offset} runs past the end of its segment`);
        if (crc32cRange(buf, at, at + w.length) !== w.crc)
          throw new IndexCorruptError(`block ${this.meta.ulid} chunks`, `${AGGR_NAMES[w.entry]} entry at ${w.offset} checksum mismatch`);
        parts[w.i][w.entry] = { encoding: buf[at], data: buf.subarray(at + 1, at + w.length) };
      }
    };
    let next = 0;
    const reader = async () => {
      while (next < runs.length) await readRun(runs[next++]);
    };
    await Promise.all(Array.from({ length: Math.min(ENTRY_READS_IN_FLIGHT, runs.length) }, reader));
    // Entries not fetched are written absent (trailing ones left off, which readers take as absent too).
    const out: Uint8Array[] = new Array(refs.length);
    for (let i = 0; i < refs.length; i++) out[i] = encodeAggrChunk(parts[i]);
    if (whole.length > 0) {
      const datas = await this.chunksOf(whole.map((i) => refs[i]));
      whole.forEach((i, j) => (out[i] = datas[j]));
    }
    return out;
  }

  private overlapping(chunks: ChunkMeta[], hints: SelectHints): ChunkMeta[] {
    return chunks.filter((c) => c.maxT >= hints.start && c.minT <= hints.end);
  }

  /**
   * The selected series with the raw chunks overlapping [hints.start, hints.end], undecoded, in
   * index order; chunks outside the range are neither read nor decoded. Budgets are charged here,
   * before the chunks are read.
   */
  async selectChunks(matchers: readonly Matcher[], hints: SelectHints, want: AggrSet = ALL_AGGRS): Promise<SeriesChunks[]> {
    if (!this.overlaps(hints)) return [];
    const { ids, shards } = await this.selectIds(matchers, hints);
    return this.chunksForIds(ids, shards, hints, want);
  }

  /** The ids a select reads, the series budget charged for them unless a query shard picks among them first. */
  private async selectIds(
    matchers: readonly Matcher[],
    hints: SelectHints,
  ): Promise<{ ids: Uint32Array; shards: QueryShard[] | undefined }> {
    const { matchers: lookup, shards } = splitQueryShard(matchers);
    const ids = await this.index.select(lookup);
    if (!shards) hints.budget?.series(ids.length);
    hints.signal?.throwIfAborted();
    return { ids, shards };
  }

  /** selectChunks() of the given series ids (ascending). */
  private async chunksForIds(
    ids: Uint32Array,
    shards: QueryShard[] | undefined,
    hints: SelectHints,
    want: AggrSet = ALL_AGGRS,
  ): Promise<SeriesChunks[]> {
    // Read every selected entry, then every needed chunk, each in a few merged ranged reads.
    let entries = await this.index.seriesMany(ids);
    if (shards) {
      // A query shard keeps the series its label hash picks, before any chunk is read.
      entries = entries.filter((s) => inQueryShards(s.labels, shards));
      hints.budget?.series(entries.length);
    }
    const wanted: { labels: Labels; n: number; ranges: Float64Array }[] = [];
    const refs: number[] = [];
    for (const s of entries) {
      const chunks = this.overlapping(s.chunks, hints);
      if (chunks.length === 0) continue;
      const ranges = new Float64Array(2 * chunks.length);
      chunks.forEach((c, i) => {
        ranges[2 * i] = c.minT;
        ranges[2 * i + 1] = c.maxT;
      });
      wanted.push({ labels: s.labels, n: chunks.length, ranges });
      for (const c of chunks) refs.push(c.ref);
    }
    hints.budget?.chunks(refs.length);
    hints.signal?.throwIfAborted();
    const encs = this.resolution > 0 ? undefined : new Uint8Array(refs.length);
    const datas = encs ? await this.chunksOf(refs, encs) : await this.aggrChunksOf(refs, want);
    if (hints.budget) for (const d of datas) hints.budget.bytes(d.length);
    const out: SeriesChunks[] = [];
    let di = 0;
    for (const w of wanted) {
      const s: SeriesChunks = { labels: w.labels, chunks: datas.slice(di, di + w.n), ranges: w.ranges };
      if (encs) for (let q = di; q < di + w.n; q++) if (encs[q] !== CHUNK_ENCODING_XOR) s.encodings = encs.slice(di, di + w.n);
      out.push(s);
      di += w.n;
    }
    return out;
  }

  /**
   * The selected series' data in [from, to] (within the hints' range), as parts to join with
   * other blocks' (rollup-query.ts): raw samples without NaNs, or the rollup's windows.
   */
  async selectParts(matchers: readonly Matcher[], hints: SelectHints, from: number, to: number): Promise<{ labels: Labels; part: Part }[]> {
    return (await this.partsOf(matchers, hints, from, to, false)) as { labels: Labels; part: Part }[];
  }

  /**
   * selectParts, except that a float rollup's aggregate chunks are left as fetched (ChunkPart):
   * for a store that sends them on undecoded (docs/format/rollup-read.md).
   */
  selectSourceParts(
    matchers: readonly Matcher[],
    hints: SelectHints,
    from: number,
    to: number,
  ): Promise<{ labels: Labels; part: SourcePart }[]> {
    return this.partsOf(matchers, hints, from, to, true);
  }

  private async partsOf(
    matchers: readonly Matcher[],
    hints: SelectHints,
    from: number,
    to: number,
    undecoded: boolean,
  ): Promise<{ labels: Labels; part: SourcePart }[]> {
    const lo = Math.max(from, hints.start);
    const hi = Math.min(to, hints.end);
    if (lo > hi) return [];
    const out: { labels: Labels; part: SourcePart }[] = [];
    const want = aggregatesFor(modeFor(hints.func));
    for (const s of await this.selectChunks(matchers, { ...hints, start: lo, end: hi }, want)) {
      if (this.resolution > 0) {
        const clipped = hi < this.meta.maxTime - 1;
        if (s.chunks.length > 0 && isHistogramAggrChunk(decodeAggrChunk(s.chunks[0]))) {
          const h = histogramRollupFromChunks(s.chunks, lo, hi);
          if (h) out.push({ labels: s.labels, part: { kind: 'hrollup', r: h, from: lo, clipped } });
          continue;
        }
        if (undecoded) {
          out.push({ labels: s.labels, part: { kind: 'rollup-chunks', chunks: s.chunks, from: lo, to: hi, clipped } });
          continue;
        }
        const r = fromChunks(s.chunks, lo, hi, want);
        if (r) out.push({ labels: s.labels, part: { kind: 'rollup', r, from: lo, clipped } });
        continue;
      }
      const raw = decodeSeriesChunks(s.labels, [s.chunks], lo, hi, s.encodings && [s.encodings]);
      if (!raw) continue;
      if (raw.histograms) {
        // A series with native histograms joins histogram rollups: its histograms alone (as downsampling keeps them).
        const ks: number[] = [];
        for (let i = 0; i < raw.histograms.length; i++) if (raw.histograms[i]) ks.push(i);
        const t = Float64Array.from(ks, (i) => raw.timestamps[i]);
        if (ks.length > 0)
          out.push({ labels: s.labels, part: { kind: 'raw', t, v: new Float64Array(ks.length), h: ks.map((i) => raw.histograms![i]!) } });
        continue;
      }
      let n = 0;
      for (let i = 0; i < raw.values.length; i++) if (!Number.isNaN(raw.values[i])) n++;
      const t = new Float64Array(n);
      const v = new Float64Array(n);
      for (let i = 0, k = 0; i < raw.values.length; i++) {
        if (Number.isNaN(raw.values[i])) continue;
        t[k] = raw.timestamps[i];
        v[k++] = raw.values[i];
      }
      if (n > 0) out.push({ labels: s.labels, part: { kind: 'raw', t, v } });
    }
    return out;
  }

  /** XOR chunks as stored, for a reader on another thread; raw blocks only (see BlockSetQuerier.selectRaw). */
  async selectRaw(matchers: readonly Matcher[], hints: SelectHints): Promise<RawSeries[]> {
    if (this.resolution > 0) throw new Error(`block ${this.meta.ulid} is a rollup: its aggregate chunks have no raw form`);
    const out: RawSeries[] = [];
    for (const s of await this.selectChunks(matchers, hints)) {
      if (!s.encodings) {
        out.push({ labels: s.labels, parts: [{ chunks: s.chunks, ranges: s.ranges }] });
        continue;
      }
      // A series with histograms: its XOR chunks as one part, its histogram chunks as another
      // (as the head's selectRaw gives them); they never overlap, so precedence does not matter.
      const enc = s.encodings;
      const xor = (i: number) => enc[i] === CHUNK_ENCODING_XOR;
      const floats = s.chunks.filter((_, i) => xor(i));
      const hists = s.chunks.filter((_, i) => !xor(i));
      const ranges = Float64Array.from(
        s.chunks.flatMap((_, i) => (xor(i) ? [i] : [])).flatMap((i) => [s.ranges[2 * i], s.ranges[2 * i + 1]]),
      );
      const parts: RawPart[] = [];
      if (floats.length > 0) parts.push({ chunks: floats, ranges });
      parts.push({ histogramChunks: hists, encodings: Array.from(enc).filter((e) => e !== CHUNK_ENCODING_XOR) });
      out.push({ labels: s.labels, parts });
    }
    // Sorted only for a limit: otherwise the reader sorts, off this thread.
    if (!hints.limit) return out;
    return out.sort((a, b) => Labels.compare(a.labels, b.labels)).slice(0, hints.limit);
  }

  /**
   * selectRaw() written straight into a packer, in batches of series: the thread that owns the
   * block builds no RawSeries per series and holds at most a batch's entries and chunks, and it
   * yields between series (pace), so a select of every series of a large block never holds the
   * event loop for longer than a slice. One source: equal label sets never repeat within a block.
   */
  async selectRawInto(matchers: readonly Matcher[], hints: SelectHints, into: RawPacker): Promise<void> {
    if (this.resolution > 0) throw new Error(`block ${this.meta.ulid} is a rollup: its aggregate chunks have no raw form`);
    if (!this.overlaps(hints)) return into.beginSource();
    // The receiver reads the block itself; not with a fetch budget, which counts on this thread.
    if (this.shared && into.defersBlocks && !hints.budget) return into.deferBlock(this.shared.block, hints.start, hints.end);
    into.beginSource();
    const { ids, shards } = await this.selectIds(matchers, hints);
    // Per batch: its entries, the refs of their chunks in the range and how many per series (no
    // object per series beyond the index entry), then the chunks in a few merged reads.
    const counts = new Uint32Array(RAW_BATCH);
    for (let i = 0; i < ids.length; i += RAW_BATCH) {
      let entries = await this.index.seriesMany(ids.subarray(i, i + RAW_BATCH));
      if (shards) {
        entries = entries.filter((s) => inQueryShards(s.labels, shards));
        hints.budget?.series(entries.length);
      }
      const refs: number[] = [];
      for (let e = 0; e < entries.length; e++) {
        let k = 0;
        for (const c of entries[e].chunks)
          if (c.maxT >= hints.start && c.minT <= hints.end) {
            refs.push(c.ref);
            k++;
          }
        counts[e] = k;
      }
      hints.budget?.chunks(refs.length);
      hints.signal?.throwIfAborted();
      const encs = new Uint8Array(refs.length);
      const datas = await this.chunksOf(refs, encs);
      if (hints.budget) for (const d of datas) hints.budget.bytes(d.length);
      for (let e = 0, at = 0; e < entries.length; e++) {
        if (counts[e] === 0) continue;
        const y = pace();
        if (y) await y;
        packChunks(entries[e].labels, datas, encs, at, counts[e], into);
        at += counts[e];
      }
      hints.signal?.throwIfAborted();
    }
  }

  async select(matchers: readonly Matcher[], hints: SelectHints): Promise<Series[]> {
    if (this.resolution > 0) {
      // A rollup queried on its own: its aggregate for the function asked for (rollup-query.ts).
      const out: Series[] = [];
      const mode = modeFor(hints.func);
      for (const { labels, part } of await this.selectParts(matchers, hints, hints.start, hints.end)) {
        const s = joinParts(labels, [part], mode);
        if (s) out.push(s);
        if (hints.limit && out.length >= hints.limit) break;
      }
      return out.sort((a, b) => Labels.compare(a.labels, b.labels));
    }
    const out: Series[] = [];
    for (const s of await this.selectChunks(matchers, hints)) {
      const series = decodeSeriesChunks(s.labels, [s.chunks], hints.start, hints.end, s.encodings && [s.encodings]);
      if (series) out.push(series);
      if (hints.limit && out.length >= hints.limit) break;
    }
    return out.sort((a, b) => Labels.compare(a.labels, b.labels));
  }

  async series(matchers: readonly Matcher[], hints: SelectHints): Promise<Labels[]> {
    const out: Labels[] = [];
    const { matchers: lookup, shards } = splitQueryShard(matchers);
    for (const s of await this.index.seriesMany(await this.index.select(lookup))) {
      if (this.overlapping(s.chunks, hints).length === 0) continue;
      if (shards && !inQueryShards(s.labels, shards)) continue;
      out.push(s.labels);
      if (hints.limit && out.length >= hints.limit) break;
    }
    return out.sort(Labels.compare);
  }

  /** Whether the block's [minTime, maxTime) meets the hints' inclusive range. */
  private overlaps(hints: SelectHints): boolean {
    return this.meta.maxTime > hints.start && this.meta.minTime <= hints.end;
  }

  /**
   * Label names and values count the block as a whole when its range meets the request's, as
   * Prometheus' blocks do: no series' chunks are looked at.
   */
  async labelNames(matchers: readonly Matcher[], hints: SelectHints): Promise<string[]> {
    if (!this.overlaps(hints)) return [];
    if (matchers.length === 0) return this.index.labelNames();
    const names = new Set<string>();
    for (const s of await this.index.seriesMany(await this.index.select(matchers))) s.labels.forEach((n) => names.add(n));
    return [...names].sort();
  }

  /**
   * With matchers, from the postings: the label's value column (built once per block, see
   * IndexReader.valueColumn) says which values the selected series hold; a selection much
   * smaller than the label's value count, before the column exists, reads the selected series'
   * labels instead.
   */
  async labelValues(name: string, matchers: readonly Matcher[], hints: SelectHints): Promise<string[]> {
    if (!this.overlaps(hints)) return [];
    const all = this.index.labelValues(name);
    if (matchers.length === 0 || all.length === 0) return all.sort();
    const ids = await this.index.select(matchers);
    hints.signal?.throwIfAborted();
    if (ids.length === 0) return [];
    const col = ids.length * 8 < all.length && !this.index.hasValueColumn(name) ? undefined : await this.index.valueColumn(name);
    if (col) return this.index.valuesAmong(name, col, ids).sort();
    const values = new Set<string>();
    for (const s of await this.index.seriesMany(ids)) {
      const v = s.labels.get(name);
      if (v !== '') values.add(v);
    }
    return [...values].sort();
  }

  async close(): Promise<void> {
    await this.sources.index.close?.();
    await this.sources.close?.();
  }
}
