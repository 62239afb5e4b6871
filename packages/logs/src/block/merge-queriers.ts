/**
 * One LogQuerier over several sources (the receiver's heads, the bucket's blocks): a stream found
 * in more than one is merged by time, and entries a source repeats (the same timestamp and line,
 * as in a head not yet dropped after its block was shipped) appear once. Sources come oldest first
 * (blocks before the head that wrote after them): of a repeated entry the first source's copy is
 * kept, as a head keeps the first of a repeated push, so a later push differing only in its
 * structured metadata never replaces the one first accepted.
 */
import type { Labels, Matcher } from '@strata/model';
import type { LogQuerier, LogSelectHints, LogStreamEntries } from '../types.js';
import { finish, gatherEntries } from '../head/log-head.js';
import { addSampledOut, type SampledOutCount } from '../ingest/sampled-out.js';

export function mergeLogQueriers(sources: readonly LogQuerier[]): LogQuerier {
  if (sources.length === 1) return sources[0];
  return new MergedLogQuerier(sources);
}

class MergedLogQuerier implements LogQuerier {
  constructor(private readonly sources: readonly LogQuerier[]) {}

  async selectLogs(matchers: readonly Matcher[], hints: LogSelectHints): Promise<LogStreamEntries[]> {
    const parts = await Promise.all(this.sources.map((s) => s.selectLogs(matchers, hints)));
    const byKey = new Map<string, LogStreamEntries[]>();
    for (const part of parts) {
      for (const e of part) {
        const k = e.labels.key();
        const have = byKey.get(k);
        if (have) have.push(e);
        else byKey.set(k, [e]);
      }
    }
    const out: LogStreamEntries[] = [];
    for (const group of byKey.values()) {
      if (group.length === 1) {
        out.push(group[0]);
        continue;
      }
      const merged = finish(group[0].labels, gatherEntries(group), hints);
      if (merged) out.push(merged);
    }
    return out;
  }

  async series(matchers: readonly Matcher[], hints: LogSelectHints): Promise<Labels[]> {
    const byKey = new Map<string, Labels>();
    for (const part of await Promise.all(this.sources.map((s) => s.series(matchers, hints)))) for (const l of part) byKey.set(l.key(), l);
    return [...byKey.values()];
  }

  async labelNames(matchers: readonly Matcher[], hints: LogSelectHints): Promise<string[]> {
    const all = await Promise.all(this.sources.map((s) => s.labelNames(matchers, hints)));
    return [...new Set(all.flat())].sort();
  }

  async labelValues(name: string, matchers: readonly Matcher[], hints: LogSelectHints): Promise<string[]> {
    const all = await Promise.all(this.sources.map((s) => s.labelValues(name, matchers, hints)));
    return [...new Set(all.flat())].sort();
  }

  /** Summed: each dropped line is tallied by one source only (the receiver that sampled it). */
  async sampledOut(matchers: readonly Matcher[], hints: LogSelectHints): Promise<SampledOutCount> {
    const all = await Promise.all(this.sources.map((s) => s.sampledOut?.(matchers, hints) ?? { entries: 0, bytes: 0 }));
    return all.reduce(addSampledOut, { entries: 0, bytes: 0 });
  }
}

/** A LogQueryable answering from every given one, merged. */
export function mergeLogQueryables(sources: readonly { logQuerier(tenant: string): LogQuerier }[]): {
  logQuerier(tenant: string): LogQuerier;
} {
  return { logQuerier: (tenant) => mergeLogQueriers(sources.map((s) => s.logQuerier(tenant))) };
}
