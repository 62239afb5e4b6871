/**
 * Files of local blocks (chunk segments and indexes) held in memory whole, under one byte budget
 * shared by all blocks of the process, least recently used evicted first. A ranged read is then
 * a view into the file's bytes (no allocation, no copy, no system call per read): what a memory
 * map gives, without native code. Files too large for a quarter of the budget are read range by
 * range.
 *
 * Files are kept in SharedArrayBuffer-backed Buffers, so query worker threads reading a local
 * block themselves read the same memory (held(): attached to each select listing the block); a
 * file a worker loaded from disk comes back and is kept here (adopt()). Evicting a file only drops
 * this cache's reference: a worker still reading it keeps the memory alive until it is done.
 */
import path from 'node:path';
import type { BlockReads, SharedBlockFiles } from '@strata/model';
import { FileByteSource, readFileShared, type ByteSource } from './bytesource.js';

export type BlockFileKind = 'chunks' | 'index';

export interface BlockReadStats {
  /** Bytes read from local block files (each cached file counted once per load). */
  diskBytes: number;
  /** Bytes of reads answered from memory. */
  cachedBytes: number;
}

export class SegmentCache {
  private readonly files = new Map<string, Buffer>();
  private readonly loading = new Map<string, Promise<Buffer | undefined>>();
  bytes = 0;
  readonly stats: Record<BlockFileKind, BlockReadStats> = {
    chunks: { diskBytes: 0, cachedBytes: 0 },
    index: { diskBytes: 0, cachedBytes: 0 },
  };

  constructor(readonly maxBytes: number) {}

  /** The largest file kept whole. */
  get wholeUpTo(): number {
    return Math.floor(this.maxBytes / 4);
  }

  /**
   * The files of the block in `dir` this cache holds, by name inside the directory, for a query
   * worker reading the block (each counts as used now). Undefined without a budget.
   */
  held(dir: string): SharedBlockFiles | undefined {
    if (this.maxBytes <= 0) return undefined;
    const prefix = dir + path.sep;
    const held: Record<string, Uint8Array> = {};
    for (const [name, buf] of this.files) if (name.startsWith(prefix)) held[name.slice(prefix.length)] = buf;
    for (const rel in held) this.touch(prefix + rel);
    return { held, wholeUpTo: this.wholeUpTo };
  }

  /** What a query worker read of the block in `dir`: its bytes counted here, the files it loaded kept. */
  adopt(dir: string, reads: BlockReads): void {
    for (const kind of ['chunks', 'index'] as const) {
      const b = reads.bytes[kind];
      if (!b) continue;
      this.stats[kind].diskBytes += b.disk;
      this.stats[kind].cachedBytes += b.memory;
    }
    for (const [rel, bytes] of Object.entries(reads.loaded)) {
      const name = path.join(dir, rel);
      if (this.files.has(name) || bytes.length > this.wholeUpTo) continue;
      this.insert(name, Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length));
    }
  }

  /** Marks a file most recently used. */
  private touch(name: string): void {
    const have = this.files.get(name);
    if (!have) return;
    this.files.delete(name);
    this.files.set(name, have);
  }

  /** The whole file, loaded once; undefined when it is too large to keep. */
  file(name: string, kind: BlockFileKind, size: () => Promise<number>): Promise<Buffer | undefined> {
    const have = this.files.get(name);
    if (have) {
      this.touch(name);
      return Promise.resolve(have);
    }
    let p = this.loading.get(name);
    if (!p) {
      p = (async () => {
        if ((await size()) > this.wholeUpTo) return undefined;
        const buf = await readFileShared(name);
        this.stats[kind].diskBytes += buf.length;
        this.insert(name, buf);
        return buf;
      })().finally(() => this.loading.delete(name));
      this.loading.set(name, p);
    }
    return p;
  }

  private insert(name: string, buf: Buffer): void {
    // A load racing with a worker's copy of the same file: the last one replaces the first.
    this.drop(name);
    this.files.set(name, buf);
    this.bytes += buf.length;
    for (const [k, v] of this.files) {
      if (this.bytes <= this.maxBytes) break;
      this.files.delete(k);
      this.bytes -= v.length;
    }
  }

  /** Forgets a file (its block was deleted). */
  drop(name: string): void {
    const b = this.files.get(name);
    if (b) {
      this.files.delete(name);
      this.bytes -= b.length;
    }
  }

  /** A byte source over `name` that reads through this cache. */
  source(name: string, kind: BlockFileKind): ByteSource {
    const stats = this.stats[kind];
    const file = new FileByteSource(name);
    let size: Promise<number> | undefined;
    const sizeOnce = () => (size ??= file.size());
    return {
      size: sizeOnce,
      read: async (offset, length) => {
        const whole = this.maxBytes > 0 ? await this.file(name, kind, sizeOnce) : undefined;
        if (!whole) {
          const before = file.bytesRead;
          const b = await file.read(offset, length);
          stats.diskBytes += file.bytesRead - before;
          return b;
        }
        const end = Math.min(whole.length, offset + length);
        stats.cachedBytes += Math.max(0, end - offset);
        return whole.subarray(offset, end);
      },
      close: async () => {
        this.drop(name);
        await file.close();
      },
    };
  }
}
