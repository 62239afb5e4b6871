/**
 * Late-data notices for query frontends in other processes (GET /internal/late-data,
 * docs/format/late-data.md).
 *
 * A query frontend caches answers for steps older than its freshness window and invalidates them
 * by (tenant, time range) when data lands there (its cache generations). In `strata all` the
 * receiver tells the frontend directly; a standalone frontend polls this endpoint instead, on the
 * queriers in front of it, which relay it merged over their receivers.
 *
 * A receiver keeps the notices (tenant, minTime, maxTime) in a bounded in-memory log, numbered
 * from 1, under an epoch drawn at process start. A reader passes back the `cursor` of its last
 * answer and gets the notices after it. When the answer cannot be complete (no cursor yet,
 * another epoch: the process restarted, or a cursor older than the log still holds), it says
 * `reset`: the reader must treat the whole history of every tenant as changed, then go on from
 * the returned cursor. An answer holds at most a bounded number of notices; `more` says the
 * reader should ask again at once.
 *
 * The cursor is opaque to the reader: a receiver's is `<epoch>.<sequence>`; a querier's names a
 * cursor per receiver (see the querier's late-data relay). Every answer has the same shape:
 *   {"status":"success","data":{"cursor":"...","reset":false,"more":false,"bumps":[["tenant",minMs,maxMs],...]}}
 */
import { randomBytes } from 'node:crypto';
import { readParams } from './params.js';
import { sendError, sendResult, success } from './respond.js';
import type { Router } from './router.js';

export const LATE_DATA_PATH = '/internal/late-data';

/** One notice: samples of `tenant` in [minTime, maxTime] (ms) changed after the fact. */
export type LateDataBump = [tenant: string, minTime: number, maxTime: number];

export interface LateDataAnswer {
  cursor: string;
  reset: boolean;
  more: boolean;
  bumps: LateDataBump[];
}

/** Notices one answer holds at most. */
export const LATE_DATA_ANSWER_LIMIT = 10_000;

/**
 * The query parameter a reader names its freshness window in (milliseconds, its
 * --query-frontend.max-cache-freshness): it caches answers for steps older than that, so samples
 * older than that which land later must be noticed.
 */
export const LATE_DATA_FRESHNESS_PARAM = 'freshness_ms';

/** A reader's freshness counts this long after its last poll (a frontend gone stops lowering it). */
const READER_FRESHNESS_TTL_MS = 10 * 60_000;
/** Distinct freshness windows remembered at most (readers seldom differ; a hostile caller cannot grow it). */
const MAX_READER_WINDOWS = 16;

export class LateDataLog {
  readonly epoch: string;
  private readonly tenants: string[];
  private readonly mins: Float64Array;
  private readonly maxs: Float64Array;
  /** Sequence number of the newest notice (0: none yet); notice s sits at (s - 1) % capacity. */
  private last = 0;

  constructor(
    readonly capacity = 65_536,
    epoch = randomBytes(8).toString('hex'),
  ) {
    if (!(capacity >= 1)) throw new Error('late-data log capacity must be at least 1');
    if (epoch.includes('.')) throw new Error('late-data epoch must not contain "."');
    this.epoch = epoch;
    this.tenants = new Array<string>(capacity);
    this.mins = new Float64Array(capacity);
    this.maxs = new Float64Array(capacity);
  }

  /** Freshness windows readers named (ms) → when last named. */
  private readonly readerWindows = new Map<number, number>();

  /**
   * A reader polls with its freshness window: until it has not for a while, samples older than the
   * smallest such window are late, even where the writer's own setting is longer. So a frontend
   * caching more recent steps than the receivers were told (--query-frontend.max-cache-freshness
   * set on the frontends only) still hears of every sample landing in what it cached.
   */
  noteReaderFreshness(ms: number, now = Date.now()): void {
    if (!(ms >= 0) || !Number.isFinite(ms)) return;
    this.readerWindows.delete(ms);
    this.readerWindows.set(ms, now);
    // Forget the longest window first: a longer window never lowers the threshold.
    if (this.readerWindows.size > MAX_READER_WINDOWS) this.readerWindows.delete(Math.max(...this.readerWindows.keys()));
  }

