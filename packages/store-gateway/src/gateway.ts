/**
 * The store gateway: serves the blocks of the bucket that this member owns. Blocks are found
 * by listing the bucket periodically and opened lazily on first use; opening needs only the
 * block's index header (downloaded beside the block, or built once from the index with ranged
 * reads) which is kept on local disk, so restarts do not re-read the bucket. Blocks unused for
 * a while are closed. Reads go through byte-bounded LRU caches.
 */
import fsp from 'node:fs/promises';
import path from 'node:path';
import { Counter, Gauge, type Registry } from 'prom-client';
import type { Logger } from 'pino';
import {
  selectRawIntoOf,
  selectRawOf,
  StrataError,
  tenantIdProblem,
  type Labels,
  type Matcher,
  type Querier,
  type Queryable,
  type QueryBudget,
  bothBudgets,
  type RawSeries,
  type SelectHints,
  type Series,
  type RawPacker,
} from '@strata/model';
import { bucketByteSource, type Bucket } from '@strata/objstore';
import { owners } from '@strata/ring';
import { BucketLogs } from '@strata/logs';
import {
  BlockReader,
  BlockSetQuerier,
  buildIndexHeader,
  decodeIndexHeader,
  encodeIndexHeader,
  BUCKET_INDEX_FILE,
  BucketTombstones,
  decodeBucketIndex,
  HeaderedSource,
  INDEX_HEADER_FILE,
  AGGR_ENTRIES_FILE,
  withTombstones,
  parseMeta,
  type PartsSeries,
  planBlocks,
  type BlockMeta,
  type ByteSource,
} from '@strata/tsdb';
import { ByteLRU } from './lru.js';

export const DELETION_MARK_FILE = 'deletion-mark.json';

export interface GatewayLimits {
  /** 0 = unlimited. */
  maxSeriesPerQuery: number;
  maxChunksPerQuery: number;
  maxBytesPerQuery: number;
}

export interface StoreGatewayOptions {
  bucket: Bucket;
  dataDir: string;
  registry: Registry;
  logger?: Logger;
  syncIntervalMs: number;
  idleUnloadMs: number;
  /** Gateways sharing the bucket, and which one this is; blocks are sharded over them. */
  members: string[];
  self: string;
  replicationFactor: number;
  indexCacheBytes: number;
  chunkCacheBytes: number;
  limits: GatewayLimits;
  /** Blocks marked for deletion are dropped this long after the mark. */
  deletionDelayMs: number;
  /**
   * Blocks another store of the same process already serves (in `strata all`: the local copies
   * of shipped blocks), recognised by ULID and left out, so each sample is read from one place.
   */
  skipBlock?: (tenant: string, ulid: string) => boolean;
  /**
   * The bucket's deletion requests, re-read at every sync; their samples are hidden from select.
   * By default the gateway keeps its own (`strata all` passes the one its head shares).
   */
  tombstones?: BucketTombstones;
  /**
   * Mimir's bucket-store.bucket-index: find a tenant's blocks and deletion marks in the
   * bucket-index.json.gz the compactor writes (one read) instead of listing the tenant's folders,
   * unless it is missing, unreadable or older than maxStalePeriodMs. Off by default here.
   */
  bucketIndex?: { enabled: boolean; maxStalePeriodMs: number };
  /** Also serve the bucket's log blocks (`<tenant>/logs/`), as `logs`, found by the same syncs. */
  logs?: boolean;
  /**
   * Called for a block that appears after the first sync with samples no store served before
   * (backfillsDataOf: written outside Strata's own pipeline), so that query frontends drop the
   * answers they cached over its time range.
   */
  onBackfill?: (tenant: string, minTime: number, maxTime: number) => void;
}

/**
 * Whether a block newly in the bucket may hold samples no query saw before. Blocks Strata writes
 * itself do not: a receiver's blocks hold what its head already served (late samples were reported
 * when they were accepted), and the compactor's merges and rollups restate their sources. Any
 * other block does (promtool's create-blocks-from, a Thanos sidecar's uploads, a copy from another
 * bucket): a backfill into a range queries may have answered and frontends may have cached.
 */
export function backfillsDataOf(meta: BlockMeta): boolean {
  const source = meta.thanos?.source;
  return source !== 'receive' && source !== 'compactor';
}

/** A block found in the bucket, and when it was marked for deletion (unix seconds), if it was. */
interface FoundBlock {
  ulid: string;
  deletionTime?: number;
}

interface GatewayBlock {
  tenant: string;
  meta: BlockMeta;
  reader?: Promise<BlockReader>;
  lastUsed: number;
}

