/**
 * Writes a block in the Prometheus TSDB format (docs/format/block.md): chunks/000001..,
 * index (format v2), meta.json with the Thanos section, and an empty tombstones file. The block
 * is written to a temporary directory and renamed into place, so readers never see half of it.
 */
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { crc32c } from '@node-rs/crc32';
import type { Labels } from '@strata/model';
import { xorNumSamples } from '../chunkenc/xor.js';
import { EncBuf } from './encbuf.js';
import { CHUNKS_DIR, INDEX_FILE, META_FILE, TOMBSTONES_FILE, type BlockMeta } from './meta.js';
import { ulid as newUlid } from './ulid.js';
import { FileByteSource } from './bytesource.js';
import { buildIndexHeader, encodeIndexHeader, INDEX_HEADER_FILE } from './index-header.js';

export const CHUNKS_MAGIC = 0x85bd40dd;
export const INDEX_MAGIC = 0xbaaad700;
export const TOMBSTONES_MAGIC = 0x0130ba30;
export const INDEX_VERSION_2 = 2;
export const CHUNK_ENCODING_XOR = 1;
/** Prometheus' segment size: a new chunk segment file starts past 512 MiB. */
export const MAX_CHUNK_SEGMENT_BYTES = 512 * 1024 * 1024;
const FLUSH_BYTES = 4 * 1024 * 1024;

export interface BlockChunk {
  minT: number;
  maxT: number;
  /** XOR chunk bytes, exactly as in the head (or a chunk of `encoding`). */
  data: Uint8Array;
  /** The chunk's encoding byte; XOR when unset. Rollups write Thanos' aggregate chunks (0xff). */
  encoding?: number;
  /** Samples it holds, for meta.json's stats; read from the XOR header when unset. */
  samples?: number;
}

export interface BlockSeries {
  labels: Labels;
  chunks: BlockChunk[];
}

export interface WriteBlockOptions {
  /** Inclusive start, exclusive end of the block's range (ms). */
  minTime: number;
  maxTime: number;
  externalLabels?: Record<string, string>;
  source?: string;
  ulid?: string;
  compactionLevel?: number;
  /** meta.json thanos.downsample.resolution in ms: 0 for raw data (the default), else a rollup's window. */
  resolution?: number;
  /** meta.json's compaction section; default: level compactionLevel, the new block its own source. */
  compaction?: BlockMeta['compaction'];
}

/** Byte-wise string order, as Go compares strings (UTF-16 order differs above the BMP). */
export function compareBytes(a: string, b: string): number {
  if (a === b) return 0;
  return Buffer.compare(Buffer.from(a), Buffer.from(b));
}

export function compareLabelsBytes(a: Labels, b: Labels): number {
  const x = a.pairs;
  const y = b.pairs;
  const n = Math.min(x.length, y.length);
  for (let i = 0; i < n; i++) {
    const c = compareBytes(x[i], y[i]);
    if (c !== 0) return c;
  }
  return x.length - y.length;
}

class ChunkSegmentWriter {
  private seq = -1;
  private fd: fs.promises.FileHandle | null = null;
  private buf = new EncBuf(FLUSH_BYTES + 1024);
  private offset = 0;
  readonly files: { rel: string; size: number }[] = [];

  constructor(private readonly dir: string) {}

  private async next(): Promise<void> {
    await this.close();
    this.seq++;
    const name = String(this.seq + 1).padStart(6, '0');
    this.fd = await fsp.open(path.join(this.dir, name), 'w');
    this.files.push({ rel: `${CHUNKS_DIR}/${name}`, size: 0 });
    this.buf.reset();
    this.buf.be32(CHUNKS_MAGIC);
    this.buf.byte(1);
    this.buf.byte(0);
    this.buf.byte(0);
    this.buf.byte(0);
    this.offset = 8;
  }

  /** Appends a chunk; returns its reference (segment sequence << 32 | offset). */
  async write(data: Uint8Array, encoding = CHUNK_ENCODING_XOR): Promise<number> {
    const size = 10 + 1 + data.length + 4;
    if (this.fd === null || this.offset + size > MAX_CHUNK_SEGMENT_BYTES) await this.next();
    const ref = this.seq * 2 ** 32 + this.offset;
    const start = this.buf.len;
    this.buf.uvarint(data.length);
    const encAt = this.buf.len;
    this.buf.byte(encoding);
    this.buf.bytes(data);
    this.buf.be32(crc32c(this.buf.buf.subarray(encAt, this.buf.len)));
    this.offset += this.buf.len - start;
    if (this.buf.len >= FLUSH_BYTES) await this.flush();
    return ref;
  }

