/**
 * What log sampling left out, kept so queries can say so: per tenant stream, lines and bytes
 * dropped per minute of the entries' own timestamps. A query's stats then report the dropped
 * lines of the streams it selects in the minutes its range overlaps (docs/format/logs.md).
 *
 * The receiver that sampled a push tallies it (sampling happens once, where the client's push
 * entered, so summing over receivers counts each line once): in its log head, through the log WAL,
 * and then in the log block the head is cut into. A block's counts travel keyed by its ULID, so a
 * block several sources read (gateways sharing blocks, a querier's own bucket beside a gateway,
 * the head kept a while after it was shipped) counts once, and a compacted block's counts replace
 * those of the sources it holds.
 */
import { Labels, matchesAll, type Matcher } from '@strata/model';

export interface SampledOutCount {
  /** Counts outside any log block (heads not yet shipped). */
  entries: number;
  bytes: number;
  /** Counts kept in log blocks (or in the head a block was cut from), by block ULID. */
  blocks?: Record<string, SampledOutBlockCount>;
}

export interface SampledOutBlockCount {
  entries: number;
  bytes: number;
  /** A compacted block's shipped sources (meta.json compaction.sources); absent for a shipped block. */
  sources?: string[];
}

/** One stream's minutes as blocks and WAL records hold them: [minute (Unix ns / 1 min), entries, bytes]. */
export interface SampledOutStream {
  labels: Labels;
  minutes: [number, number, number][];
}

const MINUTE_NS = 60_000_000_000n;
/** A day of minutes by default: what queries of recent logs look at. */
const DEFAULT_KEEP_MS = 24 * 3600_000;

interface StreamTally {
  labels: Labels;
  /** Minute index (timestamp / 1 min) -> [entries, bytes]. */
  minutes: Map<number, [number, number]>;
}

export class SampledOutTally {
  private readonly streams = new Map<string, StreamTally>();

  constructor(
    private readonly keepMs = DEFAULT_KEEP_MS,
    private readonly now: () => number = Date.now,
  ) {}

  add(labels: Labels, tsNs: bigint, bytes: number): void {
    this.addMinute(labels, minuteOf(tsNs), 1, bytes);
  }

  /** Adds `entries` lines of `bytes` to one minute of a stream. */
  addMinute(labels: Labels, minute: number, entries: number, bytes: number): void {
    const k = labels.key();
    let s = this.streams.get(k);
    if (!s) this.streams.set(k, (s = { labels, minutes: new Map() }));
    const c = s.minutes.get(minute);
    if (c) {
      c[0] += entries;
      c[1] += bytes;
    } else s.minutes.set(minute, [entries, bytes]);
  }

  /** Adds every count of another tally or a block's (or of a record's streams). */
  addAll(from: { toStreams(): SampledOutStream[] } | Iterable<SampledOutStream>): void {
    for (const s of Symbol.iterator in from ? from : from.toStreams()) for (const [m, n, b] of s.minutes) this.addMinute(s.labels, m, n, b);
  }

  isEmpty(): boolean {
    return this.streams.size === 0;
  }

  /** Every stream's minutes, streams sorted by labels and minutes ascending (the stored order). */
  toStreams(): SampledOutStream[] {
    return [...this.streams.values()]
      .sort((a, b) => Labels.compare(a.labels, b.labels))
      .map((s) => ({ labels: s.labels, minutes: [...s.minutes].sort((a, b) => a[0] - b[0]).map(([m, [n, b]]) => [m, n, b]) }));
  }

  /** Lines and bytes dropped from streams the matchers select, in minutes overlapping [startNs, endNs). */
  count(matchers: readonly Matcher[], startNs: bigint, endNs: bigint): SampledOutCount {
    const out = { entries: 0, bytes: 0 };
    const first = minuteOf(startNs);
    // The minute holding endNs - 1: the last one the exclusive end overlaps.
    const last = minuteOf(endNs - 1n);
    for (const s of this.streams.values()) {
      if (!matchesAll(matchers, (n: string) => s.labels.get(n))) continue;
      for (const [m, [n, b]] of s.minutes)
        if (m >= first && m <= last) {
          out.entries += n;
          out.bytes += b;
        }
    }
    return out;
  }

  /** Forgets minutes older than keepMs, and streams left with none. */
  prune(): void {
    const oldest = Math.floor((this.now() - this.keepMs) / 60_000);
    for (const [k, s] of this.streams) {
      for (const m of s.minutes.keys()) if (m < oldest) s.minutes.delete(m);
      if (s.minutes.size === 0) this.streams.delete(k);
    }
  }
}

/**
 * A log block's counts as a store keeps them loaded: read-only and compact (three float columns
 * over every stream's minutes, no object per minute), with running sums so a window's count is
 * two binary searches per matching stream.
 */
export class BlockSampledOut {
  /** The first and last minute counted (Infinity and -Infinity when empty). */
  readonly firstMinute: number;
  readonly lastMinute: number;

  private constructor(
    private readonly labels: readonly Labels[],
    /** Stream i's minutes are at [starts[i], starts[i + 1]). */
    private readonly starts: Uint32Array,
    private readonly minutes: Float64Array,
    /** Running sums over all minutes: sum of minutes [a, b) = cum[b] - cum[a]. */
    private readonly cumEntries: Float64Array,
    private readonly cumBytes: Float64Array,
  ) {
    let lo = Infinity;
    let hi = -Infinity;
    for (let i = 0; i < labels.length; i++) {
      if (starts[i] === starts[i + 1]) continue;
      lo = Math.min(lo, minutes[starts[i]]);
      hi = Math.max(hi, minutes[starts[i + 1] - 1]);
    }
    this.firstMinute = lo;
    this.lastMinute = hi;
  }

