/**
 * Every tenant's logs on one receiver: a head per tenant behind a WAL of its own
 * (<dir>/<tenant>/wal, as the metrics TSDB keeps a directory per tenant). A push is appended to
 * the head only after its WAL record is fsynced (group commit shared by concurrent pushes), so
 * whatever was acknowledged is replayed after a crash. Implements LogQueryable.
 */
import fsp from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from 'pino';
import { checkTenantId, type Labels, type Matcher } from '@strata/model';
import { WAL, type FsyncMode } from '@strata/tsdb';
import type { LogQuerier, LogQueryable, LogSelectHints, LogStreamEntries } from '../types.js';
import type { PushStream } from '../push/push-stream.js';
import type { BlockCompression } from '../chunk/block-codec.js';
import { LogHead, type LogHeadStats } from '../head/log-head.js';
import type { StreamState } from '../ingest/validate.js';
import { decodePushRecord, encodePushRecord, RECORD_LOG_PUSH } from './wal-record.js';

export interface LogStoreOptions {
  dir: string;
  fsync: FsyncMode;
  compression?: BlockCompression;
  logger?: Logger;
  onFsync?: (seconds: number) => void;
  /** How often open blocks are checked for the age cut (ms); 0 = never (tests). */
  cutIntervalMs?: number;
  now?: () => number;
}

interface TenantLogs {
  head: LogHead;
  wal: WAL;
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
        for (const t of store.open.values()) t.head.cutIdle();
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
    const head = new LogHead({
      compression: this.opts.compression,
      now: this.opts.now,
      onError: (e) => this.opts.logger?.error({ err: e, tenant: id }, 'log block compression failed; entries stay in the open block'),
    });
    const t0 = Date.now();
    const { wal, stats } = await WAL.open(
      path.join(this.opts.dir, id, 'wal'),
      { fsync: this.opts.fsync, logger: this.opts.logger, onFsync: this.opts.onFsync },
      (type, payload) => {
        if (type !== RECORD_LOG_PUSH) return;
        for (const s of decodePushRecord(payload)) head.append(s.labels, s.timestampsNs, s.lines, s.metadata);
      },
    );
    if (stats.records > 0) {
      this.opts.logger?.info(
        { tenant: id, records: stats.records, entries: head.entries, streams: head.numStreams, seconds: (Date.now() - t0) / 1000 },
        'log WAL replayed',
      );
    }
    const t = { head, wal };
    this.open.set(id, t);
    return t;
  }

  /** The tenant's head as validation sees it (streams and their newest entries), or an empty one. */
  state(tenant: string): StreamState {
    const head = this.open.get(tenant)?.head;
    return {
      numStreams: head?.numStreams ?? 0,
      newest: (labels: Labels) => {
        const s = head?.stream(labels);
        return s ? s.maxTs : undefined;
      },
    };
  }

  /** Makes the streams durable, then visible; resolves once they are both. */
  async push(tenant: string, streams: readonly PushStream[]): Promise<void> {
    if (streams.length === 0) return;
    const t = await this.tenant(tenant);
    await t.wal.log(encodePushRecord(streams));
    for (const s of streams) t.head.append(s.labels, s.timestampsNs, s.lines, s.metadata);
  }

  tenantIds(): string[] {
    return [...this.open.keys()];
  }

  head(tenant: string): LogHead | undefined {
    return this.open.get(tenant)?.head;
  }

  stats(): Record<string, LogHeadStats> {
    const out: Record<string, LogHeadStats> = {};
    for (const [id, t] of this.open) out[id] = t.head.stats();
    return out;
  }

  logQuerier(tenant: string): LogQuerier {
    const head = this.open.get(tenant)?.head;
    return head ?? EMPTY;
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    for (const t of this.open.values()) {
      await t.head.settle();
      await t.wal.close();
    }
    this.open.clear();
    this.tenants.clear();
  }
}

const EMPTY: LogQuerier = {
  selectLogs: async (): Promise<LogStreamEntries[]> => [],
  series: async (_m: readonly Matcher[], _h: LogSelectHints): Promise<Labels[]> => [],
  labelNames: async (): Promise<string[]> => [],
  labelValues: async (): Promise<string[]> => [],
};
