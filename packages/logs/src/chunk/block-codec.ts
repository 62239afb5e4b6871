/**
 * One compressed block of a stream's entries, sorted by timestamp. The raw form, before
 * compression (docs/format/logs.md#blocks):
 *   per entry: uvarint(ts - previous ts; the first from the block's minTs) uvarint(len) line
 *              uvarint(metadata pairs) { uvarint(len) name uvarint(len) value }*
 * Timestamps ascend inside a block, so each delta is non-negative. Lines are stored together
 * so a substring test on the raw block (Buffer.indexOf) can skip a whole block before any
 * line is decoded.
 */
import { createRequire } from 'node:module';
import zstd from '@mongodb-js/zstd';
import snappy from 'snappy';
import { crc32c } from '@node-rs/crc32';
import { Labels } from '@strata/model';

export type BlockCompression = 'zstd' | 'snappy';

export const COMPRESSION_CODES: Record<BlockCompression, number> = { zstd: 1, snappy: 2 };

/**
 * Level 5: about 12% fewer bytes than level 3 on structured lines for twice its compression CPU
 * (some 3 CPU-s more per GB ingested, off the main thread), which brings a head's per-stream
 * blocks within 1.2x the size of `zstd -3` over the whole raw file (docs/format/logs.md).
 */
const ZSTD_LEVEL = 5;

/**
 * @mongodb-js/zstd 1.x's index.js drops compress()'s level (every block was written at the
 * library's default, 3, whatever was asked); its native binding, shipped beside it, takes it.
 */
const zstdNative = createRequire(import.meta.url)('@mongodb-js/zstd/bindings.js') as {
  compress(data: Buffer, level: number): Promise<Buffer>;
};

async function zstdCompress(raw: Buffer, level: number): Promise<Buffer> {
  try {
    return await zstdNative.compress(raw, level);
  } catch (e) {
    // The binding's errors carry no JS stack: a new Error gets one, as the library's wrapper does.
    throw new Error(`zstd: ${(e as Error).message}`, { cause: e });
  }
}

export interface EncodedBlock {
  readonly minTs: bigint;
  readonly maxTs: bigint;
  readonly count: number;
  /** Bytes before compression (lines, metadata, timestamps). */
  readonly rawBytes: number;
  readonly compression: BlockCompression;
  /** CRC-32C of the raw bytes: zstd frames carry no checksum by default, and snappy's block format none. */
  readonly crc: number;
  readonly data: Buffer;
}

export class BlockCorruptError extends Error {}

/** Raw block bytes for entries already sorted by timestamp. */
export function encodeRawBlock(ts: BigInt64Array, lines: readonly string[], metadata: readonly (Labels | undefined)[] | undefined): Buffer {
  let max = 0;
  for (let i = 0; i < lines.length; i++) max += 10 + entryBodyMaxBytes(lines[i], metadata?.[i]);
  const out = Buffer.allocUnsafe(max + 1);
  let o = 0;
  let prev = ts.length > 0 ? ts[0] : 0n;
  for (let i = 0; i < lines.length; i++) {
    o = putBigUvarint(out, o, ts[i] - prev);
    prev = ts[i];
    o = putEntryBody(out, o, lines[i], metadata?.[i]);
  }
  return out.subarray(0, o);
}

/** At most the bytes `putEntryBody` writes for this entry (UTF-8 takes at most 3 bytes per UTF-16 unit). */
export function entryBodyMaxBytes(line: string, meta: Labels | undefined): number {
  let max = 10 + 3 * line.length;
  if (meta) for (const p of meta.pairs) max += 5 + 3 * p.length;
  return max;
}

/** An entry of a raw block after its timestamp delta: the line, then its metadata pairs. */
export function putEntryBody(b: Buffer, o: number, line: string, meta: Labels | undefined): number {
  o = putString(b, o, line);
  const pairs = meta ? meta.pairs : EMPTY;
  o = putUvarint(b, o, pairs.length >> 1);
  for (const p of pairs) o = putString(b, o, p);
  return o;
}

/** The line and metadata of an entry body written by `putEntryBody` at `o` (trusted bytes: the head's own). */
export function readEntryBody(b: Buffer, o: number): { line: string; meta: Labels | undefined } {
  const rd = (): number => {
    let v = 0;
    let mul = 1;
    for (;;) {
      const x = b[o++];
      v += (x & 0x7f) * mul;
      if (x < 0x80) return v;
      mul *= 128;
    }
  };
  const str = (): string => {
    const n = rd();
    const v = b.toString('utf8', o, o + n);
    o += n;
    return v;
  };
  const line = str();
  const np = rd();
  if (np === 0) return { line, meta: undefined };
  const pairs: string[] = new Array(np * 2);
  for (let k = 0; k < np * 2; k++) pairs[k] = str();
  return { line, meta: Labels.fromSortedPairs(pairs) };
}

const EMPTY: readonly string[] = [];

export async function compressBlock(raw: Buffer, c: BlockCompression): Promise<Buffer> {
  return c === 'zstd' ? zstdCompress(raw, ZSTD_LEVEL) : snappy.compressSync(raw);
}

