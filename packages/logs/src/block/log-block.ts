/**
 * A log block in the bucket (docs/format/logs.md#log-blocks-in-the-bucket): `<tenant>/logs/<ULID>/` holding
 *   chunks     the head's compressed blocks of every stream, back to back, one stream after another;
 *   index      JSON: each stream's labels and its chunk references (time range, count, codec, CRC,
 *              byte offset and length in `chunks`), so a reader fetches only the ranges it needs;
 *   meta.json  the block's ULID, time range and counts; uploaded last, so a block whose meta.json
 *              is visible is complete.
 * The index also holds what sampling left out of the pushes the cut head's receiver took
 * (`sampledOut`: per stream, entries and bytes per minute), for query stats over blocks.
 * The chunks are the head's sealed blocks byte for byte: cutting a block compresses nothing again.
 */
import { Readable } from 'node:stream';
import { Labels } from '@strata/model';
import type { BlockCompression, EncodedBlock } from '../chunk/block-codec.js';
import { BlockSampledOut, type SampledOutStream } from '../ingest/sampled-out.js';

export const LOG_BLOCKS_DIR = 'logs';
export const LOG_META_FILE = 'meta.json';
export const LOG_INDEX_FILE = 'index';
export const LOG_CHUNKS_FILE = 'chunks';
export const LOG_BLOCK_VERSION = 1;
const MINUTE_NS = 60_000_000_000n;

export interface LogBlockMeta {
  ulid: string;
  version: number;
  /** Oldest and newest entry, Unix ns (decimal strings: they do not fit a double). */
  minTimeNs: string;
  maxTimeNs: string;
  /** The same range in ms (maxTime exclusive, as metrics blocks), for retention and planning. */
  minTime: number;
  maxTime: number;
  stats: {
    numStreams: number;
    numEntries: number;
    numChunks: number;
    chunkBytes: number;
    rawBytes: number;
    /** Lines (and their bytes) sampling left out, counted in the index's `sampledOut`; absent when none. */
    sampledOutEntries?: number;
    sampledOutBytes?: number;
  };
  /**
   * Written by the compactor (as in a metrics block's meta.json): the shipped blocks this one
   * holds the entries of, so a restart knows a finished compaction's sources are superseded.
   */
  compaction?: { level: number; sources: string[] };
}

/** A chunk of one stream inside the block's `chunks` object. */
export interface LogChunkRef extends EncodedChunkInfo {
  readonly offset: number;
  readonly length: number;
}

export type EncodedChunkInfo = Omit<EncodedBlock, 'data'>;

export interface LogBlockStream {
  readonly labels: Labels;
  readonly chunks: readonly LogChunkRef[];
}

/** What a cut hands the writer: each stream's sealed blocks, ascending by time. */
export interface StreamBlocks {
  readonly labels: Labels;
  readonly blocks: readonly EncodedBlock[];
}

export interface BuiltLogBlock {
  meta: LogBlockMeta;
  index: Buffer;
  /** The chunk bytes in file order (not concatenated: a cut of a large head would copy them all). */
  chunks: Buffer[];
}

interface IndexJson {
  version: number;
  streams: { labels: string[]; chunks: [string, string, number, number, string, number, number, number][] }[];
  /** Absent in blocks from before it, and when sampling left nothing out. */
  sampledOut?: { labels: string[]; minutes: [number, number, number][] }[];
}

/** A block's index: its streams, and the lines sampling left out (empty when the index has none). */
export interface LogIndex {
  streams: LogBlockStream[];
  sampledOut: BlockSampledOut;
}

/**
 * Lays out a block's index and meta.json while its chunk bytes go elsewhere (kept in memory by
 * buildLogBlock, streamed to a file by a compaction): streams are added in label order, each
 * stream's chunks ascending by time, and each chunk's bytes follow the previous one's.
 */
export class LogBlockWriter {
  private readonly json: IndexJson = { version: LOG_BLOCK_VERSION, streams: [] };
  private refs: IndexJson['streams'][number]['chunks'] | undefined;
  private last: Labels | undefined;
  private offset = 0;
  private minTs: bigint | undefined;
  private maxTs: bigint | undefined;
  private numEntries = 0;
  private numChunks = 0;
  private rawBytes = 0;

