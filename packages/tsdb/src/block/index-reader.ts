/**
 * Reads an index file (format v2) through ranged reads: the TOC, the symbol table and the
 * postings offset table at open; postings lists and series entries on demand. Never the whole file.
 * Byte format: docs/format/block.md#index-v2.
 */
import { crc32c } from '@node-rs/crc32';
import { Labels, pace, type Matcher } from '@strata/model';
import { difference, intersect, union } from '../head/postings.js';
import type { ByteSource } from './bytesource.js';
import { DecBuf, IndexCorruptError } from './encbuf.js';
import { crc32cRange } from './crc32c-small.js';

export { IndexCorruptError };
import { INDEX_MAGIC } from './format.js';

export interface ChunkMeta {
  minT: number;
  maxT: number;
  ref: number;
}

export interface SeriesEntry {
  labels: Labels;
  chunks: ChunkMeta[];
}

/** Decoded postings lists kept per block index: blocks never change, and dashboards repeat matchers. */
const POSTINGS_CACHE_BYTES = 8 * 1024 * 1024;

/**
 * Value columns kept per block index (see valueColumn): a template variable asks for the same
 * label's values again and again, and the column answers them from the selection alone.
 */
const COLUMN_CACHE_BYTES = 4 * 1024 * 1024;
/** Value positions packed below the series id in one float64 for sorting: 2^21 values at most. */
const ORD_BITS = 2 ** 21;

/** Every series holding a label, ascending by id, with the position of its value among the label's values. */
export interface ValueColumn {
  ids: Uint32Array;
  ords: Uint32Array;
}

/** Series entries closer than this are read together. */
const SERIES_MERGE_GAP = 4096;
/** Bytes read past the last entry of a run (an entry longer than this gets its own read). */
const SERIES_TAIL_GUESS = 512;

interface Toc {
  symbols: number;
  series: number;
  labelIndices: number;
  labelOffsets: number;
  postings: number;
  postingsOffsets: number;
}

export class IndexReader {
  private readonly postingsCache = new Map<number, Uint32Array>();
  private postingsCacheBytes = 0;
  /** Per label name, value -> position in postingsTable (built on the first equality lookup). */
  private readonly valueIndex = new Map<string, Map<string, number>>();
  private readonly columns = new Map<string, ValueColumn>();
  private columnBytes = 0;

  private constructor(
    private readonly src: ByteSource,
    private readonly what: string,
    private readonly symbols: string[],
    /** label name -> sorted values and their postings offsets. */
    private readonly postingsTable: Map<string, { values: string[]; offsets: number[] }>,
    /** File size: every length read from the file is checked against it before anything is read or allocated. */
    private readonly size: number,
    private readonly toc: Toc,
  ) {}

  static async open(src: ByteSource, what = 'index'): Promise<IndexReader> {
    const size = await src.size();
    if (size < 5 + 52) throw new IndexCorruptError(what, `file of ${size} bytes is too small`);
    const head = await src.read(0, 5);
    if (head.readUInt32BE(0) !== INDEX_MAGIC) throw new IndexCorruptError(what, 'bad magic number');
    if (head[4] !== 2) throw new IndexCorruptError(what, `unsupported index version ${head[4]}`);
    const tocBuf = await src.read(size - 52, 52);
    if (crc32c(tocBuf.subarray(0, 48)) !== tocBuf.readUInt32BE(48)) throw new IndexCorruptError(what, 'TOC checksum mismatch');
    const d = new DecBuf(tocBuf);
    const toc: Toc = {
      symbols: d.be64(),
      series: d.be64(),
      labelIndices: d.be64(),
      labelOffsets: d.be64(),
      postings: d.be64(),
      postingsOffsets: d.be64(),
    };
    const symBody = await readSection(src, size, toc.symbols, what, 'symbol table');
    const sd = new DecBuf(symBody);
    const n = sd.be32();
    // Each symbol takes at least its length byte: a larger count is corruption, not a big table.
    if (n > symBody.length) throw new IndexCorruptError(what, `symbol count ${n} exceeds the table's ${symBody.length} bytes`);
    const symbols: string[] = new Array(n);
    for (let i = 0; i < n; i++) symbols[i] = sd.uvarintStr();
    const table = new Map<string, { values: string[]; offsets: number[] }>();
    if (toc.postingsOffsets !== 0) {
      const pd = new DecBuf(await readSection(src, size, toc.postingsOffsets, what, 'postings offset table'));
      const entries = pd.be32();
      for (let i = 0; i < entries; i++) {
        if (pd.byte() !== 2) throw new IndexCorruptError(what, 'postings offset entry without 2 keys');
        const name = pd.uvarintStr();
        const value = pd.uvarintStr();
        const off = pd.uvarint();
        let e = table.get(name);
        if (!e) table.set(name, (e = { values: [], offsets: [] }));
        e.values.push(value);
        e.offsets.push(off);
      }
    }
    return new IndexReader(src, what, symbols, table, size, toc);
  }

