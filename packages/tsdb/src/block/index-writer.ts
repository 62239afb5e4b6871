/**
 * Writes an index file (format v2, docs/format/block.md#index-v2) front to back while series
 * arrive one at a time in label order: the symbol table first (so it must be known up front, as
 * in Prometheus), then each series entry as it comes, then label indices, postings and the TOC.
 * Beyond the symbols, memory holds only two integers per label of each series (pair and series
 * ID) and one map entry per distinct label pair: never the series themselves.
 */
import fsp from 'node:fs/promises';
import { crc32c } from '@node-rs/crc32';
import { pace, type Labels } from '@strata/model';
import { EncBuf } from './encbuf.js';
import { compareLabelsBytes, INDEX_MAGIC, INDEX_VERSION_2 } from './format.js';

const FLUSH_BYTES = 1 << 20;

export interface ChunkRef {
  minT: number;
  maxT: number;
  ref: number;
}

/** A growable Uint32Array: postings stay flat integers however many series there are. */
export class U32List {
  arr: Uint32Array;
  len = 0;

  constructor(initial = 1024) {
    this.arr = new Uint32Array(initial);
  }

  push(v: number): void {
    if (this.len === this.arr.length) {
      const b = new Uint32Array(this.arr.length * 2);
      b.set(this.arr);
      this.arr = b;
    }
    this.arr[this.len++] = v;
  }

  view(): Uint32Array {
    return this.arr.subarray(0, this.len);
  }
}

/** Sequential output to a file through one buffer, tracking the absolute offset (for alignment and the TOC). */
class FileOut {
  readonly buf = new EncBuf(FLUSH_BYTES + 4096);
  private written = 0;

  constructor(private readonly fh: fsp.FileHandle) {}

  get pos(): number {
    return this.written + this.buf.len;
  }

  async maybeFlush(): Promise<void> {
    if (this.buf.len >= FLUSH_BYTES) await this.flush();
  }

  async flush(): Promise<void> {
    if (this.buf.len === 0) return;
    await this.fh.write(this.buf.get());
    this.written += this.buf.len;
    this.buf.reset();
  }

  pad(align: number): void {
    while (this.pos % align !== 0) this.buf.byte(0);
  }

  /** Appends `len`-prefixed (4 bytes) section content with its CRC32-Castagnoli. */
  async section(body: EncBuf): Promise<void> {
    this.buf.be32(body.len);
    this.buf.bytes(body.get());
    this.buf.be32(crc32c(body.get()));
    await this.maybeFlush();
  }
}

export class IndexWriter {
  private readonly symIdx = new Map<string, number>();
  private readonly entry = new EncBuf(4096);
  private readonly body = new EncBuf(1 << 16);
  private seriesSectionAt = 0;
  /** Dense label-pair number -> name symbol * symbols + value symbol (orders as the bytes do). */
  private readonly pairKeys: number[] = [];
  private readonly pairOf = new Map<number, number>();
  /** One element per label of each series: its pair and its series ID, in arrival order. */
  private readonly postingPair = new U32List(1 << 14);
  private readonly postingSeries = new U32List(1 << 14);
  private readonly allSeries = new U32List(1 << 12);
  private prev: Labels | undefined;

  private constructor(
    private readonly fh: fsp.FileHandle,
    private readonly out: FileOut,
    private readonly symbols: readonly string[],
  ) {
    symbols.forEach((s, i) => this.symIdx.set(s, i));
  }

  /** `symbols`: every label name and value the series will use, sorted by bytes, unique. */
  static async create(file: string, symbols: readonly string[]): Promise<IndexWriter> {
    const fh = await fsp.open(file, 'w');
    const out = new FileOut(fh);
    const w = new IndexWriter(fh, out, symbols);
    out.buf.be32(INDEX_MAGIC);
    out.buf.byte(INDEX_VERSION_2);
    const b = w.body.reset();
    b.be32(symbols.length);
    for (const s of symbols) b.uvarintStr(s);
    await out.section(b);
    out.pad(16);
    w.seriesSectionAt = out.pos;
    return w;
  }

  get numSeries(): number {
    return this.allSeries.len;
  }

  private sym(s: string): number {
    const i = this.symIdx.get(s);
    if (i === undefined) throw new Error(`index writer: ${JSON.stringify(s)} is not in the symbol table`);
    return i;
  }

  /** Adds a series after every series before it in byte-wise label order; `chunks` in time order. */
  async addSeries(labels: Labels, chunks: readonly ChunkRef[]): Promise<void> {
    if (this.prev && compareLabelsBytes(this.prev, labels) >= 0)
      throw new Error(`index writer: series ${labels.toString()} does not come after ${this.prev.toString()}`);
    this.prev = labels;
    const out = this.out;
    out.pad(16);
    const id = out.pos / 16;
    if (id > 0xffffffff) throw new Error('index writer: series section exceeds 64 GiB');
    this.allSeries.push(id);
    const e = this.entry.reset();
    const p = labels.pairs;
    e.uvarint(p.length / 2);
    const nSym = this.symbols.length;
    for (let i = 0; i < p.length; i += 2) {
      const n = this.sym(p[i]);
      const v = this.sym(p[i + 1]);
      e.uvarint(n);
      e.uvarint(v);
      const key = n * nSym + v;
      let pair = this.pairOf.get(key);
      if (pair === undefined) {
        pair = this.pairKeys.length;
        this.pairKeys.push(key);
        this.pairOf.set(key, pair);
      }
      this.postingPair.push(pair);
      this.postingSeries.push(id);
    }
    e.uvarint(chunks.length);
    let prevMaxT = 0;
    let prevRef = 0;
    for (let i = 0; i < chunks.length; i++) {
      const m = chunks[i];
      // The format stores these as unsigned deltas: out of order, they would silently encode garbage.
      if (m.maxT < m.minT || (i > 0 && m.minT < prevMaxT))
        throw new Error(`index writer: series ${labels.toString()}: chunk ${i} [${m.minT}, ${m.maxT}] out of order`);
      if (i === 0) {
        e.varint(m.minT);
        e.uvarint(m.maxT - m.minT);
        e.uvarint(m.ref);
      } else {
        e.uvarint(m.minT - prevMaxT);
        e.uvarint(m.maxT - m.minT);
        e.varint(m.ref - prevRef);
      }
      prevMaxT = m.maxT;
      prevRef = m.ref;
    }
    out.buf.uvarint(e.len);
    out.buf.bytes(e.get());
    out.buf.be32(crc32c(e.get()));
    await out.maybeFlush();
  }