  private async flush(): Promise<void> {
    if (!this.fd || this.buf.len === 0) return;
    await this.fd.write(this.buf.get());
    this.files[this.files.length - 1].size += this.buf.len;
    this.buf.reset();
  }

  async close(): Promise<void> {
    if (!this.fd) return;
    await this.flush();
    await this.fd.sync();
    await this.fd.close();
    this.fd = null;
  }
}

interface IndexedSeries {
  labels: Labels;
  metas: { minT: number; maxT: number; ref: number }[];
}

/** Appends `len`-prefixed (4 bytes) section content with its CRC32-Castagnoli. */
function section(out: EncBuf, body: EncBuf): void {
  out.be32(body.len);
  out.bytes(body.get());
  out.be32(crc32c(body.get()));
}

function pad(out: EncBuf, align: number): void {
  while (out.len % align !== 0) out.byte(0);
}

export function encodeIndex(series: IndexedSeries[]): Buffer {
  const symbolSet = new Set<string>();
  for (const s of series) for (const p of s.labels.pairs) symbolSet.add(p);
  const symbols = [...symbolSet].sort(compareBytes);
  const symIdx = new Map(symbols.map((s, i) => [s, i]));

  const out = new EncBuf(1 << 16);
  out.be32(INDEX_MAGIC);
  out.byte(INDEX_VERSION_2);

  const toc = { symbols: out.len, series: 0, labelIndices: 0, labelOffsets: 0, postings: 0, postingsOffsets: 0 };
  const body = new EncBuf(1 << 16);
  body.be32(symbols.length);
  for (const s of symbols) body.uvarintStr(s);
  section(out, body);

  // Series, each aligned to 16 bytes: its ID is offset / 16.
  pad(out, 16);
  toc.series = out.len;
  const postings = new Map<string, Map<string, number[]>>();
  const all: number[] = [];
  for (const s of series) {
    pad(out, 16);
    const id = out.len / 16;
    all.push(id);
    const e = body.reset();
    const p = s.labels.pairs;
    e.uvarint(p.length / 2);
    for (let i = 0; i < p.length; i += 2) {
      e.uvarint(symIdx.get(p[i])!);
      e.uvarint(symIdx.get(p[i + 1])!);
      let byValue = postings.get(p[i]);
      if (!byValue) postings.set(p[i], (byValue = new Map()));
      let list = byValue.get(p[i + 1]);
      if (!list) byValue.set(p[i + 1], (list = []));
      list.push(id);
    }
    e.uvarint(s.metas.length);
    let prevMaxT = 0;
    let prevRef = 0;
    s.metas.forEach((m, i) => {
      if (i === 0) {
        e.varint(m.minT);
        e.uvarint(m.maxT - m.minT);
        e.uvarint(m.ref);
      } else {
        e.uvarint(m.minT - prevMaxT);
        e.uvarint(m.maxT - m.minT);
        e.varint(m.ref - prevRef);
      }
      prevMaxT = m.maxT;
      prevRef = m.ref;
    });
    out.uvarint(e.len);
    out.bytes(e.get());
    out.be32(crc32c(e.get()));
  }

  // Label indices (still written for older readers) and their offset table.
  const names = [...postings.keys()].sort(compareBytes);
  pad(out, 4);
  toc.labelIndices = out.len;
  const labelIndexOffsets: number[] = [];
  for (const n of names) {
    pad(out, 4);
    labelIndexOffsets.push(out.len);
    const values = [...postings.get(n)!.keys()].sort(compareBytes);
    const b = body.reset();
    b.be32(1);
    b.be32(values.length);
    for (const v of values) b.be32(symIdx.get(v)!);
    section(out, b);
  }
  toc.labelOffsets = out.len;
  {
    const b = body.reset();
    b.be32(names.length);
    names.forEach((n, i) => {
      b.byte(1);
      b.uvarintStr(n);
      b.uvarint(labelIndexOffsets[i]);
    });
    section(out, b);
  }

  // Postings lists: the all-series list under ("", ""), then every label pair, sorted.
  const pairs: [string, string, number[]][] = [['', '', all]];
  for (const n of names) {
    const byValue = postings.get(n)!;
    for (const v of [...byValue.keys()].sort(compareBytes)) pairs.push([n, v, byValue.get(v)!]);
  }
  pad(out, 4);
  toc.postings = out.len;
  const postingOffsets: number[] = [];
  for (const [, , list] of pairs) {
    pad(out, 4);
    postingOffsets.push(out.len);
    const b = body.reset();
    b.be32(list.length);
    for (const id of list) b.be32(id);
    section(out, b);
  }
  toc.postingsOffsets = out.len;
  {
    const b = body.reset();
    b.be32(pairs.length);
    pairs.forEach(([n, v], i) => {
      b.byte(2);
      b.uvarintStr(n);
      b.uvarintStr(v);
      b.uvarint(postingOffsets[i]);
    });
    section(out, b);
  }

  const t = body.reset();
  t.be64(toc.symbols);
  t.be64(toc.series);
  t.be64(toc.labelIndices);
  t.be64(toc.labelOffsets);
  t.be64(toc.postings);
  t.be64(toc.postingsOffsets);
  out.bytes(t.get());
  out.be32(crc32c(t.get()));
  return Buffer.from(out.get());
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

/**
 * Writes `series` (any order; sorted here) as a block under `parentDir`. Chunks must lie within
 * [minTime, maxTime). Returns the block's meta.
 */
export async function writeBlock(
  parentDir: string,
  input: Iterable<BlockSeries> | AsyncIterable<BlockSeries>,
  opts: WriteBlockOptions,
): Promise<BlockMeta> {
  const id = opts.ulid ?? newUlid();
  const tmp = path.join(parentDir, `${id}.tmp-for-creation`);
  const final = path.join(parentDir, id);
  await fsp.rm(tmp, { recursive: true, force: true });
  await fsp.mkdir(path.join(tmp, CHUNKS_DIR), { recursive: true });
  const list: BlockSeries[] = [];
  for await (const s of input as AsyncIterable<BlockSeries>) if (s.chunks.length > 0) list.push(s);
  list.sort((a, b) => compareLabelsBytes(a.labels, b.labels));
  const cw = new ChunkSegmentWriter(path.join(tmp, CHUNKS_DIR));
  const indexed: IndexedSeries[] = [];
  let numSamples = 0;
  let numChunks = 0;
  for (const s of list) {
    const metas: IndexedSeries['metas'] = [];
    for (const c of s.chunks) {
      metas.push({ minT: c.minT, maxT: c.maxT, ref: await cw.write(c.data, c.encoding) });
      numSamples += c.samples ?? xorNumSamples(c.data);
      numChunks++;
    }
    indexed.push({ labels: s.labels, metas });
  }
  await cw.close();
  const index = encodeIndex(indexed);
  await writeFileSynced(path.join(tmp, INDEX_FILE), index);
  // The index header is built once, here, and shipped beside the block: store gateways then
  // open the block without reading its index (see index-header.ts).
  const headerSrc = new FileByteSource(path.join(tmp, INDEX_FILE));
  await writeFileSynced(path.join(tmp, INDEX_HEADER_FILE), encodeIndexHeader(await buildIndexHeader(headerSrc)));
  await headerSrc.close();
  // An empty tombstones file: header, then the CRC of no entries.
  const tomb = Buffer.alloc(9);
  tomb.writeUInt32BE(TOMBSTONES_MAGIC, 0);
  tomb[4] = 1;
  tomb.writeUInt32BE(crc32c(Buffer.alloc(0)), 5);
  await writeFileSynced(path.join(tmp, TOMBSTONES_FILE), tomb);
  const meta: BlockMeta = {
    ulid: id,
    minTime: opts.minTime,
    maxTime: opts.maxTime,
    stats: { numSamples, numSeries: indexed.length, numChunks },
    compaction: opts.compaction ?? { level: opts.compactionLevel ?? 1, sources: [id] },
    version: 1,
    thanos: {
      labels: opts.externalLabels ?? {},
      downsample: { resolution: opts.resolution ?? 0 },
      source: opts.source ?? 'receive',
      segment_files: cw.files.map((f) => path.basename(f.rel)),
      files: [
        ...cw.files.map((f) => ({ rel_path: f.rel, size_bytes: f.size })),
        { rel_path: INDEX_FILE, size_bytes: index.length },
        { rel_path: META_FILE },
      ],
    },
  };
  await writeFileSynced(path.join(tmp, META_FILE), Buffer.from(JSON.stringify(meta, null, '\t')));
  await fsp.rm(final, { recursive: true, force: true });
  await fsp.rename(tmp, final);
  const dfd = await fsp.open(parentDir, 'r');
  await dfd.sync();
  await dfd.close();
  return meta;
}
