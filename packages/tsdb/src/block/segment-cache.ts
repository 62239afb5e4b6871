/**
 * Files of local blocks (chunk segments and indexes) held in memory whole, under one byte budget
 * shared by all blocks of the process, least recently used evicted first. A ranged read is then
 * a view into the file's bytes (no allocation, no copy, no system call per read): what a memory
 * map gives, without native code. Files too large for a quarter of the budget are read range by
 * range.
 */
import fsp from 'node:fs/promises';
import { FileByteSource, type ByteSource } from './bytesource.js';

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

  /** The whole file, loaded once; undefined when it is too large to keep. */
  file(name: string, kind: BlockFileKind, size: () => Promise<number>): Promise<Buffer | undefined> {
    const have = this.files.get(name);
    if (have) {
      this.files.delete(name);
      this.files.set(name, have); // most recently used last
      return Promise.resolve(have);
    }
    let p = this.loading.get(name);
    if (!p) {
      p = (async () => {
        if ((await size()) > this.maxBytes / 4) return undefined;
        const buf = await fsp.readFile(name);
        this.stats[kind].diskBytes += buf.length;
        this.insert(name, buf);
        return buf;
      })().finally(() => this.loading.delete(name));
      this.loading.set(name, p);
    }
    return p;
  }

  private insert(name: string, buf: Buffer): void {
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
