/**
 * The cursor of a live tail (Loki's /loki/api/v1/tail), for a tail that polls its sources.
 *
 * Strata's heads have no push channel to tailers: a tail asks its sources every poll for the
 * entries of a window [from, end) where end = now - delay_for, and remembers which entries it has
 * sent. Polls overlap: the next window starts `overlap` before the previous end (or at the last
 * timestamp read when a poll was cut by its batch bound), so an entry that becomes visible a
 * little after its timestamp (a push still waiting for its WAL fsync, a receiver answering late)
 * is still sent, and the entries sent whose timestamps fall in the overlap are remembered and
 * skipped (the dedup at the boundary). Each poll's new entries go out in timestamp order (ties by
 * stream labels); an entry later than that by more than the overlap is not sent, which is what
 * delay_for is for: it holds entries back that long, so late arrivals from other receivers are
 * merged in order.
 *
 * A poll returns at most `batch` new entries (it asks for batch plus the remembered ones, since
 * those come first in the window); a cut poll says so (`more`), and the tail polls again at once.
 * So that catching up does not read the whole backlog at every poll (a pipeline with parsers
 * reads every entry of its window), a cut poll also bounds the next windows' ends in time: to
 * twice the span of new entries the cut poll covered, doubling while polls are not cut, until a
 * window reaches the end asked for. Every window, capped or not, starts `overlap` before where the
 * previous one stopped reading.
 */
import type { Labels } from '@strata/model';
import type { LogQuerier } from '../types.js';
import type { LogExpr } from '../logql/ast.js';
import { evaluateLogql } from '../logql/engine.js';

/** One entry of a tail answer. */
export interface TailEntry {
  labels: Labels;
  timestampNs: bigint;
  line: string;
}

/** A stream of a query answer: each stream's entries ascending (what evaluateLogql returns for a log query). */
export interface TailStreamInput {
  labels: Labels;
  timestampsNs: readonly bigint[];
  lines: readonly string[];
}

export interface TailWindow {
  startNs: bigint;
  endNs: bigint;
  /** Entries to ask the query for (forward): the batch plus those of the window already sent, plus one. */
  limit: number;
  /** The window ends before the end asked for (catching up). */
  capped: boolean;
}

export interface TailPoll {
  /** New entries, in timestamp order. */
  entries: TailEntry[];
  /** The poll was cut by its limit: entries after the last one may be waiting. */
  more: boolean;
}

export interface TailCursorOptions {
  /** Where the tail starts (inclusive), ns. */
  startNs: bigint;
  /** New entries one poll reads at most. */
  batch: number;
  /** How far back from the previous window's end the next window starts, ns. */
  overlapNs: bigint;
  /** Entries of the overlap remembered at most; past this the overlap shrinks to the last timestamp read. */
  maxRemembered?: number;
}

/** Loki's bound of entries per tail message (its maxEntriesPerTailResponse). */
export const TAIL_MAX_ENTRIES_PER_MESSAGE = 100;
/** Loki's bound of dropped entries reported per tail message (its maxDroppedEntriesPerTailResponse). */
export const TAIL_MAX_DROPPED_PER_MESSAGE = 1000;

/**
 * The entries sent whose timestamps are at or after the next window's start, by timestamp: each
 * a stream's key and the line, compared in place (no key string is built per entry read).
 */
class SentSet {
  private readonly byTs = new Map<bigint, string[]>();
  size = 0;

  has(ts: bigint, streamKey: string, line: string): boolean {
    const l = this.byTs.get(ts);
    if (!l) return false;
    for (let i = 0; i < l.length; i += 2) if (l[i] === streamKey && l[i + 1] === line) return true;
    return false;
  }

  add(ts: bigint, streamKey: string, line: string): void {
    const l = this.byTs.get(ts);
    if (l) l.push(streamKey, line);
    else this.byTs.set(ts, [streamKey, line]);
    this.size++;
  }

  /** Forgets the entries before `ts`. */
  pruneBefore(ts: bigint): void {
    for (const [t, l] of this.byTs)
      if (t < ts) {
        this.byTs.delete(t);
        this.size -= l.length / 2;
      }
  }
}

export class TailCursor {
  /** Where the next window starts: `overlap` before readTo (never before the tail's start). */
  private fromNs: bigint;
  /** Every entry before this was in a window read whole (or was cut at this timestamp). */
  private readToNs: bigint;
  /** Entries sent whose timestamps are at or after `fromNs`. */
  private readonly sent = new SentSet();
  private readonly maxRemembered: number;
  /** While catching up: how long the next window may be, ns. */
  private spanNs: bigint | undefined;

  constructor(private readonly opts: TailCursorOptions) {
    this.fromNs = opts.startNs;
    this.readToNs = opts.startNs;
    this.maxRemembered = opts.maxRemembered ?? 8 * opts.batch;
  }

  /** The next window to read, or undefined when it would be empty (end not past its start). */
  window(endNs: bigint, batch = this.opts.batch): TailWindow | undefined {
    let end = endNs;
    let capped = false;
    if (this.spanNs !== undefined && this.readToNs + this.spanNs < endNs) {
      end = this.readToNs + this.spanNs;
      capped = true;
    }
    if (end <= this.fromNs) return undefined;
    // One more than needed: a window holding exactly that many is not taken for a cut one.
    return { startNs: this.fromNs, endNs: end, limit: batch + this.sent.size + 1, capped };
  }