  symbol(i: number): string {
    const s = this.symbols[i];
    if (s === undefined) throw new IndexCorruptError(this.what, `symbol reference ${i} out of range`);
    return s;
  }

  /** The symbol table, sorted by bytes (the writer's order). Do not modify. */
  allSymbols(): readonly string[] {
    return this.symbols;
  }

  /**
   * Every series entry in file order (= label order), read front to back through the series
   * section in windows of `windowBytes`: one window and the entries of one batch in memory at a time.
   */
  async *scanSeries(windowBytes = 1 << 20): AsyncGenerator<SeriesEntry & { id: number }> {
    let pos = this.toc.series;
    const end = this.toc.labelIndices || this.toc.postings || this.size - 52;
    if (pos % 16 !== 0 || pos > end || end > this.size) throw new IndexCorruptError(this.what, 'series section bounds out of range');
    let buf: Buffer = Buffer.alloc(0);
    let bufAt = pos;
    while (pos < end) {
      // Enough for the longest length varint; a longer entry than the window is read whole below.
      if (pos + 10 > bufAt + buf.length && bufAt + buf.length < end) {
        bufAt = pos;
        buf = await this.src.read(pos, Math.min(windowBytes, end - pos));
      }
      const d = new DecBuf(buf, pos - bufAt);
      const len = d.uvarint();
      if (len === 0) throw new IndexCorruptError(this.what, `empty series entry at ${pos}`);
      const entryEnd = bufAt + d.pos + len + 4;
      if (entryEnd > end) throw new IndexCorruptError(this.what, `series entry at ${pos} runs past the series section`);
      if (entryEnd > bufAt + buf.length) {
        bufAt = pos;
        buf = await this.src.read(pos, Math.min(Math.max(windowBytes, entryEnd - pos), end - pos));
        if (buf.length < entryEnd - pos) throw new IndexCorruptError(this.what, `series entry at ${pos} runs past the end of the file`);
        continue;
      }
      const entry = this.decodeSeries(pos / 16, buf, d.pos, len);
      yield Object.assign(entry, { id: pos / 16 });
      pos = Math.ceil(entryEnd / 16) * 16;
    }
  }

  labelNames(): string[] {
    return [...this.postingsTable.keys()].filter((n) => n !== '').sort();
  }

  labelValues(name: string): string[] {
    return [...(this.postingsTable.get(name)?.values ?? [])];
  }

  hasValueColumn(name: string): boolean {
    return this.columns.has(name);
  }

  /**
   * The label's value column, built once from its postings lists (no series entry is read) and
   * kept within COLUMN_CACHE_BYTES, the oldest dropped first. Undefined for a label the block
   * lacks or one with too many values to pack.
   */
  async valueColumn(name: string): Promise<ValueColumn | undefined> {
    const have = this.columns.get(name);
    if (have) return have;
    const e = this.postingsTable.get(name);
    if (!e || e.values.length >= ORD_BITS) return undefined;
    const lists = await Promise.all(e.offsets.map((o) => this.readPostings(o)));
    let n = 0;
    for (const l of lists) n += l.length;
    // id * 2^21 + position stays below 2^53: one numeric sort orders the pairs by id.
    const packed = new Float64Array(n);
    let k = 0;
    lists.forEach((l, ord) => {
      for (let i = 0; i < l.length; i++) packed[k++] = l[i] * ORD_BITS + ord;
    });
    packed.sort();
    const ids = new Uint32Array(n);
    const ords = new Uint32Array(n);
    for (let i = 0; i < n; i++) {
      const id = Math.floor(packed[i] / ORD_BITS);
      ids[i] = id;
      ords[i] = packed[i] - id * ORD_BITS;
    }
    const col = { ids, ords };
    if (8 * n <= COLUMN_CACHE_BYTES) {
      this.columns.set(name, col);
      this.columnBytes += 8 * n;
      for (const [k2, v] of this.columns) {
        if (this.columnBytes <= COLUMN_CACHE_BYTES) break;
        this.columns.delete(k2);
        this.columnBytes -= 8 * v.ids.length;
      }
    }
    return col;
  }