export async function decompressRaw(data: Buffer, c: BlockCompression): Promise<Buffer> {
  return c === 'zstd' ? zstd.decompress(data) : (snappy.uncompressSync(data, { asBuffer: true }) as Buffer);
}

export async function decompressBlock(b: EncodedBlock): Promise<Buffer> {
  try {
    const raw = await decompressRaw(b.data, b.compression);
    if (raw.length !== b.rawBytes) throw new BlockCorruptError(`block decompressed to ${raw.length} bytes, expected ${b.rawBytes}`);
    if (crc32c(raw) !== b.crc) throw new BlockCorruptError('block checksum mismatch');
    return raw;
  } catch (e) {
    if (e instanceof BlockCorruptError) throw e;
    throw new BlockCorruptError(`block does not decompress: ${(e as Error).message}`);
  }
}

export async function encodeBlock(
  ts: BigInt64Array,
  lines: readonly string[],
  metadata: readonly (Labels | undefined)[] | undefined,
  compression: BlockCompression,
): Promise<EncodedBlock> {
  return compressRawBlock(encodeRawBlock(ts, lines, metadata), ts[0], ts[ts.length - 1], lines.length, compression);
}

/** A block from raw bytes already in the raw form (entries sorted, `count` of them from minTs to maxTs). */
export async function compressRawBlock(
  raw: Buffer,
  minTs: bigint,
  maxTs: bigint,
  count: number,
  compression: BlockCompression,
): Promise<EncodedBlock> {
  return { minTs, maxTs, count, rawBytes: raw.length, compression, crc: crc32c(raw), data: await compressBlock(raw, compression) };
}

/** Entries decoded from a raw block; `keep(line)` false leaves an entry out (a pushed-down line filter). */
export interface DecodedEntries {
  ts: bigint[];
  lines: string[];
  metadata: (Labels | undefined)[] | undefined;
}

export function decodeRawBlock(raw: Buffer, minTs: bigint, count: number, into: DecodedEntries, keep?: (line: string) => boolean): void {
  let o = 0;
  let t = minTs;
  const end = raw.length;
  const rd = (): number => {
    let v = 0;
    let mul = 1;
    for (let k = 0; k < 8; k++) {
      if (o >= end) throw new BlockCorruptError('truncated varint');
      const b = raw[o++];
      v += (b & 0x7f) * mul;
      if (b < 0x80) return v;
      mul *= 128;
    }
    throw new BlockCorruptError('varint too long');
  };
  const str = (): string => {
    const n = rd();
    if (o + n > end) throw new BlockCorruptError('string past the end of the block');
    const s = raw.toString('utf8', o, o + n);
    o += n;
    return s;
  };
  const rdBig = (): bigint => {
    let v = 0n;
    for (let shift = 0n; shift < 70n; shift += 7n) {
      if (o >= end) throw new BlockCorruptError('truncated varint');
      const b = raw[o++];
      v |= BigInt(b & 0x7f) << shift;
      if (b < 0x80) return v;
    }
    throw new BlockCorruptError('varint too long');
  };
  for (let i = 0; i < count; i++) {
    // Most deltas fit 7 bytes (2^49 ns, 6.5 days): a number; longer ones are read as a bigint.
    const at = o;
    let long = false;
    for (let k = 0; k < 7 && at + k < end; k++) {
      if (raw[at + k] < 0x80) break;
      if (k === 6) long = true;
    }
    t += long ? rdBig() : BigInt(rd());
    const line = str();
    const np = rd();
    let meta: Labels | undefined;
    if (np > 0) {
      const pairs: string[] = new Array(np * 2);
      for (let k = 0; k < np * 2; k++) pairs[k] = str();
      meta = Labels.fromSortedPairs(pairs);
    }
    if (keep && !keep(line)) continue;
    into.ts.push(t);
    into.lines.push(line);
    if (meta) {
      into.metadata ??= new Array(into.lines.length - 1).fill(undefined);
      into.metadata.push(meta);
    } else into.metadata?.push(undefined);
  }
  if (o !== end) throw new BlockCorruptError(`${end - o} bytes left after the block's ${count} entries`);
}

function putUvarint(b: Buffer, o: number, v: number): number {
  while (v >= 0x80) {
    b[o++] = (v & 0x7f) | 0x80;
    v = Math.floor(v / 128);
  }
  b[o++] = v;
  return o;
}

export function putBigUvarint(b: Buffer, o: number, v: bigint): number {
  // Deltas inside a block are far below 2^53 (a block spans hours), unless old-sample rejection is off.
  if (v <= MAX_SAFE) return putUvarint(b, o, Number(v));
  while (v >= 0x80n) {
    b[o++] = Number(v & 0x7fn) | 0x80;
    v >>= 7n;
  }
  b[o++] = Number(v);
  return o;
}

const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);

function putString(b: Buffer, o: number, s: string): number {
  const n = Buffer.byteLength(s);
  o = putUvarint(b, o, n);
  b.write(s, o);
  return o + n;
}
