/**
 * A segmented write-ahead log with group commit. Records queued while a write+fsync is in
 * flight are written together by the next one, so concurrent requests share fsyncs; a caller's
 * promise resolves only once an fsync covering its record has completed (fsync 'batch').
 * Replay streams records segment by segment; a torn or corrupt tail is cut off, not fatal.
 * Segments and replay: docs/format/wal.md.
 */
import fsp from 'node:fs/promises';
import path from 'node:path';
import { crc32c } from '@node-rs/crc32';
import type { Logger } from 'pino';
import { FRAME_HEADER } from './records.js';

export const DEFAULT_SEGMENT_BYTES = 128 * 1024 * 1024;
const READ_CHUNK = 1 << 20;
/** No single record is this large; a bigger length field means corruption, not a big record. */
const MAX_RECORD_BYTES = 512 * 1024 * 1024;

export type FsyncMode = 'batch' | 'none';

export interface WalPosition {
  segment: number;
  offset: number;
}

export interface ReplayStats {
  records: number;
  /** Bytes cut off a torn or corrupt tail. */
  droppedBytes: number;
  segments: number;
}

export interface WalOptions {
  fsync: FsyncMode;
  segmentBytes?: number;
  logger?: Logger;
  /** Observes every fsync's duration in seconds (for a latency histogram). */
  onFsync?: (seconds: number) => void;
}

interface Waiter {
  resolve: () => void;
  reject: (e: Error) => void;
}

export function segmentName(n: number): string {
  return String(n).padStart(8, '0');
}

export async function listSegments(dir: string): Promise<number[]> {
  let names: string[];
  try {
    names = await fsp.readdir(dir);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw e;
  }
  return names
    .filter((n) => /^\d{8}$/.test(n))
    .map(Number)
    .sort((a, b) => a - b);
}

export class WAL {
  private fh: fsp.FileHandle | null = null;
  private segment = 0;
  private offset = 0;
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private waiters: Waiter[] = [];
  /** Rotations asked for; the flush loop performs them between batches, never during a write. */
  private rotations: { resolve: (p: WalPosition) => void; reject: (e: Error) => void }[] = [];
  private flushing: Promise<void> | null = null;
  private failure: Error | null = null;
  private readonly segmentBytes: number;
  /** Counters for metrics. */
  fsyncs = 0;
  fsyncSeconds = 0;
  bytesWritten = 0;

  private constructor(
    readonly dir: string,
    private readonly opts: WalOptions,
  ) {
    this.segmentBytes = opts.segmentBytes ?? DEFAULT_SEGMENT_BYTES;
  }

  /**
   * Opens the WAL directory, replaying existing records through `onRecord` from `from` on, then
   * starts a fresh segment for new writes.
   */
  static async open(
    dir: string,
    opts: WalOptions,
    onRecord: (type: number, payload: Buffer) => void,
    from?: WalPosition,
  ): Promise<{ wal: WAL; stats: ReplayStats }> {
    await fsp.mkdir(dir, { recursive: true });
    const wal = new WAL(dir, opts);
    const stats = await wal.replay(onRecord, from);
    const segs = await listSegments(dir);
    await wal.openSegment(segs.length > 0 ? segs[segs.length - 1] + 1 : 0);
    return { wal, stats };
  }

  position(): WalPosition {
    return { segment: this.segment, offset: this.offset + this.pendingBytes };
  }

  private async openSegment(n: number): Promise<void> {
    const fh = await fsp.open(path.join(this.dir, segmentName(n)), 'a');
    // The directory entry of a new segment must be durable too.
    await syncDir(this.dir);
    this.fh = fh;
    this.segment = n;
    this.offset = (await fh.stat()).size;
  }

  /** Queues a record without waiting; it is written with the next flush, in order. */
  enqueue(record: Buffer): void {
    this.pending.push(record);
    this.pendingBytes += record.length;
  }

  /** Queues a record and resolves when it is durable (or written, with fsync 'none'). */
  log(record: Buffer): Promise<void> {
    this.enqueue(record);
    return this.sync();
  }

