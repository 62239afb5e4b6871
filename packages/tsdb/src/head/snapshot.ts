/**
 * A head snapshot, written on clean shutdown so the next start loads chunks instead of replaying
 * the whole WAL. Layout: magic "STRSNAP1", u32 WAL segment and f64 offset the snapshot covers up
 * to, u32 series count, then per series: u32 ref, labels (u32 count, per string u32 length +
 * UTF-8), f64 maxT, u32 last value bits lo/hi, u32 chunk count, per chunk f64 minT, f64 maxT,
 * u32 length, bytes (the open chunk is stored closed), u32 out-of-order count, per sample f64 t,
 * u32 lo, u32 hi; finally u32 CRC32-Castagnoli of everything before it.
 */
import fsp from 'node:fs/promises';
import path from 'node:path';
import { crc32c } from '@node-rs/crc32';
import { Labels } from '@strata/model';
import type { WalPosition } from '../wal/wal.js';
import { syncDir } from '../wal/wal.js';
import type { Head } from './head.js';
import { OOOBuffer } from './ooo-buffer.js';

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

/** Loads a snapshot into an empty head; returns the WAL position to replay from, or undefined if absent/invalid. */
export async function loadSnapshot(file: string, head: Head): Promise<WalPosition | { error: string } | undefined> {
  let buf: Buffer;
  try {
    buf = await fsp.readFile(file);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
  if (buf.length < MAGIC.length + 20 || !buf.subarray(0, 8).equals(MAGIC)) return { error: 'bad magic or too short' };
  if (crc32c(buf.subarray(0, buf.length - 4)) !== buf.readUInt32LE(buf.length - 4)) return { error: 'checksum mismatch' };
  let p = 8;
  const u32 = () => {
    const v = buf.readUInt32LE(p);
    p += 4;
    return v;
  };
  const f64 = () => {
    const v = buf.readDoubleLE(p);
    p += 8;
    return v;
  };
  const segment = u32();
  const offset = f64();
  const n = u32();
  for (let i = 0; i < n; i++) {
    const ref = u32();
    const np = u32();
    const pairs: string[] = new Array(np);
    for (let k = 0; k < np; k++) {
      const len = u32();
      pairs[k] = buf.toString('utf8', p, p + len);
      p += len;
    }
    const s = head.create(ref, Labels.fromSortedPairs(pairs));
    s.maxT = f64();
    s.lastLo = u32();
    s.lastHi = u32();
    const nc = u32();
    for (let c = 0; c < nc; c++) {
      const minT = f64();
      const maxT = f64();
      const len = u32();
      s.chunks.push({ minT, maxT, data: Uint8Array.prototype.slice.call(buf, p, p + len) });
      p += len;
      if (minT < head.minT) head.minT = minT;
      if (maxT > head.maxT) head.maxT = maxT;
    }
    const no = u32();
    if (no > 0) {
      s.ooo = new OOOBuffer();
      for (let k = 0; k < no; k++) {
        const t = f64();
        const lo = u32();
        const hi = u32();
        s.ooo.insert(t, hi, lo);
        if (t < head.minT) head.minT = t;
      }
    }
  }
  return { segment, offset };
}
