/**
 * The head's inverted index: label name -> value -> sorted list of series refs. Refs are handed
 * out in increasing order, so appending keeps every list sorted without re-sorting.
 */
import type { Matcher } from '@strata/model';
import { TopK, type Stat } from './top-k.js';

/** Prometheus' index statistics for /api/v1/status/tsdb, each list the `limit` largest. */
export interface PostingsStats {
  seriesCountByMetricName: Stat[];
  labelValueCountByLabelName: Stat[];
  memoryInBytesByLabelName: Stat[];
  seriesCountByLabelValuePair: Stat[];
  numLabelPairs: number;
}

export class RefList {
  refs: Uint32Array = new Uint32Array(4);
  length = 0;

  /** The pair's id while the list exists (see PostingsIndex.idsOf); -1 for the list of all series. */
  constructor(readonly id = -1) {}

  push(ref: number): void {
    if (this.length === this.refs.length) {
      const r = new Uint32Array(this.refs.length * 2);
      r.set(this.refs);
      this.refs = r;
    }
    this.refs[this.length++] = ref;
  }

  remove(dead: ReadonlySet<number>): void {
    let o = 0;
    for (let i = 0; i < this.length; i++) if (!dead.has(this.refs[i])) this.refs[o++] = this.refs[i];
    this.length = o;
  }

  view(): Uint32Array {
    return this.refs.subarray(0, this.length);
  }
}

export class PostingsIndex {
  private readonly byName = new Map<string, Map<string, RefList>>();
  private readonly all = new RefList();
  /**
   * Sorted values per label name, and the sorted names: Grafana asks for the same label's values
   * on every dashboard load, and sorting thousands of strings each time cost more than the
   * lookup. Dropped when a value or name comes or goes.
   */
  private readonly sortedValues = new Map<string, string[]>();
  private sortedNames: string[] | undefined;
  /**
   * Ids of label pairs: small integers, one per pair while a series holds it, reused once no
   * series does, so tables indexed by them (the per-metric limits' counts) stay as small as the
   * pairs held however many series come and go.
   */
  private nextId = 0;
  private freeIds: number[] = [];

  /**
   * Adds a series; with `ids`, writes there the id of each of its pairs (`ids[i / 2]` for the
   * pair at `pairs[i]`).
   */
  add(ref: number, pairs: readonly string[], ids?: Int32Array): void {
    this.all.push(ref);
    for (let i = 0; i < pairs.length; i += 2) {
      let values = this.byName.get(pairs[i]);
      if (!values) {
        values = new Map();
        this.byName.set(pairs[i], values);
        this.sortedNames = undefined;
      }
      let list = values.get(pairs[i + 1]);
      if (!list) {
        list = new RefList(this.freeIds.length > 0 ? this.freeIds.pop()! : this.nextId++);
        values.set(pairs[i + 1], list);
        this.sortedValues.delete(pairs[i]);
      }
      list.push(ref);
      if (ids) ids[i >> 1] = list.id;
    }
  }

  /** Writes the id of each pair (`ids[i / 2]` for the pair at `pairs[i]`), -1 for a pair no series holds. */
  idsOf(pairs: readonly string[], ids: Int32Array): void {
    for (let i = 0; i < pairs.length; i += 2) ids[i >> 1] = this.byName.get(pairs[i])?.get(pairs[i + 1])?.id ?? -1;
  }

  /** Removes garbage-collected series from every list. */
  remove(dead: ReadonlySet<number>): void {
    this.all.remove(dead);
    for (const [name, values] of this.byName) {
      for (const [v, list] of values) {
        list.remove(dead);
        if (list.length === 0) {
          values.delete(v);
          this.freeIds.push(list.id);
          this.sortedValues.delete(name);
        }
      }
      if (values.size === 0) {
        this.byName.delete(name);
        this.sortedNames = undefined;
      }
    }
  }

