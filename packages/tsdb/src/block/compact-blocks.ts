/**
 * Compaction of N blocks into one (docs/format/compaction.md): the RF copies of a range, adjacent
 * ranges making a longer one, or both. A k-way merge over the sources' series, each read front to
 * back in label order (series-stream.ts); per series the chunks are merged (series-merge.ts) and
 * written at once (block-writer.ts). Memory holds the symbols, the output postings as integers
 * and one small batch of series per source: it does not grow with the blocks' samples.
 */
import path from 'node:path';
import type { Matcher } from '@strata/model';
import { BlockWriter } from './block-writer.js';
import { asBlockCorrupt, BlockCorruptError } from './corrupt.js';
import { compareBytes, compareLabelsBytes } from './format.js';
import { parseMeta, type BlockMeta } from './meta.js';
import { BlockReader, localBlockSources } from './reader.js';
import { mergeSeriesChunks, newMergeCounters, type DeletionInterval, type MergeCounters, type SourceChunks } from './series-merge.js';
import { readSeriesInOrder, type StreamedSeries } from './series-stream.js';

/** A block directory (opened and closed here) or an open reader (left open). */
export type CompactionSource = string | BlockReader;

/** Samples in [mint, maxt] of the series matching all `matchers` are dropped (Prometheus' tombstones). */
export interface Tombstone {
  matchers: readonly Matcher[];
  mint: number;
  maxt: number;
}

export interface CompactBlocksOptions {
  /** thanos.labels of the new block; by default the labels all sources share with equal values (so differing replica labels drop out). */
  externalLabels?: Record<string, string>;
  /** thanos.downsample.resolution (ms); 0, the default, for raw data. */
  resolution?: number;
  tombstones?: readonly Tombstone[];
  ulid?: string;
  /** Samples per re-encoded chunk; Prometheus' target of 120 by default. */
  samplesPerChunk?: number;
  /** thanos.source of the new block (default "compactor"). */
  source?: string;
  /** Decode and check every source chunk, also those passed through (default true). */
  verifyChunks?: boolean;
  signal?: AbortSignal;
}

export interface CompactionStats extends MergeCounters {
  /** Of the new block. */
  series: number;
  samples: number;
  chunks: number;
  /** Series whose chunks overlapped across sources and were merged. */
  overlapsMerged: number;
  /** Bytes of the new block's chunk segments and index. */
  bytes: number;
  /** Samples in the sources, for the ratio. */
  sourceSamples: number;
}

export interface CompactBlocksResult {
  meta: BlockMeta;
  stats: CompactionStats;
}

/** Sorted union of sorted string arrays. */
function mergeSorted(a: readonly string[], b: readonly string[]): string[] {
  const out: string[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length && j < b.length) {
    const c = compareBytes(a[i], b[j]);
    if (c <= 0) {
      out.push(a[i++]);
      if (c === 0) j++;
    } else out.push(b[j++]);
  }
  while (i < a.length) out.push(a[i++]);
  while (j < b.length) out.push(b[j++]);
  return out;
}

function sharedLabels(metas: BlockMeta[]): Record<string, string> {
  const first = metas[0].thanos?.labels ?? {};
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(first)) if (metas.every((m) => m.thanos?.labels?.[k] === v)) out[k] = v;
  return out;
}

async function open(src: CompactionSource, i: number): Promise<BlockReader> {
  if (typeof src !== 'string') return src;
  const name = path.basename(src);
  const sources = localBlockSources(src);
  try {
    parseMeta(await sources.meta(), `block ${name}`);
  } catch (e) {
    await sources.close?.();
    const c = asBlockCorrupt(e, name);
    if (c instanceof BlockCorruptError) throw c;
    // A meta.json that is there but does not parse, or of an unknown version.
    if ((e as Error).message.includes('meta.json')) throw new BlockCorruptError(name, (e as Error).message, { cause: e });
    throw e;
  }
  try {
    return await BlockReader.open(sources, name);
  } catch (e) {
    await sources.index.close?.();
    await sources.close?.();
    throw asBlockCorrupt(e, name || `source ${i}`);
  }
}

/**
 * Compacts `sources` into one new block under `outDir`; returns its meta and what happened.
 * The order of `sources` decides conflicts (same timestamp, different values): the first source
 * wins. A source that is broken raises a BlockCorruptError naming it; nothing is left in `outDir`.
 */
