/**
 * The multi-tenant TSDB: one head + WAL per tenant under <dir>/tenants/<tenant>/. Opening it
 * replays every existing tenant, so "open" means "ready to serve what was acknowledged".
 */
import fsp from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from 'pino';
import fs from 'node:fs';
import {
  checkTenantId,
  Matcher,
  MergeQuerier,
  selectRawIntoOf,
  selectRawOf,
  StrataError,
  tenantIdProblem,
  type Labels,
  type Querier,
  type Queryable,
  type SelectHints,
  type Series,
} from '@strata/model';
import { BlockReader } from './block/reader.js';
import { BlockSetQuerier } from './block/block-set.js';
import { SegmentCache } from './block/segment-cache.js';
import type { BlockMeta } from './block/meta.js';
import { compactHead } from './compact.js';
import type { Tombstone } from './block/compact-blocks.js';
import { withTombstones } from './tombstones.js';
import { DEFAULT_BLOCK_DURATION_MS, DEFAULT_SAMPLES_PER_CHUNK } from './api.js';
import { type Appender, type HeadOptions, type HeadStats, type SeriesBudget, type TenantStorage, type TsdbStatus } from './api.js';
import { HeadAppender } from './head/appender.js';
import { Head } from './head/head.js';
import { loadSnapshot, writeSnapshot } from './head/snapshot.js';
import {
  decodeExemplars,
  decodeHistograms,
  decodeSeries,
  forEachSample,
  RECORD_EXEMPLARS,
  RECORD_HISTOGRAMS,
  RECORD_SAMPLES,
  RECORD_SERIES,
} from './wal/records.js';
import { listSegments, WAL, type FsyncMode, type ReplayStats, type WalPosition } from './wal/wal.js';

export interface TSDBOptions {
  dir: string;
  fsync: FsyncMode;
  head: HeadOptions;
  blockDurationMs?: number;
  walSegmentBytes?: number;
  logger?: Logger;
  onFsync?: (seconds: number) => void;
  /** External labels of this tenant's blocks (tenant, replica), as Thanos' meta.json carries them. */
  externalLabels?: (tenant: string) => Record<string, string>;
  /** Called for every block cut from a head (the shipper uploads it). */
  onBlock?: (tenant: string, dir: string, meta: BlockMeta) => void;
  /** How often heads are checked for a complete block range; 0 disables the timer. */
  compactIntervalMs?: number;
  /** Memory for chunk segment files of local blocks, shared by all tenants (see SegmentCache); 0 reads every range from disk. */
  blockCacheBytes?: number;
  /** Deletion requests of a tenant (see tombstones.ts): their samples are hidden from select. */
  tombstones?: (tenant: string) => readonly Tombstone[];
  /** Called when an append creates a series (not on WAL replay): series-growth tracking. */
  onSeriesCreated?: (tenant: string, pairs: readonly string[]) => void;
  /** A tenant's exemplar limit, sizing its store when exemplars are read back at start (absent = Prometheus' default). */
  maxExemplars?: (tenant: string) => number;
  /** Series all tenants' heads together may hold (the process' ceiling; new series beyond it are refused); 0 or absent = none. */
  maxSeries?: number;
}

/** Every series: the head's index needs one matcher that selects something. */
const ANY_SERIES = new Matcher('=~', '__name__', '.+');

export const DEFAULT_BLOCK_CACHE_BYTES = 256 * 1024 * 1024;

const SNAPSHOT = 'snapshot';
/**
 * The checkpoint before the newest. WAL segments are removed only up to this one's position, so a
 * newest snapshot found damaged at start costs a longer replay from here, never acknowledged samples.
 */
const PREV_SNAPSHOT = 'snapshot.prev';
/** Where an unusable snapshot is moved at start, kept for inspection and out of the generations. */
const DAMAGED_SNAPSHOT = 'snapshot.damaged';

/** The snapshots on disk known to be good, and the WAL positions they replay from. */
interface SnapshotGenerations {
  current?: WalPosition;
  prev?: WalPosition;
}
export const BLOCKS_DIR = 'blocks';
export const DEFAULT_COMPACT_INTERVAL_MS = 60_000;

export class TenantDB implements TenantStorage {
  private closed = false;
  /** Local blocks cut from this head, newest last; queried together with the head. */
  readonly blocks: BlockReader[] = [];
  /** The pass running or queued last, and whether it is forced: callers join it only if it does what they ask. */
  private compacting: { done: Promise<BlockMeta[]>; force: boolean } | null = null;

