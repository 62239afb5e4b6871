/**
 * Writes a block (docs/format/block.md) series by series, in byte-wise label order: chunks go
 * straight to the segment files, each series entry straight to the index (index-writer.ts), so
 * memory does not grow with the block beyond its symbols and postings. The block is assembled in
 * `<ulid>.tmp-for-creation` and renamed into place by finish(), so readers never see half of it.
 * Head compaction (writeBlock) and block compaction (compactBlocks) both write through here.
 */
import fsp from 'node:fs/promises';
import path from 'node:path';
import { crc32c } from '@node-rs/crc32';
import type { Labels } from '@strata/model';
import { xorNumSamples } from '../chunkenc/xor.js';
import { FileByteSource } from './bytesource.js';
import { ChunkSegmentWriter } from './chunk-writer.js';
import { TOMBSTONES_MAGIC } from './format.js';
import { buildIndexHeader, encodeIndexHeader, INDEX_HEADER_FILE } from './index-header.js';
import { IndexWriter, type ChunkRef } from './index-writer.js';
import { CHUNKS_DIR, INDEX_FILE, META_FILE, TOMBSTONES_FILE, type BlockMeta } from './meta.js';
import { ulid as newUlid } from './ulid.js';
import { CHUNK_ENCODING_AGGR } from '../downsample/aggr-chunk.js';
import { AGGR_ENTRIES_FILE, AggrEntriesBuilder } from '../downsample/aggr-entries.js';

export interface BlockChunk {
  minT: number;
  maxT: number;
  /** XOR chunk bytes (without the encoding byte), exactly as in the head (or a chunk of `encoding`). */
  data: Uint8Array;
  /** The chunk's encoding byte; XOR when unset. Rollups write Thanos' aggregate chunks (0xff). */
  encoding?: number;
  /** Samples it holds, for meta.json's stats; read from the XOR header when unset. */
  samples?: number;
}

export interface BlockWriterOptions {
  /** Inclusive start, exclusive end of the block's range (ms). */
  minTime: number;
  maxTime: number;
  externalLabels?: Record<string, string>;
  /** meta.json thanos.source: who wrote the block (receive, compactor, ...). */
  source?: string;
  ulid?: string;
  compactionLevel?: number;
  /** compaction.sources; defaults to the block's own ULID (a level-1 block). */
  compactionSources?: string[];
  parents?: { ulid: string; minTime: number; maxTime: number }[];
  /** thanos.downsample.resolution in ms; 0 for raw data. */
  resolution?: number;
}

async function writeFileSynced(file: string, data: Uint8Array): Promise<void> {
  const fh = await fsp.open(file, 'w');
  try {
    await fh.writeFile(data);
    await fh.sync();
  } finally {
    await fh.close();
  }
}

export class BlockWriter {
  numSamples = 0;
  numChunks = 0;
  private readonly refs: ChunkRef[] = [];
  private done = false;
  /** Where each aggregate chunk's entries lie (rollup blocks only): readers then fetch only the aggregates they need. */
  private readonly entries: AggrEntriesBuilder;

  private constructor(
    readonly ulid: string,
    private readonly parentDir: string,
    private readonly tmp: string,
    private readonly chunks: ChunkSegmentWriter,
    private readonly index: IndexWriter,
    private readonly opts: BlockWriterOptions,
  ) {
    // Spilled beside the block's files while it is written, and removed before it is complete.
    this.entries = new AggrEntriesBuilder(path.join(tmp, `${AGGR_ENTRIES_FILE}.spill`));
  }

  /** `symbols`: every label name and value of the series to come, sorted by bytes (compareBytes), unique. */
  static async create(parentDir: string, symbols: readonly string[], opts: BlockWriterOptions): Promise<BlockWriter> {
    const id = opts.ulid ?? newUlid();
    const tmp = path.join(parentDir, `${id}.tmp-for-creation`);
    await fsp.rm(tmp, { recursive: true, force: true });
    await fsp.mkdir(path.join(tmp, CHUNKS_DIR), { recursive: true });
    const index = await IndexWriter.create(path.join(tmp, INDEX_FILE), symbols);
    return new BlockWriter(id, parentDir, tmp, new ChunkSegmentWriter(path.join(tmp, CHUNKS_DIR)), index, opts);
  }

