/**
 * A set of blocks queried as one: each block's index selects the series and its overlapping
 * chunks, then every series' chunks from all blocks are decoded once into one pair of arrays, in
 * block order. No per-block series arrays and no merge: that holds because blocks whose time
 * ranges do not overlap (the usual case: successive head cuts) hold disjoint samples of a series.
 * Blocks that do overlap (an extra block of out-of-order samples for a range) are merged by
 * timestamp as before.
 */
import {
  Labels,
  MergeQuerier,
  type FloatHistogram,
  type Matcher,
  type Querier,
  type RawPacker,
  type RawSeries,
  type SelectHints,
  type Series,
} from '@strata/model';
import { decodeSeriesChunks, type BlockReader } from './reader.js';
import { joinSourceParts, modeFor, type Part, type SourcePart } from '../downsample/rollup-query.js';

/** A series selected from rollups, as its parts before the join (see BlockSetQuerier.selectRollupParts). */
export interface PartsSeries {
  labels: Labels;
  /** In the order the join takes them (it sorts them by time itself). */
  parts: SourcePart[];
}

/** A querier that can also answer with rollup parts undecoded (a block set, a store gateway's). */
export interface RollupPartsQuerier extends Querier {
  selectRollupParts(matchers: readonly Matcher[], hints: SelectHints): Promise<PartsSeries[] | undefined>;
}

export function hasRollupParts(q: Querier): q is RollupPartsQuerier {
  return typeof (q as Partial<RollupPartsQuerier>).selectRollupParts === 'function';
}

/** A block and the part [from, to) of the time line it answers for in a query. */
export interface PlannedBlock<B extends Plannable = BlockReader> {
  block: B;
  from: number;
  to: number;
}

/** What planning needs of a block: a store can plan on metas before it opens any block. */
export interface Plannable {
  readonly resolution: number;
  readonly meta: { readonly minTime: number; readonly maxTime: number };
}

/**
 * Which blocks answer [start, end) when rollups up to `maxResolution` may: Thanos' rule, the
 * coarsest resolution allowed wherever it has a block, the gaps it leaves filled from the next finer
 * one, down to raw data. Each instant is answered by one resolution only (no range is counted
 * twice); blocks of one resolution that overlap each other (replicas) all answer their range.
 */
export function planBlocks<B extends Plannable>(
  blocks: readonly B[],
  start: number,
  end: number,
  maxResolution: number,
): PlannedBlock<B>[] {
  const levels = [...new Set(blocks.map((b) => b.resolution))].filter((r) => r <= maxResolution).sort((a, b) => b - a);
  const out: PlannedBlock<B>[] = [];
  const cover = (from: number, to: number, level: number): void => {
    if (from >= to || level >= levels.length) return;
    const here = blocks
      .filter((b) => b.resolution === levels[level] && b.meta.maxTime > from && b.meta.minTime < to)
      .sort((a, b) => a.meta.minTime - b.meta.minTime);
    let cursor = from;
    let lastEnd = from;
    for (const b of here) {
      const lo = Math.max(from, b.meta.minTime);
      const hi = Math.min(to, b.meta.maxTime);
      if (lo > cursor) cover(cursor, lo, level + 1);
      // An overlapping block of the same resolution answers only what the earlier ones left,
      // except at the raw level where replicas are merged sample by sample.
      const own = levels[level] === 0 ? lo : Math.max(lo, lastEnd);
      if (hi > own) out.push({ block: b, from: own, to: hi });
      cursor = Math.max(cursor, hi);
      lastEnd = Math.max(lastEnd, hi);
    }
    cover(cursor, to, level + 1);
  };
  cover(start, end, 0);
  return out.sort((a, b) => a.from - b.from || a.block.meta.minTime - b.block.meta.minTime);
}

export class BlockSetQuerier implements Querier {
  private readonly blocks: BlockReader[];

  constructor(blocks: readonly BlockReader[]) {
    this.blocks = [...blocks].sort((a, b) => a.meta.minTime - b.meta.minTime);
  }

