/**
 * The bucket's log blocks, as the store gateway serves them: each block's meta.json and index are
 * loaded once when a sync finds the block (streams indexed by the same postings index as the head),
 * and a query fetches, per matching stream, only the byte range of its chunks that overlap the
 * window and are not in the cache: one ranged read per stream and block.
 *
 * Each sync lists every object under `<tenant>/logs/` and serves only blocks whose folder holds
 * meta.json and no deletion mark older than the deletion delay, as the store gateway does for
 * metric blocks: a loaded block whose meta.json is gone (retention, or a deletion the compactor
 * began after the delay and did not finish) or whose mark passed the delay (its compacted
 * replacement has been visible that long) is dropped on that sync, and its cached chunks with it.
 * A query that took the blocks before the sync keeps reading them (they hold no handle to close;
 * memory goes when the last such query ends), and reads a chunk that vanished meanwhile as nothing.
 */
import type { Logger } from 'pino';
import { Labels, tenantIdProblem, type Matcher } from '@strata/model';
import { PostingsIndex } from '@strata/tsdb';
import type { LogQuerier, LogQueryable, LogSelectHints, LogStreamEntries } from '../types.js';
import type { DecodedEntries, EncodedBlock } from '../chunk/block-codec.js';
import { finish, readBlock } from '../head/log-head.js';
import type { BlockSampledOut, SampledOutCount } from '../ingest/sampled-out.js';
import {
  LOG_CHUNKS_FILE,
  LOG_INDEX_FILE,
  LOG_META_FILE,
  logBlocksPrefix,
  parseLogIndexWithSampledOut,
  parseLogMeta,
  type LogBlockMeta,
  type LogBlockStream,
  type LogChunkRef,
} from './log-block.js';

/** The part of a bucket reads need (structurally the objstore Bucket). */
export interface LogReadBucket {
  get(name: string): Promise<Buffer>;
  getRange(name: string, offset: number, length: number): Promise<Buffer>;
  iter(prefix: string, opts?: { recursive?: boolean }): AsyncIterable<string>;
  isObjNotFound(err: unknown): boolean;
}

/** The compactor's deletion mark in a block's folder (Thanos' format: `deletion_time` in Unix seconds). */
export const LOG_DELETION_MARK_FILE = 'deletion-mark.json';

export interface BucketLogsOptions {
  bucket: LogReadBucket;
  logger?: Logger;
  /** Bytes read from the bucket, for metrics and tests. */
  onFetched?: (bytes: number) => void;
  /** Compressed chunks by object and offset (the store gateway's chunk cache); told of each lookup. */
  cache?: { get(key: string): Buffer | undefined; set(key: string, value: Buffer): void; delete?(key: string): void };
  onCacheLookup?: (hit: boolean) => void;
  /**
   * A block marked for deletion is dropped this long after its mark (`--store-gateway.deletion-delay`,
   * as for metric blocks); undefined: marks are not read, a block goes when its meta.json does.
   */
  deletionDelayMs?: number;
  /** The clock deletion marks are compared with (ms); Date.now by default. */
  now?: () => number;
  /**
   * Whether this gateway serves the block (the store gateways' sharding of blocks by ULID, as for
   * metric blocks); others are neither loaded nor served. All blocks by default.
   */
  owns?: (ulid: string) => boolean;
}

const ULID_RE = /^[0-9A-Z]{26}$/;

class LoadedLogBlock {
  readonly postings = new PostingsIndex();
  readonly minTs: bigint;
  readonly maxTs: bigint;
  /** Set when a sync drops the block: a query still reading it no longer fills the cache. */
  dropped = false;

  constructor(
    readonly tenant: string,
    readonly meta: LogBlockMeta,
    readonly streams: readonly LogBlockStream[],
    /** What sampling left out (the index's sampledOut); undefined when nothing. */
    readonly sampledOut: BlockSampledOut | undefined,
  ) {
    this.minTs = BigInt(meta.minTimeNs);
    this.maxTs = BigInt(meta.maxTimeNs);
    for (let i = 0; i < streams.length; i++) this.postings.add(i, streams[i].labels.pairs);
  }

