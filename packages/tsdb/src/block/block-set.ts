/**
 * A set of blocks queried as one: each block's index selects the series and its overlapping
 * chunks, then every series' chunks from all blocks are decoded once into one pair of arrays, in
 * block order. No per-block series arrays and no merge: that holds because blocks whose time
 * ranges do not overlap (the usual case: successive head cuts) hold disjoint samples of a series.
 * Blocks that do overlap (an extra block of out-of-order samples for a range) are merged by
 * timestamp as before.
 */
import { Labels, MergeQuerier, type Matcher, type Querier, type RawSeries, type SelectHints, type Series } from '@strata/model';
import { decodeSeriesChunks, type BlockReader } from './reader.js';

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
    const blocks = this.inRange(hints);
    if (blocks.length === 0) return [];
    if (blocks.length === 1) return blocks[0].select(matchers, hints);
    if (!this.disjoint(blocks)) return new MergeQuerier(blocks).select(matchers, hints);
    const perBlock = await Promise.all(blocks.map((b) => b.selectChunks(matchers, { ...hints, limit: undefined })));
    const byKey = new Map<string, { labels: Labels; lists: Uint8Array[][] }>();
    for (const list of perBlock) {
      for (const s of list) {
        const k = s.labels.key();
        const have = byKey.get(k);
        if (have) have.lists.push(s.chunks);
        else byKey.set(k, { labels: s.labels, lists: [s.chunks] });
      }
    }
    hints.signal?.throwIfAborted();
    const out: Series[] = [];
    for (const { labels, lists } of byKey.values()) {
      const s = decodeSeriesChunks(labels, lists, hints.start, hints.end);
      if (s) out.push(s);
    }
    out.sort((a, b) => Labels.compare(a.labels, b.labels));
    return hints.limit ? out.slice(0, hints.limit) : out;
  }

  /** Blocks in time order: each block's chunk list is one part, merged as select() merges blocks. */
  async selectRaw(matchers: readonly Matcher[], hints: SelectHints): Promise<RawSeries[]> {
    const blocks = this.inRange(hints);
    if (blocks.length === 0) return [];
    if (blocks.length === 1) return blocks[0].selectRaw(matchers, hints);
    return new MergeQuerier(blocks).selectRaw(matchers, hints);
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
