/**
 * The downsampling step of a group pass (docs/format/downsampling.md): a block of raw data gets a
 * 5m rollup, a 5m rollup a 1h one, a 1h rollup a 1d one, each written by tsdb's downsampleBlock
 * from the block alone (rollups of rollups merge aggregates and sketches, never re-sample).
 *
 * When: a block qualifies for the next resolution once its range spans that resolution's "after"
 * duration (Thanos' rule: 40h, 10d), or, since block ranges stop growing at the largest level
 * (14d by default, shorter than 60d), once it has that largest range and its newest sample is older
 * than "after". Each rollup keeps its source's range; rollups then compact level by level in their
 * own groups like raw blocks.
 *
 * Idempotent and crash-safe: a block is skipped when a rollup of the next resolution with its
 * labels already holds all of its source blocks (compaction.sources). The rollup is uploaded with
 * meta.json last, so a crash before that leaves a partial upload (cleaned up later) and the block is
 * downsampled again, to the same samples; never a second complete rollup that would double-count.
 */
import path from 'node:path';
import fsp from 'node:fs/promises';
import { BlockReader, downsampleBlock, RES_1D, RES_1H, RES_5M, type BlockMeta } from '@strata/tsdb';
import type { GroupPass, GroupStep } from './compactor.js';
import { resolutionOf } from './planner.js';

export interface DownsampleAfter {
  /** Raw -> 5m, 5m -> 1h, 1h -> 1d thresholds in ms (defaults 40h, 10d, 60d). */
  fiveMinutes: number;
  oneHour: number;
  oneDay: number;
}

export const DEFAULT_DOWNSAMPLE_AFTER: DownsampleAfter = { fiveMinutes: 40 * 3600_000, oneHour: 10 * 86400_000, oneDay: 60 * 86400_000 };

/** The resolution a block of `resolution` is downsampled to, and its threshold; undefined at 1d. */
function next(resolution: number, after: DownsampleAfter): { to: number; after: number } | undefined {
  if (resolution === 0) return { to: RES_5M, after: after.fiveMinutes };
  if (resolution === RES_5M) return { to: RES_1H, after: after.oneHour };
  if (resolution === RES_1H) return { to: RES_1D, after: after.oneDay };
  return undefined;
}

/** Blocks of `pass`'s group that are due for their next resolution and have no rollup yet. */
export function dueForDownsampling(
  pass: Pick<GroupPass, 'group' | 'usable' | 'tenantBlocks'>,
  o: DownsampleStepOptions,
  now: number,
): BlockMeta[] {
  const step = next(pass.group.resolution, o.after);
  if (!step) return [];
  const largest = Math.max(...o.blockRangesMs);
  const rollups = pass.tenantBlocks().filter((b) => resolutionOf(b) === step.to && sameLabels(b, pass.group.labels, o.replicaLabels));
  return pass.usable().filter((b) => {
    const range = b.maxTime - b.minTime;
    if (!(range >= step.after || (range >= largest && now - b.maxTime >= step.after))) return false;
    const sources = b.compaction.sources.length ? b.compaction.sources : [b.ulid];
    return !rollups.some((r) => sources.every((s) => r.compaction.sources.includes(s)));
  });
}

function sameLabels(b: BlockMeta, labels: Record<string, string>, replicaLabels: readonly string[]): boolean {
  const own = Object.entries(b.thanos?.labels ?? {}).filter(([k]) => !replicaLabels.includes(k));
  return own.length === Object.keys(labels).length && own.every(([k, v]) => labels[k] === v);
}

export interface DownsampleStepOptions {
  after: DownsampleAfter;
  /** The compactor's level ranges (--compactor.block-ranges). */
  blockRangesMs: number[];
  replicaLabels: string[];
  now?: () => number;
  /** Counts downsamplings by target resolution and result. */
  onDone?: (resolution: number, result: 'done' | 'failed') => void;
}

/** The group step that downsamples every due block of the group, one at a time. */
export function downsampleStep(o: DownsampleStepOptions): GroupStep {
  return async (pass) => {
    for (const b of dueForDownsampling(pass, o, (o.now ?? Date.now)())) {
      const to = next(pass.group.resolution, o.after)!.to;
      const src = path.join(pass.workDir, 'ds-src');
      const out = path.join(pass.workDir, 'ds-out');
      await fsp.rm(src, { recursive: true, force: true });
      await fsp.rm(out, { recursive: true, force: true });
      await fsp.mkdir(out, { recursive: true });
      try {
        await pass.download(b.ulid, src);
        const reader = await BlockReader.openDir(path.join(src, b.ulid));
        let meta: BlockMeta;
        try {
          meta = await downsampleBlock(reader, out, to, { externalLabels: pass.group.labels });
        } finally {
          await reader.close();
        }
        await pass.upload(path.join(out, meta.ulid));
        o.onDone?.(to, 'done');
      } catch (e) {
        o.onDone?.(to, 'failed');
        throw new Error(`downsampling block ${b.ulid} to ${to} ms: ${(e as Error).message}`, { cause: e });
      } finally {
        await fsp.rm(src, { recursive: true, force: true });
        await fsp.rm(out, { recursive: true, force: true });
      }
    }
  };
}
