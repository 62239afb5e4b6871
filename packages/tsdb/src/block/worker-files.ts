/**
 * A local block's files as a query worker thread reads them (docs/query-workers.md): from the main
 * thread's block cache where the select listing the block attached them (shared memory: no copy,
 * no system call), else from disk with synchronous reads. A file the cache would keep whole is
 * read whole, into shared memory, and handed back with the select's reads (takeReads) for the main
 * thread to keep, so the next query on any worker reads it from memory; a larger one is read range
 * by range. The worker holds attached and loaded files only while a select reads the block
 * (release()): what stays in memory between queries is the main thread's cache's choice alone.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { BlockReads, SharedBlockFiles } from '@strata/model';
import { readFileSharedSync, SyncFileByteSource, type ByteSource } from './bytesource.js';
import { blockDirSources, type BlockSources } from './reader.js';
import type { BlockFileKind } from './segment-cache.js';

const noBytes = (): BlockReads['bytes'] => ({ chunks: { disk: 0, memory: 0 }, index: { disk: 0, memory: 0 } });

export class WorkerBlockFiles {
  /** Whole files by path: attached by the select, or loaded here. */
  private readonly held = new Map<string, Buffer>();
  private readonly sizes = new Map<string, number>();
  private wholeUpTo = 0;
  private loaded: Record<string, Uint8Array> = {};
  private bytes = noBytes();
  private read = false;
  /** The block's files for BlockReader.open, read as above. */
  readonly sources: BlockSources;

  constructor(readonly dir: string) {
    this.sources = blockDirSources(dir, (name, kind) => this.source(name, kind));
  }

  /** The files a select attached (and the size up to which a missing file is read whole). */
  attach(files: SharedBlockFiles | undefined): void {
    this.wholeUpTo = files?.wholeUpTo ?? 0;
    if (!files) return;
    for (const [rel, b] of Object.entries(files.held))
      this.held.set(path.join(this.dir, rel), Buffer.from(b.buffer, b.byteOffset, b.length));
  }

  /** No select reads the block any more: its whole files are left to the main thread's cache. */
  release(): void {
    this.held.clear();
  }

  /** What was read since the last call (undefined if nothing): files loaded whole, bytes from disk and memory. */
  takeReads(): BlockReads | undefined {
    if (!this.read) return undefined;
    const reads: BlockReads = { loaded: this.loaded, bytes: this.bytes };
    this.loaded = {};
    this.bytes = noBytes();
    this.read = false;
    return reads;
  }

  private size(name: string): number {
    let n = this.sizes.get(name);
    if (n === undefined) this.sizes.set(name, (n = fs.statSync(name).size));
    return n;
  }

  /** The whole file: held, or read now if the cache would keep it; undefined for one read range by range. */
  private whole(name: string, kind: BlockFileKind): Buffer | undefined {
    const have = this.held.get(name);
    if (have) return have;
    if (this.wholeUpTo <= 0 || this.size(name) > this.wholeUpTo) return undefined;
    const buf = readFileSharedSync(name);
    this.held.set(name, buf);
    this.loaded[path.relative(this.dir, name)] = buf;
    this.bytes[kind].disk += buf.length;
    return buf;
  }

  private source(name: string, kind: BlockFileKind): ByteSource {
    let ranged: SyncFileByteSource | undefined;
    return {
      size: async () => this.held.get(name)?.length ?? this.size(name),
      read: async (offset, length) => {
        this.read = true;
        const whole = this.whole(name, kind);
        if (whole) {
          const end = Math.min(whole.length, offset + length);
          this.bytes[kind].memory += Math.max(0, end - offset);
          return whole.subarray(offset, end);
        }
        ranged ??= new SyncFileByteSource(name);
        const before = ranged.bytesRead;
        const b = await ranged.read(offset, length);
        this.bytes[kind].disk += ranged.bytesRead - before;
        return b;
      },
      close: async () => {
        this.held.delete(name);
        await ranged?.close();
        ranged = undefined;
      },
    };
  }
}
