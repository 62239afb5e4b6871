/**
 * The entries table of a rollup block (file `aggr-entries`, Strata's; Thanos and Prometheus
 * ignore it): per aggregate chunk, the length and CRC32C of each entry. With it a reader knows
 * where in the segment file each aggregate of a chunk lies, so a rate over rollups fetches the
 * counter entries alone (a fifth of the bytes or less) and still checks what it read. A block
 * without the table (Thanos', or one whose table is damaged) is read chunk by chunk as before.
 * Byte format: docs/format/downsampling.md#the-entries-table-aggr-entries-strata-only.
 */
import fsp, { type FileHandle } from 'node:fs/promises';
import { crc32c } from '@node-rs/crc32';
import { DecBuf, EncBuf, IndexCorruptError } from '../block/encbuf.js';
import { AGGR_NAMES } from './aggr-chunk.js';

export const AGGR_ENTRIES_FILE = 'aggr-entries';
const MAGIC = 0x53414745; // "SAGE"
const VERSION = 1;
/** Entries per chunk at most: Thanos' five and the sketches. */
const MAX_ENTRIES = AGGR_NAMES.length;

function uvarintLen(v: number): number {
  let n = 1;
  while (v >= 0x80) {
    v = Math.floor(v / 0x80);
    n++;
  }
  return n;
}

/** Records held in memory before they move to the spill file (AggrEntriesBuilder.spillIfLarge). */
const SPILL_BYTES = 1 << 20;
/** Piece size when the spilled records are copied into the table. */
const COPY_BYTES = 1 << 20;

/**
 * Collects the chunks of a rollup block as they are written (refs ascending), then encodes the
 * table. With a spill file, records past 1 MiB move there as the block is written, so the memory of
 * writing a rollup block does not grow with it (about 30 bytes per chunk otherwise: 40 MB for a
 * block of a million chunks).
 */
export class AggrEntriesBuilder {
  private readonly out = new EncBuf(4096);
  private lastRef = 0;
  count = 0;
  private spill: FileHandle | undefined;

  constructor(private readonly spillFile?: string) {}

  /** `body`: the aggregate chunk's data (the entries, without the chunk's encoding byte) written at `ref`. */
  add(ref: number, body: Uint8Array): void {
    if (ref < this.lastRef) throw new Error(`aggregate entries: chunk ${ref} written before chunk ${this.lastRef}`);
    const buf = Buffer.from(body.buffer, body.byteOffset, body.length);
    const d = new DecBuf(buf);
    const lens: number[] = [];
    const crcs: number[] = [];
    while (d.pos < buf.length && lens.length < MAX_ENTRIES) {
      const len = d.uvarint();
      lens.push(len);
      if (len === 0) continue;
      if (d.pos + 1 + len > buf.length)
        throw new Error(`aggregate entries: chunk ${ref}: ${AGGR_NAMES[lens.length - 1]} entry runs past the end`);
      crcs.push(crc32c(buf.subarray(d.pos, d.pos + 1 + len)));
      d.pos += 1 + len;
    }
    // A body with bytes past its entries cannot be addressed by lengths alone: leave it out, and readers read it whole.
    if (d.pos !== buf.length) return;
    this.out.uvarint(ref - this.lastRef);
    this.lastRef = ref;
    this.out.byte(lens.length);
    let c = 0;
    for (const len of lens) {
      this.out.uvarint(len);
      if (len > 0) this.out.be32(crcs[c++]);
    }
    this.count++;
  }

  /** Moves the records held in memory to the spill file once they pass 1 MiB (none without a spill file). */
  async spillIfLarge(): Promise<void> {
    if (!this.spillFile || this.out.len < SPILL_BYTES) return;
    this.spill ??= await fsp.open(this.spillFile, 'w+');
    await this.spill.write(this.out.get());
    this.out.reset();
  }

  private head(): Buffer {
    const head = new EncBuf(16);
    head.be32(MAGIC);
    head.byte(VERSION);
    head.uvarint(this.count);
    return head.get();
  }

  /** Writes the table (as encode() gives it) to `file`, fsynced, from memory and the spill file, which is removed. */
  async writeTo(file: string): Promise<void> {
    const fh = await fsp.open(file, 'w');
    try {
      const head = this.head();
      let crc = crc32c(head);
      await fh.write(head);
      if (this.spill) {
        const piece = Buffer.allocUnsafe(COPY_BYTES);
        for (let at = 0; ;) {
          const { bytesRead } = await this.spill.read(piece, 0, COPY_BYTES, at);
          if (bytesRead === 0) break;
          const got = piece.subarray(0, bytesRead);
          crc = crc32c(got, crc);
          await fh.write(got);
          at += bytesRead;
        }
      }
      const rest = this.out.get();
      crc = crc32c(rest, crc);
      await fh.write(rest);
      const tail = Buffer.alloc(4);
      tail.writeUInt32BE(crc >>> 0);
      await fh.write(tail);
      await fh.sync();
    } finally {
      await fh.close();
      await this.discard();
    }
  }