  private constructor(
    readonly tenant: string,
    readonly dir: string,
    readonly head: Head,
    readonly wal: WAL,
    /** How the head was loaded; `snapshotError` says why a snapshot present on disk was not used. */
    readonly replay: ReplayStats & { fromSnapshot: boolean; snapshotError?: string },
    private readonly opts: TSDBOptions,
    private readonly cache: SegmentCache | undefined,
    private readonly snapshots: SnapshotGenerations,
  ) {}

  /** The tenant's exemplars (the head's, logged in its WAL and snapshot): empty until the writer sizes the store. */
  get exemplars(): Head['exemplars'] {
    return this.head.exemplars;
  }

  get blocksDir(): string {
    return path.join(this.dir, BLOCKS_DIR);
  }

  static async open(tenant: string, dir: string, opts: TSDBOptions, cache?: SegmentCache): Promise<TenantDB> {
    await fsp.mkdir(dir, { recursive: true });
    const onCreated = opts.onSeriesCreated;
    const newHead = () =>
      new Head({
        ...opts.head,
        blockDurationMs: opts.blockDurationMs,
        maxExemplars: opts.maxExemplars?.(tenant),
        onCreated: onCreated ? (pairs) => onCreated(tenant, pairs) : undefined,
      });
    let head = newHead();
    const generations: SnapshotGenerations = {};
    let from: WalPosition | undefined;
    let snapshotError: string | undefined;
    const snap = await loadSnapshot(path.join(dir, SNAPSHOT), head);
    if (snap && !('error' in snap)) {
      from = generations.current = snap;
    } else {
      // Never fatal: a snapshot that cannot be read (truncated, oversized, corrupt, another version)
      // costs a longer WAL replay from the checkpoint before it, or the whole WAL; never a tenant that
      // can never open again.
      if (snap) {
        snapshotError = snap.error;
        await fsp.rename(path.join(dir, SNAPSHOT), path.join(dir, DAMAGED_SNAPSHOT));
      }
      head = newHead();
      const prev = await loadSnapshot(path.join(dir, PREV_SNAPSHOT), head);
      if (prev && !('error' in prev)) {
        from = generations.prev = prev;
        if (snap)
          opts.logger?.warn(
            { tenant, error: snap.error },
            'head snapshot unusable; loaded the checkpoint before it and replaying the WAL after that',
          );
      } else {
        if (prev) {
          snapshotError ??= prev.error;
          await fsp.rename(path.join(dir, PREV_SNAPSHOT), path.join(dir, `${DAMAGED_SNAPSHOT}.prev`));
        }
        head = newHead();
        const oldest = (await listSegments(path.join(dir, 'wal')))[0] ?? 0;
        if (oldest > 0) {
          // Only losing both generations (or deleting them by hand) gets here: the segments they
          // stood in for are gone, and what the head held from them that was not yet in a block with them.
          opts.logger?.error(
            { tenant, error: snapshotError ?? 'no snapshot', oldestWalSegment: oldest },
            'head snapshots unusable and WAL segments before them were already checkpointed away; replaying the remaining WAL, samples older than it that were not yet in a block are lost',
          );
        } else if (snapshotError) {
          opts.logger?.warn({ tenant, error: snapshotError }, 'head snapshot unusable; replaying the whole WAL');
        }
      }
    }
    const headForReplay = head;
    let undecodable = 0;
    let firstUndecodable = '';
    const onRecord = (type: number, payload: Buffer) => {
      try {
        if (type === RECORD_SERIES) {
          const { ref, labels } = decodeSeries(payload);
          headForReplay.create(ref, labels);
        } else if (type === RECORD_SAMPLES) {
          forEachSample(payload, (ref, t, hi, lo) => {
            const s = headForReplay.get(ref);
            // Every logged sample was accepted: apply it as commit() did (see Head.applyLogged).
            if (s) headForReplay.applyLogged(s, t, hi, lo);
          });
        } else if (type === RECORD_EXEMPLARS) {
          for (const x of decodeExemplars(payload)) {
            const s = headForReplay.get(x.ref);
            if (s) headForReplay.loadExemplar(s.labels, { labels: x.labels, value: x.value, timestamp: x.t });
          }
        } else if (type === RECORD_HISTOGRAMS) {
          for (const x of decodeHistograms(payload)) {
            const s = headForReplay.get(x.ref);
            if (s) headForReplay.applyHistogramLogged(s, x.t, x.h, x.float, x.hint);
          }
        }
      } catch (e) {
        // A record whose checksum holds but whose content does not decode (a writer bug, not a torn
        // write) is skipped: one bad record must not keep the tenant from ever opening again.
        if (undecodable++ === 0) firstUndecodable = (e as Error).message;
      }
    };
    const { wal, stats } = await WAL.open(
      path.join(dir, 'wal'),
      { fsync: opts.fsync, segmentBytes: opts.walSegmentBytes, logger: opts.logger, onFsync: opts.onFsync },
      onRecord,
      from,
    );
    if (undecodable > 0)
      opts.logger?.error(
        { tenant, records: undecodable, error: firstUndecodable },
        'WAL records with a valid checksum did not decode; skipped them',
      );
    opts.logger?.info({ tenant, ...stats, fromSnapshot: !!from, series: headForReplay.numSeries }, 'tenant head loaded');
    const db = new TenantDB(tenant, dir, headForReplay, wal, { ...stats, fromSnapshot: !!from, snapshotError }, opts, cache, generations);
    await db.openLocalBlocks();
    return db;
  }