  get chunksName(): string {
    return `${logBlocksPrefix(this.tenant)}${this.meta.ulid}/${LOG_CHUNKS_FILE}`;
  }

  overlaps(h: LogSelectHints): boolean {
    return this.maxTs >= h.startNs && this.minTs < h.endNs;
  }

  /** Streams matching the selector with a chunk in the window. */
  selected(matchers: readonly Matcher[], h: LogSelectHints): LogBlockStream[] {
    if (!this.overlaps(h)) return [];
    const refs = matchers.length > 0 ? this.postings.select(matchers) : this.postings.allRefs();
    const out: LogBlockStream[] = [];
    for (let i = 0; i < refs.length; i++) {
      const s = this.streams[refs[i]];
      if (s.chunks.some((c) => c.maxTs >= h.startNs && c.minTs < h.endNs)) out.push(s);
    }
    return out;
  }
}

export class BucketLogs implements LogQueryable {
  private readonly tenants = new Map<string, Map<string, LoadedLogBlock>>();
  /** Deletion times (ms) of the marks read so far, by `<tenant>/<ulid>`; a mark is read once. */
  private readonly markTimes = new Map<string, number>();

  constructor(private readonly opts: BucketLogsOptions) {}

  /** Finds new log blocks of every tenant and drops those deleted, being deleted or marked past the delay. */
  async sync(): Promise<void> {
    const b = this.opts.bucket;
    const now = (this.opts.now ?? Date.now)();
    const seenTenants = new Set<string>();
    const seenMarks = new Set<string>();
    for await (const tenantDir of b.iter('')) {
      if (!tenantDir.endsWith('/')) continue;
      const tenant = tenantDir.slice(0, -1);
      if (tenantIdProblem(tenant)) continue;
      seenTenants.add(tenant);
      const prefix = logBlocksPrefix(tenant);
      const have = this.tenants.get(tenant) ?? new Map<string, LoadedLogBlock>();
      const seen = new Set<string>();
      for (const [id, f] of await this.listBlocks(prefix)) {
        // No meta.json: an upload in progress, or a block whose deletion has begun. Not served.
        if (!f.meta) continue;
        if (this.opts.owns && !this.opts.owns(id)) continue;
        if (f.mark) {
          seenMarks.add(`${tenant}/${id}`);
          if (await this.pastDeletionDelay(tenant, id, now)) continue;
        }
        if (have.has(id)) {
          seen.add(id);
          continue;
        }
        const dir = `${prefix}${id}/`;
        try {
          const meta = parseLogMeta((await b.get(`${dir}${LOG_META_FILE}`)).toString('utf8'), `log block ${tenant}/${id}`);
          const index = parseLogIndexWithSampledOut((await b.get(`${dir}${LOG_INDEX_FILE}`)).toString('utf8'), `log block ${tenant}/${id}`);
          have.set(id, new LoadedLogBlock(tenant, meta, index.streams, index.sampledOut.isEmpty() ? undefined : index.sampledOut));
          seen.add(id);
        } catch (e) {
          // Gone since the listing (a block being deleted): not an error.
          if (!b.isObjNotFound(e)) this.opts.logger?.warn({ tenant, block: id, err: (e as Error).message }, 'log block skipped');
        }
      }
      for (const [id, blk] of [...have]) {
        if (seen.has(id)) continue;
        have.delete(id);
        this.release(blk);
      }
      if (have.size > 0) this.tenants.set(tenant, have);
      else this.tenants.delete(tenant);
    }
    for (const [t, blocks] of [...this.tenants]) {
      if (seenTenants.has(t)) continue;
      this.tenants.delete(t);
      for (const blk of blocks.values()) this.release(blk);
    }
    for (const k of [...this.markTimes.keys()]) if (!seenMarks.has(k)) this.markTimes.delete(k);
  }