export class StoreGateway implements Queryable {
  private readonly blocks = new Map<string, GatewayBlock>();
  /** Whether a sync has completed: blocks found by the first one are the starting point, not news. */
  private synced = false;
  private readonly indexCache: ByteLRU;
  private readonly chunkCache: ByteLRU;
  private timer: NodeJS.Timeout | undefined;
  private readonly fetched: Counter<'kind'>;
  private readonly cacheReqs: Counter<'kind' | 'result'>;
  private readonly indexReads: Counter<'result'>;
  /** Bytes read from the bucket so far (for benchmarks and tests). */
  bytesFetched = 0;
  readonly tombstones: BucketTombstones;
  /** The bucket's log blocks, when opts.logs: a LogQueryable for the querier's Loki API. */
  readonly logs: BucketLogs | undefined;

  constructor(private readonly opts: StoreGatewayOptions) {
    this.indexCache = new ByteLRU(opts.indexCacheBytes);
    this.chunkCache = new ByteLRU(opts.chunkCacheBytes);
    this.tombstones =
      opts.tombstones ??
      new BucketTombstones(opts.bucket, (name, err) =>
        opts.logger?.warn({ object: name, err: err.message }, 'tombstone unreadable; ignored'),
      );
    const r = opts.registry;
    this.logs = opts.logs
      ? new BucketLogs({
          bucket: opts.bucket,
          logger: opts.logger,
          onFetched: (n) => {
            this.bytesFetched += n;
            this.fetched.inc({ kind: 'log-chunks' }, n);
          },
          // Log chunks share the chunk cache with metric chunks.
          cache: this.chunkCache,
          onCacheLookup: (hit) => this.cacheReqs.inc({ kind: 'log-chunks', result: hit ? 'hit' : 'miss' }),
          // Marked log blocks stop being served when marked metric blocks do.
          deletionDelayMs: opts.deletionDelayMs,
          // Log blocks are sharded over the gateways as metric blocks are.
          owns: (ulid) => this.owns(ulid),
        })
      : undefined;
    this.fetched = new Counter({
      name: 'strata_store_gateway_bucket_bytes_total',
      help: 'Bytes read from the bucket, by kind.',
      labelNames: ['kind'],
      registers: [r],
    });
    this.cacheReqs = new Counter({
      name: 'strata_store_gateway_cache_requests_total',
      help: 'Cache lookups, by cache and hit/miss.',
      labelNames: ['kind', 'result'],
      registers: [r],
    });
    this.indexReads = new Counter({
      name: 'strata_store_gateway_bucket_index_loads_total',
      help: 'Per tenant and sync, how its blocks were found: used (the bucket index), or listed because the index was missing, stale or invalid.',
      labelNames: ['result'],
      registers: [r],
    });
    const blocks = this.blocks;
    new Gauge({
      name: 'strata_store_gateway_blocks',
      help: 'Blocks owned by this gateway, and how many are open.',
      labelNames: ['state'],
      registers: [r],
      collect() {
        let open = 0;
        for (const b of blocks.values()) if (b.reader) open++;
        this.set({ state: 'owned' }, blocks.size);
        this.set({ state: 'open' }, open);
      },
    });
  }

  /** Whether this gateway serves the block: one of its replicationFactor owners among the members. */
  private owns(ulid: string): boolean {
    return owners(ulid, this.opts.members, this.opts.replicationFactor).includes(this.opts.self);
  }