  get numSeries(): number {
    return this.index.numSeries;
  }

  /** Adds a series after all series before it in byte-wise label order; chunks in time order, not overlapping. Empty series are skipped. */
  async addSeries(labels: Labels, chunks: readonly BlockChunk[]): Promise<void> {
    if (chunks.length === 0) return;
    const refs = this.refs;
    refs.length = 0;
    for (const c of chunks) {
      const ref = await this.chunks.write(c.data, c.encoding);
      if (c.encoding === CHUNK_ENCODING_AGGR) this.entries.add(ref, c.data);
      refs.push({ minT: c.minT, maxT: c.maxT, ref });
      this.numSamples += c.samples ?? xorNumSamples(c.data);
    }
    await this.entries.spillIfLarge();
    this.numChunks += chunks.length;
    await this.index.addSeries(labels, refs);
  }

  /** Completes the block: index, index header, tombstones, meta.json; renames it into place. */
  async finish(): Promise<BlockMeta> {
    const o = this.opts;
    await this.chunks.close();
    const indexSize = await this.index.finish();
    // The index header is built once, here, and shipped beside the block: store gateways then
    // open the block without reading its index (see index-header.ts).
    const headerSrc = new FileByteSource(path.join(this.tmp, INDEX_FILE));
    try {
      await writeFileSynced(path.join(this.tmp, INDEX_HEADER_FILE), encodeIndexHeader(await buildIndexHeader(headerSrc)));
    } finally {
      await headerSrc.close();
    }
    // An empty tombstones file: header, then the CRC of no entries.
    const tomb = Buffer.alloc(9);
    tomb.writeUInt32BE(TOMBSTONES_MAGIC, 0);
    tomb[4] = 1;
    tomb.writeUInt32BE(crc32c(Buffer.alloc(0)), 5);
    await writeFileSynced(path.join(this.tmp, TOMBSTONES_FILE), tomb);
    if (this.entries.count > 0) await this.entries.writeTo(path.join(this.tmp, AGGR_ENTRIES_FILE));
    else await this.entries.discard();
    const files = this.chunks.files;
    const meta: BlockMeta = {
      ulid: this.ulid,
      minTime: o.minTime,
      maxTime: o.maxTime,
      stats: { numSamples: this.numSamples, numSeries: this.numSeries, numChunks: this.numChunks },
      compaction: {
        level: o.compactionLevel ?? 1,
        sources: o.compactionSources ?? [this.ulid],
        ...(o.parents ? { parents: o.parents } : {}),
      },
      version: 1,
      thanos: {
        labels: o.externalLabels ?? {},
        downsample: { resolution: o.resolution ?? 0 },
        source: o.source ?? 'receive',
        segment_files: files.map((f) => path.basename(f.rel)),
        files: [
          ...files.map((f) => ({ rel_path: f.rel, size_bytes: f.size })),
          { rel_path: INDEX_FILE, size_bytes: indexSize },
          { rel_path: META_FILE },
        ],
      },
    };
    await writeFileSynced(path.join(this.tmp, META_FILE), Buffer.from(JSON.stringify(meta, null, '\t')));
    const final = path.join(this.parentDir, this.ulid);
    await fsp.rm(final, { recursive: true, force: true });
    await fsp.rename(this.tmp, final);
    const dfd = await fsp.open(this.parentDir, 'r');
    await dfd.sync();
    await dfd.close();
    this.done = true;
    return meta;
  }

  /** Throws the unfinished block away (after an error). */
  async abort(): Promise<void> {
    if (this.done) return;
    this.done = true;
    await this.chunks.abort();
    await this.index.abort();
    await this.entries.discard();
    await fsp.rm(this.tmp, { recursive: true, force: true });
  }
}
