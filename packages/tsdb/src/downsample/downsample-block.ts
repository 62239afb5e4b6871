/**
 * downsampleBlock: a block's rollup at a coarser resolution, written as a new block in Thanos'
 * downsampled format (aggregate chunks, meta.json thanos.downsample.resolution). Raw blocks give
 * 5m rollups; rollups give coarser rollups from their aggregates and sketches alone (raw data is
 * never re-read or re-sampled). mergeRollupBlocks joins rollups of one resolution (the compactor's
 * level compaction of rollup groups). Series stream through in label order, a batch per source at
 * a time, so memory holds a batch of series' chunks, not the blocks. The result depends only on the
 * input's samples: redoing it (after a crash) writes the same series, chunks and samples under a
 * new ULID.
 */
import type { Labels } from '@strata/model';
import type { BlockReader } from '../block/reader.js';
import { decodeSeriesChunks } from '../block/reader.js';
import { CHUNK_ENCODING_XOR } from '../block/format.js';
import type { BlockSeries } from '../block/writer.js';
import { BlockWriter } from '../block/block-writer.js';
import { compareBytes, compareLabelsBytes } from '../block/format.js';
import type { BlockMeta } from '../block/meta.js';
import { decodeAggrChunk } from './aggr-chunk.js';
import {
  concatHistogramRollups,
  histogramRollupFromChunks,
  histogramRollupFromRaw,
  histogramRollupFromRollup,
  histogramRollupToChunks,
  isHistogramAggrChunk,
  type HistogramRollup,
} from './histogram-rollup.js';
import { concatRollups, fromChunks, RESOLUTIONS, rollupFromRaw, rollupFromRollup, toChunks, type Rollup } from './rollup.js';

/** Series read per batch of index and chunk reads. */
const BATCH = 512;

export interface DownsampleOptions {
  /** ULID of the new block; a fresh one by default. */
  ulid?: string;
  /** meta.json thanos.source of the new block. */
  source?: string;
  /** External labels of the new block; the first source's by default. */
  externalLabels?: Record<string, string>;
}

/** Writes the rollup of `source` at `resolution` (ms: 300000, 3600000, 86400000) under `outDir`; returns its meta. */
export function downsampleBlock(source: BlockReader, outDir: string, resolution: number, opts: DownsampleOptions = {}): Promise<BlockMeta> {
  return downsampleBlocks([source], outDir, resolution, opts);
}

/**
 * The rollup at `resolution` of blocks of one resolution that do not overlap (several 5m blocks
 * of a 14-day range give one 1h block), or, at their own resolution, the rollups joined into one
 * block. Overlapping rollups of one series keep the windows of the earlier source.
 */
export async function downsampleBlocks(
  blocks: readonly BlockReader[],
  outDir: string,
  resolution: number,
  opts: DownsampleOptions = {},
): Promise<BlockMeta> {
  const sources = [...blocks].sort((a, b) => a.meta.minTime - b.meta.minTime);
  const from = sources[0].resolution;
  if (sources.some((s) => s.resolution !== from)) throw new Error('downsampling: the source blocks differ in resolution');
  const join = resolution === from && from > 0;
  if (!join && (!RESOLUTIONS.includes(resolution as (typeof RESOLUTIONS)[number]) || resolution <= from))
    throw new Error(
      `block ${sources[0].meta.ulid}: cannot downsample resolution ${from} to ${resolution}; resolutions are ${RESOLUTIONS.join(', ')} ms, coarser only`,
    );
  const metas = sources.map((s) => s.meta);
  const symbols = new Set<string>();
  for (const s of sources) for (const x of s.index.allSymbols()) symbols.add(x);
  const w = await BlockWriter.create(outDir, [...symbols].sort(compareBytes), {
    minTime: Math.min(...metas.map((m) => m.minTime)),
    maxTime: Math.max(...metas.map((m) => m.maxTime)),
    externalLabels: opts.externalLabels ?? metas[0].thanos?.labels ?? {},
    source: opts.source ?? 'compactor',
    ulid: opts.ulid,
    resolution,
    // As Thanos: a rollup keeps its sources' compaction history (level and source blocks).
    compactionLevel: Math.max(...metas.map((m) => m.compaction.level)),
    compactionSources: [...new Set(metas.flatMap((m) => m.compaction.sources))].sort(),
  });
  try {
    for await (const { labels, parts, encodings } of mergedSeries(sources)) {
      const s = rollupOf(from, labels, parts, encodings, resolution, join);
      if (s) await w.addSeries(s.labels, s.chunks);
    }
    return await w.finish();
  } catch (e) {
    await w.abort();
    throw e;
  }
}

