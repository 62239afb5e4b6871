/**
 * A head snapshot, written on clean shutdown so the next start loads chunks instead of replaying
 * the whole WAL. Byte format: docs/format/wal.md#head-snapshot. Both directions stream,
 * so neither the file size nor the head size is bounded by a single buffer (Node refuses to read
 * files over 2 GiB whole), and a damaged file is refused with a reason, never thrown.
 */
import fsp from 'node:fs/promises';
import path from 'node:path';
import { crc32c } from '@node-rs/crc32';
import { Labels } from '@strata/model';
import type { WalPosition } from '../wal/wal.js';
import { syncDir } from '../wal/wal.js';
import type { Head } from './head.js';
import { OOOBuffer } from './ooo-buffer.js';
import { HistogramSeriesData } from './histogram-series.js';
import type { Exemplar } from '../exemplars/store.js';

const MAGIC = Buffer.from('STRSNAP1');

class Out {
  parts: Buffer[] = [];
  private cur = Buffer.allocUnsafe(1 << 16);
  private pos = 0;
  private room(n: number): void {
    if (this.pos + n <= this.cur.length) return;
    this.parts.push(this.cur.subarray(0, this.pos));
    this.cur = Buffer.allocUnsafe(Math.max(1 << 16, n));
    this.pos = 0;
  }
  u32(v: number): void {
    this.room(4);
    this.cur.writeUInt32LE(v >>> 0, this.pos);
    this.pos += 4;
  }
  f64(v: number): void {
    this.room(8);
    this.cur.writeDoubleLE(v, this.pos);
    this.pos += 8;
  }
  bytes(b: Uint8Array): void {
    this.room(b.length);
    this.cur.set(b, this.pos);
    this.pos += b.length;
  }
  str(s: string): void {
    const b = Buffer.from(s, 'utf8');
    this.u32(b.length);
    this.bytes(b);
  }
  /** Bytes buffered and not yet taken. */
  get size(): number {
    let n = this.pos;
    for (const p of this.parts) n += p.length;
    return n;
  }
  /** Everything buffered so far; the buffer starts empty again. */
  take(): Buffer[] {
    const out = [...this.parts, this.cur.subarray(0, this.pos)];
    this.parts = [];
    this.cur = Buffer.allocUnsafe(1 << 16);
    this.pos = 0;
    return out;
  }
}

/** Snapshots are streamed to disk in pieces of this size, so memory stays flat for any head. */
const FLUSH_BYTES = 4 << 20;

/**
 * Streams the head to `file` (through a temporary file, renamed when complete and synced).
 * Commits may go on meanwhile: what they add after `pos` is replayed from the WAL on load, where
 * samples already in the snapshot are recognised and skipped.
 */
export async function writeSnapshot(file: string, head: Head, pos: WalPosition): Promise<void> {
  // The series are fixed up front so the count in the header matches what follows.
  const series = [...head.allSeries()];
  const tmp = `${file}.tmp`;
  const fh = await fsp.open(tmp, 'w');
  let crc = 0;
  const o = new Out();
  const flush = async (): Promise<void> => {
    for (const part of o.take()) {
      crc = crc32c(part, crc);
      let done = 0;
      while (done < part.length) done += (await fh.write(part, done, part.length - done)).bytesWritten;
    }
  };
  try {
    o.bytes(MAGIC);
    o.u32(pos.segment);
    o.f64(pos.offset);
    o.u32(series.length);
    for (const s of series) {
      o.u32(s.ref);
      o.u32(s.labels.pairs.length);
      for (const p of s.labels.pairs) o.str(p);
      o.f64(s.maxT);
      o.u32(s.lastLo);
      o.u32(s.lastHi);
      const chunks = s.chunksIn(-Infinity, Infinity);
      o.u32(chunks.length);
      for (const c of chunks) {
        o.f64(c.minT);
        o.f64(c.maxT);
        o.u32(c.data.length);
        o.bytes(c.data);
      }
      const n = s.ooo ? s.ooo.length : 0;
      o.u32(n);
      for (let i = 0; i < n; i++) {
        o.f64(s.ooo!.ts[i]);
        o.u32(s.ooo!.bits[2 * i]);
        o.u32(s.ooo!.bits[2 * i + 1]);
      }
      if (o.size >= FLUSH_BYTES) await flush();
    }
    // Histogram chunks follow all series, so a snapshot of a head without them is what it was before them.
    const withHistograms = series.filter((s) => s.hist && s.hist.numSamples > 0);
    // Exemplars come after the histogram section, which is then written even when empty.
    if (withHistograms.length > 0 || head.exemplars.count > 0) {
      o.u32(withHistograms.length);
      for (const s of withHistograms) {
        const hc = s.hist!.chunksIn(-Infinity, Infinity);
        o.u32(s.ref);
        o.u32(hc.length);
        for (const c of hc) {
          o.f64(c.minT);
          o.f64(c.maxT);
          o.u32(c.encoding);
          o.u32(c.data.length);
          o.bytes(c.data);
        }
        if (o.size >= FLUSH_BYTES) await flush();
      }
    }
    if (head.exemplars.count > 0) writeExemplars(o, head);
    await flush();
    const trailer = Buffer.allocUnsafe(4);
    trailer.writeUInt32LE(crc, 0);
    await fh.write(trailer);
    await fh.sync();
  } finally {
    await fh.close();
  }
  await fsp.rename(tmp, file);
  await syncDir(path.dirname(file));
}