  /** Whether no two blocks' [minTime, maxTime) ranges overlap. */
  private disjoint(blocks: BlockReader[]): boolean {
    for (let i = 1; i < blocks.length; i++) if (blocks[i].meta.minTime < blocks[i - 1].meta.maxTime) return false;
    return true;
  }

  private inRange(hints: SelectHints): BlockReader[] {
    return this.blocks.filter((b) => b.meta.maxTime > hints.start && b.meta.minTime <= hints.end);
  }

  async select(matchers: readonly Matcher[], hints: SelectHints): Promise<Series[]> {
    const all = this.inRange(hints);
    const plan = planBlocks(all, hints.start, hints.end + 1, hints.maxResolution ?? 0);
    if (plan.some((p) => p.block.resolution > 0)) return this.selectMixed(plan, matchers, hints);
    // Raw data only: exactly as before rollups existed.
    const blocks = all.filter((b) => b.resolution === 0);
    if (blocks.length === 0) return [];
    if (blocks.length === 1) return blocks[0].select(matchers, hints);
    if (!this.disjoint(blocks)) return new MergeQuerier(blocks).select(matchers, hints);
    const perBlock = await Promise.all(blocks.map((b) => b.selectChunks(matchers, { ...hints, limit: undefined })));
    const byKey = new Map<string, { labels: Labels; lists: Uint8Array[][]; encodings?: (Uint8Array | undefined)[] }>();
    for (const list of perBlock) {
      for (const s of list) {
        const k = s.labels.key();
        let have = byKey.get(k);
        if (!have) byKey.set(k, (have = { labels: s.labels, lists: [] }));
        // Encodings per list, kept only once some block holds histogram chunks of the series.
        if (s.encodings && !have.encodings) have.encodings = new Array<Uint8Array | undefined>(have.lists.length);
        have.encodings?.push(s.encodings);
        have.lists.push(s.chunks);
      }
    }
    hints.signal?.throwIfAborted();
    const out: Series[] = [];
    for (const { labels, lists, encodings } of byKey.values()) {
      const s = decodeSeriesChunks(labels, lists, hints.start, hints.end, encodings);
      if (s) out.push(s);
    }
    out.sort((a, b) => Labels.compare(a.labels, b.labels));
    return hints.limit ? out.slice(0, hints.limit) : out;
  }

  /**
   * A select answered (partly) from rollups: every planned block's parts of each series, raw
   * replicas answering the same range merged by timestamp, joined in time order for the function
   * asked for (rollup-query.ts).
   */
  private async selectMixed(plan: PlannedBlock[], matchers: readonly Matcher[], hints: SelectHints): Promise<Series[]> {
    const mode = modeFor(hints.func);
    const out: Series[] = [];
    for (const { labels, parts } of await this.mixedParts(plan, matchers, hints, false)) {
      const s = joinSourceParts(labels, parts, mode);
      if (s) out.push(s);
    }
    out.sort((a, b) => Labels.compare(a.labels, b.labels));
    return hints.limit ? out.slice(0, hints.limit) : out;
  }

  /**
   * What select() joins when the plan reads rollups, before the join, float rollups' aggregate
   * chunks undecoded (as fetched), sorted by labels: joinSourceParts() of each gives select()'s
   * series. Undefined when the plan reads raw blocks only. For a store that sends rollups on
   * without decoding them (docs/format/rollup-read.md); hints.limit is not applied.
   */
  async selectRollupParts(matchers: readonly Matcher[], hints: SelectHints): Promise<PartsSeries[] | undefined> {
    const plan = planBlocks(this.inRange(hints), hints.start, hints.end + 1, hints.maxResolution ?? 0);
    if (!plan.some((p) => p.block.resolution > 0)) return undefined;
    return (await this.mixedParts(plan, matchers, hints, true)).sort((a, b) => Labels.compare(a.labels, b.labels));
  }

