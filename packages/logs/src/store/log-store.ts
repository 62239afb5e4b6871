/**
 * Every tenant's logs on one receiver: a head per tenant behind a WAL of its own
 * (<dir>/<tenant>/wal, as the metrics TSDB keeps a directory per tenant). A push is appended to
 * the head only after its WAL record is fsynced (group commit shared by concurrent pushes), so
 * whatever was acknowledged is replayed after a crash. Implements LogQueryable.
 *
 * With a bucket, a tenant's head is cut every block range (2 h, as metrics blocks): the WAL starts
 * a new segment and a new head takes the pushes logged after it, while the old head becomes a log
 * block in the bucket (docs/format/logs.md#log-blocks-in-the-bucket). Only once that block is uploaded are the WAL
 * segments before the cut removed, so an acknowledged line is always in the WAL or the bucket. A
 * crash between upload and removal replays lines the bucket already has: reads drop the repeats.
 * The shipped head stays queryable a while (keepShippedMs) so the store gateway finds the block first.
 */
import fsp from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from 'pino';
import { checkTenantId, type Labels, type Matcher } from '@strata/model';
import { listSegments, segmentName, ulid, WAL, type FsyncMode } from '@strata/tsdb';
import type { LogQuerier, LogQueryable, LogSelectHints, LogStreamEntries } from '../types.js';
import type { PushStream } from '../push/push-stream.js';
import type { BlockCompression } from '../chunk/block-codec.js';
import { LogHead, type LogHeadStats } from '../head/log-head.js';
import type { StreamState } from '../ingest/validate.js';
import {
  decodeSampledOutRecord,
  encodePushRecord,
  encodeSampledOutRecord,
  PUSH_RECORD_PAYLOAD,
  RECORD_LOG_PUSH,
  RECORD_LOG_SAMPLED_OUT,
} from './wal-record.js';
import {
  buildLogBlock,
  LOG_META_FILE,
  logBlocksPrefix,
  uploadLogBlock,
  type LogBlockMeta,
  type LogUploadBucket,
} from '../block/log-block.js';
import { mergeLogQueriers } from '../block/merge-queriers.js';
import { addSampledOut, SampledOutTally, type SampledOutCount } from '../ingest/sampled-out.js';

export interface LogStoreOptions {
  dir: string;
  fsync: FsyncMode;
  compression?: BlockCompression;
  logger?: Logger;
  onFsync?: (seconds: number) => void;
  /** How often open blocks are checked for the age cut (ms); 0 = never (tests). */
  cutIntervalMs?: number;
  now?: () => number;
  /** Where cut heads go as log blocks; without one the head keeps everything and the WAL is never truncated. */
  bucket?: LogUploadBucket;
  /** A head is cut this long after its first entry (ms; default 2 h, the metrics block range). */
  blockRangeMs?: number;
  /** A shipped head stays queryable this long after its upload (ms), until the store gateway has synced the block. */
  keepShippedMs?: number;
  onShipped?: (tenant: string, meta: LogBlockMeta) => void;
}

/** A head and the pushes logged into the WAL segment(s) it covers. */
interface Generation {
  head: LogHead;
  /** What sampling left out of the pushes this receiver took while the head took pushes (logged as WAL records). */
  sampled: SampledOutTally;
  /** The log block the head became, once uploaded: its counts are then the block's. */
  ulid?: string;
  /** Pushes logged for this head whose append has not happened yet. */
  inflight: Set<Promise<void>>;
  /** Wall-clock ms of the first entry, for the cut. */
  firstAtMs: number | undefined;
  /** For a cut head: the first WAL segment holding none of its records. */
  walEnd?: number;
  shippedAtMs?: number;
}

interface TenantLogs {
  current: Generation;
  /** Cut heads, oldest first: not shipped yet, or shipped and kept a while. */
  frozen: Generation[];
  wal: WAL;
  /** The tenant's cut and ship runs one at a time. */
  cutting?: Promise<void>;
  /**
   * Set while the WAL starts its new segment at a cut: the WAL may still write records queued after
   * the rotation was asked for into the old segment, so pushes wait rather than land there unshipped.
   */
  rotating?: Promise<unknown>;
}

export class LogStore implements LogQueryable {
  private readonly tenants = new Map<string, Promise<TenantLogs>>();
  private readonly open = new Map<string, TenantLogs>();
  private timer: NodeJS.Timeout | undefined;

  private constructor(private readonly opts: LogStoreOptions) {}

