/**
 * Merges several Queriers into one: series with equal labels become one series whose samples
 * are merged by timestamp (on equal timestamps the first querier's sample wins). Used for a head
 * with its blocks, the store gateway's blocks, and the querier's fan-out over stores.
 */
import type { FloatHistogram } from './histogram.js';
import { Labels } from './labels.js';
import type { Matcher } from './matchers.js';
import { pace, sortPaced } from './pace.js';
import type { RawPacker } from './raw-pack.js';
import type { Querier, RawSeries, RollupSamples, SelectHints, Series } from './storage.js';
import { compareCodeUnits, mergeSorted } from './sorted-merge.js';

/**
 * Rollup side data of a merged series (series read from rollups carry counts and sketches per
 * sample, see RollupSamples): `pick(k)` names the part and index the k-th merged sample came from.
 * Samples of parts without it stand for one raw sample each.
 */
function mergedRollup(parts: readonly Series[], n: number, pick: (k: number) => [part: number, index: number]): RollupSamples | undefined {
  const first = parts.find((p) => p.rollup);
  if (!first) return undefined;
  const counts = new Float64Array(n);
  const sketches: (Uint8Array | undefined)[] = new Array(n);
  for (let k = 0; k < n; k++) {
    const [p, i] = pick(k);
    const r = parts[p].rollup;
    counts[k] = r ? r.counts[i] : 1;
    sketches[k] = r?.sketches?.[i];
  }
  return { counts, sketches, quantile: parts.find((p) => p.rollup?.quantile)?.rollup?.quantile };
}

/** A querier's series undecoded: its own selectRaw() when it has one, else select()'s samples as parts. */
export async function selectRawOf(q: Querier, matchers: readonly Matcher[], hints: SelectHints): Promise<RawSeries[]> {
  if (q.selectRaw) return q.selectRaw(matchers, hints);
  const out: RawSeries[] = [];
  for (const s of await q.select(matchers, hints)) out.push({ labels: s.labels, parts: [s] });
  return out;
}

/** Histogram samples of a merged series, where any part has them: `pick(k)` as for mergedRollup. */
function mergedHistograms(
  parts: readonly Series[],
  n: number,
  pick: (k: number) => [part: number, index: number],
): (FloatHistogram | undefined)[] | undefined {
  if (!parts.some((p) => p.histograms)) return undefined;
  const out: (FloatHistogram | undefined)[] = new Array(n);
  for (let k = 0; k < n; k++) {
    const [p, i] = pick(k);
    out[k] = parts[p].histograms?.[i];
  }
  return out;
}

/**
 * Writes a querier's series undecoded into `into`: its own selectRawInto() when it has one, else
 * selectRawOf()'s answer packed (one source). With hints.limit always the latter: a limit needs
 * the merged, sorted series, which only selectRaw() gives.
 */
export async function selectRawIntoOf(q: Querier, matchers: readonly Matcher[], hints: SelectHints, into: RawPacker): Promise<void> {
  if (q.selectRawInto && !hints.limit) return q.selectRawInto(matchers, hints, into);
  return packRawSeries(await selectRawOf(q, matchers, hints), into, hints.signal);
}

/** Writes RawSeries objects into a packer as one source, paced. */
export async function packRawSeries(series: readonly RawSeries[], into: RawPacker, signal?: AbortSignal): Promise<void> {
  into.beginSource();
  for (let i = 0; i < series.length; i++) {
    if ((i & 255) === 0) {
      signal?.throwIfAborted();
      // Copying chunk bytes of many series is a long stretch: give way to waiting requests.
      const y = pace();
      if (y) await y;
    }
    into.add(series[i]);
  }
}