  /** The tenant's block folders, from one listing of every object under `<tenant>/logs/`: which hold meta.json, which a deletion mark. */
  private async listBlocks(prefix: string): Promise<Map<string, { meta: boolean; mark: boolean }>> {
    const out = new Map<string, { meta: boolean; mark: boolean }>();
    for await (const name of this.opts.bucket.iter(prefix, { recursive: true })) {
      const rest = name.slice(prefix.length);
      const slash = rest.indexOf('/');
      if (slash < 0) continue;
      const id = rest.slice(0, slash);
      if (!ULID_RE.test(id)) continue;
      let f = out.get(id);
      if (!f) out.set(id, (f = { meta: false, mark: false }));
      const file = rest.slice(slash + 1);
      if (file === LOG_META_FILE) f.meta = true;
      else if (file === LOG_DELETION_MARK_FILE) f.mark = true;
    }
    return out;
  }

  /** Whether the block's deletion mark is older than the deletion delay (false when marks are not read, or this one cannot be). */
  private async pastDeletionDelay(tenant: string, id: string, now: number): Promise<boolean> {
    const delay = this.opts.deletionDelayMs;
    if (delay === undefined) return false;
    const key = `${tenant}/${id}`;
    let at = this.markTimes.get(key);
    if (at === undefined) {
      const b = this.opts.bucket;
      let text: string;
      try {
        text = (await b.get(`${logBlocksPrefix(tenant)}${id}/${LOG_DELETION_MARK_FILE}`)).toString('utf8');
      } catch (e) {
        // Gone since the listing: the whole block is being deleted, and its meta.json goes first.
        if (!b.isObjNotFound(e))
          this.opts.logger?.warn({ tenant, block: id, err: (e as Error).message }, 'log block deletion mark unreadable');
        return false;
      }
      const seconds = markSeconds(text);
      if (seconds === undefined) {
        // A torn or foreign mark: the block stays until its meta.json is deleted; read again next sync.
        this.opts.logger?.warn({ tenant, block: id }, 'log block deletion mark without a deletion_time; ignored');
        return false;
      }
      this.markTimes.set(key, (at = seconds * 1000));
    }
    return now - at >= delay;
  }

  /** A dropped block's cached chunks go; its index goes with the last query still holding it. */
  private release(blk: LoadedLogBlock): void {
    blk.dropped = true;
    const cache = this.opts.cache;
    if (!cache?.delete) return;
    const name = blk.chunksName;
    for (const s of blk.streams) for (const c of s.chunks) cache.delete(`${name}:${c.offset}`);
  }

  /** Per tenant, the blocks' combined time range (ms) and count. */
  info(): Record<string, { minTime: number; maxTime: number; blocks: number }> {
    const out: Record<string, { minTime: number; maxTime: number; blocks: number }> = {};
    for (const [t, blocks] of this.tenants) {
      let minTime = Infinity;
      let maxTime = -Infinity;
      for (const b of blocks.values()) {
        minTime = Math.min(minTime, b.meta.minTime);
        maxTime = Math.max(maxTime, b.meta.maxTime);
      }
      out[t] = { minTime, maxTime, blocks: blocks.size };
    }
    return out;
  }

  /** The ULIDs of a tenant's loaded log blocks, oldest first. */
  blockIds(tenant: string): string[] {
    return [...(this.tenants.get(tenant)?.keys() ?? [])].sort();
  }

  logQuerier(tenant: string): LogQuerier {
    return new BlocksLogQuerier([...(this.tenants.get(tenant)?.values() ?? [])], this.opts);
  }
}

class BlocksLogQuerier implements LogQuerier {
  constructor(
    private readonly blocks: readonly LoadedLogBlock[],
    private readonly opts: BucketLogsOptions,
  ) {}

  async selectLogs(matchers: readonly Matcher[], hints: LogSelectHints): Promise<LogStreamEntries[]> {
    const needles = (hints.requiredSubstrings ?? []).filter((n) => n.length > 0).map((n) => Buffer.from(n));
    // A stream may sit in several blocks (one per cut, or twice after a crash between upload and WAL truncation).
    const byKey = new Map<string, { labels: Labels; got: DecodedEntries }>();
    for (const blk of this.blocks) {
      for (const s of blk.selected(matchers, hints)) {
        hints.signal?.throwIfAborted();
        const want = s.chunks.filter((c) => c.maxTs >= hints.startNs && c.minTs < hints.endNs);
        const data = await this.chunkBytes(blk, want);
        if (!data) continue; // deleted by retention since the last sync
        const key = s.labels.key();
        let acc = byKey.get(key);
        if (!acc) byKey.set(key, (acc = { labels: s.labels, got: { ts: [], lines: [], metadata: undefined } }));
        for (let i = 0; i < want.length; i++) {
          const block: EncodedBlock = { ...want[i], data: data[i] };
          await readBlock(block, needles, hints, acc.got);
        }
      }
    }
    const out: LogStreamEntries[] = [];
    for (const { labels, got } of byKey.values()) {
      const e = finish(labels, got, hints);
      if (e) out.push(e);
    }
    return out;
  }