  private async mixedParts(
    plan: PlannedBlock[],
    matchers: readonly Matcher[],
    hints: SelectHints,
    undecoded: boolean,
  ): Promise<PartsSeries[]> {
    const hs = { ...hints, limit: undefined };
    const perBlock = await Promise.all(
      plan.map((p) =>
        undecoded ? p.block.selectSourceParts(matchers, hs, p.from, p.to - 1) : p.block.selectParts(matchers, hs, p.from, p.to - 1),
      ),
    );
    const byKey = new Map<string, { labels: Labels; parts: Map<number, SourcePart> }>();
    perBlock.forEach((list, i) => {
      for (const { labels, part } of list) {
        const k = labels.key();
        let have = byKey.get(k);
        if (!have) byKey.set(k, (have = { labels, parts: new Map() }));
        // Raw replicas of one range become one part; a rollup block is one part by itself.
        const key = part.kind === 'raw' ? -1 - plan[i].from : i;
        const prev = have.parts.get(key);
        have.parts.set(key, part.kind === 'raw' && prev?.kind === 'raw' ? mergeRaw(prev, part) : part);
      }
    });
    hints.signal?.throwIfAborted();
    const out: PartsSeries[] = [];
    for (const { labels, parts } of byKey.values()) out.push({ labels, parts: [...parts.values()] });
    return out;
  }

  /**
   * Blocks in time order: each block's chunk list is one part, merged as select() merges blocks.
   * Raw blocks only, as select() at max resolution 0: a rollup's counts and sketches have no place
   * in the raw form, so queries that may read rollups are evaluated where select() runs
   * (the querier's executor routes them; see docs/query-workers.md).
   */
  async selectRaw(matchers: readonly Matcher[], hints: SelectHints): Promise<RawSeries[]> {
    const blocks = this.inRange(hints).filter((b) => b.resolution === 0);
    if (blocks.length === 0) return [];
    if (blocks.length === 1) return blocks[0].selectRaw(matchers, hints);
    return new MergeQuerier(blocks).selectRaw(matchers, hints);
  }

  /**
   * selectRaw() written into a packer: each block in time order as a source of its own (the
   * reader merges equal label sets in that order, as selectRaw's parts are merged), so the thread
   * that owns the blocks neither keys nor collects their series.
   */
  async selectRawInto(matchers: readonly Matcher[], hints: SelectHints, into: RawPacker): Promise<void> {
    for (const b of this.inRange(hints)) if (b.resolution === 0) await b.selectRawInto(matchers, hints, into);
  }

  series(matchers: readonly Matcher[], hints: SelectHints): Promise<Labels[]> {
    return new MergeQuerier(this.inRange(hints)).series(matchers, hints);
  }

  labelNames(matchers: readonly Matcher[], hints: SelectHints): Promise<string[]> {
    return new MergeQuerier(this.inRange(hints)).labelNames(matchers, hints);
  }

  labelValues(name: string, matchers: readonly Matcher[], hints: SelectHints): Promise<string[]> {
    return new MergeQuerier(this.inRange(hints)).labelValues(name, matchers, hints);
  }
}

/** Two raw parts merged by timestamp; on equal timestamps the first one's sample is kept (histograms with theirs). */
function mergeRaw(a: Part & { kind: 'raw' }, b: Part & { kind: 'raw' }): Part {
  const n = a.t.length + b.t.length;
  const t = new Float64Array(n);
  const v = new Float64Array(n);
  const h: FloatHistogram[] | undefined = a.h || b.h ? [] : undefined;
  let i = 0;
  let j = 0;
  let k = 0;
  while (i < a.t.length || j < b.t.length) {
    if (j >= b.t.length || (i < a.t.length && a.t[i] <= b.t[j])) {
      if (j < b.t.length && b.t[j] === a.t[i]) j++;
      t[k] = a.t[i];
      if (h) h[k] = a.h![i];
      v[k++] = a.v[i++];
    } else {
      t[k] = b.t[j];
      if (h) h[k] = b.h![j];
      v[k++] = b.v[j++];
    }
  }
  // A series whose replicas disagree on its kind (floats in one, histograms in the other) keeps the first's.
  if (h && (!a.h || !b.h)) return a;
  return { kind: 'raw', t: t.subarray(0, k), v: v.subarray(0, k), h };
}