export function mergeSamples(a: Series, b: Series): Series {
  const n = a.timestamps.length + b.timestamps.length;
  const ts = new Float64Array(n);
  const vs = new Float64Array(n);
  // Copy value bits, not numbers: NaN payloads (staleness markers) must survive.
  const av = new Uint32Array(a.values.buffer, a.values.byteOffset, a.values.length * 2);
  const bv = new Uint32Array(b.values.buffer, b.values.byteOffset, b.values.length * 2);
  const ov = new Uint32Array(vs.buffer);
  // Where each merged sample came from, only when rollup side data must follow the samples.
  const from = a.rollup || b.rollup || a.histograms || b.histograms ? new Int32Array(n) : undefined;
  let i = 0;
  let j = 0;
  let k = 0;
  while (i < a.timestamps.length || j < b.timestamps.length) {
    const takeA = j >= b.timestamps.length || (i < a.timestamps.length && a.timestamps[i] <= b.timestamps[j]);
    if (takeA) {
      if (j < b.timestamps.length && b.timestamps[j] === a.timestamps[i]) j++;
      ts[k] = a.timestamps[i];
      ov[2 * k] = av[2 * i];
      ov[2 * k + 1] = av[2 * i + 1];
      if (from) from[k] = i;
      i++;
    } else {
      ts[k] = b.timestamps[j];
      ov[2 * k] = bv[2 * j];
      ov[2 * k + 1] = bv[2 * j + 1];
      if (from) from[k] = -1 - j;
      j++;
    }
    k++;
  }
  const pick = (x: number): [number, number] => (from![x] >= 0 ? [0, from![x]] : [1, -1 - from![x]]);
  const rollup = from && mergedRollup([a, b], k, pick);
  const histograms = from && mergedHistograms([a, b], k, pick);
  return {
    labels: a.labels,
    timestamps: ts.subarray(0, k),
    values: vs.subarray(0, k),
    ...(rollup ? { rollup } : {}),
    ...(histograms ? { histograms } : {}),
  };
}

/** Whether two float series hold the same samples, value bits included (no rollup or histogram side data). */
function sameSamples(a: Series, b: Series): boolean {
  const n = a.timestamps.length;
  if (n !== b.timestamps.length || a.rollup || b.rollup || a.histograms || b.histograms) return false;
  if (a.timestamps[0] !== b.timestamps[0] || a.timestamps[n - 1] !== b.timestamps[n - 1]) return false;
  for (let i = 0; i < n; i++) if (a.timestamps[i] !== b.timestamps[i]) return false;
  const av = new Uint32Array(a.values.buffer, a.values.byteOffset, 2 * n);
  const bv = new Uint32Array(b.values.buffer, b.values.byteOffset, 2 * n);
  for (let i = 0; i < 2 * n; i++) if (av[i] !== bv[i]) return false;
  return true;
}

/**
 * One series from parts holding the same label set. Parts that follow each other in time (the
 * usual case: the head and blocks, or blocks of successive ranges) are concatenated with one copy;
 * only overlapping parts are merged by timestamp. Merging happens once per series, whatever the
 * number of parts (merging pairwise as they arrive copied the growing result once per part).
 */
export function mergeParts(parts: Series[]): Series {
  const nonEmpty = parts.filter((p) => p.timestamps.length > 0);
  if (nonEmpty.length === 0) return parts[0];
  if (nonEmpty.length === 1) return nonEmpty[0];
  // Stable: on equal first timestamps the earlier part (the first querier's) stays first.
  const sorted = nonEmpty
    .map((p, i) => ({ p, i }))
    .sort((a, b) => a.p.timestamps[0] - b.p.timestamps[0] || a.i - b.i)
    .map((x) => x.p);
  let disjoint = true;
  for (let k = 1; k < sorted.length && disjoint; k++)
    disjoint = sorted[k].timestamps[0] > sorted[k - 1].timestamps[sorted[k - 1].timestamps.length - 1];
  if (!disjoint) {
    // Overlap. Exact copies first (RF replicas, a block read from two stores) are kept once: a
    // copy adds nothing whatever its precedence, and comparing costs less than merging.
    const distinct: Series[] = [];
    for (const p of nonEmpty) if (!distinct.some((d) => sameSamples(d, p))) distinct.push(p);
    // Then merge by timestamp in the caller's order, so the first querier's sample wins.
    let acc = distinct[0];
    for (let k = 1; k < distinct.length; k++) acc = mergeSamples(acc, distinct[k]);
    return acc;
  }
  let n = 0;
  for (const p of sorted) n += p.timestamps.length;
  const ts = new Float64Array(n);
  const vs = new Float64Array(n);
  let o = 0;
  const starts: number[] = [];
  for (const p of sorted) {
    starts.push(o);
    ts.set(p.timestamps, o);
    // set() between arrays of one type copies bytes, so NaN payloads (staleness markers) survive.
    vs.set(p.values, o);
    o += p.timestamps.length;
  }
  let part = 0;
  const pick = (k: number): [number, number] => {
    if (k < starts[part]) part = 0;
    while (part + 1 < starts.length && k >= starts[part + 1]) part++;
    return [part, k - starts[part]];
  };
  const rollup = mergedRollup(sorted, n, pick);
  const histograms = mergedHistograms(sorted, n, pick);
  return { labels: sorted[0].labels, timestamps: ts, values: vs, ...(rollup ? { rollup } : {}), ...(histograms ? { histograms } : {}) };
}