  /** Resolves when everything queued so far is durable. */
  sync(): Promise<void> {
    if (this.failure) return Promise.reject(this.failure);
    return new Promise<void>((resolve, reject) => {
      this.waiters.push({ resolve, reject });
      if (!this.flushing) this.flushing = this.flushLoop();
    });
  }

  /**
   * The only place that touches the segment file while the WAL is open: batches are written
   * one after another, and rotations happen between them, so no write can meet a closing file.
   */
  private async flushLoop(): Promise<void> {
    try {
      // Commits begun in the same turn (the parts of one forwarded batch, each after its own
      // await) reach sync() a microtask apart: one yield lets them all into the first write and
      // fsync, instead of the first alone and the rest into a second.
      await Promise.resolve();
      while (this.waiters.length > 0 || this.pending.length > 0 || this.rotations.length > 0) {
        if (this.waiters.length > 0 || this.pending.length > 0) {
          const bufs = this.pending;
          const bytes = this.pendingBytes;
          const waiters = this.waiters;
          this.pending = [];
          this.pendingBytes = 0;
          this.waiters = [];
          try {
            if (this.failure) throw this.failure;
            await this.writeBatch(bufs, bytes);
            for (const w of waiters) w.resolve();
          } catch (e) {
            for (const w of waiters) w.reject(e as Error);
          }
        }
        // Everything queued before a rotation was asked for is in the old segment by now.
        if (this.rotations.length > 0) {
          const rotations = this.rotations;
          this.rotations = [];
          try {
            if (this.failure) throw this.failure;
            await this.nextSegment();
            for (const r of rotations) r.resolve({ segment: this.segment, offset: this.offset });
          } catch (e) {
            for (const r of rotations) r.reject(e as Error);
          }
        }
      }
    } finally {
      this.flushing = null;
    }
  }

  /** Closes the current segment durably and opens the next; without a segment nothing can be written. */
  private async nextSegment(): Promise<void> {
    await this.fh!.sync();
    await this.fh!.close();
    try {
      await this.openSegment(this.segment + 1);
    } catch (e) {
      this.failure = new Error(`WAL could not open segment ${segmentName(this.segment + 1)}: ${(e as Error).message}`);
      throw this.failure;
    }
  }

  private async writeBatch(bufs: Buffer[], bytes: number): Promise<void> {
    if (bufs.length > 0) {
      if (this.offset > 0 && this.offset + bytes > this.segmentBytes) await this.nextSegment();
      const start = this.offset;
      try {
        let written = 0;
        while (written < bytes) {
          const { bytesWritten } = await this.fh!.writev(written === 0 ? bufs : sliceBufs(bufs, written));
          written += bytesWritten;
        }
      } catch (e) {
        // A partial write would leave garbage that hides every later record on replay: cut it
        // off, and if even that fails refuse all further writes rather than acknowledge them.
        try {
          await this.fh!.truncate(start);
        } catch {
          this.failure = new Error(
            `WAL segment ${segmentName(this.segment)} is in an unknown state after a failed write: ${(e as Error).message}`,
          );
        }
        throw e;
      }
      this.offset += bytes;
      this.bytesWritten += bytes;
    }
    if (this.opts.fsync === 'batch') {
      const t0 = process.hrtime.bigint();
      await this.fh!.datasync();
      const secs = Number(process.hrtime.bigint() - t0) / 1e9;
      this.fsyncSeconds += secs;
      this.fsyncs++;
      this.opts.onFsync?.(secs);
    }
  }

  private async replay(onRecord: (type: number, payload: Buffer) => void, from?: WalPosition): Promise<ReplayStats> {
    const segs = await listSegments(this.dir);
    const stats: ReplayStats = { records: 0, droppedBytes: 0, segments: 0 };
    for (let i = 0; i < segs.length; i++) {
      const seg = segs[i];
      if (from && seg < from.segment) continue;
      const file = path.join(this.dir, segmentName(seg));
      const startAt = from && seg === from.segment ? from.offset : 0;
      const { goodEnd, size, records } = await replaySegment(file, startAt, onRecord);
      stats.records += records;
      stats.segments++;
      if (goodEnd < size) {
        stats.droppedBytes += size - goodEnd;
        await fsp.truncate(file, goodEnd);
        const later = segs.slice(i + 1);
        for (const s of later) {
          const p = path.join(this.dir, segmentName(s));
          stats.droppedBytes += (await fsp.stat(p)).size;
          await fsp.rm(p);
        }
        this.opts.logger?.warn(
          { segment: segmentName(seg), offset: goodEnd, droppedBytes: stats.droppedBytes, removedSegments: later.length },
          'WAL: torn or corrupt record; truncated the log there (records after it were never acknowledged if this is the tail of a crash)',
        );
        break;
      }
    }
    return stats;
  }

