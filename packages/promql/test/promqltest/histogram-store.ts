/**
 * Series with native histogram samples for the conformance runner, held in memory beside the
 * TSDB head (which keeps floats only, for now) and merged with it by MergeQuerier.
 *
 * Reads give counter reset hints as Prometheus' TSDB does once samples went through its chunks:
 * a gauge stays a gauge; a counter histogram that starts a series, or follows a float or a stale
 * marker, reads as unknown unless written as a reset; a later one reads as reset when written as
 * one, as unknown when its counts went down against the previous one (it starts a new chunk),
 * and as not_reset otherwise.
 */
import { CounterResetHint, FloatHistogram, Labels, type Matcher, type Querier, type SelectHints, type Series } from '@strata/model';

interface Stored {
  labels: Labels;
  timestamps: number[];
  values: number[];
  histograms: (FloatHistogram | undefined)[];
}

export class HistogramStore implements Querier {
  private readonly stored = new Map<string, Stored>();

  /** Adds samples (ascending timestamps, or merged in); a histogram sample has its value slot unused. */
  append(labels: Labels, t: number, value: number, h: FloatHistogram | undefined): void {
    const k = labels.key();
    let s = this.stored.get(k);
    if (!s) {
      s = { labels, timestamps: [], values: [], histograms: [] };
      this.stored.set(k, s);
    }
    let i = s.timestamps.length;
    while (i > 0 && s.timestamps[i - 1] > t) i--;
    if (i > 0 && s.timestamps[i - 1] === t) {
      s.values[i - 1] = value;
      s.histograms[i - 1] = h;
      return;
    }
    s.timestamps.splice(i, 0, t);
    s.values.splice(i, 0, value);
    s.histograms.splice(i, 0, h);
  }

  has(labels: Labels): boolean {
    return this.stored.has(labels.key());
  }

  private matching(matchers: readonly Matcher[]): Stored[] {
    const out = [...this.stored.values()].filter((s) => matchers.every((m) => m.matches(s.labels.get(m.name))));
    return out.sort((a, b) => Labels.compare(a.labels, b.labels));
  }

  async select(matchers: readonly Matcher[], hints: SelectHints): Promise<Series[]> {
    const out: Series[] = [];
    for (const s of this.matching(matchers)) {
      const read = readHints(s);
      const keep: number[] = [];
      for (let i = 0; i < s.timestamps.length; i++) if (s.timestamps[i] >= hints.start && s.timestamps[i] <= hints.end) keep.push(i);
      if (keep.length === 0) continue;
      out.push({
        labels: s.labels,
        timestamps: Float64Array.from(keep, (i) => s.timestamps[i]),
        values: Float64Array.from(keep, (i) => s.values[i]),
        histograms: keep.map((i) => read[i]),
      });
    }
    return out;
  }

  async series(matchers: readonly Matcher[], hints: SelectHints): Promise<Labels[]> {
    return (await this.select(matchers, hints)).map((s) => s.labels);
  }

  async labelNames(matchers: readonly Matcher[], hints: SelectHints): Promise<string[]> {
    const names = new Set<string>();
    for (const l of await this.series(matchers, hints)) l.forEach((n) => names.add(n));
    return [...names].sort();
  }

  async labelValues(name: string, matchers: readonly Matcher[], hints: SelectHints): Promise<string[]> {
    const values = new Set<string>();
    for (const l of await this.series(matchers, hints)) if (l.has(name)) values.add(l.get(name));
    return [...values].sort();
  }
}

/** The histograms of a series with the hints a TSDB read gives them (see the file comment). */
function readHints(s: Stored): (FloatHistogram | undefined)[] {
  const out: (FloatHistogram | undefined)[] = new Array(s.histograms.length);
  let prev: FloatHistogram | undefined;
  for (let i = 0; i < s.histograms.length; i++) {
    const h = s.histograms[i];
    if (!h) {
      prev = undefined;
      continue;
    }
    const r = h.copy();
    if (h.counterResetHint !== CounterResetHint.Gauge) {
      const written = h.counterResetHint;
      if (!prev || prev.counterResetHint === CounterResetHint.Gauge)
        r.counterResetHint = written === CounterResetHint.CounterReset ? CounterResetHint.CounterReset : CounterResetHint.Unknown;
      else {
        const plain = h.copy();
        plain.counterResetHint = CounterResetHint.Unknown;
        // A detected reset starts a new chunk, whose first sample reads back as unknown (Prometheus issue 15346).
        if (written === CounterResetHint.CounterReset) r.counterResetHint = CounterResetHint.CounterReset;
        else r.counterResetHint = plain.detectReset(prev) ? CounterResetHint.Unknown : CounterResetHint.NotCounterReset;
      }
    }
    out[i] = r;
    prev = h;
  }
  return out;
}