  private async openLocalBlocks(): Promise<void> {
    await fsp.mkdir(this.blocksDir, { recursive: true });
    for (const name of (await fsp.readdir(this.blocksDir)).sort()) {
      const dir = path.join(this.blocksDir, name);
      if (name.includes('.tmp') || !fs.existsSync(path.join(dir, 'meta.json'))) {
        // A block whose writing was interrupted: its data is still in the WAL or snapshot.
        await fsp.rm(dir, { recursive: true, force: true });
        continue;
      }
      try {
        this.blocks.push(await this.openLocal(dir));
      } catch (e) {
        this.opts.logger?.error({ tenant: this.tenant, block: name, err: (e as Error).message }, 'local block unreadable; skipped');
      }
    }
  }

  /** A local block, which query workers may read themselves (leased: see dropLocalBlock). */
  private async openLocal(dir: string): Promise<BlockReader> {
    const b = await BlockReader.openDir(dir, this.cache);
    b.shareWithWorkers(dir, this.cache);
    return b;
  }

  /** Whether a block with this ULID is open locally (then the bucket's copy need not be read). */
  hasBlock(ulid: string): boolean {
    return this.blocks.some((b) => b.meta.ulid === ulid);
  }

  /** Forgets a local block (after it was shipped and its local retention passed). */
  async dropLocalBlock(ulid: string): Promise<void> {
    const i = this.blocks.findIndex((b) => b.meta.ulid === ulid);
    if (i >= 0) {
      // Out of the list first: from now on queries take the bucket's copy instead.
      const [b] = this.blocks.splice(i, 1);
      // Query workers reading its files for a select listed before now hold it leased: its
      // files stay until their queries are done with it.
      await b.unleased();
      await b.close();
    }
    await fsp.rm(path.join(this.blocksDir, ulid), { recursive: true, force: true });
  }

  /**
   * Writes complete block ranges out of the head (everything with `force`), then checkpoints:
   * a snapshot of what remains in the head, after which older WAL segments are deleted.
   */
  compact(force = false): Promise<BlockMeta[]> {
    const last = this.compacting;
    // An unforced pass may join anything; a forced one (the shutdown flush) must not join an unforced
    // pass, which leaves the incomplete newest range in the head: it runs after it instead.
    if (last && (last.force || !force)) return last.done;
    const after = last ? last.done.catch(() => []) : Promise.resolve([]);
    const entry = {
      force,
      done: after
        .then(() => this.doCompact(force))
        .finally(() => {
          if (this.compacting === entry) this.compacting = null;
        }),
    };
    this.compacting = entry;
    return entry.done;
  }

  private async doCompact(force: boolean): Promise<BlockMeta[]> {
    const metas = await compactHead(this.head, {
      blocksDir: this.blocksDir,
      rangeMs: this.opts.blockDurationMs ?? DEFAULT_BLOCK_DURATION_MS,
      samplesPerChunk: this.opts.head.samplesPerChunk ?? DEFAULT_SAMPLES_PER_CHUNK,
      externalLabels: this.opts.externalLabels?.(this.tenant) ?? { tenant_id: this.tenant },
      force,
      publish: async (m) => {
        this.blocks.push(await this.openLocal(path.join(this.blocksDir, m.ulid)));
      },
    });
    if (metas.length === 0) return metas;
    for (const m of metas) this.opts.onBlock?.(this.tenant, path.join(this.blocksDir, m.ulid), m);
    const pos = await this.wal.rotate();
    await this.checkpoint(pos);
    // Up to the older of the two snapshots kept: with only the new one known good, nothing goes.
    if (this.snapshots.prev) await this.wal.removeSegmentsBefore(this.snapshots.prev.segment);
    this.opts.logger?.info(
      { tenant: this.tenant, blocks: metas.map((m) => m.ulid), walSegment: pos.segment },
      'head compacted into blocks; WAL checkpointed',
    );
    return metas;
  }

