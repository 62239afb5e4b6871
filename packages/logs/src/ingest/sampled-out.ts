/**
 * What log sampling left out, kept so queries can say so: per tenant stream, lines and bytes
 * dropped per minute of the entries' own timestamps. A query's stats then report the dropped
 * lines of the streams it selects in the minutes its range overlaps (docs/format/logs.md).
 *
 * Held in memory by the receiver that sampled (sampling happens once, where the client's push
 * entered, so summing over receivers counts each line once); minutes older than `keepMs` are
 * forgotten so memory stays bounded by streams x minutes kept.
 */
import { matchesAll, type Labels, type Matcher } from '@strata/model';

export interface SampledOutCount {
  entries: number;
  bytes: number;
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
    const k = labels.key();
    let s = this.streams.get(k);
    if (!s) this.streams.set(k, (s = { labels, minutes: new Map() }));
    const m = Number(tsNs / MINUTE_NS);
    const c = s.minutes.get(m);
    if (c) {
      c[0]++;
      c[1] += bytes;
    } else s.minutes.set(m, [1, bytes]);
  }

  /** Lines and bytes dropped from streams the matchers select, in minutes overlapping [startNs, endNs). */
  count(matchers: readonly Matcher[], startNs: bigint, endNs: bigint): SampledOutCount {
    const out = { entries: 0, bytes: 0 };
    const first = Number(startNs / MINUTE_NS);
    // The minute holding endNs - 1: the last one the exclusive end overlaps.
    const last = Number((endNs - 1n) / MINUTE_NS);
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

/** Adds two counts (a query's selectors, a merge's sources). */
export function addSampledOut(a: SampledOutCount, b: SampledOutCount): SampledOutCount {
  return { entries: a.entries + b.entries, bytes: a.bytes + b.bytes };
}
