/**
 * downsampleBlock: a block's rollup at a coarser resolution, written as a new block in Thanos'
 * downsampled format (aggregate chunks, meta.json thanos.downsample.resolution). Raw blocks give
 * 5m rollups; rollups give coarser rollups from their aggregates and sketches alone (raw data is
 * never re-read or re-sampled). Series stream through in index order, a batch at a time, so memory
 * holds one batch of series' chunks, not the block. The result depends only on the input's samples:
 * redoing it (after a crash) writes the same series, chunks and samples under a new ULID.
 */
import type { Labels } from '@strata/model';
import type { BlockReader } from '../block/reader.js';
import { decodeSeriesChunks } from '../block/reader.js';
import type { BlockSeries } from '../block/writer.js';
import { BlockWriter } from '../block/block-writer.js';
import type { BlockMeta } from '../block/meta.js';
import { fromChunks, RESOLUTIONS, rollupFromRaw, rollupFromRollup, toChunks } from './rollup.js';

/** Series read per batch of index and chunk reads. */
const BATCH = 512;

export interface DownsampleOptions {
  /** ULID of the new block; a fresh one by default. */
  ulid?: string;
  /** meta.json thanos.source of the new block. */
  source?: string;
}

/** Writes the rollup of `source` at `resolution` (ms: 300000, 3600000, 86400000) under `outDir`; returns its meta. */
export async function downsampleBlock(
  source: BlockReader,
  outDir: string,
  resolution: number,
  opts: DownsampleOptions = {},
): Promise<BlockMeta> {
  const from = source.resolution;
  if (!RESOLUTIONS.includes(resolution as (typeof RESOLUTIONS)[number]) || resolution <= from)
    throw new Error(
      `block ${source.meta.ulid}: cannot downsample resolution ${from} to ${resolution}; resolutions are ${RESOLUTIONS.join(', ')} ms, coarser only`,
    );
  const meta = source.meta;
  // Labels do not change: the source's symbol table is the rollup's.
  const w = await BlockWriter.create(outDir, source.index.allSymbols(), {
    minTime: meta.minTime,
    maxTime: meta.maxTime,
    externalLabels: meta.thanos?.labels ?? {},
    source: opts.source ?? 'compactor',
    ulid: opts.ulid,
    resolution,
    // As Thanos: a rollup keeps its source's compaction history (level and source blocks).
    compactionLevel: meta.compaction.level,
    compactionSources: [...meta.compaction.sources],
  });
  try {
    for await (const s of rollupSeries(source, resolution)) await w.addSeries(s.labels, s.chunks);
    return await w.finish();
  } catch (e) {
    await w.abort();
    throw e;
  }
}

async function* rollupSeries(source: BlockReader, resolution: number): AsyncGenerator<BlockSeries> {
  const ids = await source.index.postings('', '');
  for (let i = 0; i < ids.length; i += BATCH) {
    const entries = await source.index.seriesMany(ids.subarray(i, i + BATCH));
    const refs: number[] = [];
    for (const e of entries) for (const c of e.chunks) refs.push(c.ref);
    const datas = await source.chunksOf(refs);
    let k = 0;
    for (const e of entries) {
      const chunks = datas.slice(k, k + e.chunks.length);
      k += e.chunks.length;
      const s = rollupOf(source, e.labels, chunks, resolution);
      if (s) yield s;
    }
  }
}

/**
 * Whether a series is named as a counter (Prometheus' suffixes, as PromQL's rate() info uses):
 * quantiles of a counter's running total mean nothing, and its sketches would be most of a
 * rollup's bytes (every raw value distinct), so counters get none.
 */
export function counterNamed(labels: Labels): boolean {
  return /(_total|_sum|_count|_bucket)$/.test(labels.get('__name__'));
}

function rollupOf(source: BlockReader, labels: Labels, chunks: Uint8Array[], resolution: number): BlockSeries | undefined {
  if (source.resolution === 0) {
    const raw = decodeSeriesChunks(labels, [chunks], -Infinity, Infinity);
    const r = raw && rollupFromRaw(raw.timestamps, raw.values, resolution);
    if (r && counterNamed(labels)) r.sketches = undefined;
    return r && { labels, chunks: toChunks(r, resolution) };
  }
  const r = fromChunks(chunks);
  return r && { labels, chunks: toChunks(rollupFromRollup(r, resolution), resolution) };
}
