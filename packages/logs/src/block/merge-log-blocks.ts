/**
 * Merges log blocks of one tenant (the RF copies of a range, a late block, neighbours of a level
 * range) into one block, stream by stream in label order, in bounded memory: a stream's chunks
 * from every source are walked in time order and only the chunks the merge front is inside are
 * decompressed at once (a few per source). Entries are merged by (timestamp, line): at one
 * timestamp the entries of every source are ordered by line and identical lines (the same entry
 * in two replicas, or pushed twice) kept once; different lines at one timestamp are all kept, as
 * Loki keeps them. A chunk of half the head's block size or more that overlaps no other chunk of
 * its stream (most chunks of a busy stream in a level compaction) is copied byte for byte, for
 * not decompressing what needs no merge: it keeps its order at equal timestamps (push order) and
 * an entry pushed twice into it, which the read path drops as it drops any duplicate.
 */
import { Labels } from '@strata/model';
import { BLOCK_TARGET_BYTES, OpenBlock } from '../head/log-stream.js';
import { decodeRawBlock, decompressBlock, BlockCorruptError, type BlockCompression, type DecodedEntries } from '../chunk/block-codec.js';
import { LogBlockWriter, type LogBlockMeta, type LogBlockStream, type LogChunkRef } from './log-block.js';
import { SampledOutTally, type SampledOutStream } from '../ingest/sampled-out.js';

/**
 * A chunk smaller than this is merged into its neighbours even when it overlaps none: a quiet
 * stream's 2 h chunks are small, and one chunk of a whole level range compresses better.
 */
const COPY_MIN_RAW_BYTES = BLOCK_TARGET_BYTES / 2;

/** A source block: its parsed index and ranged reads of its `chunks` object. */
export interface LogMergeSource {
  ulid: string;
  streams: readonly LogBlockStream[];
  /** The source's sampled-out counts (its index's `sampledOut`): the merged block holds their sum. */
  sampledOut?: { toStreams(): SampledOutStream[] };
  read(offset: number, length: number): Promise<Buffer>;
}

export interface LogMergeOptions {
  compression?: BlockCompression;
  /** meta.json's compaction section. */
  compaction?: LogBlockMeta['compaction'];
}

export interface LogMergeResult {
  meta: LogBlockMeta;
  index: Buffer;
  /** Entries left out as identical to another (same stream, timestamp and line). */
  duplicates: number;
  /** Chunks copied without decompression. */
  copiedChunks: number;
}

/** A source chunk of a stream: decoded when opened, entries walked from `pos`. */
interface Cursor {
  src: LogMergeSource;
  ref: LogChunkRef;
  /** Overlaps no other chunk of the stream (then it may be copied). */
  alone: boolean;
  got?: DecodedEntries;
  pos: number;
}

/** Thrown for a source whose chunks cannot be read back: names it, for its no-compact mark. */
export class LogSourceCorruptError extends Error {
  constructor(
    readonly ulid: string,
    message: string,
  ) {
    super(`log block ${ulid}: ${message}`);
    this.name = 'LogSourceCorruptError';
  }
}

/**
 * Writes the merged block's chunk bytes through `write` (in file order) and returns its index and
 * meta.json; undefined when the sources hold no entry and no sampled-out count.
 */
export async function mergeLogBlocks(
  ulid: string,
  sources: readonly LogMergeSource[],
  write: (data: Buffer) => Promise<void>,
  opts: LogMergeOptions = {},
): Promise<LogMergeResult | undefined> {
  const compression = opts.compression ?? 'zstd';
  const byKey = new Map<string, { labels: Labels; cursors: Cursor[] }>();
  for (const src of sources) {
    for (const s of src.streams) {
      const key = s.labels.key();
      let e = byKey.get(key);
      if (!e) byKey.set(key, (e = { labels: s.labels, cursors: [] }));
      for (const ref of s.chunks) e.cursors.push({ src, ref, alone: false, pos: 0 });
    }
  }
  const writer = new LogBlockWriter();
  const stats = { duplicates: 0, copiedChunks: 0 };
  for (const { labels, cursors } of [...byKey.values()].sort((a, b) => Labels.compare(a.labels, b.labels))) {
    writer.startStream(labels);
    await mergeStream(cursors, writer, write, compression, stats);
  }
  // Each sampled-out line was tallied in one block only (its receiver's), so the counts add up.
  const sampledOut = new SampledOutTally(Infinity);
  for (const src of sources) if (src.sampledOut) sampledOut.addAll(src.sampledOut);
  const done = writer.finish(ulid, opts.compaction, sampledOut);
  return done && { ...done, ...stats };
}