  /** Deletes segments numbered below `segment` (their data is covered by a snapshot or block). */
  async removeSegmentsBefore(segment: number): Promise<void> {
    for (const s of await listSegments(this.dir)) if (s < segment) await fsp.rm(path.join(this.dir, segmentName(s)));
  }

  /**
   * Starts a new segment so everything before it can later be removed as a whole; records
   * queued before the call are in the old segment, durable, when it resolves.
   */
  rotate(): Promise<WalPosition> {
    if (this.failure) return Promise.reject(this.failure);
    return new Promise<WalPosition>((resolve, reject) => {
      this.rotations.push({ resolve, reject });
      if (!this.flushing) this.flushing = this.flushLoop();
    });
  }

  /** Makes everything queued durable, then refuses further writes and closes the segment. */
  async close(): Promise<void> {
    if (!this.fh) return;
    try {
      await this.sync();
    } finally {
      this.failure ??= new Error('WAL is closed');
      while (this.flushing) await this.flushing;
      await this.fh.sync().catch(() => undefined);
      await this.fh.close();
      this.fh = null;
    }
  }
}

function sliceBufs(bufs: Buffer[], skip: number): Buffer[] {
  const out: Buffer[] = [];
  for (const b of bufs) {
    if (skip >= b.length) {
      skip -= b.length;
      continue;
    }
    out.push(skip > 0 ? b.subarray(skip) : b);
    skip = 0;
  }
  return out;
}

export async function syncDir(dir: string): Promise<void> {
  const fd = await fsp.open(dir, 'r');
  try {
    await fd.sync();
  } finally {
    await fd.close();
  }
}

/** Streams one segment's records; returns the offset after the last intact record. */
async function replaySegment(
  file: string,
  startAt: number,
  onRecord: (type: number, payload: Buffer) => void,
): Promise<{ goodEnd: number; size: number; records: number }> {
  const fh = await fsp.open(file, 'r');
  try {
    const size = (await fh.stat()).size;
    let buf = Buffer.alloc(READ_CHUNK);
    let bufStart = startAt; // file offset of buf[0]
    let bufLen = 0;
    let pos = startAt; // file offset of the next record
    let records = 0;
    const fill = async (need: number): Promise<boolean> => {
      // Ensure buf holds [pos, pos + need) of the file.
      if (pos + need > size) return false;
      const rel = pos - bufStart;
      if (rel + need <= bufLen) return true;
      const keep = bufLen - rel;
      const next = Buffer.alloc(Math.max(buf.length, need));
      buf.copy(next, 0, rel, bufLen);
      buf = next;
      bufStart = pos;
      bufLen = keep;
      while (bufLen < need) {
        const { bytesRead } = await fh.read(buf, bufLen, buf.length - bufLen, bufStart + bufLen);
        if (bytesRead === 0) return false;
        bufLen += bytesRead;
      }
      return true;
    };
    for (;;) {
      if (pos >= size) break;
      if (!(await fill(FRAME_HEADER))) break;
      const rel = pos - bufStart;
      const len = buf.readUInt32LE(rel);
      const crc = buf.readUInt32LE(rel + 4);
      if (len === 0 || len > MAX_RECORD_BYTES) break;
      if (!(await fill(FRAME_HEADER + len))) break;
      const r2 = pos - bufStart;
      const body = buf.subarray(r2 + FRAME_HEADER, r2 + FRAME_HEADER + len);
      if (crc32c(body) !== crc) break;
      // The callback must not keep `body`: the buffer is reused.
      onRecord(body[0], body.subarray(1));
      records++;
      pos += FRAME_HEADER + len;
    }
    return { goodEnd: pos, size, records };
  } finally {
    await fh.close();
  }
}