export class MergeQuerier implements Querier {
  constructor(private readonly queriers: Querier[]) {}

  async select(matchers: readonly Matcher[], hints: SelectHints): Promise<Series[]> {
    const results = await Promise.all(this.queriers.map((q) => q.select(matchers, { ...hints, limit: undefined })));
    if (results.length === 1) return hints.limit ? results[0].slice(0, hints.limit) : results[0];
    const byKey = new Map<string, Series[]>();
    for (const list of results) {
      for (const s of list) {
        const y = pace();
        if (y) await y;
        const k = s.labels.key();
        const have = byKey.get(k);
        if (have) have.push(s);
        else byKey.set(k, [s]);
      }
    }
    const out: Series[] = [];
    for (const parts of byKey.values()) {
      const y = pace();
      if (y) await y;
      out.push(parts.length === 1 ? parts[0] : mergeParts(parts));
    }
    await sortPaced(out, (a, b) => Labels.compare(a.labels, b.labels));
    return hints.limit ? out.slice(0, hints.limit) : out;
  }

  /** Parts of equal label sets concatenated in querier order, so the decoder merges them as select() does. */
  async selectRaw(matchers: readonly Matcher[], hints: SelectHints): Promise<RawSeries[]> {
    const results = await Promise.all(this.queriers.map((q) => selectRawOf(q, matchers, { ...hints, limit: undefined })));
    if (results.length === 1) {
      if (!hints.limit) return results[0];
      return (await sortPaced([...results[0]], (a, b) => Labels.compare(a.labels, b.labels))).slice(0, hints.limit);
    }
    const byKey = new Map<string, RawSeries>();
    for (const list of results) {
      for (const s of list) {
        const y = pace();
        if (y) await y;
        const k = s.labels.key();
        const have = byKey.get(k);
        if (have) have.parts.push(...s.parts);
        else byKey.set(k, { labels: s.labels, parts: [...s.parts] });
      }
    }
    const out = [...byKey.values()];
    if (!hints.limit) return out;
    await sortPaced(out, (a, b) => Labels.compare(a.labels, b.labels));
    return out.slice(0, hints.limit);
  }

  /** Each querier's series in turn, in querier order: the reader merges equal label sets in that order, as selectRaw does. */
  async selectRawInto(matchers: readonly Matcher[], hints: SelectHints, into: RawPacker): Promise<void> {
    for (const q of this.queriers) await selectRawIntoOf(q, matchers, hints, into);
  }

  async series(matchers: readonly Matcher[], hints: SelectHints): Promise<Labels[]> {
    // Each querier answers in label order: merged, not collected and sorted again.
    const out = mergeSorted(await Promise.all(this.queriers.map((q) => q.series(matchers, hints))), Labels.compare);
    return hints.limit ? out.slice(0, hints.limit) : out;
  }

  async labelNames(matchers: readonly Matcher[], hints: SelectHints): Promise<string[]> {
    return mergeSorted(await Promise.all(this.queriers.map((q) => q.labelNames(matchers, hints))), compareCodeUnits);
  }

  async labelValues(name: string, matchers: readonly Matcher[], hints: SelectHints): Promise<string[]> {
    return mergeSorted(await Promise.all(this.queriers.map((q) => q.labelValues(name, matchers, hints))), compareCodeUnits);
  }
}