async function mergeStream(
  chunks: Cursor[],
  writer: LogBlockWriter,
  write: (data: Buffer) => Promise<void>,
  compression: BlockCompression,
  stats: { duplicates: number; copiedChunks: number },
): Promise<void> {
  chunks.sort((a, b) => (a.ref.minTs < b.ref.minTs ? -1 : a.ref.minTs > b.ref.minTs ? 1 : 0));
  // Inclusive overlap: chunks meeting at one timestamp may hold the same entry.
  let reach: bigint | undefined;
  for (let i = 0; i < chunks.length; i++) {
    const c = chunks[i];
    const next = chunks[i + 1];
    c.alone =
      c.ref.rawBytes >= COPY_MIN_RAW_BYTES &&
      (reach === undefined || reach < c.ref.minTs) &&
      (next === undefined || next.ref.minTs > c.ref.maxTs);
    if (reach === undefined || c.ref.maxTs > reach) reach = c.ref.maxTs;
  }
  // The output block being filled, cut at the head's block size.
  let out = new OpenBlock();
  const flush = async (): Promise<void> => {
    if (out.count === 0) return;
    const b = await out.seal(compression);
    writer.addChunk(b, b.data.length);
    await write(b.data);
    out = new OpenBlock();
  };
  const open: Cursor[] = [];
  let next = 0;
  for (;;) {
    let t = front(open);
    if (t === undefined && next < chunks.length && chunks[next].alone) {
      await flush();
      const c = chunks[next++];
      writer.addChunk(c.ref, c.ref.length);
      await write(await readChunk(c));
      stats.copiedChunks++;
      continue;
    }
    while (next < chunks.length && (t === undefined || chunks[next].ref.minTs <= t)) {
      const c = chunks[next++];
      c.got = await decodeChunk(c);
      if (c.got.ts.length > 0) open.push(c);
      t = front(open);
    }
    if (t === undefined) break;
    // Every entry at timestamp t, from every open chunk, ordered by line, identical lines once.
    const run: { line: string; meta: Labels | undefined }[] = [];
    for (const c of open) {
      const g = c.got!;
      for (; c.pos < g.ts.length && g.ts[c.pos] === t; c.pos++) run.push({ line: g.lines[c.pos], meta: g.metadata?.[c.pos] });
    }
    run.sort((a, b) => (a.line < b.line ? -1 : a.line > b.line ? 1 : 0));
    for (let i = 0; i < run.length; i++) {
      if (i > 0 && run[i].line === run[i - 1].line) {
        stats.duplicates++;
        continue;
      }
      out.add(t, run[i].line, run[i].meta, 0);
    }
    for (let i = open.length - 1; i >= 0; i--) {
      if (open[i].pos >= open[i].got!.ts.length) {
        open[i].got = undefined;
        open.splice(i, 1);
      }
    }
    if (out.bytes >= BLOCK_TARGET_BYTES) await flush();
  }
  await flush();
}

/** The smallest next timestamp over the open chunks. */
function front(open: readonly Cursor[]): bigint | undefined {
  let t: bigint | undefined;
  for (const c of open) {
    const v = c.got!.ts[c.pos];
    if (t === undefined || v < t) t = v;
  }
  return t;
}

async function readChunk(c: Cursor): Promise<Buffer> {
  const data = await c.src.read(c.ref.offset, c.ref.length);
  if (data.length !== c.ref.length)
    throw new LogSourceCorruptError(c.src.ulid, `chunk at ${c.ref.offset} has ${data.length} of its ${c.ref.length} bytes`);
  return data;
}

async function decodeChunk(c: Cursor): Promise<DecodedEntries> {
  const data = await readChunk(c);
  const got: DecodedEntries = { ts: [], lines: [], metadata: undefined };
  try {
    decodeRawBlock(await decompressBlock({ ...c.ref, data }), c.ref.minTs, c.ref.count, got);
  } catch (e) {
    if (e instanceof BlockCorruptError) throw new LogSourceCorruptError(c.src.ulid, `chunk at ${c.ref.offset}: ${e.message}`);
    throw e;
  }
  for (let i = 1; i < got.ts.length; i++)
    if (got.ts[i] < got.ts[i - 1]) throw new LogSourceCorruptError(c.src.ulid, `chunk at ${c.ref.offset}: timestamps not ascending`);
  return got;
}
