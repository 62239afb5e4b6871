/**
 * A log block in the bucket (docs/format/logs.md#log-blocks-in-the-bucket): `<tenant>/logs/<ULID>/` holding
 *   chunks     the head's compressed blocks of every stream, back to back, one stream after another;
 *   index      JSON: each stream's labels and its chunk references (time range, count, codec, CRC,
 *              byte offset and length in `chunks`), so a reader fetches only the ranges it needs;
 *   meta.json  the block's ULID, time range and counts; uploaded last, so a block whose meta.json
 *              is visible is complete.
 * The chunks are the head's sealed blocks byte for byte: cutting a block compresses nothing again.
 */
import { Readable } from 'node:stream';
import { Labels } from '@strata/model';
import type { BlockCompression, EncodedBlock } from '../chunk/block-codec.js';

export const LOG_BLOCKS_DIR = 'logs';
export const LOG_META_FILE = 'meta.json';
export const LOG_INDEX_FILE = 'index';
export const LOG_CHUNKS_FILE = 'chunks';
export const LOG_BLOCK_VERSION = 1;

export interface LogBlockMeta {
  ulid: string;
  version: number;
  /** Oldest and newest entry, Unix ns (decimal strings: they do not fit a double). */
  minTimeNs: string;
  maxTimeNs: string;
  /** The same range in ms (maxTime exclusive, as metrics blocks), for retention and planning. */
  minTime: number;
  maxTime: number;
  stats: { numStreams: number; numEntries: number; numChunks: number; chunkBytes: number; rawBytes: number };
}

/** A chunk of one stream inside the block's `chunks` object. */
export interface LogChunkRef extends EncodedChunkInfo {
  readonly offset: number;
  readonly length: number;
}

type EncodedChunkInfo = Omit<EncodedBlock, 'data'>;

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
}

/** Lays out the block; undefined when no stream holds an entry. */
export function buildLogBlock(ulid: string, streams: Iterable<StreamBlocks>): BuiltLogBlock | undefined {
  const json: IndexJson = { version: LOG_BLOCK_VERSION, streams: [] };
  const chunks: Buffer[] = [];
  let offset = 0;
  let minTs: bigint | undefined;
  let maxTs: bigint | undefined;
  let numEntries = 0;
  let numChunks = 0;
  let rawBytes = 0;
  const sorted = [...streams].filter((s) => s.blocks.length > 0).sort((a, b) => Labels.compare(a.labels, b.labels));
  for (const s of sorted) {
    const refs: IndexJson['streams'][number]['chunks'] = [];
    for (const b of s.blocks) {
      refs.push([b.minTs.toString(), b.maxTs.toString(), b.count, b.rawBytes, b.compression, b.crc, offset, b.data.length]);
      chunks.push(b.data);
      offset += b.data.length;
      if (minTs === undefined || b.minTs < minTs) minTs = b.minTs;
      if (maxTs === undefined || b.maxTs > maxTs) maxTs = b.maxTs;
      numEntries += b.count;
      numChunks++;
      rawBytes += b.rawBytes;
    }
    json.streams.push({ labels: [...s.labels.pairs], chunks: refs });
  }
  if (minTs === undefined || maxTs === undefined) return undefined;
  const meta: LogBlockMeta = {
    ulid,
    version: LOG_BLOCK_VERSION,
    minTimeNs: minTs.toString(),
    maxTimeNs: maxTs.toString(),
    minTime: Number(minTs / 1_000_000n),
    maxTime: Number(maxTs / 1_000_000n) + 1,
    stats: { numStreams: json.streams.length, numEntries, numChunks, chunkBytes: offset, rawBytes },
  };
  return { meta, index: Buffer.from(JSON.stringify(json)), chunks };
}

/** The part of a bucket a log block upload needs (structurally the objstore Bucket). */
export interface LogUploadBucket {
  upload(name: string, body: Buffer | Readable): Promise<void>;
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
  let j: IndexJson;
  try {
    j = JSON.parse(text) as IndexJson;
  } catch (e) {
    throw new LogBlockFormatError(`${what}: index is not JSON: ${(e as Error).message}`);
  }
  if (j.version !== LOG_BLOCK_VERSION || !Array.isArray(j.streams)) throw new LogBlockFormatError(`${what}: not a version 1 log index`);
  return j.streams.map((s) => ({
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
}
