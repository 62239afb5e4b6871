/**
 * Ships a tenant's local blocks to object storage. Upload order is chunks, index, then
 * meta.json last, so a reader that sees meta.json sees a complete block. Progress is kept in
 * thanos.shipper.json (Thanos' format), so a restart neither re-uploads nor forgets a block;
 * a block whose meta.json is already in the bucket counts as shipped. Failures are retried on
 * every sync, while ingestion goes on and blocks wait on disk.
 */
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import type { Readable } from 'node:stream';
import type { Logger } from 'pino';
import { CHUNKS_DIR, INDEX_FILE, META_FILE, parseMeta, TOMBSTONES_FILE } from './block/meta.js';
import { INDEX_HEADER_FILE } from './block/index-header.js';

/** The part of a bucket the shipper needs (structurally the objstore Bucket). */
export interface UploadBucket {
  upload(name: string, body: Buffer | Readable): Promise<void>;
  exists(name: string): Promise<boolean>;
}

export const SHIPPER_STATE_FILE = 'thanos.shipper.json';

export interface ShipperOptions {
  bucket: UploadBucket;
  /** Object name prefix of this tenant's blocks ("<tenant>/"). */
  prefix: string;
  blocksDir: string;
  /** Local copies are deleted once shipped and older than this (by their maxTime). */
  localRetentionMs: number;
  /** Removes a local block (the TSDB also stops querying it). */
  dropLocal: (ulid: string) => Promise<void>;
  logger?: Logger;
  now?: () => number;
  onUploaded?: (ulid: string) => void;
  onFailure?: (ulid: string, err: Error) => void;
}

export class Shipper {
  private uploaded = new Set<string>();
  private loaded = false;
  private running: Promise<number> | null = null;
  private again: Promise<number> | null = null;
  /** Blocks on disk not yet in the bucket, as of the last sync. */
  backlog = 0;

  constructor(private readonly opts: ShipperOptions) {}

  private get stateFile(): string {
    return path.join(this.opts.blocksDir, SHIPPER_STATE_FILE);
  }

  private async loadState(): Promise<void> {
    if (this.loaded) return;
    try {
      const doc = JSON.parse(await fsp.readFile(this.stateFile, 'utf8')) as { version: number; uploaded?: string[] };
      for (const u of doc.uploaded ?? []) this.uploaded.add(u);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT')
        this.opts.logger?.warn({ err: (e as Error).message }, 'shipper state unreadable; checking the bucket instead');
    }
    this.loaded = true;
  }

  private async saveState(): Promise<void> {
    const tmp = `${this.stateFile}.tmp`;
    await fsp.writeFile(tmp, JSON.stringify({ version: 1, uploaded: [...this.uploaded].sort() }, null, '\t'));
    await fsp.rename(tmp, this.stateFile);
  }

  /**
   * Uploads every local block not shipped yet, oldest first. Returns how many were uploaded.
   * Asked while a sync runs, it runs once more after that one (which listed the blocks before
   * the caller's newest block existed); callers arriving meanwhile share that second run.
   */
  sync(): Promise<number> {
    if (this.running) {
      this.again ??= this.running
        .then(
          () => undefined,
          () => undefined,
        )
        .then(() => {
          this.again = null;
          return this.sync();
        });
      return this.again;
    }
    this.running = this.doSync().finally(() => (this.running = null));
    return this.running;
  }

  private async doSync(): Promise<number> {
    await this.loadState();
    let names: string[];
    try {
      names = (await fsp.readdir(this.opts.blocksDir)).filter((n) => /^[0-9A-Z]{26}$/.test(n)).sort();
    } catch {
      return 0;
    }
    let shipped = 0;
    const pending = names.filter((n) => !this.uploaded.has(n) && fs.existsSync(path.join(this.opts.blocksDir, n, META_FILE)));
    this.backlog = pending.length;
    for (const ulid of pending) {
      try {
        await this.uploadBlock(ulid);
        this.uploaded.add(ulid);
        await this.saveState();
        shipped++;
        this.backlog--;
        this.opts.onUploaded?.(ulid);
        this.opts.logger?.info({ block: ulid }, 'block uploaded');
      } catch (e) {
        this.opts.onFailure?.(ulid, e as Error);
        this.opts.logger?.warn({ block: ulid, err: (e as Error).message }, 'block upload failed; it stays on disk and is retried');
        break; // keep upload order: later blocks wait for this one
      }
    }
    await this.applyRetention();
    return shipped;
  }

  private async uploadBlock(ulid: string): Promise<void> {
    const dir = path.join(this.opts.blocksDir, ulid);
    const dst = `${this.opts.prefix}${ulid}/`;
    // A block whose meta.json cannot be read must not reach the bucket, where every reader would trip on it.
    const meta = await fsp.readFile(path.join(dir, META_FILE));
    parseMeta(meta.toString('utf8'), `block ${ulid}`);
    // Already complete in the bucket (uploaded before a crash lost our state): nothing to redo.
    if (await this.opts.bucket.exists(dst + META_FILE)) return;
    for (const seg of (await fsp.readdir(path.join(dir, CHUNKS_DIR))).sort()) {
      await this.opts.bucket.upload(`${dst}${CHUNKS_DIR}/${seg}`, fs.createReadStream(path.join(dir, CHUNKS_DIR, seg)));
    }
    await this.opts.bucket.upload(dst + INDEX_FILE, fs.createReadStream(path.join(dir, INDEX_FILE)));
    if (fs.existsSync(path.join(dir, TOMBSTONES_FILE)))
      await this.opts.bucket.upload(dst + TOMBSTONES_FILE, await fsp.readFile(path.join(dir, TOMBSTONES_FILE)));
    if (fs.existsSync(path.join(dir, INDEX_HEADER_FILE)))
      await this.opts.bucket.upload(dst + INDEX_HEADER_FILE, await fsp.readFile(path.join(dir, INDEX_HEADER_FILE)));
    await this.opts.bucket.upload(dst + META_FILE, meta);
  }

  private async applyRetention(): Promise<void> {
    const now = (this.opts.now ?? Date.now)();
    for (const ulid of [...this.uploaded]) {
      const metaFile = path.join(this.opts.blocksDir, ulid, META_FILE);
      if (!fs.existsSync(metaFile)) continue;
      let maxTime: number;
      try {
        maxTime = parseMeta(await fsp.readFile(metaFile, 'utf8'), `block ${ulid}`).maxTime;
      } catch (e) {
        // One damaged local copy (already shipped) must not stop retention of every other block.
        this.opts.logger?.warn(
          { block: ulid, err: (e as Error).message },
          'local block meta.json unreadable; kept on disk, retention skips it',
        );
        continue;
      }
      if (now - maxTime >= this.opts.localRetentionMs) await this.opts.dropLocal(ulid);
    }
  }
}
