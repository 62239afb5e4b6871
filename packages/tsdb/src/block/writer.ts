/**
 * Writes a whole set of series held in memory (the head's chunks for one range) as a block,
 * through the streaming BlockWriter: sorted here, symbols collected first. Byte format:
 * docs/format/block.md.
 */
import { pace, sortPaced, type Labels } from '@strata/model';
import { BlockWriter, type BlockChunk, type BlockWriterOptions } from './block-writer.js';
import { compareBytes, compareLabelsBytes } from './format.js';
import type { BlockMeta } from './meta.js';

export type { BlockChunk };
export {
  CHUNK_ENCODING_XOR,
  CHUNKS_MAGIC,
  compareBytes,
  compareLabelsBytes,
  INDEX_MAGIC,
  INDEX_VERSION_2,
  MAX_CHUNK_SEGMENT_BYTES,
  TOMBSTONES_MAGIC,
} from './format.js';

export interface BlockSeries {
  labels: Labels;
  chunks: BlockChunk[];
}

export type WriteBlockOptions = BlockWriterOptions;

/**
 * Writes `series` (any order; sorted here) as a block under `parentDir`. Chunks must lie within
 * [minTime, maxTime). Returns the block's meta.
 */
export async function writeBlock(
  parentDir: string,
  input: Iterable<BlockSeries> | AsyncIterable<BlockSeries>,
  opts: WriteBlockOptions,
): Promise<BlockMeta> {
  // Between yields throughout (pace): a head cut or a compaction writes hundreds of thousands of
  // series on the thread that acknowledges writes, and sorting them alone takes a second.
  const list: BlockSeries[] = [];
  for await (const s of input as AsyncIterable<BlockSeries>) if (s.chunks.length > 0) list.push(s);
  await sortPaced(list, (a, b) => compareLabelsBytes(a.labels, b.labels));
  const symbolSet = new Set<string>();
  for (const s of list) {
    for (const p of s.labels.pairs) symbolSet.add(p);
    const y = pace();
    if (y) await y;
  }
  const w = await BlockWriter.create(parentDir, await sortPaced([...symbolSet], compareBytes), opts);
  try {
    for (const s of list) {
      await w.addSeries(s.labels, s.chunks);
      const y = pace();
      if (y) await y;
    }
    return await w.finish();
  } catch (e) {
    await w.abort();
    throw e;
  }
}