  async start(): Promise<void> {
    await this.sync();
    this.timer = setInterval(() => {
      this.sync().catch((e) => this.opts.logger?.error({ err: e }, 'bucket sync failed; keeping the previous block list'));
      void this.unloadIdle();
    }, this.opts.syncIntervalMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    for (const b of this.blocks.values()) if (b.reader) await (await b.reader).close();
  }

  /**
   * Finds the blocks: tenants are the bucket's top-level folders; each tenant's blocks come from its
   * bucket index when that is fresh, else from listing its ULID folders (those with a meta.json).
   */
  async sync(): Promise<void> {
    const seen = new Set<string>();
    const now = Date.now();
    const tenants: string[] = [];
    const owned = (ulid: string) => this.owns(ulid);
    for await (const tenantDir of this.opts.bucket.iter('')) {
      if (!tenantDir.endsWith('/')) continue;
      const tenant = tenantDir.slice(0, -1);
      // A prefix no tenant could have written (.., a separator) names no local folder either.
      if (tenantIdProblem(tenant)) continue;
      tenants.push(tenant);
      const found = (await this.fromIndex(tenant, now)) ?? (await this.listTenant(tenantDir, owned));
      for (const f of found) {
        if (!owned(f.ulid)) continue;
        if (f.deletionTime !== undefined && now - f.deletionTime * 1000 >= this.opts.deletionDelayMs) continue;
        const key = `${tenant}/${f.ulid}`;
        seen.add(key);
        if (this.blocks.has(key)) continue;
        let meta: BlockMeta;
        try {
          meta = parseMeta((await this.opts.bucket.get(`${key}/meta.json`)).toString(), `block ${key}`);
        } catch (e) {
          if (!this.opts.bucket.isObjNotFound(e)) this.opts.logger?.warn({ block: key, err: (e as Error).message }, 'block skipped');
          continue; // no meta.json yet: an upload in progress (or deleted since the index was written)
        }
        this.blocks.set(key, { tenant, meta, lastUsed: 0 });
        if (this.synced && backfillsDataOf(meta)) this.opts.onBackfill?.(tenant, meta.minTime, meta.maxTime - 1);
      }
    }
    await this.tombstones.sync(tenants);
    // A failed log sync keeps the previous log blocks and must not stop the metric blocks' sync.
    await this.logs
      ?.sync()
      .catch((e: Error) => this.opts.logger?.error({ err: e.message }, 'log block sync failed; keeping the previous list'));
    for (const [key, b] of this.blocks) {
      if (seen.has(key)) continue;
      this.blocks.delete(key);
      if (b.reader) void b.reader.then((r) => r.close());
    }
    this.synced = true;
  }

  /** The tenant's blocks per its bucket index, or undefined when the index is off, missing, unreadable or stale. */
  private async fromIndex(tenant: string, now: number): Promise<FoundBlock[] | undefined> {
    const cfg = this.opts.bucketIndex;
    if (!cfg?.enabled) return undefined;
    let raw: Buffer;
    try {
      raw = await this.opts.bucket.get(`${tenant}/${BUCKET_INDEX_FILE}`);
    } catch (e) {
      if (!this.opts.bucket.isObjNotFound(e)) throw e;
      this.indexReads.inc({ result: 'missing' });
      return undefined;
    }
    let ix;
    try {
      ix = decodeBucketIndex(raw);
    } catch (e) {
      this.indexReads.inc({ result: 'invalid' });
      this.opts.logger?.warn({ tenant, err: (e as Error).message }, 'bucket index unreadable; listing the bucket instead');
      return undefined;
    }
    if (now - ix.updated_at * 1000 > cfg.maxStalePeriodMs) {
      this.indexReads.inc({ result: 'stale' });
      this.opts.logger?.warn(
        { tenant, updatedAt: new Date(ix.updated_at * 1000).toISOString() },
        'bucket index older than its max stale period (is the compactor running?); listing the bucket instead',
      );
      return undefined;
    }
    this.indexReads.inc({ result: 'used' });
    const marks = new Map((ix.block_deletion_marks ?? []).map((m) => [m.block_id, m.deletion_time]));
    return ix.blocks.map((b) => ({ ulid: b.block_id, deletionTime: marks.get(b.block_id) }));
  }

  /** The tenant's ULID folders, with the deletion marks of those this gateway owns. */
  private async listTenant(tenantDir: string, owned: (ulid: string) => boolean): Promise<FoundBlock[]> {
    const out: FoundBlock[] = [];
    for await (const dir of this.opts.bucket.iter(tenantDir)) {
      const ulid = dir.slice(tenantDir.length, -1);
      if (!/^[0-9A-Z]{26}$/.test(ulid) || !owned(ulid)) continue;
      let deletionTime: number | undefined;
      if (await this.opts.bucket.exists(`${dir}${DELETION_MARK_FILE}`)) {
        const mark = JSON.parse((await this.opts.bucket.get(`${dir}${DELETION_MARK_FILE}`)).toString()) as { deletion_time?: number };
        deletionTime = mark.deletion_time ?? 0;
      }
      out.push({ ulid, deletionTime });
    }
    return out;
  }

  private async unloadIdle(): Promise<void> {
    const now = Date.now();
    for (const b of this.blocks.values()) {
      if (b.reader && now - b.lastUsed > this.opts.idleUnloadMs) {
        const r = b.reader;
        b.reader = undefined;
        await (await r).close();
      }
    }
  }

  private cached(name: string, kind: 'index' | 'chunks', inner: ByteSource): ByteSource {
    const cache = kind === 'index' ? this.indexCache : this.chunkCache;
    return {
      size: () => inner.size(),
      read: async (offset, length) => {
        const key = `${name}:${offset}:${length}`;
        const hit = cache.get(key);
        this.cacheReqs.inc({ kind, result: hit ? 'hit' : 'miss' });
        if (hit) return hit;
        const buf = await inner.read(offset, length);
        this.bytesFetched += buf.length;
        this.fetched.inc({ kind }, buf.length);
        cache.set(key, buf);
        return buf;
      },
    };
  }

  /** The index header: local disk, else the bucket, else built from the index and kept. */
  private async header(b: GatewayBlock, prefix: string, index: ByteSource) {
    const local = path.join(this.opts.dataDir, b.tenant, b.meta.ulid, INDEX_HEADER_FILE);
    try {
      return decodeIndexHeader(await fsp.readFile(local), `block ${b.tenant}/${b.meta.ulid}`);
    } catch {
      // missing or damaged: fetch or rebuild
    }
    let raw: Buffer;
    try {
      raw = await this.opts.bucket.get(prefix + INDEX_HEADER_FILE);
      this.bytesFetched += raw.length;
      decodeIndexHeader(raw, `block ${b.tenant}/${b.meta.ulid}`);
    } catch {
      raw = encodeIndexHeader(await buildIndexHeader(index));
    }
    await fsp.mkdir(path.dirname(local), { recursive: true });
    await fsp.writeFile(local, raw);
    return decodeIndexHeader(raw, `block ${b.tenant}/${b.meta.ulid}`);
  }

  private open(b: GatewayBlock): Promise<BlockReader> {
    b.lastUsed = Date.now();
    b.reader ??= (async () => {
      const prefix = `${b.tenant}/${b.meta.ulid}/`;
      const bucket = this.opts.bucket;
      const index = this.cached(prefix + 'index', 'index', bucketByteSource(bucket, prefix + 'index'));
      const ranges = await this.header(b, prefix, index);
      const segments = new Map<number, ByteSource>();
      const reader = await BlockReader.open(
        {
          meta: async () => JSON.stringify(b.meta),
          index: new HeaderedSource(ranges, index),
          // One source per segment for the block's life: the reader asks for it at every ranged
          // read, and a rollup query makes thousands of them (a new pair of closures each).
          segment: (seq) => {
            let s = segments.get(seq);
            if (!s) {
              const name = `${prefix}chunks/${String(seq + 1).padStart(6, '0')}`;
              segments.set(seq, (s = this.cached(name, 'chunks', bucketByteSource(bucket, name))));
            }
            return s;
          },
          // Rollups only: where each aggregate lies in the chunks, so a rate fetches its counters alone.
          aggrEntries: async () => {
            if (!b.meta.thanos?.downsample?.resolution) return undefined;
            try {
              const raw = await bucket.get(prefix + AGGR_ENTRIES_FILE);
              this.bytesFetched += raw.length;
              this.fetched.inc({ kind: 'index' }, raw.length);
              return raw;
            } catch (e) {
              if (bucket.isObjNotFound(e)) return undefined;
              throw e;
            }
          },
        },
        `${b.tenant}/${b.meta.ulid}`,
      );
      return reader;
    })().catch((e) => {
      b.reader = undefined;
      throw e;
    });
    return b.reader;
  }

  private skipped(b: GatewayBlock): boolean {
    const skip = this.opts.skipBlock;
    if (!skip) return false;
    if (skip(b.tenant, b.meta.ulid)) return true;
    // A raw block compacted from blocks that are all served elsewhere in the process (strata
    // all's local copies, kept for --tsdb.retention.local) holds exactly their samples: read from
    // both places, every series of the range would be merged with its own copy, sample by sample.
    const sources = b.meta.compaction?.sources;
    return (b.meta.thanos?.downsample?.resolution ?? 0) === 0 && !!sources && sources.length > 0 && sources.every((u) => skip(b.tenant, u));
  }

  /** The tenant's blocks this gateway answers for, oldest first (blocks served elsewhere in the process left out). */
  tenantBlocks(tenant: string): GatewayBlock[] {
    return [...this.blocks.values()].filter((b) => b.tenant === tenant && !this.skipped(b)).sort((a, b) => a.meta.minTime - b.meta.minTime);
  }

  /** Per tenant, the time range this gateway can answer. */
  info(): Record<string, { minTime: number; maxTime: number; blocks: number }> {
    const out: Record<string, { minTime: number; maxTime: number; blocks: number }> = {};
    for (const b of this.blocks.values()) {
      if (this.skipped(b)) continue;
      const i = (out[b.tenant] ??= { minTime: Infinity, maxTime: -Infinity, blocks: 0 });
      i.minTime = Math.min(i.minTime, b.meta.minTime);
      i.maxTime = Math.max(i.maxTime, b.meta.maxTime - 1);
      i.blocks++;
    }
    return out;
  }

  querier(tenant: string): Querier {
    return withTombstones(new GatewayQuerier(this, tenant, this.opts.limits, (b) => this.open(b)), () => this.tombstones.forTenant(tenant));
  }
}

function budgetFor(limits: GatewayLimits): QueryBudget {
  let series = 0;
  let chunks = 0;
  let bytes = 0;
  const check = (
    id: 'query-max-series' | 'query-max-chunks' | 'query-max-bytes',
    what: string,
    value: number,
    limit: number,
    flag: string,
  ) => {
    if (limit > 0 && value > limit) {
      throw new StrataError(
        id,
        `the query hit the ${what} limit of the store gateway (limit: ${limit}, reached: ${value}); narrow the query or raise --${flag}`,
      );
    }
  };
  return {
    series: (n) => check('query-max-series', 'series', (series += n), limits.maxSeriesPerQuery, 'store-gateway.max-series-per-query'),
    chunks: (n) => check('query-max-chunks', 'chunks', (chunks += n), limits.maxChunksPerQuery, 'store-gateway.max-chunks-per-query'),
    bytes: (n) => check('query-max-bytes', 'bytes', (bytes += n), limits.maxBytesPerQuery, 'store-gateway.max-bytes-per-query'),
  };
}

class GatewayQuerier implements Querier {
  // Also a RollupPartsQuerier: remote-read sends its rollup chunks on undecoded (docs/format/rollup-read.md).
  constructor(
    private readonly gw: StoreGateway,
    private readonly tenant: string,
    private readonly limits: GatewayLimits,
    private readonly open: (b: GatewayBlock) => Promise<BlockReader>,
  ) {}