/**
 * The exemplar section: the series they belong to (by labels: a series may have left the head
 * while its exemplars stay), then every exemplar oldest first, as the store took them. Bounded by
 * the store's size, so it is buffered whole.
 */
function writeExemplars(o: Out, head: Head): void {
  const seriesIndex = new Map<string, number>();
  const seriesLabels: Labels[] = [];
  const held: { series: number; e: Exemplar }[] = [];
  head.exemplars.forEachHeld((l, e) => {
    let i = seriesIndex.get(l.key());
    if (i === undefined) {
      seriesIndex.set(l.key(), (i = seriesLabels.length));
      seriesLabels.push(l);
    }
    held.push({ series: i, e });
  });
  o.u32(seriesLabels.length);
  for (const l of seriesLabels) {
    o.u32(l.pairs.length);
    for (const p of l.pairs) o.str(p);
  }
  o.u32(held.length);
  for (const { series, e } of held) {
    o.u32(series);
    o.f64(e.timestamp);
    o.f64(e.value);
    o.u32(e.labels.length);
    for (const p of e.labels) o.str(p);
  }
}

/** The snapshot is read in pieces of this size; memory for reading stays flat for any file size. */
const READ_BYTES = 1 << 20;
/**
 * No single series takes this many bytes (labels, a head's chunks, out-of-order samples); a larger
 * length field means corruption, and refusing it keeps a corrupt file from allocating without bound.
 */
const MAX_SERIES_BYTES = 128 << 20;
const HEADER_BYTES = MAGIC.length + 16;

/** Why a snapshot cannot be used; the caller replays the whole WAL instead. */
export class SnapshotUnreadable extends Error {
  override name = 'SnapshotUnreadable';
}

/**
 * Reads a file front to back through one window buffer, checksumming every byte before the 4-byte
 * trailer as it goes. Callers test `has(n)` and `await fill(n)` only when the window runs short, so
 * parsing stays synchronous between refills.
 */
class SnapshotReader {
  private buf: Buffer;
  /** File offset of buf[0]. */
  private base = 0;
  /** Valid bytes in buf. */
  private len = 0;
  /** Next byte to parse, relative to buf. */
  p = 0;
  crc = 0;
  /** The checksum covers [0, dataEnd); the trailer follows. */
  readonly dataEnd: number;

  constructor(
    private readonly fh: fsp.FileHandle,
    readonly size: number,
    private readonly readBytes: number,
  ) {
    this.dataEnd = size - 4;
    this.buf = Buffer.allocUnsafe(readBytes);
  }

  /** File offset of the next byte to parse. */
  get offset(): number {
    return this.base + this.p;
  }

  has(n: number): boolean {
    return this.p + n <= this.len;
  }

  /** Makes [offset, offset + n) available in the window; past the checksummed data is a truncated file. */
  async fill(n: number, limit = this.dataEnd): Promise<void> {
    if (this.has(n)) return;
    if (this.offset + n > limit)
      throw new SnapshotUnreadable(`truncated: needs ${n} bytes at offset ${this.offset}, file has ${this.size}`);
    const keep = this.len - this.p;
    // Grown for one large series, the window shrinks back once the series has been read.
    const want = Math.max(n, this.readBytes);
    const next =
      want > this.buf.length || (this.buf.length > this.readBytes && want === this.readBytes) ? Buffer.allocUnsafe(want) : this.buf;
    this.buf.copy(next, 0, this.p, this.len);
    this.buf = next;
    this.base += this.p;
    this.p = 0;
    this.len = keep;
    while (this.len < n) {
      const at = this.base + this.len;
      const { bytesRead } = await this.fh.read(this.buf, this.len, Math.min(this.buf.length - this.len, this.size - at), at);
      if (bytesRead === 0) throw new SnapshotUnreadable(`truncated: file ended at offset ${at} (size changed while reading)`);
      const covered = Math.max(0, Math.min(bytesRead, this.dataEnd - at));
      if (covered > 0) this.crc = crc32c(this.buf.subarray(this.len, this.len + covered), this.crc);
      this.len += bytesRead;
    }
  }

