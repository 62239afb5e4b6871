/** The merge the compactor runs: tsdb's streaming k-way compaction of local block folders. */
import { BlockCorruptError, compactBlocks } from '@strata/tsdb';
import type { MergeBlocks } from './compactor.js';

export const mergeBlocks: MergeBlocks = async (sourceDirs, outDir, group) => {
  const { meta, stats } = await compactBlocks(sourceDirs, outDir, { externalLabels: group.labels, resolution: group.resolution });
  return { ulid: meta.ulid, conflictingSamples: stats.conflictingSamples };
};

/** The source block a merge error blames, when the block itself is broken. */
export function corruptBlockOf(err: unknown): string | undefined {
  return err instanceof BlockCorruptError ? err.ulid : undefined;
}