  /** Closes and removes the spill file (after writeTo, or when the block is abandoned). */
  async discard(): Promise<void> {
    const spill = this.spill;
    this.spill = undefined;
    if (spill) await spill.close();
    if (this.spillFile) await fsp.rm(this.spillFile, { force: true });
  }

  /** magic, version, chunk count, the chunks' records, CRC32C of everything before it (all held in memory: no spill file). */
  encode(): Buffer {
    if (this.spill) throw new Error('aggregate entries: spilled to disk; use writeTo');
    const body = Buffer.concat([this.head(), this.out.get()]);
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(crc32c(body));
    return Buffer.concat([body, crc]);
  }
}

/** Where one entry's encoding byte and data lie in its segment file, and their checksum. */
export interface EntryRange {
  /** Offset in the segment of the entry's encoding byte. */
  offset: number;
  /** Encoding byte plus data. */
  length: number;
  crc: number;
}

/** A decoded entries table: per chunk (refs ascending), its entries' lengths and checksums. */
export class AggrEntries {
  private constructor(
    private readonly refs: Float64Array,
    /** Per chunk MAX_ENTRIES lengths (data bytes; 0 absent), and -1 past the chunk's last entry. */
    private readonly lens: Int32Array,
    private readonly crcs: Uint32Array,
  ) {}

  static decode(raw: Uint8Array, what: string): AggrEntries {
    const buf = Buffer.from(raw.buffer, raw.byteOffset, raw.length);
    if (buf.length < 9 || buf.readUInt32BE(0) !== MAGIC) throw new IndexCorruptError(what, 'not an aggregate entries table');
    if (buf[4] !== VERSION) throw new IndexCorruptError(what, `unknown version ${buf[4]}`);
    if (crc32c(buf.subarray(0, buf.length - 4)) !== buf.readUInt32BE(buf.length - 4))
      throw new IndexCorruptError(what, 'checksum mismatch');
    const d = new DecBuf(buf.subarray(0, buf.length - 4), 5);
    const n = d.uvarint();
    // Each record takes at least two bytes: a count that large cannot be in the table.
    if (n * 2 > buf.length) throw new IndexCorruptError(what, `${n} chunks do not fit in ${buf.length} bytes`);
    const refs = new Float64Array(n);
    const lens = new Int32Array(n * MAX_ENTRIES).fill(-1);
    const crcs = new Uint32Array(n * MAX_ENTRIES);
    let ref = 0;
    for (let k = 0; k < n; k++) {
      ref += d.uvarint();
      refs[k] = ref;
      const m = d.byte();
      if (m > MAX_ENTRIES) throw new IndexCorruptError(what, `chunk ${ref} has ${m} entries`);
      for (let i = 0; i < m; i++) {
        const len = d.uvarint();
        lens[k * MAX_ENTRIES + i] = len;
        if (len > 0) crcs[k * MAX_ENTRIES + i] = d.be32();
      }
    }
    return new AggrEntries(refs, lens, crcs);
  }

  get size(): number {
    return this.refs.length;
  }

  /** The chunk's position in the table, or -1 when the table does not know it. */
  find(ref: number): number {
    let lo = 0;
    let hi = this.refs.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      const r = this.refs[mid];
      if (r === ref) return mid;
      if (r < ref) lo = mid + 1;
      else hi = mid - 1;
    }
    return -1;
  }

  /**
   * Where entry `entry` of the chunk at table position `k`, framed at `chunkOffset` in its segment,
   * lies; undefined when the chunk has no such entry (absent or past its last).
   */
  range(k: number, chunkOffset: number, entry: number): EntryRange | undefined {
    const base = k * MAX_ENTRIES;
    let body = 0;
    for (let i = 0; i < MAX_ENTRIES && this.lens[base + i] >= 0; i++) body += entrySize(this.lens[base + i]);
    // The chunk's frame: uvarint body length, the encoding byte, then the entries.
    let at = chunkOffset + uvarintLen(body) + 1;
    for (let i = 0; i < entry; i++) {
      const len = this.lens[base + i];
      if (len < 0) return undefined;
      at += entrySize(len);
    }
    const len = this.lens[base + entry];
    if (!(len > 0)) return undefined;
    return { offset: at + uvarintLen(len), length: 1 + len, crc: this.crcs[base + entry] };
  }
}

function entrySize(len: number): number {
  return uvarintLen(len) + (len > 0 ? 1 + len : 0);
}
