/**
 * Turns the oldest complete block range of a head into a block, as Prometheus does: once the
 * head spans more than 1.5 block ranges, the aligned range holding its oldest sample is written
 * and dropped from memory. Out-of-order samples that arrive for an already-written range make an
 * extra block for that range on the next pass; nothing is lost.
 */
import { pace } from '@strata/model';
import { XOREncoder, XORIterator } from './chunkenc/xor.js';
import { decodeHistogramChunk } from './chunkenc/histogram.js';
import { isHistogramEncoding } from './block/histogram-chunks.js';
import { mergeSeriesChunks, newMergeCounters } from './block/series-merge.js';
import type { Head } from './head/head.js';
import type { MemSeries } from './head/series.js';
import { writeBlock, type BlockChunk, type BlockSeries } from './block/writer.js';
import type { BlockMeta } from './block/meta.js';

/**
 * The block of one series for [mint, maxt]: head chunks as they are, float (XOR) and native
 * histogram ones in time order; re-encoded only when out-of-order data must be merged in, or
 * where float and histogram chunks overlap in time (samples of both kinds interleaved), which
 * a block's chunk list may not.
 */
export function seriesForBlock(s: MemSeries, mint: number, maxt: number, samplesPerChunk: number): BlockChunk[] {
  const floats = floatChunksForBlock(s, mint, maxt, samplesPerChunk);
  const hist = s.hist?.chunksIn(mint, maxt);
  if (!hist || hist.length === 0) return floats;
  const hs: BlockChunk[] = hist.map((c) => ({ minT: c.minT, maxT: c.maxT, data: c.data, encoding: c.encoding }));
  if (floats.length === 0) return hs;
  // Two sources, each in time order: chunks overlapping no other pass through, the rest merge.
  const sources = [
    { src: 0, chunks: floats },
    { src: 1, chunks: hs },
  ];
  return mergeSeriesChunks(sources, [], samplesPerChunk, newMergeCounters()).chunks;
}

function floatChunksForBlock(s: MemSeries, mint: number, maxt: number, samplesPerChunk: number): BlockChunk[] {
  if (!s.hasOOOIn(mint, maxt)) return s.chunksIn(mint, maxt);
  const data = s.samples(mint, maxt);
  if (!data) return [];
  const out: BlockChunk[] = [];
  const bits = new Uint32Array(data.values.buffer, data.values.byteOffset, data.values.length * 2);
  for (let i = 0; i < data.timestamps.length; i += samplesPerChunk) {
    const enc = new XOREncoder();
    const end = Math.min(data.timestamps.length, i + samplesPerChunk);
    for (let k = i; k < end; k++) enc.appendBits(data.timestamps[k], bits[2 * k + 1], bits[2 * k]);
    out.push({ minT: data.timestamps[i], maxT: data.timestamps[end - 1], data: enc.bytes().slice() });
  }
  return out;
}

export interface CompactOptions {
  blocksDir: string;
  rangeMs: number;
  samplesPerChunk: number;
  externalLabels: Record<string, string>;
  /** Write everything, including the incomplete newest range (flush on shutdown). */
  force?: boolean;
  /**
   * Makes a written block visible to queries. Called before the head drops the block's range,
   * so a query always finds that range in the head, the block, or both (merged by timestamp).
   */
  publish?: (meta: BlockMeta) => Promise<void>;
}