  u32(): number {
    const v = this.buf.readUInt32LE(this.p);
    this.p += 4;
    return v;
  }

  f64(): number {
    const v = this.buf.readDoubleLE(this.p);
    this.p += 8;
    return v;
  }

  /** A copy of the next n bytes (the window is reused). */
  copy(n: number): Uint8Array {
    const out = Uint8Array.prototype.slice.call(this.buf, this.p, this.p + n);
    this.p += n;
    return out;
  }

  str(n: number): string {
    const v = this.buf.toString('utf8', this.p, this.p + n);
    this.p += n;
    return v;
  }

  /** A length field that must fit in what is left of one series and of the file. */
  length(what: string, seriesStart: number): number {
    const n = this.u32();
    if (this.offset + n > this.dataEnd)
      throw new SnapshotUnreadable(
        `${what} of ${n} bytes at offset ${this.offset - 4} runs past the end of the file (truncated or corrupt)`,
      );
    if (this.offset - seriesStart + n > MAX_SERIES_BYTES)
      throw new SnapshotUnreadable(
        `${what} of ${n} bytes at offset ${this.offset - 4} makes a series larger than ${MAX_SERIES_BYTES} bytes (corrupt)`,
      );
    return n;
  }
}

/**
 * Loads a snapshot into an empty head, streaming it within bounded memory (one read window plus
 * the largest series). Returns the WAL position to replay from, undefined if there is no snapshot,
 * or `{ error }` if it is unusable for any reason (short, oversized, corrupt, another version, an
 * I/O error); then the head holds an unspecified part of it and must be discarded.
 */
export async function loadSnapshot(file: string, head: Head, readBytes = READ_BYTES): Promise<WalPosition | { error: string } | undefined> {
  let fh: fsp.FileHandle;
  try {
    fh = await fsp.open(file, 'r');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    return { error: (e as Error).message };
  }
  try {
    return await readInto(new SnapshotReader(fh, (await fh.stat()).size, readBytes), head);
  } catch (e) {
    return { error: (e as Error).message };
  } finally {
    await fh.close().catch(() => undefined);
  }
}

async function readInto(r: SnapshotReader, head: Head): Promise<WalPosition> {
  if (r.size < HEADER_BYTES + 4) throw new SnapshotUnreadable(`too short: ${r.size} bytes`);
  await r.fill(HEADER_BYTES);
  if (!r.copy(MAGIC.length).every((b, i) => b === MAGIC[i])) throw new SnapshotUnreadable('bad magic (not a snapshot, or another version)');
  const segment = r.u32();
  const offset = r.f64();
  const n = r.u32();
  for (let i = 0; i < n; i++) {
    const start = r.offset;
    if (!r.has(8)) await r.fill(8);
    const ref = r.u32();
    const np = r.u32();
    // Every label string takes at least its 4-byte length.
    if (np * 4 > r.dataEnd - r.offset || np * 4 > MAX_SERIES_BYTES)
      throw new SnapshotUnreadable(`label count ${np} at offset ${r.offset - 4} runs past the end of the file (truncated or corrupt)`);
    const pairs: string[] = [];
    for (let k = 0; k < np; k++) {
      if (!r.has(4)) await r.fill(4);
      const len = r.length('label string', start);
      if (!r.has(len)) await r.fill(len);
      pairs.push(r.str(len));
    }
    if (!r.has(20)) await r.fill(20);
    const maxT = r.f64();
    const lastLo = r.u32();
    const lastHi = r.u32();
    const nc = r.u32();
    if (nc * 20 > r.dataEnd - r.offset)
      throw new SnapshotUnreadable(`chunk count ${nc} at offset ${r.offset - 4} runs past the end of the file (truncated or corrupt)`);
    const s = head.create(ref, Labels.fromSortedPairs(pairs));
    s.maxT = maxT;
    s.lastLo = lastLo;
    s.lastHi = lastHi;
    for (let c = 0; c < nc; c++) {
      if (!r.has(20)) await r.fill(20);
      const minT = r.f64();
      const cmaxT = r.f64();
      const len = r.length('chunk', start);
      if (!r.has(len)) await r.fill(len);
      s.chunks.push({ minT, maxT: cmaxT, data: r.copy(len) });
      if (minT < head.minT) head.minT = minT;
      if (cmaxT > head.maxT) head.maxT = cmaxT;
    }
    if (!r.has(4)) await r.fill(4);
    const no = r.u32();
    if (no * 16 > r.dataEnd - r.offset || r.offset - start + no * 16 > MAX_SERIES_BYTES) {
      throw new SnapshotUnreadable(
        `out-of-order count ${no} at offset ${r.offset - 4} runs past the end of the file or the per-series bound (truncated or corrupt)`,
      );
    }
    if (no > 0) {
      if (!r.has(no * 16)) await r.fill(no * 16);
      s.ooo = new OOOBuffer();
      for (let k = 0; k < no; k++) {
        const t = r.f64();
        const lo = r.u32();
        const hi = r.u32();
        s.ooo.insert(t, hi, lo);
        if (t < head.minT) head.minT = t;
      }
    }
  }
  if (r.offset < r.dataEnd) await readHistogramSection(r, head, n);
  if (r.offset < r.dataEnd) await readExemplarSection(r, head);
  if (r.offset !== r.dataEnd)
    throw new SnapshotUnreadable(`${r.dataEnd - r.offset} bytes after the last of ${n} series (oversized or corrupt)`);
  await r.fill(4, r.size);
  const want = r.u32();
  if (r.crc !== want) throw new SnapshotUnreadable('checksum mismatch');
  return { segment, offset };
}