  static of(streams: readonly SampledOutStream[]): BlockSampledOut {
    let total = 0;
    for (const s of streams) total += s.minutes.length;
    const starts = new Uint32Array(streams.length + 1);
    const minutes = new Float64Array(total);
    const cumEntries = new Float64Array(total + 1);
    const cumBytes = new Float64Array(total + 1);
    let k = 0;
    streams.forEach((s, i) => {
      starts[i] = k;
      const sorted = s.minutes.every((m, j) => j === 0 || s.minutes[j - 1][0] < m[0]) ? s.minutes : mergedMinutes(s.minutes);
      for (const [m, n, b] of sorted) {
        minutes[k] = m;
        cumEntries[k + 1] = cumEntries[k] + n;
        cumBytes[k + 1] = cumBytes[k] + b;
        k++;
      }
    });
    starts[streams.length] = k;
    return new BlockSampledOut(
      streams.map((s) => s.labels),
      starts,
      minutes.subarray(0, k),
      cumEntries.subarray(0, k + 1),
      cumBytes.subarray(0, k + 1),
    );
  }

  isEmpty(): boolean {
    return this.minutes.length === 0;
  }

  /** Lines and bytes dropped from streams the matchers select, in minutes overlapping [startNs, endNs). */
  count(matchers: readonly Matcher[], startNs: bigint, endNs: bigint): SampledOutCount {
    const out = { entries: 0, bytes: 0 };
    const first = minuteOf(startNs);
    const last = minuteOf(endNs - 1n);
    if (last < this.firstMinute || first > this.lastMinute) return out;
    for (let i = 0; i < this.labels.length; i++) {
      const l = this.labels[i];
      if (!matchesAll(matchers, (n: string) => l.get(n))) continue;
      const a = this.lowerBound(this.starts[i], this.starts[i + 1], first);
      const b = this.lowerBound(a, this.starts[i + 1], last + 1);
      out.entries += this.cumEntries[b] - this.cumEntries[a];
      out.bytes += this.cumBytes[b] - this.cumBytes[a];
    }
    return out;
  }

  toStreams(): SampledOutStream[] {
    return this.labels.map((labels, i) => {
      const minutes: [number, number, number][] = [];
      for (let k = this.starts[i]; k < this.starts[i + 1]; k++)
        minutes.push([this.minutes[k], this.cumEntries[k + 1] - this.cumEntries[k], this.cumBytes[k + 1] - this.cumBytes[k]]);
      return { labels, minutes };
    });
  }

  /** The first index in [lo, hi) whose minute is >= m (hi when none). */
  private lowerBound(lo: number, hi: number, m: number): number {
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.minutes[mid] < m) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
}

/** Minutes sorted ascending, a minute given twice summed. */
function mergedMinutes(rows: readonly [number, number, number][]): [number, number, number][] {
  const by = new Map<number, [number, number]>();
  for (const [m, n, b] of rows) {
    const c = by.get(m);
    if (c) {
      c[0] += n;
      c[1] += b;
    } else by.set(m, [n, b]);
  }
  return [...by].sort((a, b) => a[0] - b[0]).map(([m, [n, b]]) => [m, n, b]);
}

/** The minute (Unix ns / 1 min, rounded down) holding a timestamp. */
export function minuteOf(tsNs: bigint): number {
  const q = tsNs / MINUTE_NS;
  return Number(tsNs < 0n && q * MINUTE_NS !== tsNs ? q - 1n : q);
}

/** Joins two counts (a query's selectors, a merge's sources): heads' counts add up, a block's are kept once. */
export function addSampledOut(a: SampledOutCount, b: SampledOutCount): SampledOutCount {
  const out: SampledOutCount = { entries: a.entries + b.entries, bytes: a.bytes + b.bytes };
  if (a.blocks || b.blocks) out.blocks = { ...a.blocks, ...b.blocks };
  return out;
}

/**
 * The lines and bytes a count stands for: the heads' part plus each block's, leaving out a block
 * whose shipped sources another block of the count holds too (a compacted block and its sources
 * side by side until they are deleted; of two with the same sources, the greater ULID is kept).
 */
export function sampledOutTotal(c: SampledOutCount): { entries: number; bytes: number } {
  let entries = c.entries;
  let bytes = c.bytes;
  const blocks = Object.entries(c.blocks ?? {});
  if (blocks.length === 0) return { entries, bytes };
  const srcs = new Map(blocks.map(([id, b]) => [id, new Set(b.sources?.length ? b.sources : [id])]));
  // Per shipped source, the blocks holding it: the only candidates to cover a block holding it.
  const holders = new Map<string, string[]>();
  for (const [id, set] of srcs)
    for (const u of set) {
      const h = holders.get(u);
      if (h) h.push(id);
      else holders.set(u, [id]);
    }
  const covered = (id: string): boolean => {
    const mine = srcs.get(id)!;
    const first = mine.values().next().value as string;
    return holders.get(first)!.some((other) => {
      if (other === id) return false;
      const theirs = srcs.get(other)!;
      if (theirs.size < mine.size || (theirs.size === mine.size && other < id)) return false;
      for (const u of mine) if (!theirs.has(u)) return false;
      return true;
    });
  };
  for (const [id, b] of blocks) {
    if (covered(id)) continue;
    entries += b.entries;
    bytes += b.bytes;
  }
  return { entries, bytes };
}