export async function compactBlocks(
  sources: readonly CompactionSource[],
  outDir: string,
  opts: CompactBlocksOptions = {},
): Promise<CompactBlocksResult> {
  if (sources.length === 0) throw new Error('compactBlocks: no source blocks');
  const readers: BlockReader[] = [];
  const owned: BlockReader[] = [];
  let writer: BlockWriter | undefined;
  try {
    for (let i = 0; i < sources.length; i++) {
      const r = await open(sources[i], i);
      readers.push(r);
      if (typeof sources[i] === 'string') owned.push(r);
    }
    const metas = readers.map((r) => r.meta);
    let symbols: string[] = [];
    for (const r of readers) {
      const s = r.index.allSymbols();
      for (let i = 1; i < s.length; i++)
        if (compareBytes(s[i - 1], s[i]) >= 0) throw new BlockCorruptError(r.meta.ulid, 'symbol table not sorted');
      symbols = mergeSorted(symbols, s);
    }
    const compactionSources = [...new Set(metas.flatMap((m) => m.compaction?.sources ?? [m.ulid]))].sort();
    writer = await BlockWriter.create(outDir, symbols, {
      ulid: opts.ulid,
      minTime: Math.min(...metas.map((m) => m.minTime)),
      maxTime: Math.max(...metas.map((m) => m.maxTime)),
      externalLabels: opts.externalLabels ?? sharedLabels(metas),
      source: opts.source ?? 'compactor',
      resolution: opts.resolution ?? 0,
      compactionLevel: Math.max(...metas.map((m) => m.compaction?.level ?? 1)) + 1,
      compactionSources,
      parents: metas.map((m) => ({ ulid: m.ulid, minTime: m.minTime, maxTime: m.maxTime })),
    });
    symbols = [];
    const stats = await mergeInto(readers, writer, opts);
    const meta = await writer.finish();
    stats.series = meta.stats.numSeries;
    stats.samples = meta.stats.numSamples;
    stats.chunks = meta.stats.numChunks;
    stats.bytes = (meta.thanos?.files ?? []).reduce((n, f) => n + (f.size_bytes ?? 0), 0);
    return { meta, stats };
  } catch (e) {
    await writer?.abort();
    throw e;
  } finally {
    // A failure to close must not hide the error that ended the compaction.
    for (const r of owned) await r.close().catch(() => undefined);
  }
}

async function mergeInto(readers: BlockReader[], writer: BlockWriter, opts: CompactBlocksOptions): Promise<CompactionStats> {
  const spc = opts.samplesPerChunk ?? 120;
  const tombstones = opts.tombstones ?? [];
  const stats: CompactionStats = {
    ...newMergeCounters(),
    series: 0,
    samples: 0,
    chunks: 0,
    overlapsMerged: 0,
    bytes: 0,
    sourceSamples: 0,
  };
  const iters = readers.map((r) => readSeriesInOrder(r, { verifyChunks: opts.verifyChunks }));
  const heads: (StreamedSeries | undefined)[] = new Array(readers.length);
  const advance = async (i: number): Promise<void> => {
    try {
      const r = await iters[i].next();
      heads[i] = r.done ? undefined : r.value;
    } catch (e) {
      throw asBlockCorrupt(e, readers[i].meta.ulid);
    }
  };
  await Promise.all(readers.map((_, i) => advance(i)));
  const group: SourceChunks[] = [];
  const dels: DeletionInterval[] = [];
  let n = 0;
  for (;;) {
    let min: StreamedSeries | undefined;
    for (const h of heads) if (h && (!min || compareLabelsBytes(h.labels, min.labels) < 0)) min = h;
    if (!min) break;
    group.length = 0;
    for (let i = 0; i < heads.length; i++) {
      const h = heads[i];
      if (h && (h === min || compareLabelsBytes(h.labels, min.labels) === 0)) {
        group.push({ src: i, chunks: h.chunks });
        for (const c of h.chunks) stats.sourceSamples += (c.data[0] << 8) | c.data[1];
      }
    }
    dels.length = 0;
    for (const t of tombstones) if (t.matchers.every((m) => m.matches(min.labels.get(m.name)))) dels.push({ mint: t.mint, maxt: t.maxt });
    if (group.length === 1 && dels.length === 0) {
      stats.chunksPassedThrough += group[0].chunks.length;
      await writer.addSeries(min.labels, group[0].chunks);
    } else {
      const merged = mergeSeriesChunks(group, dels, spc, stats);
      if (merged.overlapped) stats.overlapsMerged++;
      await writer.addSeries(min.labels, merged.chunks);
    }
    await Promise.all(group.map((g) => advance(g.src)));
    if (++n % 1024 === 0) opts.signal?.throwIfAborted();
  }
  opts.signal?.throwIfAborted();
  return stats;
}