  /** Opens the store, replaying every tenant's WAL found under `dir`. */
  static async open(opts: LogStoreOptions): Promise<LogStore> {
    const store = new LogStore(opts);
    await fsp.mkdir(opts.dir, { recursive: true });
    for (const e of await fsp.readdir(opts.dir, { withFileTypes: true })) if (e.isDirectory()) await store.tenant(e.name);
    const every = opts.cutIntervalMs ?? 60_000;
    if (every > 0) {
      store.timer = setInterval(() => {
        // Without a bucket heads are never cut: counts older than a day are forgotten instead.
        if (!opts.bucket) for (const t of store.open.values()) t.current.sampled.prune();
        for (const t of store.open.values()) t.current.head.cutIdle();
        store.tick().catch((e: Error) => opts.logger?.error({ err: e }, 'log block cut failed; retried at the next tick'));
      }, every);
      store.timer.unref();
    }
    return store;
  }

  private tenant(id: string): Promise<TenantLogs> {
    let p = this.tenants.get(id);
    if (!p) {
      p = this.openTenant(id);
      this.tenants.set(id, p);
      // A failed open is retried by the next push rather than remembered.
      p.catch(() => this.tenants.delete(id));
    }
    return p;
  }

  private async openTenant(id: string): Promise<TenantLogs> {
    checkTenantId(id);
    await this.finishInterruptedShip(id);
    const gen = this.newGeneration(id);
    const head = gen.head;
    const t0 = Date.now();
    const { wal, stats } = await WAL.open(
      path.join(this.opts.dir, id, 'wal'),
      { fsync: this.opts.fsync, logger: this.opts.logger, onFsync: this.opts.onFsync },
      (type, payload) => {
        if (type === RECORD_LOG_PUSH) head.appendRecord(payload, undefined);
        else if (type === RECORD_LOG_SAMPLED_OUT) gen.sampled.addAll(decodeSampledOutRecord(payload));
      },
    );
    if (stats.records > 0) {
      this.opts.logger?.info(
        { tenant: id, records: stats.records, entries: head.entries, streams: head.numStreams, seconds: (Date.now() - t0) / 1000 },
        'log WAL replayed',
      );
    }
    if (head.entries > 0 || !gen.sampled.isEmpty()) gen.firstAtMs = this.now();
    const t: TenantLogs = { current: gen, frozen: [], wal };
    this.open.set(id, t);
    return t;
  }

  private now(): number {
    return (this.opts.now ?? Date.now)();
  }

  /** Written before a block's upload, removed after the WAL segments it covers: `{"ulid", "walEnd"}`. */
  private shippingMarker(id: string): string {
    return path.join(this.opts.dir, id, 'shipping.json');
  }

  /**
   * A receiver stopped between a block's upload and the removal of the WAL segments it covers
   * would replay lines (and sampled-out counts) the bucket holds and ship them again. The marker
   * names the block being shipped and the first segment it does not cover: when that block's
   * meta.json is in the bucket the segments before are removed unreplayed, as the ship would
   * have. Otherwise (the upload did not finish, or the bucket cannot say) everything is replayed.
   */
  private async finishInterruptedShip(id: string): Promise<void> {
    const file = this.shippingMarker(id);
    let marker: { ulid?: unknown; walEnd?: unknown };
    try {
      marker = JSON.parse(await fsp.readFile(file, 'utf8')) as typeof marker;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT')
        this.opts.logger?.warn({ tenant: id, err: (e as Error).message }, 'log shipping marker unreadable; ignored');
      await fsp.rm(file, { force: true });
      return;
    }
    const bucket = this.opts.bucket;
    if (typeof marker.ulid !== 'string' || typeof marker.walEnd !== 'number' || !bucket?.exists) {
      await fsp.rm(file, { force: true });
      return;
    }
    let shipped: boolean;
    try {
      shipped = await bucket.exists(`${logBlocksPrefix(id)}${marker.ulid}/${LOG_META_FILE}`);
    } catch (e) {
      this.opts.logger?.warn(
        { tenant: id, err: (e as Error).message },
        'bucket not reachable to finish an interrupted log block ship; replaying the whole WAL',
      );
      return;
    }
    if (shipped) {
      const walDir = path.join(this.opts.dir, id, 'wal');
      for (const n of await listSegments(walDir)) if (n < marker.walEnd) await fsp.rm(path.join(walDir, segmentName(n)));
      this.opts.logger?.info({ tenant: id, block: marker.ulid }, 'log block was uploaded before the stop; its WAL segments removed');
    }
    await fsp.rm(file, { force: true });
  }