/** Cuts as many blocks as the head allows; returns their metas, oldest first. */
export async function compactHead(head: Head, opts: CompactOptions): Promise<BlockMeta[]> {
  const written: BlockMeta[] = [];
  const range = opts.rangeMs;
  for (;;) {
    const { minTime, maxTime, numSeries } = head.stats();
    if (numSeries === 0 || !Number.isFinite(minTime)) break;
    if (!opts.force && maxTime - minTime <= range * 1.5) break;
    const a = Math.floor(minTime / range) * range;
    const b = a + range;
    if (!opts.force && b > maxTime) break;
    head.markApplied();
    const series: BlockSeries[] = [];
    const captured = new Map<MemSeries, BlockChunk[]>();
    for (const s of head.allSeries()) {
      const chunks = seriesForBlock(s, a, b - 1, opts.samplesPerChunk);
      if (chunks.length > 0) {
        series.push({ labels: s.labels, chunks });
        captured.set(s, chunks);
      }
      // Between yields (pace), as the block is written: commits landing meanwhile are what the
      // mark above catches (samplesNotIn below), as for those while the block is written.
      const y = pace();
      if (y) await y;
    }
    if (series.length > 0) {
      const meta = await writeBlock(opts.blocksDir, series, { minTime: a, maxTime: b, externalLabels: opts.externalLabels });
      await opts.publish?.(meta);
      written.push(meta);
    }
    // Reads that began before the block was published may not look at it: let them finish.
    await head.readsBegunBefore();
    // Commits go on while the block is written; any that landed below b are not in it.
    const late = head.lowestAppliedSinceMark < b;
    head.truncateBefore(b, late ? samplesNotIn(head, captured, b) : undefined, late ? histogramChunksNotIn(head, captured, b) : undefined);
  }
  return written;
}

/** Per series, the samples older than `before` that the captured chunks do not hold. */
function samplesNotIn(
  head: Head,
  captured: ReadonlyMap<MemSeries, BlockChunk[]>,
  before: number,
): Map<MemSeries, { timestamps: Float64Array; bits: Uint32Array }> {
  const out = new Map<MemSeries, { timestamps: Float64Array; bits: Uint32Array }>();
  for (const s of head.allSeries()) {
    const now = s.samples(-Infinity, before - 1);
    if (!now) continue;
    const had = new Set<number>();
    for (const c of captured.get(s) ?? []) {
      if (isHistogramEncoding(c.encoding)) continue;
      const it = new XORIterator(c.data);
      while (it.next()) had.add(it.t);
    }
    if (had.size === now.timestamps.length) continue;
    const bits = new Uint32Array(now.values.buffer, now.values.byteOffset, now.values.length * 2);
    const keepTs: number[] = [];
    const keepBits: number[] = [];
    for (let i = 0; i < now.timestamps.length; i++) {
      if (had.has(now.timestamps[i])) continue;
      keepTs.push(now.timestamps[i]);
      keepBits.push(bits[2 * i], bits[2 * i + 1]);
    }
    if (keepTs.length > 0) out.set(s, { timestamps: Float64Array.from(keepTs), bits: Uint32Array.from(keepBits) });
  }
  return out;
}

/**
 * Per series, the start times of its histogram chunks older than `before` holding a sample the
 * captured chunks do not (committed while the block was written): those chunks stay in the head
 * and go into a later block for the range. Their other samples are then in two blocks, which
 * reads and compaction deduplicate by timestamp.
 */
function histogramChunksNotIn(head: Head, captured: ReadonlyMap<MemSeries, BlockChunk[]>, before: number): Map<MemSeries, Set<number>> {
  const out = new Map<MemSeries, Set<number>>();
  for (const s of head.allSeries()) {
    if (!s.hist) continue;
    const had = new Set<number>();
    for (const c of captured.get(s) ?? []) {
      if (!isHistogramEncoding(c.encoding)) continue;
      for (const t of decodeHistogramChunk(c.data, c.encoding!).timestamps) had.add(t);
    }
    for (const c of s.hist.chunksIn(-Infinity, before - 1)) {
      if (c.maxT >= before) continue;
      const ts = decodeHistogramChunk(c.data, c.encoding).timestamps;
      if (ts.some((t) => !had.has(t))) {
        let keep = out.get(s);
        if (!keep) out.set(s, (keep = new Set()));
        keep.add(c.minT);
      }
    }
  }
  return out;
}
