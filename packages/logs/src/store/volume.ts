/**
 * Loki's log volume (`/loki/api/v1/index/volume` and `volume_range`): the bytes of the streams a
 * selector matches, summed into series of the selector's label names (or `targetLabels`), or per
 * label name with `aggregateBy=labels`, as Loki's TSDB index and its volume middleware aggregate
 * them (`pkg/storage/stores/shipper/indexshipper/tsdb/single_file_index.go`,
 * `pkg/querier/queryrange/volume.go`).
 *
 * Loki sums the sizes of whole chunks overlapping each window; Strata sums the line bytes of the
 * entries inside it, so the answer does not depend on how chunks were cut and is the same whether
 * the entries are in a head, in blocks, or both (replicas and block copies are merged first).
 */
import { Matcher, StrataError } from '@strata/model';
import type { LogStreamEntries } from '../types.js';

export type VolumeAggregateBy = 'series' | 'labels';

/** Loki's `volume_max_series`: distinct series one volume request may aggregate into. */
export const DEFAULT_VOLUME_MAX_SERIES = 1000;
/** Loki's default `limit` of the volume endpoints. */
export const DEFAULT_VOLUME_LIMIT = 100;

export interface VolumeRequest {
  /** The selector's matchers. */
  readonly matchers: readonly Matcher[];
  readonly targetLabels: readonly string[];
  readonly aggregateBy: VolumeAggregateBy;
  /** The top `limit` series of each bucket are kept. */
  readonly limit: number;
  /** Distinct series per bucket before the request is refused (Loki's volume_max_series); 0 = unlimited. */
  readonly maxSeries?: number;
}

/**
 * The matchers to select streams by: the selector's, plus `name=~".+"` for each target label it
 * does not name, since a stream without a target label has nothing to be aggregated into.
 */
export function volumeMatchers(req: Pick<VolumeRequest, 'matchers' | 'targetLabels'>): Matcher[] {
  const named = new Set(req.matchers.map((m) => m.name));
  return [...req.matchers, ...req.targetLabels.filter((t) => !named.has(t)).map((t) => new Matcher('=~', t, '.+'))];
}

/** One bucket of a volume request: entries in [startNs, endNs) are counted, and reported at `atNs`. */
export interface VolumeBucket {
  readonly startNs: bigint;
  readonly endNs: bigint;
  readonly atNs: bigint;
}

const SPLIT_GAP_NS = 1_000_000n;

/**
 * Loki's buckets: for an instant request (step 0) the whole window, reported at its end; otherwise
 * windows aligned to multiples of the step since the epoch, the first starting at `start` and the
 * last ending at `end`, each reported at its end, one millisecond before the next bucket starts
 * (Loki's SplitGap). Here the buckets partition [start, end] exactly, the last one including `end`.
 */
export function volumeBuckets(startNs: bigint, endNs: bigint, stepNs: bigint): VolumeBucket[] {
  if (stepNs <= 0n) return [{ startNs, endNs: endNs + 1n, atNs: endNs }];
  const out: VolumeBucket[] = [];
  let from = startNs - (((startNs % stepNs) + stepNs) % stepNs);
  for (let first = true; from < endNs; from += stepNs, first = false) {
    const next = from + stepNs;
    if (next >= endNs) out.push({ startNs: first ? startNs : from, endNs: endNs + 1n, atNs: endNs });
    else out.push({ startNs: first ? startNs : from, endNs: next, atNs: next - SPLIT_GAP_NS });
  }
  if (out.length === 0) out.push({ startNs, endNs: endNs + 1n, atNs: endNs });
  return out;
}

export interface VolumeSeries {
  /** The series' labels; with `aggregateBy=labels` one label name with the empty value. */
  readonly metric: Record<string, string>;
  /** [bucket time in ns, bytes], ascending. */
  readonly samples: [bigint, number][];
}

/**
 * The volume series over `streams` (already selected with `volumeMatchers` and merged), per bucket:
 * each bucket keeps its top `limit` series (by bytes, then by name), and the series are ordered by
 * their first sample, as Loki's volume middleware merges its per-bucket answers.
 */
export function computeVolumes(streams: readonly LogStreamEntries[], buckets: readonly VolumeBucket[], req: VolumeRequest): VolumeSeries[] {
  const bySeries = req.aggregateBy === 'series';
  // Series aggregate into the selector's label names (or the targets); labels into every label of
  // the stream (or the targets), each answered as {name=""}.
  const keep = new Set(req.targetLabels.length ? req.targetLabels : req.matchers.map((m) => m.name));
  const maxSeries = req.maxSeries ?? DEFAULT_VOLUME_MAX_SERIES;
  const perBucket = buckets.map(() => new Map<string, { metric: Record<string, string>; name: string; bytes: number }>());
  for (const s of streams) {
    // Each group is [key, name to order by, metric].
    const groups: [string, string, Record<string, string>][] = [];
    if (bySeries) {
      const l = s.labels.keep(...keep);
      groups.push([l.key(), l.toString(), l.toObject()]);
    } else s.labels.forEach((n) => void ((req.targetLabels.length === 0 || keep.has(n)) && groups.push([n, n, { [n]: '' }])));
    const ts = s.timestampsNs;
    let b = 0;
    for (let i = 0; i < ts.length; i++) {
      while (b < buckets.length && ts[i] >= buckets[b].endNs) b++;
      if (b === buckets.length) break;
      if (ts[i] < buckets[b].startNs) continue;
      const bytes = Buffer.byteLength(s.lines[i]);
      const m = perBucket[b];
      for (const [key, name, metric] of groups) {
        let v = m.get(key);
        if (!v) {
          m.set(key, (v = { metric, name, bytes: 0 }));
          if (maxSeries > 0 && m.size > maxSeries)
            throw new StrataError('logs-volume-max-series', `the query hit the max number of series limit (limit: ${maxSeries} series)`);
        }
        v.bytes += bytes;
      }
    }
  }
  const merged = new Map<string, { metric: Record<string, string>; name: string; samples: [bigint, number][] }>();
  perBucket.forEach((m, bi) => {
    const top = [...m.values()].sort((a, b) => b.bytes - a.bytes || cmp(a.name, b.name)).slice(0, req.limit);
    for (const v of top) {
      let out = merged.get(v.name);
      if (!out) merged.set(v.name, (out = { metric: v.metric, name: v.name, samples: [] }));
      out.samples.push([buckets[bi].atNs, v.bytes]);
    }
  });
  return [...merged.values()]
    .sort((a, b) => b.samples[0][1] - a.samples[0][1] || cmp(a.name, b.name))
    .map(({ metric, samples }) => ({ metric, samples }));
}

const cmp = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);