  private newGeneration(id: string): Generation {
    const head = new LogHead({
      compression: this.opts.compression,
      now: this.opts.now,
      onError: (e) => this.opts.logger?.error({ err: e, tenant: id }, 'log block compression failed; entries stay in the open block'),
    });
    return { head, sampled: new SampledOutTally(undefined, this.opts.now), inflight: new Set(), firstAtMs: undefined };
  }

  /** Cuts heads past the block range, ships what is cut, and forgets heads shipped long enough ago. */
  async tick(): Promise<void> {
    if (!this.opts.bucket) return;
    const range = this.opts.blockRangeMs ?? 2 * 3600_000;
    const now = this.now();
    for (const [id, t] of this.open) {
      const due = t.current.firstAtMs !== undefined && now - t.current.firstAtMs >= range;
      if (due || t.frozen.length > 0) await this.cutAndShip(id, due);
    }
  }

  /** Cuts the tenant's head now (if it holds anything) and ships every cut head not yet in the bucket. */
  flush(tenant: string): Promise<void> {
    return this.cutAndShip(tenant, true);
  }

  private cutAndShip(id: string, cut: boolean): Promise<void> {
    const t = this.open.get(id);
    // Without a bucket nothing is cut: the head and WAL keep everything.
    if (!t || !this.opts.bucket) return Promise.resolve();
    const run = (t.cutting ?? Promise.resolve()).then(() => this.doCutAndShip(id, t, cut));
    t.cutting = run.catch(() => undefined);
    return run;
  }

  private async doCutAndShip(id: string, t: TenantLogs, cut: boolean): Promise<void> {
    if (cut && (t.current.head.entries > 0 || !t.current.sampled.isEmpty())) {
      const old = t.current;
      // Synchronously with the rotation: a push logged before it lands in `old` and the old
      // segments, one logged after it in the new head and the new segment.
      t.current = this.newGeneration(id);
      t.frozen.push(old);
      const pos = t.wal.rotate();
      t.rotating = pos.catch(() => undefined);
      try {
        old.walEnd = (await pos).segment;
      } finally {
        t.rotating = undefined;
      }
      await Promise.allSettled([...old.inflight]);
    }
    const bucket = this.opts.bucket!;
    for (const g of t.frozen) {
      if (g.shippedAtMs !== undefined) continue;
      let built: ReturnType<typeof buildLogBlock>;
      try {
        // A failed compression puts entries back into the open block: such a head is not shipped
        // (its WAL would go with it) until a later try seals everything.
        await g.head.sealAll();
        if (g.head.allStreams().some((s) => s.open.count > 0 || s.sealing.length > 0))
          throw new Error('entries of the cut head are not all sealed');
        built = buildLogBlock(ulid(this.now()), g.head.allStreams(), g.sampled);
        if (built) {
          if (bucket.exists) await writeDurably(this.shippingMarker(id), JSON.stringify({ ulid: built.meta.ulid, walEnd: g.walEnd }));
          await uploadLogBlock(bucket, id, built);
          // In the same step as the upload's end: from now on the head's counts are the block's.
          g.ulid = built.meta.ulid;
        }
      } catch (e) {
        // Later heads wait for this one: WAL segments are removed in order.
        this.opts.logger?.warn(
          { tenant: id, err: (e as Error).message },
          'log block upload failed; its head and WAL stay and it is retried',
        );
        break;
      }
      g.shippedAtMs = this.now();
      await t.wal.removeSegmentsBefore(g.walEnd!);
      await fsp.rm(this.shippingMarker(id), { force: true });
      if (built) {
        this.opts.logger?.info({ tenant: id, block: built.meta.ulid, ...built.meta.stats }, 'log block uploaded');
        this.opts.onShipped?.(id, built.meta);
      }
    }
    const keep = this.opts.keepShippedMs ?? 0;
    const now = this.now();
    t.frozen = t.frozen.filter((g) => g.shippedAtMs === undefined || now - g.shippedAtMs < keep);
  }

  /** The tenant's head as validation sees it (streams and their newest entries), or an empty one. */
  state(tenant: string): StreamState {
    const t = this.open.get(tenant);
    const heads = t ? [...t.frozen.map((g) => g.head), t.current.head] : [];
    return {
      // Active streams are those of the head taking pushes, as Loki counts an ingester's in-memory streams.
      numStreams: t?.current.head.numStreams ?? 0,
      newest: (labels: Labels) => {
        let newest: bigint | undefined;
        for (const h of heads) {
          const s = h.stream(labels);
          if (s && (newest === undefined || s.maxTs > newest)) newest = s.maxTs;
        }
        return newest;
      },
    };
  }