  /**
   * Cardinality as Prometheus 3 reports it: series per metric name, distinct values per label
   * name, series per label pair, and per label name the bytes its pairs take in all series
   * (each name and value with its length prefix, times the series holding it). Prometheus 2
   * summed only the lengths of distinct values; Grafana and users now read Prometheus 3's figure.
   */
  stats(metricLabel: string, limit: number): PostingsStats {
    const metrics = new TopK(limit);
    const names = new TopK(limit);
    const bytes = new TopK(limit);
    const pairs = new TopK(limit);
    let numLabelPairs = 0;
    for (const [name, values] of this.byName) {
      names.push(name, values.size);
      numLabelPairs += values.size;
      const nameBytes = encodedStringSize(name);
      let size = 0;
      for (const [value, list] of values) {
        if (name === metricLabel) metrics.push(value, list.length);
        pairs.push(`${name}=${value}`, list.length);
        size += (nameBytes + encodedStringSize(value)) * list.length;
      }
      bytes.push(name, size);
    }
    return {
      seriesCountByMetricName: metrics.result(),
      labelValueCountByLabelName: names.result(),
      memoryInBytesByLabelName: bytes.result(),
      seriesCountByLabelValuePair: pairs.result(),
      numLabelPairs,
    };
  }

  /**
   * For each label name (all, or those asked for), its values among the selected series with
   * how many of them hold each value; without a selection, among all series. Values no selected
   * series holds are left out.
   */
  valueCounts(names: readonly string[] | undefined, selected: Uint32Array | undefined): Map<string, Map<string, number>> {
    const out = new Map<string, Map<string, number>>();
    for (const name of names ?? this.byName.keys()) {
      const values = this.byName.get(name);
      const counts = new Map<string, number>();
      if (values) {
        for (const [value, list] of values) {
          const n = selected ? intersectCount(list.view(), selected) : list.length;
          if (n > 0) counts.set(value, n);
        }
      }
      if (counts.size > 0 || names) out.set(name, counts);
    }
    return out;
  }

  /** Sorted label names. The array is shared: callers must not modify it. */
  labelNames(): readonly string[] {
    this.sortedNames ??= [...this.byName.keys()].sort();
    return this.sortedNames;
  }

  /** Sorted values of a label. The array is shared: callers must not modify it. */
  labelValues(name: string): readonly string[] {
    const values = this.byName.get(name);
    if (!values) return [];
    let sorted = this.sortedValues.get(name);
    if (!sorted) this.sortedValues.set(name, (sorted = [...values.keys()].sort()));
    return sorted;
  }

  /**
   * Sorted values of a label held by at least one of the selected series (sorted refs), from the
   * postings alone, as Prometheus' labelValuesWithMatchers: a selection several times larger
   * than the label's value count is met value by value (does this value's list meet the
   * selection?); a smaller one through `valueOf`, one series at a time (a label lookup in memory
   * costs less than a search of a postings list).
   */
  labelValuesAmong(name: string, selected: Uint32Array, valueOf: (ref: number) => string | undefined): string[] {
    const values = this.byName.get(name);
    if (!values || selected.length === 0) return [];
    if (selected.length < 4 * values.size) {
      const found = new Set<string>();
      for (let i = 0; i < selected.length; i++) {
        const v = valueOf(selected[i]);
        if (v) found.add(v);
      }
      return [...found].sort();
    }
    const out: string[] = [];
    for (const v of this.labelValues(name)) if (intersects(values.get(v)!.view(), selected)) out.push(v);
    return out;
  }

  allRefs(): Uint32Array {
    return this.all.view();
  }

  /**
   * The union of postings lists of one label's values. A series has one value per label, so the
   * lists are disjoint: when they hold as many refs as there are series, they hold every series,
   * and the answer is the list of all refs without sorting them together. That is
   * `{__name__=~".+"}` and `{job=~".*"}`-like selectors over a whole head: a sort of every ref,
   * hundreds of ms for a million series, on the thread that acknowledges writes.
   */
  private unionOfValues(lists: Uint32Array[]): Uint32Array {
    let n = 0;
    for (const l of lists) n += l.length;
    return lists.length > 1 && n === this.all.length ? this.all.view() : union(lists);
  }

  /**
   * Refs of series matching every matcher. Matchers that match the empty string also select
   * series without the label, so they subtract the non-matching values instead of intersecting.
   */
  select(matchers: readonly Matcher[]): Uint32Array {
    const positive: Uint32Array[] = [];
    const subtract: Uint32Array[] = [];
    for (const m of matchers) {
      const values = this.byName.get(m.name);
      if (!m.matchesEmpty()) {
        if (!values) return new Uint32Array(0);
        const lists: Uint32Array[] = [];
        if (m.type === '=') {
          const l = values.get(m.value);
          if (l) lists.push(l.view());
        } else for (const [v, l] of values) if (m.matches(v)) lists.push(l.view());
        const u = this.unionOfValues(lists);
        if (u.length === 0) return u;
        positive.push(u);
      } else if (values) {
        const lists: Uint32Array[] = [];
        for (const [v, l] of values) if (!m.matches(v)) lists.push(l.view());
        if (lists.length > 0) subtract.push(union(lists));
      }
    }
    // Shortest first: each intersection is then at most as long as the shortest list, and a
    // short list meets a long one by search rather than by walking the long one.
    positive.sort((a, b) => a.length - b.length);
    let out = positive.length > 0 ? positive[0] : this.all.view();
    for (let i = 1; i < positive.length && out.length > 0; i++) out = intersect(out, positive[i]);
    for (const s of subtract) out = difference(out, s);
    return out;
  }
}

