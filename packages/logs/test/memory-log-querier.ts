/** A LogQuerier over streams held in memory, for tests: honours the window and (optionally) the line-filter hint. */
import { Labels, type Matcher } from '@strata/model';
import type { LogQuerier, LogQueryable, LogSelectHints, LogStreamEntries } from '../src/types.js';

export interface MemoryStream {
  labels: Record<string, string>;
  /** [ns, line] or [ns, line, structured metadata]. */
  entries: [bigint, string, Record<string, string>?][];
}

export class MemoryLogQuerier implements LogQuerier, LogQueryable {
  readonly streams: { labels: Labels; entries: MemoryStream['entries'] }[];
  /** Every hint passed to selectLogs, for tests of the push-down. */
  readonly hintsSeen: LogSelectHints[] = [];

  constructor(
    streams: MemoryStream[],
    private readonly applyLineFilter = true,
  ) {
    this.streams = streams.map((s) => ({
      labels: Labels.fromObject(s.labels),
      entries: [...s.entries].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0)),
    }));
  }

  logQuerier(): LogQuerier {
    return this;
  }

  private matching(matchers: readonly Matcher[]) {
    return this.streams.filter((s) => matchers.every((m) => m.matches(s.labels.get(m.name))));
  }

  async selectLogs(matchers: readonly Matcher[], hints: LogSelectHints): Promise<LogStreamEntries[]> {
    this.hintsSeen.push(hints);
    const out: LogStreamEntries[] = [];
    for (const s of this.matching(matchers)) {
      const es = s.entries.filter(
        ([t, line]) => t >= hints.startNs && t < hints.endNs && (!this.applyLineFilter || !hints.lineFilter || hints.lineFilter(line)),
      );
      if (es.length === 0) continue;
      const metadata = es.map((e) => (e[2] ? Labels.fromObject(e[2]) : undefined));
      out.push({
        labels: s.labels,
        timestampsNs: BigInt64Array.from(es.map((e) => e[0])),
        lines: es.map((e) => e[1]),
        ...(metadata.some((m) => m) ? { metadata } : {}),
      });
    }
    return out;
  }

  async series(matchers: readonly Matcher[], hints: LogSelectHints): Promise<Labels[]> {
    return (await this.selectLogs(matchers, { startNs: hints.startNs, endNs: hints.endNs })).map((s) => s.labels);
  }

  async labelNames(matchers: readonly Matcher[], hints: LogSelectHints): Promise<string[]> {
    const names = new Set<string>();
    for (const l of await this.series(matchers, hints)) for (let i = 0; i < l.pairs.length; i += 2) names.add(l.pairs[i]);
    return [...names].sort();
  }

  async labelValues(name: string, matchers: readonly Matcher[], hints: LogSelectHints): Promise<string[]> {
    const values = new Set<string>();
    for (const l of await this.series(matchers, hints)) if (l.has(name)) values.add(l.get(name));
    return [...values].sort();
  }
}