  /** Starts the next stream; labels must sort after the previous stream's. */
  startStream(labels: Labels): void {
    if (this.last && Labels.compare(this.last, labels) >= 0) throw new Error('log block streams must be added in label order');
    this.last = labels;
    this.refs = [];
    this.json.streams.push({ labels: [...labels.pairs], chunks: this.refs });
  }

  /** Records the current stream's next chunk, whose `length` bytes the caller writes after the previous chunk's. */
  addChunk(c: EncodedChunkInfo, length: number): void {
    if (!this.refs) throw new Error('addChunk before startStream');
    this.refs.push([c.minTs.toString(), c.maxTs.toString(), c.count, c.rawBytes, c.compression, c.crc, this.offset, length]);
    this.offset += length;
    if (this.minTs === undefined || c.minTs < this.minTs) this.minTs = c.minTs;
    if (this.maxTs === undefined || c.maxTs > this.maxTs) this.maxTs = c.maxTs;
    this.numEntries += c.count;
    this.numChunks++;
    this.rawBytes += c.rawBytes;
  }

  /**
   * The index and meta.json; undefined when no chunk was added and nothing was sampled out. The
   * block's time range covers its entries and the minutes of its sampled-out counts.
   */
  finish(
    ulid: string,
    compaction?: LogBlockMeta['compaction'],
    sampledOut?: { toStreams(): SampledOutStream[] },
  ): { meta: LogBlockMeta; index: Buffer } | undefined {
    let { minTs, maxTs } = this;
    const counted = (sampledOut?.toStreams() ?? []).filter((s) => s.minutes.length > 0);
    let sampledOutEntries = 0;
    let sampledOutBytes = 0;
    for (const s of counted)
      for (const [m, n, b] of s.minutes) {
        const lo = BigInt(m) * MINUTE_NS;
        const hi = lo + MINUTE_NS - 1n;
        if (minTs === undefined || lo < minTs) minTs = lo;
        if (maxTs === undefined || hi > maxTs) maxTs = hi;
        sampledOutEntries += n;
        sampledOutBytes += b;
      }
    if (minTs === undefined || maxTs === undefined) return undefined;
    const json: IndexJson = { version: this.json.version, streams: this.json.streams.filter((s) => s.chunks.length > 0) };
    const minutes = counted.length > 0;
    if (minutes) json.sampledOut = counted.map((s) => ({ labels: [...s.labels.pairs], minutes: s.minutes }));
    const meta: LogBlockMeta = {
      ulid,
      version: LOG_BLOCK_VERSION,
      minTimeNs: minTs.toString(),
      maxTimeNs: maxTs.toString(),
      minTime: Number(minTs / 1_000_000n),
      maxTime: Number(maxTs / 1_000_000n) + 1,
      stats: {
        numStreams: json.streams.length,
        numEntries: this.numEntries,
        numChunks: this.numChunks,
        chunkBytes: this.offset,
        rawBytes: this.rawBytes,
        ...(minutes ? { sampledOutEntries, sampledOutBytes } : {}),
      },
      ...(compaction ? { compaction } : {}),
    };
    return { meta, index: Buffer.from(JSON.stringify(json)) };
  }
}

/** Lays out the block; undefined when no stream holds an entry and `sampledOut` holds no count. */
export function buildLogBlock(
  ulid: string,
  streams: Iterable<StreamBlocks>,
  sampledOut?: { toStreams(): SampledOutStream[] },
): BuiltLogBlock | undefined {
  const w = new LogBlockWriter();
  const chunks: Buffer[] = [];
  const sorted = [...streams].filter((s) => s.blocks.length > 0).sort((a, b) => Labels.compare(a.labels, b.labels));
  for (const s of sorted) {
    w.startStream(s.labels);
    for (const b of s.blocks) {
      w.addChunk(b, b.data.length);
      chunks.push(b.data);
    }
  }
  const done = w.finish(ulid, undefined, sampledOut);
  return done && { ...done, chunks };
}