/** A label string as Prometheus 3 stores it: its UTF-8 bytes after a 1-byte (or, from 255 bytes, 4-byte) length. */
function encodedStringSize(s: string): number {
  const n = Buffer.byteLength(s);
  return n + (n < 255 ? 1 : 4);
}

/** |a ∩ b| for sorted ref lists, galloping through the longer one. */
export function intersectCount(a: Uint32Array, b: Uint32Array): number {
  if (a.length > b.length) [a, b] = [b, a];
  let n = 0;
  let lo = 0;
  for (let i = 0; i < a.length && lo < b.length; i++) {
    const x = a[i];
    let hi = b.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (b[mid] < x) lo = mid + 1;
      else hi = mid;
    }
    if (lo < b.length && b[lo] === x) n++;
  }
  return n;
}

/** Whether sorted ref lists share a ref: gallops through the longer one, stops at the first. */
export function intersects(a: Uint32Array, b: Uint32Array): boolean {
  if (a.length > b.length) [a, b] = [b, a];
  let lo = 0;
  for (let i = 0; i < a.length && lo < b.length; i++) {
    const x = a[i];
    lo = gallop(b, lo, x);
    if (lo < b.length && b[lo] === x) return true;
  }
  return false;
}

/**
 * The first index at or after lo where sorted b holds a ref >= x: exponential then binary search,
 * so it costs about log of the distance moved (cheap when the lists are of similar size too).
 */
function gallop(b: Uint32Array, lo: number, x: number): number {
  let step = 1;
  let hi = lo;
  while (hi < b.length && b[hi] < x) {
    lo = hi + 1;
    hi += step;
    step *= 2;
  }
  if (hi > b.length) hi = b.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (b[mid] < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Sorted ref lists' intersection; a list much shorter than the other gallops through it. */
export function intersect(a: Uint32Array, b: Uint32Array): Uint32Array {
  if (a.length > b.length) [a, b] = [b, a];
  if (a.length * 16 < b.length) return intersectGalloping(a, b);
  const out = new Uint32Array(a.length);
  let i = 0;
  let j = 0;
  let k = 0;
  while (i < a.length && j < b.length) {
    if (a[i] === b[j]) {
      out[k++] = a[i];
      i++;
      j++;
    } else if (a[i] < b[j]) i++;
    else j++;
  }
  return out.subarray(0, k);
}

/** intersect() for |a| much below |b|: exponential then binary search of b from the last match. */
function intersectGalloping(a: Uint32Array, b: Uint32Array): Uint32Array {
  const out = new Uint32Array(a.length);
  let k = 0;
  let lo = 0;
  for (let i = 0; i < a.length && lo < b.length; i++) {
    const x = a[i];
    lo = gallop(b, lo, x);
    if (lo < b.length && b[lo] === x) out[k++] = x;
  }
  return out.subarray(0, k);
}

export function difference(a: Uint32Array, b: Uint32Array): Uint32Array {
  const out = new Uint32Array(a.length);
  let j = 0;
  let k = 0;
  for (let i = 0; i < a.length; i++) {
    while (j < b.length && b[j] < a[i]) j++;
    if (j < b.length && b[j] === a[i]) continue;
    out[k++] = a[i];
  }
  return out.subarray(0, k);
}

export function union(lists: Uint32Array[]): Uint32Array {
  if (lists.length === 0) return new Uint32Array(0);
  if (lists.length === 1) return lists[0];
  let n = 0;
  for (const l of lists) n += l.length;
  const all = new Uint32Array(n);
  let o = 0;
  for (const l of lists) {
    all.set(l, o);
    o += l.length;
  }
  all.sort();
  let k = 0;
  for (let i = 0; i < all.length; i++) if (i === 0 || all[i] !== all[i - 1]) all[k++] = all[i];
  return all.subarray(0, k);
}
