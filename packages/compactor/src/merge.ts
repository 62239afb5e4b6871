/** The merge the compactor runs: tsdb's streaming k-way compaction of local block folders. */
import { BlockCorruptError, BlockReader, compactBlocks, downsampleBlocks } from '@strata/tsdb';
import type { MergeBlocks } from './compactor.js';

export const mergeBlocks: MergeBlocks = async (sourceDirs, outDir, group, tombstones) => {
  // Rollups hold aggregate chunks, which compactBlocks does not merge: they are joined window by
  // window (an overlapping copy's windows once), counters continued across the sources.
  if (group.resolution > 0) {
    const readers = await Promise.all(sourceDirs.map((d) => BlockReader.openDir(d)));
    try {
      const meta = await downsampleBlocks(readers, outDir, group.resolution, { externalLabels: group.labels });
      return { ulid: meta.ulid, conflictingSamples: 0 };
    } finally {
      for (const r of readers) await r.close();
    }
  }
  const { meta, stats } = await compactBlocks(sourceDirs, outDir, {
    externalLabels: group.labels,
    resolution: group.resolution,
    tombstones,
  });
  return { ulid: meta.ulid, conflictingSamples: stats.conflictingSamples };
};

/** The source block a merge error blames, when the block itself is broken. */
export function corruptBlockOf(err: unknown): string | undefined {
  return err instanceof BlockCorruptError ? err.ulid : undefined;
}