  /** Values of label `name` held by at least one of the series `ids` (ascending), in the index's order. */
  valuesAmong(name: string, col: ValueColumn, ids: Uint32Array): string[] {
    const values = this.postingsTable.get(name)?.values ?? [];
    const seen = new Uint8Array(values.length);
    let j = 0;
    for (let i = 0; i < ids.length && j < col.ids.length; i++) {
      const id = ids[i];
      // Binary search from the last position: both lists ascend.
      let lo = j;
      let hi = col.ids.length;
      while (lo < hi) {
        const mid = (lo + hi) >>> 1;
        if (col.ids[mid] < id) lo = mid + 1;
        else hi = mid;
      }
      j = lo;
      if (j < col.ids.length && col.ids[j] === id) seen[col.ords[j]] = 1;
    }
    const out: string[] = [];
    for (let v = 0; v < values.length; v++) if (seen[v]) out.push(values[v]);
    return out;
  }

  /** Position of `value` among the values of label `name`, or -1. */
  private valuePos(name: string, value: string): number {
    const e = this.postingsTable.get(name);
    if (!e) return -1;
    let idx = this.valueIndex.get(name);
    if (!idx) {
      idx = new Map(e.values.map((v, i) => [v, i]));
      this.valueIndex.set(name, idx);
    }
    return idx.get(value) ?? -1;
  }

  async postings(name: string, value: string): Promise<Uint32Array> {
    const i = this.valuePos(name, value);
    if (i < 0) return new Uint32Array(0);
    return this.readPostings(this.postingsTable.get(name)!.offsets[i]);
  }

  private async readPostings(offset: number): Promise<Uint32Array> {
    const hit = this.postingsCache.get(offset);
    if (hit) return hit;
    const body = await readSection(this.src, this.size, offset, this.what, 'postings list');
    if (body.length < 4) throw new IndexCorruptError(this.what, 'postings list shorter than its count');
    const n = body.readUInt32BE(0);
    if (4 + 4 * n > body.length) throw new IndexCorruptError(this.what, 'postings list longer than its section');
    const out = new Uint32Array(n);
    for (let i = 0; i < n; i++) out[i] = body.readUInt32BE(4 + 4 * i);
    if (out.byteLength <= POSTINGS_CACHE_BYTES / 8) {
      // Callers only read postings lists (intersect, union and difference build new arrays).
      this.postingsCache.set(offset, out);
      this.postingsCacheBytes += out.byteLength;
      for (const [k, v] of this.postingsCache) {
        if (this.postingsCacheBytes <= POSTINGS_CACHE_BYTES) break;
        this.postingsCache.delete(k);
        this.postingsCacheBytes -= v.byteLength;
      }
    }
    return out;
  }

  /** Series IDs matching all matchers, with Prometheus' empty-value semantics. */
  async select(matchers: readonly Matcher[]): Promise<Uint32Array> {
    let result: Uint32Array | undefined;
    const subtract: Uint32Array[] = [];
    for (const m of matchers) {
      const e = this.postingsTable.get(m.name);
      const offsets: number[] = [];
      if (!m.matchesEmpty()) {
        if (!e) return new Uint32Array(0);
        if (m.type === '=') {
          const i = this.valuePos(m.name, m.value);
          if (i >= 0) offsets.push(e.offsets[i]);
        } else
          e.values.forEach((v, i) => {
            if (m.matches(v)) offsets.push(e.offsets[i]);
          });
        const u = union(await Promise.all(offsets.map((o) => this.readPostings(o))));
        result = result ? intersect(result, u) : u;
        if (result.length === 0) return result;
      } else if (e) {
        e.values.forEach((v, i) => {
          if (!m.matches(v)) offsets.push(e.offsets[i]);
        });
        if (offsets.length > 0) subtract.push(union(await Promise.all(offsets.map((o) => this.readPostings(o)))));
      }
    }
    let out = result ?? (await this.postings('', ''));
    for (const s of subtract) out = difference(out, s);
    return out;
  }

  /**
   * Several series entries (ids ascending) with as few reads as possible: entries are stored
   * back to back, so runs of nearby ids come in one ranged read.
   */
  async seriesMany(ids: ArrayLike<number>): Promise<SeriesEntry[]> {
    const out: SeriesEntry[] = new Array(ids.length);
    let i = 0;
    while (i < ids.length) {
      let j = i;
      while (j + 1 < ids.length && (ids[j + 1] - ids[j]) * 16 <= SERIES_MERGE_GAP) j++;
      const from = ids[i] * 16;
      if (from >= this.size) throw new IndexCorruptError(this.what, `series ${ids[i]} lies past the end of the file`);
      const buf = await this.src.read(from, Math.min(ids[j] * 16 - from + SERIES_TAIL_GUESS, this.size - from));
      for (let k = i; k <= j; k++) {
        out[k] = this.parseSeries(ids[k], buf, ids[k] * 16 - from) ?? (await this.series(ids[k]));
        // Tens of thousands of entries in one read: decoded between yields (pace).
        const y = pace();
        if (y) await y;
      }
      i = j + 1;
    }
    return out;
  }