  /** Writes a snapshot of the head at `pos`; the one it replaces becomes the previous generation. */
  private async checkpoint(pos: WalPosition): Promise<void> {
    if (this.snapshots.current) {
      await fsp.rename(path.join(this.dir, SNAPSHOT), path.join(this.dir, PREV_SNAPSHOT));
      this.snapshots.prev = this.snapshots.current;
      this.snapshots.current = undefined;
    }
    await writeSnapshot(path.join(this.dir, SNAPSHOT), this.head, pos);
    this.snapshots.current = pos;
  }

  appender(): Appender {
    return new HeadAppender(this.head, this.wal);
  }

  async sync(): Promise<void> {
    try {
      await this.wal.sync();
    } catch (e) {
      throw new StrataError('storage-failure', `write-ahead log write failed; samples are not durable: ${(e as Error).message}`, {
        cause: e,
      });
    }
  }

  /**
   * The head and the blocks as they are at each call, not when the querier was made: a query's
   * later selectors must see a block cut meanwhile, since the head drops that range after it.
   */
  querier(): Querier {
    // The head and the blocks cut from it hold (nearly) disjoint time ranges: MergeQuerier
    // concatenates them, and merges by timestamp only where a just-cut range is in both.
    // Each read holds the blocks it started with until it is done: a block dropped meanwhile
    // (dropLocalBlock) keeps its files open and on disk until then.
    const now = <T>(read: (q: Querier) => Promise<T>): Promise<T> => {
      const blocks = this.blocks;
      if (blocks.length === 0) return read(this.head.querier());
      const leases = blocks.map((b) => b.hold());
      const release = () => {
        for (const l of leases) l?.release();
      };
      let p: Promise<T>;
      try {
        p = read(new MergeQuerier([this.head.querier(), new BlockSetQuerier(blocks)]));
      } catch (e) {
        release();
        throw e;
      }
      return p.finally(release);
    };
    const q: Querier = {
      select: (m, h) => now((r) => r.select(m, h)),
      selectRaw: (m, h) => now((r) => selectRawOf(r, m, h)),
      selectRawInto: (m, h, into) => now((r) => selectRawIntoOf(r, m, h, into)),
      series: (m, h) => now((r) => r.series(m, h)),
      labelNames: (m, h) => now((r) => r.labelNames(m, h)),
      labelValues: (n, m, h) => now((r) => r.labelValues(n, m, h)),
    };
    const tombstones = this.opts.tombstones;
    return tombstones ? withTombstones(q, () => tombstones(this.tenant)) : q;
  }

  stats(): HeadStats {
    return this.head.stats();
  }

  tsdbStatus(limit: number): TsdbStatus {
    return this.head.tsdbStatus(limit);
  }

  /** The head's series count and label cardinality, for Mimir's cardinality API. */
  cardinality(): {
    numSeries: number;
    labelValueCounts: (names: readonly string[] | undefined, matchers: readonly Matcher[] | undefined) => Map<string, Map<string, number>>;
    seriesLabels: (matchers: readonly Matcher[] | undefined) => Promise<Labels[]>;
    headStats: () => { chunkCount: number; minTime: number; maxTime: number };
  } {
    return {
      numSeries: this.head.numSeries,
      labelValueCounts: (names, matchers) => this.head.labelValueCounts(names, matchers),
      // Head series only, unsorted: cluster-wide cardinality hashes each one into mergeable sketches.
      seriesLabels: async (matchers) =>
        (await this.head.selectSeries(matchers && matchers.length > 0 ? matchers : [ANY_SERIES], undefined, false)).map((s) => s.labels),
      headStats: () => this.head.tsdbStatus(1).headStats,
    };
  }

  setMaxSeries(n: number): void {
    this.head.setMaxSeries(n);
  }

  setMetricLimits(maxSeriesPerMetric: number, maxLabelValuesPerMetric: number): void {
    this.head.setMetricLimits(maxSeriesPerMetric, maxLabelValuesPerMetric);
  }