  /** Writes label indices, postings and the TOC, syncs and closes the file; returns its size. */
  async finish(): Promise<number> {
    const out = this.out;
    const nSym = this.symbols.length;
    const nPairs = this.pairKeys.length;
    // Pairs in byte order of (name, value): symbols are sorted, so their numeric keys are too.
    const sortedKeys = Float64Array.from(this.pairKeys).sort();
    const rank = new Uint32Array(nPairs);
    for (let r = 0; r < nPairs; r++) rank[this.pairOf.get(sortedKeys[r])!] = r;
    this.pairOf.clear();
    // Counting sort of the postings by pair rank; stable, so each list keeps ascending series IDs.
    const start = new Uint32Array(nPairs + 1);
    const pp = this.postingPair.view();
    for (let i = 0; i < pp.length; i++) start[rank[pp[i]] + 1]++;
    for (let r = 0; r < nPairs; r++) start[r + 1] += start[r];
    const fill = start.slice(0, nPairs);
    const ids = new Uint32Array(pp.length);
    const ps = this.postingSeries.view();
    for (let i = 0; i < pp.length; i++) ids[fill[rank[pp[i]]]++] = ps[i];

    const toc = { symbols: 5, series: this.seriesSectionAt, labelIndices: 0, labelOffsets: 0, postings: 0, postingsOffsets: 0 };
    // Label indices (still written for older readers) and their offset table.
    out.pad(4);
    toc.labelIndices = out.pos;
    const names: { name: number; at: number }[] = [];
    for (let r = 0; r < nPairs;) {
      const name = Math.floor(sortedKeys[r] / nSym);
      let end = r;
      while (end < nPairs && Math.floor(sortedKeys[end] / nSym) === name) end++;
      out.pad(4);
      names.push({ name, at: out.pos });
      const b = this.body.reset();
      b.be32(1);
      b.be32(end - r);
      for (let k = r; k < end; k++) b.be32(sortedKeys[k] - name * nSym);
      await out.section(b);
      r = end;
      const y = pace();
      if (y) await y;
    }
    toc.labelOffsets = out.pos;
    {
      const b = this.body.reset();
      b.be32(names.length);
      for (const n of names) {
        b.byte(1);
        b.uvarintStr(this.symbols[n.name]);
        b.uvarint(n.at);
      }
      await out.section(b);
    }

    // Postings lists: the all-series list under ("", ""), then every label pair in order.
    out.pad(4);
    toc.postings = out.pos;
    const postingAt = new Float64Array(nPairs + 1);
    const list = async (from: Uint32Array): Promise<void> => {
      const b = this.body.reset();
      b.be32(from.length);
      for (let i = 0; i < from.length; i++) b.be32(from[i]);
      await out.section(b);
    };
    out.pad(4);
    postingAt[0] = out.pos;
    await list(this.allSeries.view());
    for (let r = 0; r < nPairs; r++) {
      out.pad(4);
      postingAt[r + 1] = out.pos;
      await list(ids.subarray(start[r], start[r + 1]));
      // A list per label pair, as many as there are series when a label is unique to each.
      const y = pace();
      if (y) await y;
    }
    toc.postingsOffsets = out.pos;
    {
      const b = this.body.reset();
      b.be32(nPairs + 1);
      b.byte(2);
      b.uvarintStr('');
      b.uvarintStr('');
      b.uvarint(postingAt[0]);
      for (let r = 0; r < nPairs; r++) {
        const name = Math.floor(sortedKeys[r] / nSym);
        b.byte(2);
        b.uvarintStr(this.symbols[name]);
        b.uvarintStr(this.symbols[sortedKeys[r] - name * nSym]);
        b.uvarint(postingAt[r + 1]);
        if ((r & 1023) === 0) {
          const y = pace();
          if (y) await y;
        }
      }
      await out.section(b);
    }

    const t = this.body.reset();
    t.be64(toc.symbols);
    t.be64(toc.series);
    t.be64(toc.labelIndices);
    t.be64(toc.labelOffsets);
    t.be64(toc.postings);
    t.be64(toc.postingsOffsets);
    out.buf.bytes(t.get());
    out.buf.be32(crc32c(t.get()));
    const size = out.pos;
    await out.flush();
    await this.fh.sync();
    await this.fh.close();
    return size;
  }

  async abort(): Promise<void> {
    await this.fh.close().catch(() => undefined);
  }
}