  /**
   * The compressed bytes of the chunks (one stream's, adjacent in the file): cached ones from the
   * cache, the others with one ranged read covering them. Undefined when the object is gone.
   */
  private async chunkBytes(blk: LoadedLogBlock, want: readonly LogChunkRef[]): Promise<Buffer[] | undefined> {
    const { bucket, cache, onCacheLookup, onFetched } = this.opts;
    const name = blk.chunksName;
    const out: (Buffer | undefined)[] = want.map((c) => {
      const hit = cache?.get(`${name}:${c.offset}`);
      if (cache) onCacheLookup?.(hit !== undefined);
      return hit;
    });
    const missing = want.filter((_, i) => out[i] === undefined);
    if (missing.length > 0) {
      const from = missing[0].offset;
      const to = missing[missing.length - 1].offset + missing[missing.length - 1].length;
      let bytes: Buffer;
      try {
        bytes = await bucket.getRange(name, from, to - from);
      } catch (e) {
        if (bucket.isObjNotFound(e)) return undefined;
        throw e;
      }
      onFetched?.(bytes.length);
      want.forEach((c, i) => {
        if (out[i] !== undefined) return;
        const view = bytes.subarray(c.offset - from, c.offset - from + c.length);
        // Cached as a copy: a cached subarray would keep the whole ranged read alive.
        const b = cache ? Buffer.from(view) : view;
        if (!blk.dropped) cache?.set(`${name}:${c.offset}`, b);
        out[i] = b;
      });
    }
    return out as Buffer[];
  }

  /**
   * The blocks' sampled-out counts of the matching streams in the window, by block ULID (with a
   * compacted block's sources), so the merge of several readers of one block counts it once.
   */
  async sampledOut(matchers: readonly Matcher[], hints: LogSelectHints): Promise<SampledOutCount> {
    const out: SampledOutCount = { entries: 0, bytes: 0 };
    for (const blk of this.blocks) {
      if (!blk.sampledOut) continue;
      const c = blk.sampledOut.count(matchers, hints.startNs, hints.endNs);
      if (c.entries === 0) continue;
      const sources = blk.meta.compaction?.sources;
      (out.blocks ??= {})[blk.meta.ulid] = { ...c, ...(sources?.length ? { sources: [...sources] } : {}) };
    }
    return out;
  }

  async series(matchers: readonly Matcher[], hints: LogSelectHints): Promise<Labels[]> {
    const byKey = new Map<string, Labels>();
    for (const blk of this.blocks) for (const s of blk.selected(matchers, hints)) byKey.set(s.labels.key(), s.labels);
    return [...byKey.values()];
  }

  async labelNames(matchers: readonly Matcher[], hints: LogSelectHints): Promise<string[]> {
    const names = new Set<string>();
    for (const l of await this.series(matchers, hints)) for (let i = 0; i < l.pairs.length; i += 2) names.add(l.pairs[i]);
    return [...names].sort();
  }

  async labelValues(name: string, matchers: readonly Matcher[], hints: LogSelectHints): Promise<string[]> {
    const values = new Set<string>();
    for (const l of await this.series(matchers, hints)) {
      const v = l.get(name);
      if (v !== '') values.add(v);
    }
    return [...values].sort();
  }
}

/** A deletion mark's `deletion_time` (Unix seconds); undefined when the text is not a mark. */
function markSeconds(text: string): number | undefined {
  try {
    const v = (JSON.parse(text) as { deletion_time?: unknown }).deletion_time;
    return typeof v === 'number' && Number.isFinite(v) ? v : undefined;
  } catch {
    return undefined;
  }
}