/** The part of a bucket a log block upload needs (structurally the objstore Bucket). */
export interface LogUploadBucket {
  upload(name: string, body: Buffer | Readable): Promise<void>;
  /** With it, a receiver restarted between a block's upload and its WAL truncation finds the block and does not ship it again. */
  exists?(name: string): Promise<boolean>;
}

/** `<tenant>/logs/` */
export function logBlocksPrefix(tenant: string): string {
  return `${tenant}/${LOG_BLOCKS_DIR}/`;
}

/** Uploads chunks, then index, then meta.json: a reader seeing meta.json sees a whole block. */
export async function uploadLogBlock(bucket: LogUploadBucket, tenant: string, b: BuiltLogBlock): Promise<void> {
  const dir = `${logBlocksPrefix(tenant)}${b.meta.ulid}/`;
  await bucket.upload(dir + LOG_CHUNKS_FILE, b.chunks.length === 1 ? b.chunks[0] : Readable.from(b.chunks));
  await bucket.upload(dir + LOG_INDEX_FILE, b.index);
  await bucket.upload(dir + LOG_META_FILE, Buffer.from(JSON.stringify(b.meta, null, '\t')));
}

export class LogBlockFormatError extends Error {}

export function parseLogMeta(text: string, what: string): LogBlockMeta {
  let m: LogBlockMeta;
  try {
    m = JSON.parse(text) as LogBlockMeta;
  } catch (e) {
    throw new LogBlockFormatError(`${what}: meta.json is not JSON: ${(e as Error).message}`);
  }
  if (m.version !== LOG_BLOCK_VERSION || typeof m.ulid !== 'string' || typeof m.minTime !== 'number' || typeof m.maxTime !== 'number')
    throw new LogBlockFormatError(`${what}: meta.json is not a version ${LOG_BLOCK_VERSION} log block meta`);
  BigInt(m.minTimeNs);
  BigInt(m.maxTimeNs);
  return m;
}

const CODECS: ReadonlySet<string> = new Set<BlockCompression>(['zstd', 'snappy']);

export function parseLogIndex(text: string, what: string): LogBlockStream[] {
  return parseLogIndexWithSampledOut(text, what).streams;
}

/** The index's streams and its sampled-out counts. */
export function parseLogIndexWithSampledOut(text: string, what: string): LogIndex {
  let j: IndexJson;
  try {
    j = JSON.parse(text) as IndexJson;
  } catch (e) {
    throw new LogBlockFormatError(`${what}: index is not JSON: ${(e as Error).message}`);
  }
  if (j.version !== LOG_BLOCK_VERSION || !Array.isArray(j.streams)) throw new LogBlockFormatError(`${what}: not a version 1 log index`);
  let counted: SampledOutStream[] = [];
  if (j.sampledOut !== undefined) {
    if (!Array.isArray(j.sampledOut)) throw new LogBlockFormatError(`${what}: sampledOut is not a list`);
    counted = j.sampledOut.map((s) => {
      const ok =
        s &&
        Array.isArray(s.labels) &&
        Array.isArray(s.minutes) &&
        s.minutes.every((m) => Array.isArray(m) && m.length === 3 && m.every((x) => Number.isSafeInteger(x)));
      if (!ok) throw new LogBlockFormatError(`${what}: a sampledOut entry is not {labels, minutes: [[minute, entries, bytes]]}`);
      return { labels: Labels.fromSortedPairs(s.labels), minutes: s.minutes };
    });
  }
  const sampledOut = BlockSampledOut.of(counted);
  const streams = j.streams.map((s) => ({
    labels: Labels.fromSortedPairs(s.labels),
    chunks: s.chunks.map(([min, max, count, rawBytes, compression, crc, offset, length]) => {
      if (!CODECS.has(compression)) throw new LogBlockFormatError(`${what}: unknown chunk compression ${JSON.stringify(compression)}`);
      return {
        minTs: BigInt(min),
        maxTs: BigInt(max),
        count,
        rawBytes,
        compression: compression as BlockCompression,
        crc,
        offset,
        length,
      };
    }),
  }));
  return { streams, sampledOut };
}
