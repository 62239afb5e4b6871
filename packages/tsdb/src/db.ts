/**
 * The multi-tenant TSDB: one head + WAL per tenant under <dir>/tenants/<tenant>/. Opening it
 * replays every existing tenant, so "open" means "ready to serve what was acknowledged".
 */
import fsp from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from 'pino';
import type { Labels, Matcher, Querier, Queryable, SelectHints, Series } from '@strata/model';
import { type Appender, type HeadOptions, type HeadStats, type TenantStorage } from './api.js';
import { HeadAppender } from './head/appender.js';
import { Head } from './head/head.js';
import { loadSnapshot, writeSnapshot } from './head/snapshot.js';
import { decodeSeries, forEachSample, RECORD_SAMPLES, RECORD_SERIES } from './wal/records.js';
import { WAL, type FsyncMode, type ReplayStats } from './wal/wal.js';

export interface TSDBOptions {
  dir: string;
  fsync: FsyncMode;
  head: HeadOptions;
  blockDurationMs?: number;
  walSegmentBytes?: number;
  logger?: Logger;
  onFsync?: (seconds: number) => void;
}

const SNAPSHOT = 'snapshot';

export class TenantDB implements TenantStorage {
  private closed = false;

  private constructor(
    readonly tenant: string,
    readonly dir: string,
    readonly head: Head,
    readonly wal: WAL,
    readonly replay: ReplayStats & { fromSnapshot: boolean },
  ) {}

  static async open(tenant: string, dir: string, opts: TSDBOptions): Promise<TenantDB> {
    await fsp.mkdir(dir, { recursive: true });
    const head = new Head({ ...opts.head, blockDurationMs: opts.blockDurationMs });
    const snap = await loadSnapshot(path.join(dir, SNAPSHOT), head);
    let from;
    if (snap && 'error' in snap) {
      opts.logger?.warn({ tenant, error: snap.error }, 'head snapshot unusable; replaying the whole WAL');
    } else from = snap;
    const headForReplay = from ? head : new Head({ ...opts.head, blockDurationMs: opts.blockDurationMs });
    const onRecord = (type: number, payload: Buffer) => {
      if (type === RECORD_SERIES) {
        const { ref, labels } = decodeSeries(payload);
        headForReplay.create(ref, labels);
      } else if (type === RECORD_SAMPLES) {
        forEachSample(payload, (ref, t, hi, lo) => {
          const s = headForReplay.get(ref);
          // Every logged sample was accepted: apply it as commit() did (see Head.applyLogged).
          if (s) headForReplay.applyLogged(s, t, hi, lo);
        });
      }
    };
    const { wal, stats } = await WAL.open(path.join(dir, 'wal'), { fsync: opts.fsync, segmentBytes: opts.walSegmentBytes, logger: opts.logger, onFsync: opts.onFsync }, onRecord, from);
    opts.logger?.info({ tenant, ...stats, fromSnapshot: !!from, series: headForReplay.numSeries }, 'tenant head loaded');
    return new TenantDB(tenant, dir, headForReplay, wal, { ...stats, fromSnapshot: !!from });
  }

  appender(): Appender {
    return new HeadAppender(this.head, this.wal);
  }

  querier(): Querier {
    return this.head.querier();
  }

  stats(): HeadStats {
    return this.head.stats();
  }

  setMaxSeries(n: number): void {
    this.head.setMaxSeries(n);
  }

  /**
   * Clean shutdown: a snapshot covering the whole WAL so the next start replays nothing. The WAL
   * segments stay until blocks cover them, so a damaged snapshot only costs a full replay.
   */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const pos = await this.wal.rotate();
    await writeSnapshot(path.join(this.dir, SNAPSHOT), this.head, pos);
    await this.wal.close();
  }
}

export class TSDB {
  private readonly tenantsById = new Map<string, Promise<TenantDB>>();
  private readonly open_ = new Map<string, TenantDB>();

  private constructor(private readonly opts: TSDBOptions) {}

  static async open(opts: TSDBOptions): Promise<TSDB> {
    const db = new TSDB(opts);
    const tenantsDir = path.join(opts.dir, 'tenants');
    await fsp.mkdir(tenantsDir, { recursive: true });
    // Replay every tenant before reporting ready: ready means every acknowledged sample is served.
    for (const t of await fsp.readdir(tenantsDir)) await db.tenant(t);
    return db;
  }

  tenant(id: string): Promise<TenantDB> {
    let p = this.tenantsById.get(id);
    if (!p) {
      p = TenantDB.open(id, path.join(this.opts.dir, 'tenants', id), this.opts).then((t) => {
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

  /** An open tenant, without opening it. */
  openTenant(id: string): TenantDB | undefined {
    return this.open_.get(id);
  }

  queryable(): Queryable {
    return { querier: (tenant: string) => this.open_.get(tenant)?.querier() ?? EMPTY_QUERIER };
  }

  async close(): Promise<void> {
    await Promise.all([...this.open_.values()].map((t) => t.close()));
  }
}

const EMPTY_QUERIER: Querier = {
  select: async (_m: readonly Matcher[], _h: SelectHints): Promise<Series[]> => [],
  series: async (): Promise<Labels[]> => [],
  labelNames: async (): Promise<string[]> => [],
  labelValues: async (): Promise<string[]> => [],
};
