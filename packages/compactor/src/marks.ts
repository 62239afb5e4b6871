/**
 * The marker files a compactor writes next to a block, in Thanos' formats so Thanos tools and
 * Strata read each other's buckets: deletion-mark.json (the block goes away after the deletion
 * delay; readers stop using it by then) and no-compact-mark.json (the block stays queryable but is
 * never a compaction source again, e.g. because it cannot be read).
 */
export const DELETION_MARK_FILE = 'deletion-mark.json';
export const NO_COMPACT_MARK_FILE = 'no-compact-mark.json';

export interface DeletionMark {
  id: string;
  /** Unix seconds. */
  deletion_time: number;
  version: 1;
  details?: string;
}

/** Thanos' reasons; Strata writes "block-corrupt" for a block it cannot read and "manual" from `tools bucket mark`. */
export type NoCompactReason = 'block-corrupt' | 'manual' | 'index-size-exceeding' | 'downsample-vertical-compaction';

export interface NoCompactMark {
  id: string;
  /** Unix seconds. */
  no_compact_time: number;
  version: 1;
  reason: NoCompactReason;
  details?: string;
}

export function deletionMark(id: string, nowMs: number, details?: string): DeletionMark {
  return { id, deletion_time: Math.floor(nowMs / 1000), version: 1, ...(details ? { details } : {}) };
}

export function noCompactMark(id: string, nowMs: number, reason: NoCompactReason, details?: string): NoCompactMark {
  return { id, no_compact_time: Math.floor(nowMs / 1000), version: 1, reason, ...(details ? { details } : {}) };
}

/** A deletion mark as written by Strata or Thanos; undefined when the text is not one (a torn write counts as no mark). */
export function parseDeletionMark(text: string): DeletionMark | undefined {
  try {
    const m = JSON.parse(text) as DeletionMark;
    return typeof m.id === 'string' && typeof m.deletion_time === 'number' ? m : undefined;
  } catch {
    return undefined;
  }
}
