/**
 * A tenant's exemplars: one circular buffer of a fixed number of slots shared by all series, as
 * Prometheus' CircularExemplarStorage keeps them. A new exemplar takes the oldest slot, so memory
 * stays bounded however many series send exemplars (`max_global_exemplars_per_user`; Prometheus'
 * default is 100000), and each series threads its own exemplars through the buffer oldest to
 * newest, so reading one series walks only its slots.
 *
 * Slots are columns of typed arrays (series, timestamp, value, next-in-series); only the
 * exemplar's own labels are an array per slot.
 */
import { prometheusLabelsHash, type Labels, type Matcher } from '@strata/model';

/** Prometheus' default exemplar storage size (storage.exemplars.max-exemplars). */
export const DEFAULT_MAX_EXEMPLARS = 100_000;

export interface Exemplar {
  /** The exemplar's labels as sorted pairs [name, value, ...] (typically trace_id, span_id). */
  labels: string[];
  value: number;
  timestamp: number;
}

export interface SeriesExemplars {
  seriesLabels: Labels;
  exemplars: Exemplar[];
}

export const enum ExemplarStatus {
  OK = 0,
  /** The same exemplar as the series' newest (a resend): nothing stored, not an error. */
  DUPLICATE = 1,
  /** Before the series' newest exemplar in (timestamp, value, label hash) order: refused, as Prometheus refuses it. */
  OUT_OF_ORDER = 2,
  /** The store has no room at all (size 0: exemplars disabled for the tenant). */
  DISABLED = 3,
}

interface SeriesEntry {
  labels: Labels;
  oldest: number;
  newest: number;
}

const NONE = -1;

export class ExemplarStore {
  private size: number;
  private seriesOf: (SeriesEntry | undefined)[];
  private ts: Float64Array;
  private values: Float64Array;
  private next: Int32Array;
  private exemplarLabels: (string[] | undefined)[];
  /** The slot the next exemplar goes to (the oldest once the buffer has wrapped). */
  private head = 0;
  private readonly series = new Map<string, SeriesEntry>();
  private stored = 0;

  constructor(size = DEFAULT_MAX_EXEMPLARS) {
    this.size = Math.max(0, Math.floor(size));
    this.seriesOf = new Array<SeriesEntry | undefined>(this.size);
    this.ts = new Float64Array(this.size);
    this.values = new Float64Array(this.size);
    this.next = new Int32Array(this.size).fill(NONE);
    this.exemplarLabels = new Array<string[] | undefined>(this.size);
  }

  get capacity(): number {
    return this.size;
  }

  /** Exemplars held now (at most the capacity). */
  get count(): number {
    return this.stored;
  }

  /** Series with at least one exemplar held. */
  get seriesCount(): number {
    return this.series.size;
  }

  /** What add() would answer, without storing: a write stages exemplars and adds them after its WAL commit. */
  check(seriesLabels: Labels, e: Exemplar): ExemplarStatus {
    if (this.size === 0) return ExemplarStatus.DISABLED;
    const s = this.series.get(seriesLabels.key());
    return s ? this.order(s.newest, e) : ExemplarStatus.OK;
  }

  add(seriesLabels: Labels, e: Exemplar): ExemplarStatus {
    if (this.size === 0) return ExemplarStatus.DISABLED;
    const key = seriesLabels.key();
    let s = this.series.get(key);
    if (s) {
      const st = this.order(s.newest, e);
      if (st !== ExemplarStatus.OK) return st;
    }
    const slot = this.head;
    this.evict(slot);
    // The series may have lost its last exemplar to the eviction just now.
    if (s && !this.series.has(key)) s = undefined;
    this.seriesOf[slot] = s ?? (s = { labels: seriesLabels, oldest: slot, newest: slot });
    this.ts[slot] = e.timestamp;
    this.values[slot] = e.value;
    this.exemplarLabels[slot] = e.labels;
    this.next[slot] = NONE;
    if (s.newest !== slot) {
      this.next[s.newest] = slot;
      s.newest = slot;
    } else this.series.set(key, s);
    this.stored++;
    this.head = (slot + 1) % this.size;
    return ExemplarStatus.OK;
  }

  /** A new exemplar against a series' newest one (slot n). */
  private order(n: number, e: Exemplar): ExemplarStatus {
    return exemplarOrder(this.ts[n], this.values[n], this.exemplarLabels[n]!, e);
  }