/** The optional section after the series: per series with histogram samples, its histogram chunks. */
async function readHistogramSection(r: SnapshotReader, head: Head, numSeries: number): Promise<void> {
  if (!r.has(4)) await r.fill(4);
  const n = r.u32();
  if (n * 8 > r.dataEnd - r.offset || n > numSeries) {
    throw new SnapshotUnreadable(
      `${r.dataEnd - r.offset + 4} bytes after the last of ${numSeries} series are no histogram section (count ${n}; oversized or corrupt)`,
    );
  }
  for (let i = 0; i < n; i++) {
    const start = r.offset;
    if (!r.has(8)) await r.fill(8);
    const ref = r.u32();
    const nc = r.u32();
    const s = head.get(ref);
    if (!s) throw new SnapshotUnreadable(`histogram chunks at offset ${start} for series ref ${ref}, which the snapshot does not hold`);
    if (nc * 24 > r.dataEnd - r.offset)
      throw new SnapshotUnreadable(
        `histogram chunk count ${nc} at offset ${r.offset - 4} runs past the end of the file (truncated or corrupt)`,
      );
    const hist = (s.hist = new HistogramSeriesData());
    for (let c = 0; c < nc; c++) {
      if (!r.has(24)) await r.fill(24);
      const minT = r.f64();
      const maxT = r.f64();
      const encoding = r.u32();
      if (encoding !== 2 && encoding !== 3) throw new SnapshotUnreadable(`histogram chunk encoding ${encoding} at offset ${r.offset - 4}`);
      const len = r.length('histogram chunk', start);
      if (!r.has(len)) await r.fill(len);
      hist.chunks.push({ minT, maxT, encoding, data: r.copy(len) });
      hist.maxT = maxT;
      if (minT < head.minT) head.minT = minT;
      if (maxT > head.maxT) head.maxT = maxT;
    }
  }
}

/** The optional section after the histograms: exemplars and the labels of their series. */
async function readExemplarSection(r: SnapshotReader, head: Head): Promise<void> {
  const strings = async (start: number): Promise<string[]> => {
    if (!r.has(4)) await r.fill(4);
    const n = r.u32();
    if (n * 4 > r.dataEnd - r.offset)
      throw new SnapshotUnreadable(`label count ${n} at offset ${r.offset - 4} runs past the end of the file (truncated or corrupt)`);
    const out: string[] = [];
    for (let k = 0; k < n; k++) {
      if (!r.has(4)) await r.fill(4);
      const len = r.length('exemplar label string', start);
      if (!r.has(len)) await r.fill(len);
      out.push(r.str(len));
    }
    return out;
  };
  if (!r.has(4)) await r.fill(4);
  const ns = r.u32();
  if (ns * 4 > r.dataEnd - r.offset) throw new SnapshotUnreadable(`exemplar series count ${ns} at offset ${r.offset - 4} (corrupt)`);
  const series: Labels[] = [];
  for (let i = 0; i < ns; i++) series.push(Labels.fromSortedPairs(await strings(r.offset)));
  if (!r.has(4)) await r.fill(4);
  const n = r.u32();
  if (n * 24 > r.dataEnd - r.offset) throw new SnapshotUnreadable(`exemplar count ${n} at offset ${r.offset - 4} (corrupt)`);
  for (let i = 0; i < n; i++) {
    const start = r.offset;
    if (!r.has(20)) await r.fill(20);
    const si = r.u32();
    const timestamp = r.f64();
    const value = r.f64();
    if (si >= series.length) throw new SnapshotUnreadable(`exemplar at offset ${start} names series ${si} of ${series.length} (corrupt)`);
    head.loadExemplar(series[si], { labels: await strings(start), value, timestamp });
  }
}