  private async readers(hints: SelectHints, planned = false): Promise<BlockSetQuerier> {
    let blocks = this.gw.tenantBlocks(this.tenant).filter((b) => b.meta.maxTime > hints.start && b.meta.minTime <= hints.end);
    // Samples come only from the blocks the resolution plan picks (the block set plans the same
    // again on them): planned on metas here, so the rest are never opened, and a query over
    // rollups fetches no index (header) of the raw blocks they stand for.
    if (planned) {
      const plan = planBlocks(
        blocks.map((b) => ({ gb: b, meta: b.meta, resolution: b.meta.thanos?.downsample?.resolution ?? 0 })),
        hints.start,
        hints.end + 1,
        hints.maxResolution ?? 0,
      );
      const keep = new Set(plan.map((p) => p.block.gb));
      blocks = blocks.filter((b) => keep.has(b));
    }
    const readers = await Promise.all(blocks.map((b) => this.open(b)));
    return new BlockSetQuerier(readers);
  }

  async select(matchers: readonly Matcher[], hints: SelectHints): Promise<Series[]> {
    const budget = bothBudgets(hints.budget, budgetFor(this.limits));
    return (await this.readers(hints, true)).select(matchers, { ...hints, budget });
  }

  /** The blocks' chunks undecoded (for a query worker), under the same budget as select. */
  async selectRaw(matchers: readonly Matcher[], hints: SelectHints): Promise<RawSeries[]> {
    const budget = bothBudgets(hints.budget, budgetFor(this.limits));
    return selectRawOf(await this.readers(hints, true), matchers, { ...hints, budget });
  }