  /** Frees a slot: it is always the oldest exemplar of its series (slots are reused in insertion order). */
  private evict(slot: number): void {
    const s = this.seriesOf[slot];
    if (!s) return;
    this.stored--;
    this.seriesOf[slot] = undefined;
    this.exemplarLabels[slot] = undefined;
    if (s.newest === slot) this.series.delete(s.labels.key());
    else s.oldest = this.next[slot];
  }

  /**
   * Exemplars in [mint, maxt] of the series matching any of the matcher sets (each set ANDed),
   * oldest first per series; series in label order.
   */
  select(mint: number, maxt: number, matcherSets: readonly (readonly Matcher[])[]): SeriesExemplars[] {
    const out: SeriesExemplars[] = [];
    for (const s of this.series.values()) {
      if (!matcherSets.some((ms) => ms.every((m) => m.matches(s.labels.get(m.name))))) continue;
      const exemplars: Exemplar[] = [];
      for (let i = s.oldest; i !== NONE; i = this.next[i]) {
        const t = this.ts[i];
        if (t > maxt) break;
        if (t >= mint) exemplars.push({ labels: this.exemplarLabels[i]!, value: this.values[i], timestamp: t });
      }
      if (exemplars.length > 0) out.push({ seriesLabels: s.labels, exemplars });
    }
    return out.sort((a, b) => compare(a.seriesLabels.key(), b.seriesLabels.key()));
  }

  /** Every exemplar held with its series' labels, oldest first (the order add() took them): snapshots and resizing. */
  forEachHeld(fn: (seriesLabels: Labels, e: Exemplar) => void): void {
    for (let k = 0; k < this.size; k++) {
      const slot = (this.head + k) % this.size;
      const s = this.seriesOf[slot];
      if (s) fn(s.labels, { labels: this.exemplarLabels[slot]!, value: this.values[slot], timestamp: this.ts[slot] });
    }
  }

  /** Changes the capacity (a limits reload), keeping the newest exemplars that fit. */
  resize(size: number): void {
    size = Math.max(0, Math.floor(size));
    if (size === this.size) return;
    // Replays the held exemplars oldest first into a new buffer: the oldest fall out.
    const fresh = new ExemplarStore(size);
    this.forEachHeld((l, e) => fresh.add(l, e));
    Object.assign(this, {
      size: fresh.size,
      seriesOf: fresh.seriesOf,
      ts: fresh.ts,
      values: fresh.values,
      next: fresh.next,
      exemplarLabels: fresh.exemplarLabels,
      head: fresh.head,
      stored: fresh.stored,
    });
    this.series.clear();
    for (const [k, v] of fresh.series) this.series.set(k, v);
  }
}

/**
 * Whether exemplar `e` may follow a series' newest exemplar (timestamp t, value v, labels), as
 * Prometheus' CircularExemplarStorage decides it: the same exemplar again is a resend (nothing
 * stored, no error); one before it in (timestamp, value, label hash) order is out of order. One
 * timestamp may carry several exemplars (a native histogram's buckets each have one) as long as
 * they come in that order, which is the order a scrape sorts them in. Prometheus 2.42 refused any
 * second exemplar at the same timestamp; later releases accept them in this order.
 */
export function exemplarOrder(t: number, v: number, labels: readonly string[], e: Exemplar): ExemplarStatus {
  if (e.timestamp < t) return ExemplarStatus.OUT_OF_ORDER;
  if (e.timestamp > t) return ExemplarStatus.OK;
  if (Object.is(e.value, v) && pairsEqual(e.labels, labels)) return ExemplarStatus.DUPLICATE;
  if (e.value < v) return ExemplarStatus.OUT_OF_ORDER;
  // Equal values compare by label hash (unsigned 64-bit, as Go compares labels.Hash()). A NaN is neither less nor equal, so
  // it follows, as in Go; only a bit-identical resend of it counts as the duplicate Go would store again.
  if (e.value === v && prometheusLabelsHash(e.labels) < prometheusLabelsHash(labels)) return ExemplarStatus.OUT_OF_ORDER;
  return ExemplarStatus.OK;
}

function pairsEqual(a: readonly string[], b: readonly string[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
