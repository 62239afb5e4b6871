/**
 * What to compact, as pure functions of the blocks' meta.json (facts of Thanos' planner, our own
 * code). Blocks of a tenant form groups: equal external labels once the replica labels are
 * removed, and equal resolution; blocks of different groups never merge. Within a group:
 *  1. overlapping blocks (the RF copies of a range, the extra block of late samples, a range cut
 *     twice around a crash) are merged first: vertical compaction;
 *  2. then, for each level range after the first (8h, 48h, 336h by default), the blocks inside one
 *     aligned range are merged once the range is complete: they span it exactly, or a newer block
 *     starts after it ends (so nothing more will land in it). The newest block is left out, as it
 *     may just have been uploaded (a window for maintenance, as Thanos does).
 * One plan at a time: the caller applies it and plans again, until nothing is left to do.
 */
import type { BlockMeta } from '@strata/tsdb';

export interface Group {
  /** Stable: resolution and sorted external labels (replica labels removed). */
  key: string;
  resolution: number;
  labels: Record<string, string>;
  /** Oldest first (by minTime, then ULID). */
  blocks: BlockMeta[];
}

export interface Plan {
  /** tombstones: one block rewritten without the samples of the tombstones it does not reflect yet. */
  kind: 'vertical' | 'level' | 'tombstones';
  /** Oldest first. */
  sources: BlockMeta[];
  /** The level range the output fills (level plans only). */
  rangeMs?: number;
}

export function resolutionOf(m: BlockMeta): number {
  return m.thanos?.downsample?.resolution ?? 0;
}

export function groupLabels(m: BlockMeta, replicaLabels: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  const labels = m.thanos?.labels ?? {};
  for (const k of Object.keys(labels).sort()) if (!replicaLabels.includes(k)) out[k] = labels[k];
  return out;
}

export function groupKey(m: BlockMeta, replicaLabels: readonly string[]): string {
  const labels = groupLabels(m, replicaLabels);
  return `${resolutionOf(m)}@${Object.entries(labels)
    .map(([k, v]) => `${k}=${JSON.stringify(v)}`)
    .join(',')}`;
}

export function byMinTime(a: BlockMeta, b: BlockMeta): number {
  return a.minTime - b.minTime || a.maxTime - b.maxTime || (a.ulid < b.ulid ? -1 : a.ulid > b.ulid ? 1 : 0);
}

export function groupBlocks(metas: readonly BlockMeta[], replicaLabels: readonly string[]): Group[] {
  const groups = new Map<string, Group>();
  for (const m of metas) {
    const key = groupKey(m, replicaLabels);
    let g = groups.get(key);
    if (!g) groups.set(key, (g = { key, resolution: resolutionOf(m), labels: groupLabels(m, replicaLabels), blocks: [] }));
    g.blocks.push(m);
  }
  for (const g of groups.values()) g.blocks.sort(byMinTime);
  return [...groups.values()].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
}

/** The first run of blocks (oldest first) that overlap one another, or undefined when none do. */
export function firstOverlap(sorted: readonly BlockMeta[]): BlockMeta[] | undefined {
  let run: BlockMeta[] = [];
  let runEnd = -Infinity;
  for (const m of sorted) {
    if (run.length > 0 && m.minTime < runEnd) {
      run.push(m);
    } else {
      if (run.length > 1) return run;
      run = [m];
    }
    runEnd = run.length === 1 ? m.maxTime : Math.max(runEnd, m.maxTime);
  }
  return run.length > 1 ? run : undefined;
}

/** Start of the aligned range of width `range` that holds time `t` (floor, also for negative times). */
export function rangeStart(t: number, range: number): number {
  return Math.floor(t / range) * range;
}

/**
 * The blocks (oldest first, not overlapping) in runs that each lie within one aligned range of
 * width `range`; a block wider than the range, or crossing its boundary, belongs to no run.
 */
export function splitByRange(sorted: readonly BlockMeta[], range: number): BlockMeta[][] {
  const out: BlockMeta[][] = [];
  for (let i = 0; i < sorted.length;) {
    const t0 = rangeStart(sorted[i].minTime, range);
    if (sorted[i].maxTime > t0 + range) {
      i++;
      continue;
    }
    const run: BlockMeta[] = [];
    for (; i < sorted.length && sorted[i].maxTime <= t0 + range; i++) run.push(sorted[i]);
    out.push(run);
  }
  return out;
}

/** The next compaction of a group's blocks (oldest first), or undefined when the group is done. */
export function planGroup(sorted: readonly BlockMeta[], rangesMs: readonly number[]): Plan | undefined {
  if (sorted.length < 2) return undefined;
  const overlap = firstOverlap(sorted);
  if (overlap) return { kind: 'vertical', sources: overlap };
  const newestStart = sorted[sorted.length - 1].minTime;
  const candidates = sorted.slice(0, -1);
  for (const range of rangesMs.slice(1)) {
    for (const run of splitByRange(candidates, range)) {
      if (run.length < 2) continue;
      const span = run[run.length - 1].maxTime - run[0].minTime;
      if (span === range || run[run.length - 1].maxTime <= newestStart) return { kind: 'level', sources: run, rangeMs: range };
    }
  }
  return undefined;
}

/** The shipped blocks whose data a block holds: its compaction sources, or itself when it was never compacted. */
export function shippedSources(m: BlockMeta): string[] {
  return m.compaction?.sources?.length ? m.compaction.sources : [m.ulid];
}

/**
 * Blocks whose every source block is already in another block of the group: the output of a
 * compaction whose sources were not marked yet (the compactor stopped in between), or a second
 * output of the same sources (the work was redone). They are safe to mark for deletion. Of two
 * blocks with the same sources, the one reflecting more tombstones stays (a rewrite without deleted
 * samples replaces its source), else the one with the lower ULID.
 */
export function superseded(blocks: readonly BlockMeta[]): BlockMeta[] {
  const sources = blocks.map((b) => new Set(shippedSources(b)));
  const out: BlockMeta[] = [];
  for (let i = 0; i < blocks.length; i++) {
    for (let j = 0; j < blocks.length; j++) {
      if (i === j || sources[j].size < sources[i].size) continue;
      let covered = true;
      for (const s of sources[i]) if (!sources[j].has(s)) covered = false;
      if (!covered) continue;
      const tj = blocks[j].strata?.tombstones?.length ?? 0;
      const ti = blocks[i].strata?.tombstones?.length ?? 0;
      if (sources[j].size > sources[i].size || tj > ti || (tj === ti && blocks[j].ulid < blocks[i].ulid)) {
        out.push(blocks[i]);
        break;
      }
    }
  }
  return out;
}