  /**
   * Logs `rec` in the tenant's WAL, then applies it to the generation that was current when it
   * was enqueued; the cut waits for what is in flight (see doCutAndShip).
   */
  private async logThenApply(t: TenantLogs, rec: Buffer, apply: (gen: Generation) => void): Promise<void> {
    while (t.rotating) await t.rotating;
    // The generation is taken in the same synchronous step as the WAL enqueue (see doCutAndShip).
    const gen = t.current;
    const p = t.wal.log(rec).then(() => {
      apply(gen);
      gen.firstAtMs ??= this.now();
    });
    gen.inflight.add(p);
    try {
      await p;
    } finally {
      gen.inflight.delete(p);
    }
  }

  /**
   * Makes the streams durable, then visible; resolves once they are both. The head takes the
   * entries from the WAL record's bytes, so the pushed lines are garbage as soon as the record is
   * encoded rather than kept through the fsync (young-generation collections copied them).
   */
  async push(tenant: string, streams: readonly PushStream[]): Promise<void> {
    if (streams.length === 0) return;
    const t = await this.tenant(tenant);
    const rec = encodePushRecord(streams);
    const labels = streams.map((s) => s.labels);
    await this.logThenApply(t, rec, (gen) => gen.head.appendRecord(rec.subarray(PUSH_RECORD_PAYLOAD), labels));
  }

  tenantIds(): string[] {
    return [...this.open.keys()];
  }

  /** The head taking the tenant's pushes. */
  head(tenant: string): LogHead | undefined {
    return this.open.get(tenant)?.current.head;
  }

  /** Cut heads still in memory: not yet shipped, or shipped within keepShippedMs. */
  cutHeads(tenant: string): number {
    return this.open.get(tenant)?.frozen.length ?? 0;
  }

  /** The directory of the tenant's WAL. */
  walDir(tenant: string): string {
    return path.join(this.opts.dir, tenant, 'wal');
  }

  stats(): Record<string, LogHeadStats> {
    const out: Record<string, LogHeadStats> = {};
    for (const [id, t] of this.open) out[id] = t.current.head.stats();
    return out;
  }

  /**
   * Records what sampling left out of a push this receiver took, for query stats: logged in the
   * tenant's WAL (so a restart replays it), then counted in the head taking pushes, and cut with
   * it into its log block.
   */
  async recordSampledOut(tenant: string, tally: SampledOutTally): Promise<void> {
    if (tally.isEmpty()) return;
    await this.logThenApply(await this.tenant(tenant), encodeSampledOutRecord(tally.toStreams()), (gen) => gen.sampled.addAll(tally));
  }

  logQuerier(tenant: string): LogQuerier {
    const t = this.open.get(tenant);
    if (!t) return EMPTY;
    const gens = [...t.frozen, t.current];
    const stored = gens.length === 1 ? t.current.head : mergeLogQueriers(gens.map((g) => g.head));
    return withSampledOut(stored, gens);
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    for (const t of this.open.values()) {
      await t.cutting;
      for (const g of [...t.frozen, t.current]) await g.head.settle();
      await t.wal.close();
    }
    this.open.clear();
    this.tenants.clear();
  }
}

/** The heads' reads, with their sampled-out counts: a shipped head's under its block's ULID, so the block read beside it counts once. */
function withSampledOut(q: LogQuerier, gens: readonly Generation[]): LogQuerier {
  return {
    selectLogs: (m, h) => q.selectLogs(m, h),
    series: (m, h) => q.series(m, h),
    labelNames: (m, h) => q.labelNames(m, h),
    labelValues: (n, m, h) => q.labelValues(n, m, h),
    sampledOut: async (m, h) => {
      let out: SampledOutCount = { entries: 0, bytes: 0 };
      for (const g of gens) {
        const c = g.sampled.count(m, h.startNs, h.endNs);
        if (c.entries > 0) out = addSampledOut(out, g.ulid ? { entries: 0, bytes: 0, blocks: { [g.ulid]: c } } : c);
      }
      return out;
    },
  };
}

const EMPTY: LogQuerier = {
  selectLogs: async (): Promise<LogStreamEntries[]> => [],
  series: async (_m: readonly Matcher[], _h: LogSelectHints): Promise<Labels[]> => [],
  labelNames: async (): Promise<string[]> => [],
  labelValues: async (): Promise<string[]> => [],
};

/** Writes a small file and makes it and its directory entry durable. */
async function writeDurably(file: string, text: string): Promise<void> {
  const fh = await fsp.open(file, 'w');
  try {
    await fh.writeFile(text);
    await fh.sync();
  } finally {
    await fh.close();
  }
  const dir = await fsp.open(path.dirname(file), 'r');
  try {
    await dir.sync();
  } finally {
    await dir.close();
  }
}