  /** selectRaw() written into a packer (BlockSetQuerier.selectRawInto), under the same budget. */
  async selectRawInto(matchers: readonly Matcher[], hints: SelectHints, into: RawPacker): Promise<void> {
    const budget = bothBudgets(hints.budget, budgetFor(this.limits));
    return selectRawIntoOf(await this.readers(hints, true), matchers, { ...hints, budget }, into);
  }

  /** The planned blocks' rollup parts before the join (BlockSetQuerier.selectRollupParts), under the same budget as select. */
  async selectRollupParts(matchers: readonly Matcher[], hints: SelectHints): Promise<PartsSeries[] | undefined> {
    const budget = bothBudgets(hints.budget, budgetFor(this.limits));
    return (await this.readers(hints, true)).selectRollupParts(matchers, { ...hints, budget });
  }

  async series(matchers: readonly Matcher[], hints: SelectHints): Promise<Labels[]> {
    return (await this.readers(hints)).series(matchers, hints);
  }

  async labelNames(matchers: readonly Matcher[], hints: SelectHints): Promise<string[]> {
    return (await this.readers(hints)).labelNames(matchers, hints);
  }

  async labelValues(name: string, matchers: readonly Matcher[], hints: SelectHints): Promise<string[]> {
    return (await this.readers(hints)).labelValues(name, matchers, hints);
  }
}