  /** Samples older than this many ms before now are late: the writer's own window, or a reader's shorter one. */
  lateAfterMs(ownMs: number, now = Date.now()): number {
    let ms = ownMs;
    for (const [w, at] of this.readerWindows) {
      if (now - at > READER_FRESHNESS_TTL_MS) this.readerWindows.delete(w);
      else if (w < ms) ms = w;
    }
    return ms;
  }

  /** Sequence number of the oldest notice still held. */
  private get first(): number {
    return Math.max(1, this.last - this.capacity + 1);
  }

  add(tenant: string, minTime: number, maxTime: number): void {
    const i = this.last % this.capacity;
    this.tenants[i] = tenant;
    this.mins[i] = minTime;
    this.maxs[i] = maxTime;
    this.last++;
  }

  /** The notices after `cursor` (a previous answer's), at most `limit` of them. */
  read(cursor: string | undefined, limit = LATE_DATA_ANSWER_LIMIT): LateDataAnswer {
    const since = this.sinceOf(cursor);
    if (since === undefined) return { cursor: this.cursorAt(this.last), reset: true, more: false, bumps: [] };
    const until = Math.min(this.last, since + Math.max(1, limit));
    const bumps: LateDataBump[] = [];
    for (let s = since + 1; s <= until; s++) {
      const i = (s - 1) % this.capacity;
      bumps.push([this.tenants[i], this.mins[i], this.maxs[i]]);
    }
    return { cursor: this.cursorAt(until), reset: false, more: until < this.last, bumps };
  }

  private cursorAt(seq: number): string {
    return `${this.epoch}.${seq}`;
  }

  /** The last sequence number the reader has, or undefined when it cannot be served from here. */
  private sinceOf(cursor: string | undefined): number | undefined {
    if (!cursor) return undefined;
    const dot = cursor.lastIndexOf('.');
    if (dot < 0 || cursor.slice(0, dot) !== this.epoch) return undefined;
    const seq = Number(cursor.slice(dot + 1));
    // From the future (not ours), or trimmed: notices after it are lost.
    if (!Number.isInteger(seq) || seq > this.last || seq < this.first - 1) return undefined;
    return seq;
  }
}

/** Serves `log` on GET /internal/late-data?cursor=&freshness_ms=. */
export function mountLateDataApi(router: Router, log: LateDataLog): void {
  router.add('GET', LATE_DATA_PATH, async (req, res) => {
    try {
      const params = await readParams(req);
      const freshness = params.get(LATE_DATA_FRESHNESS_PARAM);
      if (freshness !== null) log.noteReaderFreshness(Number(freshness));
      sendResult(res, success(log.read(params.get('cursor') ?? undefined)));
    } catch (e) {
      sendError(res, e);
    }
  });
}

/** The answer in a late-data response body, or undefined when it is not one. */
export function decodeLateDataAnswer(body: unknown): LateDataAnswer | undefined {
  const d = (body as { status?: unknown; data?: Partial<LateDataAnswer> } | null)?.data;
  if ((body as { status?: unknown })?.status !== 'success' || !d || typeof d !== 'object') return undefined;
  if (typeof d.cursor !== 'string' || typeof d.reset !== 'boolean' || typeof d.more !== 'boolean' || !Array.isArray(d.bumps))
    return undefined;
  for (const b of d.bumps)
    if (!Array.isArray(b) || typeof b[0] !== 'string' || typeof b[1] !== 'number' || typeof b[2] !== 'number') return undefined;
  return d as LateDataAnswer;
}

/** The path of a late-data request after `cursor` (none: the first) by a reader with freshness window `freshnessMs`. */
export function lateDataPath(cursor: string | undefined, freshnessMs: number | undefined): string {
  const q = new URLSearchParams();
  if (cursor) q.set('cursor', cursor);
  if (freshnessMs !== undefined) q.set(LATE_DATA_FRESHNESS_PARAM, String(freshnessMs));
  const qs = q.toString();
  return qs ? `${LATE_DATA_PATH}?${qs}` : LATE_DATA_PATH;
}