/** One source's series in label order with their chunks, a batch of index and chunk reads at a time. */
async function* seriesOf(source: BlockReader): AsyncGenerator<{ labels: Labels; chunks: Uint8Array[]; encodings: Uint8Array }> {
  const ids = await source.index.postings('', '');
  for (let i = 0; i < ids.length; i += BATCH) {
    const entries = await source.index.seriesMany(ids.subarray(i, i + BATCH));
    const refs: number[] = [];
    for (const e of entries) for (const c of e.chunks) refs.push(c.ref);
    const encodings = new Uint8Array(refs.length);
    const datas = await source.chunksOf(refs, encodings);
    let k = 0;
    for (const e of entries) {
      yield { labels: e.labels, chunks: datas.slice(k, k + e.chunks.length), encodings: encodings.subarray(k, k + e.chunks.length) };
      k += e.chunks.length;
    }
  }
}

/** The sources' series merged by labels: per label set, its chunks from each source holding it (source order). */
async function* mergedSeries(
  sources: readonly BlockReader[],
): AsyncGenerator<{ labels: Labels; parts: Uint8Array[][]; encodings: Uint8Array[] }> {
  const its = sources.map((s) => seriesOf(s));
  const heads = await Promise.all(its.map((it) => it.next()));
  for (;;) {
    let min: Labels | undefined;
    for (const h of heads) if (!h.done && (!min || compareLabelsBytes(h.value.labels, min) < 0)) min = h.value.labels;
    if (!min) return;
    const parts: Uint8Array[][] = [];
    const encodings: Uint8Array[] = [];
    for (let i = 0; i < heads.length; i++) {
      const h = heads[i];
      if (h.done || compareLabelsBytes(h.value.labels, min) !== 0) continue;
      parts.push(h.value.chunks);
      encodings.push(h.value.encodings);
      heads[i] = await its[i].next();
    }
    yield { labels: min, parts, encodings };
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

/**
 * A series' rollup. A raw series holding native histograms becomes a histogram rollup (its float
 * samples, if any, are left out: one rollup series has one kind, as one Thanos aggregate chunk).
 */
function rollupOf(
  from: number,
  labels: Labels,
  parts: Uint8Array[][],
  encodings: Uint8Array[],
  resolution: number,
  join: boolean,
): BlockSeries | undefined {
  if (from === 0) {
    const mixed = encodings.some((e) => e.some((x) => x !== CHUNK_ENCODING_XOR));
    const raw = decodeSeriesChunks(labels, parts, -Infinity, Infinity, mixed ? encodings : undefined);
    if (raw?.histograms) {
      const h = histogramRollupFromRaw(raw.timestamps, raw.histograms, resolution);
      return h && { labels, chunks: histogramRollupToChunks(h, resolution) };
    }
    const r = raw && rollupFromRaw(raw.timestamps, raw.values, resolution);
    if (r && counterNamed(labels)) r.sketches = undefined;
    return r && { labels, chunks: toChunks(r, resolution) };
  }
  if (parts.some((p) => p.length > 0 && isHistogramAggrChunk(decodeAggrChunk(p[0])))) {
    const hs = parts.map((p) => histogramRollupFromChunks(p)).filter((r): r is HistogramRollup => r !== undefined);
    if (hs.length === 0) return undefined;
    const h = concatHistogramRollups(hs);
    return { labels, chunks: histogramRollupToChunks(join ? h : histogramRollupFromRollup(h, resolution), resolution) };
  }
  const rs = parts.map((p) => fromChunks(p)).filter((r): r is Rollup => r !== undefined);
  if (rs.length === 0) return undefined;
  const r = concatRollups(rs);
  return { labels, chunks: toChunks(join ? r : rollupFromRollup(r, resolution), resolution) };
}