  /**
   * Clean shutdown: a snapshot covering the whole WAL so the next start replays nothing. The WAL
   * segments stay until the next checkpoint, so a damaged snapshot costs a full replay; segments a
   * checkpoint already removed are covered by the snapshot alone (open() says so when it is lost).
   */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.compacting?.done.catch(() => undefined);
    for (const b of this.blocks) await b.close();
    await this.checkpoint(await this.wal.rotate());
    await this.wal.close();
  }
}

export class TSDB {
  private readonly tenantsById = new Map<string, Promise<TenantDB>>();
  private readonly open_ = new Map<string, TenantDB>();
  private timer: NodeJS.Timeout | undefined;
  /** Local blocks' chunk segments in memory, shared by every tenant. */
  readonly blockCache: SegmentCache;
  /** Series of every open head against the process' ceiling (opts.maxSeries). */
  readonly seriesBudget: SeriesBudget;

  private constructor(private readonly opts: TSDBOptions) {
    this.seriesBudget = { live: 0, max: opts.maxSeries ?? 0 };
    this.blockCache = new SegmentCache(opts.blockCacheBytes ?? DEFAULT_BLOCK_CACHE_BYTES);
    const every = opts.compactIntervalMs ?? 0;
    if (every > 0) {
      this.timer = setInterval(() => {
        this.compactAll().catch((e) => opts.logger?.error({ err: e }, 'head compaction failed; will retry'));
      }, every);
      this.timer.unref();
    }
  }

  /** Cuts whatever block ranges are complete, in every tenant. */
  async compactAll(force = false): Promise<BlockMeta[]> {
    const out: BlockMeta[] = [];
    for (const t of this.open_.values()) out.push(...(await t.compact(force)));
    return out;
  }

  static async open(opts: TSDBOptions): Promise<TSDB> {
    const db = new TSDB(opts);
    const tenantsDir = path.join(opts.dir, 'tenants');
    await fsp.mkdir(tenantsDir, { recursive: true });
    // Replay every tenant before reporting ready: ready means every acknowledged sample is served.
    for (const t of await fsp.readdir(tenantsDir)) {
      // Not a folder any request could have created: leave it alone rather than serve it.
      const problem = tenantIdProblem(t);
      if (problem) opts.logger?.warn({ dir: path.join(tenantsDir, t), problem }, 'not a tenant folder; skipped');
      else await db.tenant(t);
    }
    return db;
  }

  tenant(id: string): Promise<TenantDB> {
    // The ID names a folder: a second check, below every API, that it cannot leave tenants/.
    checkTenantId(id);
    let p = this.tenantsById.get(id);
    if (!p) {
      p = TenantDB.open(id, path.join(this.opts.dir, 'tenants', id), this.opts, this.blockCache).then((t) => {
        // Replayed series count against the ceiling too: a restart cannot lift it.
        t.head.attachBudget(this.seriesBudget);
        this.open_.set(id, t);
        return t;
      });
      p.catch(() => this.tenantsById.delete(id));
      this.tenantsById.set(id, p);
    }
    return p;
  }

  tenants(): string[] {
    return [...this.open_.keys()].sort();
  }

  /**
   * Per tenant, the time range held in the head and local blocks. The end is open: the head
   * keeps taking new samples, so a querier must never skip it for recent data.
   */
  timeRanges(): Record<string, { minTime: number; maxTime: number }> {
    const out: Record<string, { minTime: number; maxTime: number }> = {};
    for (const [id, t] of this.open_) {
      let minTime = t.head.stats().minTime;
      let maxTime = t.head.stats().maxTime;
      for (const b of t.blocks) {
        minTime = Math.min(minTime, b.meta.minTime);
        maxTime = Math.max(maxTime, b.meta.maxTime - 1);
      }
      if (Number.isFinite(minTime)) out[id] = { minTime, maxTime: Number.MAX_SAFE_INTEGER };
    }
    return out;
  }

  /** An open tenant, without opening it. */
  openTenant(id: string): TenantDB | undefined {
    return this.open_.get(id);
  }

  queryable(): Queryable {
    return { querier: (tenant: string) => this.open_.get(tenant)?.querier() ?? EMPTY_QUERIER };
  }

  async close(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await Promise.all([...this.open_.values()].map((t) => t.close()));
  }
}

const EMPTY_QUERIER: Querier = {
  select: async (_m: readonly Matcher[], _h: SelectHints): Promise<Series[]> => [],
  series: async (): Promise<Labels[]> => [],
  labelNames: async (): Promise<string[]> => [],
  labelValues: async (): Promise<string[]> => [],
};