  /**
   * Takes a poll's answer over `w`: returns the entries not sent before, in timestamp order, and
   * moves the cursor. `streams` must be the answer of a forward query over w with w.limit.
   */
  accept(w: TailWindow, streams: readonly TailStreamInput[]): TailPoll {
    let total = 0;
    for (const s of streams) total += s.lines.length;
    const all: TailEntry[] = new Array<TailEntry>(total);
    let n = 0;
    for (const s of streams)
      for (let i = 0; i < s.lines.length; i++) all[n++] = { labels: s.labels, timestampNs: s.timestampsNs[i], line: s.lines[i] };
    all.sort(compareEntries);
    // Cut: more than the batch is waiting. The extra entry asked for is left to the next poll.
    const cut = total >= w.limit && total > 0;
    if (cut) all.length = Math.max(1, w.limit - 1);
    const fresh: TailEntry[] = [];
    for (let i = 0; i < all.length; i++) {
      const e = all[i];
      if (!this.sent.has(e.timestampNs, e.labels.key(), e.line)) fresh.push(e);
    }
    for (const e of fresh) this.sent.add(e.timestampNs, e.labels.key(), e.line);
    // Read up to: the last timestamp read when cut (entries of that timestamp may be left), else
    // the window's end. The next window starts `overlap` before it.
    const readTo = cut ? all[all.length - 1].timestampNs : w.endNs;
    if (cut) {
      // The new entries of this poll covered [previous readTo, readTo]: the next windows are
      // bounded to twice that, so a backlog is read about a batch at a time.
      const span = readTo - (this.readToNs > w.startNs ? this.readToNs : w.startNs);
      this.spanNs = 2n * (span > 0n ? span : 1n);
    } else if (w.capped) this.spanNs = 2n * this.spanNs!;
    else this.spanNs = undefined;
    let next = readTo - this.opts.overlapNs;
    if (next < this.fromNs) next = this.fromNs;
    if (readTo > this.readToNs) this.readToNs = readTo;
    this.sent.pruneBefore(next);
    if (this.sent.size > this.maxRemembered && all.length > 0) {
      // Too many to remember: the overlap shrinks to the last timestamp read.
      const last = all[all.length - 1].timestampNs;
      if (last > next) {
        next = last;
        this.sent.pruneBefore(next);
      }
    }
    this.fromNs = next;
    return { entries: fresh, more: cut || w.capped };
  }

  /** Starts the next window at `startNs` (later than the current start), forgetting what was sent before it. */
  skipTo(startNs: bigint): void {
    if (startNs <= this.fromNs) return;
    this.fromNs = startNs;
    if (this.readToNs < startNs) this.readToNs = startNs;
    this.spanNs = undefined;
    this.sent.pruneBefore(startNs);
  }

  /** Entries remembered for the dedup (for tests and bounds). */
  get rememberedCount(): number {
    return this.sent.size;
  }

  get startNs(): bigint {
    return this.fromNs;
  }
}

/**
 * One poll of a tail: the query over the cursor's next window up to `endNs` (now - delay_for),
 * forward, and the entries not sent before, in timestamp order.
 */
export async function pollTail(
  expr: LogExpr,
  q: LogQuerier,
  cursor: TailCursor,
  endNs: bigint,
  opts: { signal?: AbortSignal; batch?: number } = {},
): Promise<TailPoll> {
  const w = cursor.window(endNs, opts.batch);
  const signal = opts.signal;
  if (!w) return { entries: [], more: false };
  const r = await evaluateLogql(expr, q, { startNs: w.startNs, endNs: w.endNs, stepNs: 0n, limit: w.limit, direction: 'forward', signal });
  return cursor.accept(w, r.type === 'streams' ? r.streams : []);
}

function compareEntries(a: TailEntry, b: TailEntry): number {
  if (a.timestampNs !== b.timestampNs) return a.timestampNs < b.timestampNs ? -1 : 1;
  const ka = a.labels.key();
  const kb = b.labels.key();
  return ka < kb ? -1 : ka > kb ? 1 : 0;
}

/** A dropped entry as Loki reports it: the stream's labels and the entry's timestamp. */
export interface TailDropped {
  labels: Labels;
  timestampNs: bigint;
}

/**
 * One tail message as Loki's loghttp.TailResponse encodes it: `streams` (consecutive entries of
 * one stream grouped, so the entries stay in timestamp order across streams) and
 * `dropped_entries`, each left out when empty.
 */
export function tailMessage(entries: readonly TailEntry[], dropped: readonly TailDropped[] = []): string {
  const msg: { streams?: unknown[]; dropped_entries?: unknown[] } = {};
  if (entries.length > 0) {
    const streams: { stream: Record<string, string>; values: [string, string][] }[] = [];
    let prevKey: string | undefined;
    for (const e of entries) {
      const k = e.labels.key();
      if (k !== prevKey) {
        streams.push({ stream: labelsObject(e.labels), values: [] });
        prevKey = k;
      }
      streams[streams.length - 1].values.push([e.timestampNs.toString(), e.line]);
    }
    msg.streams = streams;
  }
  if (dropped.length > 0)
    msg.dropped_entries = dropped.map((d) => ({ timestamp: d.timestampNs.toString(), labels: labelsObject(d.labels) }));
  return JSON.stringify(msg);
}

function labelsObject(l: Labels): Record<string, string> {
  const o: Record<string, string> = {};
  for (let i = 0; i < l.pairs.length; i += 2) o[l.pairs[i]] = l.pairs[i + 1];
  return o;
}