  /** A series entry at `at` in `buf`, or undefined when `buf` ends before it does. */
  private parseSeries(id: number, buf: Buffer, at: number): SeriesEntry | undefined {
    const lenDec = new DecBuf(buf, at);
    let len: number;
    try {
      len = lenDec.uvarint();
    } catch {
      return undefined;
    }
    if (lenDec.pos + len + 4 > buf.length) return undefined;
    return this.decodeSeries(id, buf, lenDec.pos, len);
  }

  async series(id: number): Promise<SeriesEntry> {
    const offset = id * 16;
    if (offset >= this.size) throw new IndexCorruptError(this.what, `series ${id} lies past the end of the file`);
    let buf = await this.src.read(offset, Math.min(512, this.size - offset));
    const lenDec = new DecBuf(buf);
    const len = lenDec.uvarint();
    const need = lenDec.pos + len + 4;
    if (need > this.size - offset) throw new IndexCorruptError(this.what, `series ${id} runs past the end of the file`);
    if (buf.length < need) buf = await this.src.read(offset, need);
    if (buf.length < need) throw new IndexCorruptError(this.what, `series ${id} runs past the end of the file`);
    return this.decodeSeries(id, buf, lenDec.pos, len);
  }

  /**
   * Decodes the series entry of `len` bytes at `start` in `buf`, followed by its 4-byte CRC.
   * Read in place (no views): thousands of entries per series request.
   */
  private decodeSeries(id: number, buf: Buffer, start: number, len: number): SeriesEntry {
    if (crc32cRange(buf, start, start + len) !== buf.readUInt32BE(start + len))
      throw new IndexCorruptError(this.what, `series ${id} checksum mismatch`);
    const d = new DecBuf(buf, start, start + len);
    const nl = d.uvarint();
    // Counts are checked against the entry's size (each item takes at least a byte) before allocating.
    if (nl * 2 > len) throw new IndexCorruptError(this.what, `series ${id} claims ${nl} labels in ${len} bytes`);
    const pairs: string[] = new Array(nl * 2);
    for (let i = 0; i < nl; i++) {
      pairs[2 * i] = this.symbol(d.uvarint());
      pairs[2 * i + 1] = this.symbol(d.uvarint());
    }
    const nc = d.uvarint();
    if (nc * 3 > len) throw new IndexCorruptError(this.what, `series ${id} claims ${nc} chunks in ${len} bytes`);
    const chunks: ChunkMeta[] = new Array(nc);
    let prevMaxT = 0;
    let prevRef = 0;
    for (let i = 0; i < nc; i++) {
      let minT: number;
      let ref: number;
      if (i === 0) {
        minT = d.varint();
        const maxT = minT + d.uvarint();
        ref = d.uvarint();
        chunks[i] = { minT, maxT, ref };
      } else {
        minT = prevMaxT + d.uvarint();
        const maxT = minT + d.uvarint();
        ref = prevRef + d.varint();
        chunks[i] = { minT, maxT, ref };
      }
      prevMaxT = chunks[i].maxT;
      prevRef = ref;
    }
    return { labels: Labels.fromSortedPairs(pairs), chunks };
  }
}

/** Reads a section with a 4-byte length prefix and a trailing CRC, verifying the CRC. */
async function readSection(src: ByteSource, size: number, offset: number, what: string, name: string): Promise<Buffer> {
  if (offset + 4 > size) throw new IndexCorruptError(what, `${name} at ${offset} runs past the end of the file`);
  const lenBuf = await src.read(offset, 4);
  if (lenBuf.length < 4) throw new IndexCorruptError(what, `${name} at ${offset} runs past the end of the file`);
  const len = lenBuf.readUInt32BE(0);
  // Checked before reading: a corrupt length must not make the source allocate up to 4 GiB.
  if (offset + 8 + len > size) throw new IndexCorruptError(what, `${name} at ${offset} of ${len} bytes runs past the end of the file`);
  const buf = await src.read(offset + 4, len + 4);
  if (buf.length < len + 4) throw new IndexCorruptError(what, `${name} at ${offset} runs past the end of the file`);
  const body = buf.subarray(0, len);
  if (crc32c(body) !== buf.readUInt32BE(len)) throw new IndexCorruptError(what, `${name} checksum mismatch`);
  return body;
}
