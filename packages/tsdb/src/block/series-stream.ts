/**
 * Every series of a block in label order with its chunks, streamed: the series section is read
 * front to back (IndexReader.scanSeries) and the chunks of a small batch of series are fetched
 * together (neighbouring chunks in one ranged read). One batch is in memory at a time, whatever
 * the size of the block. What compaction reads its sources with.
 */
import type { Labels } from '@strata/model';
import { decodeXORBits, xorNumSamples } from '../chunkenc/xor.js';
import type { BlockChunk } from './block-writer.js';
import { asBlockCorrupt, BlockCorruptError } from './corrupt.js';
import { CHUNK_ENCODING_XOR, compareLabelsBytes } from './format.js';
import { isHistogramEncoding, verifyHistogramChunk } from './histogram-chunks.js';
import type { BlockReader } from './reader.js';

export interface StreamedSeries {
  labels: Labels;
  /** In time order, not overlapping; `data` is the chunk's bytes as stored (without the encoding byte), `encoding` set for histogram chunks. */
  chunks: BlockChunk[];
}

export interface ReadSeriesOptions {
  /** Series whose chunks are fetched together (default 64). */
  batchSeries?: number;
  /**
   * Decode every chunk and check its samples: count as in its header, timestamps strictly
   * increasing and within the chunk's index range (default true). Costs a decode per chunk.
   */
  verifyChunks?: boolean;
}

// Scratch arrays for verification; grown on demand, shared (callers never hold them across an await).
let scratchTs = new Float64Array(512);
let scratchBits = new Uint32Array(1024);

/**
 * Why `c` is broken, or undefined when it decodes to `xorNumSamples(data)` strictly increasing
 * timestamps within [minT, maxT]. Histogram chunks (encodings 2 and 3) are checked alike.
 */
export function verifyChunk(c: BlockChunk): string | undefined {
  if (isHistogramEncoding(c.encoding)) return verifyHistogramChunk(c);
  const n = xorNumSamples(c.data);
  if (n === 0) return 'empty chunk';
  if (scratchTs.length < n) {
    scratchTs = new Float64Array(n);
    scratchBits = new Uint32Array(2 * n);
  }
  let got: number;
  try {
    got = decodeXORBits(c.data, scratchTs, scratchBits, 0, -Infinity, Infinity);
  } catch (e) {
    return (e as Error).message;
  }
  if (got !== n) return `chunk decodes to ${got} of its ${n} samples`;
  if (scratchTs[0] < c.minT || scratchTs[n - 1] > c.maxT)
    return `chunk samples [${scratchTs[0]}, ${scratchTs[n - 1]}] outside its index range [${c.minT}, ${c.maxT}]`;
  for (let i = 1; i < n; i++) if (!(scratchTs[i] > scratchTs[i - 1])) return `chunk timestamps out of order at sample ${i}`;
  return undefined;
}

/**
 * Streams the series of `reader` in label order. Anything wrong with the block (index or chunk
 * that does not decode, missing segment, series or chunks out of order) is a BlockCorruptError.
 */
export async function* readSeriesInOrder(reader: BlockReader, opts: ReadSeriesOptions = {}): AsyncGenerator<StreamedSeries> {
  const ulid = reader.meta.ulid;
  const batch = opts.batchSeries ?? 64;
  const verify = opts.verifyChunks ?? true;
  const corrupt = (reason: string) => new BlockCorruptError(ulid, reason);
  const scan = reader.index.scanSeries();
  let prev: Labels | undefined;
  for (;;) {
    const entries: { labels: Labels; chunks: { minT: number; maxT: number; ref: number }[] }[] = [];
    const refs: number[] = [];
    const out: StreamedSeries[] = [];
    try {
      while (entries.length < batch) {
        const r = await scan.next();
        if (r.done) break;
        const e = r.value;
        if (prev && compareLabelsBytes(prev, e.labels) >= 0) throw corrupt(`series ${e.labels.toString()} out of label order`);
        prev = e.labels;
        let prevMax = -Infinity;
        for (const c of e.chunks) {
          if (c.maxT < c.minT) throw corrupt(`series ${e.labels.toString()}: chunk with maxT ${c.maxT} < minT ${c.minT}`);
          if (c.minT <= prevMax) throw corrupt(`series ${e.labels.toString()}: chunks out of order or overlapping at ${c.minT}`);
          prevMax = c.maxT;
          refs.push(c.ref);
        }
        entries.push(e);
      }
      if (entries.length === 0) return;
      const encodings = new Uint8Array(refs.length);
      const datas = await reader.chunksOf(refs, encodings);
      let k = 0;
      for (const e of entries) {
        const chunks: BlockChunk[] = new Array(e.chunks.length);
        for (let i = 0; i < e.chunks.length; i++) {
          const c: BlockChunk = { minT: e.chunks[i].minT, maxT: e.chunks[i].maxT, data: datas[k] };
          // XOR stays implicit (as the writer takes it); histogram chunks say what they are.
          if (encodings[k] !== CHUNK_ENCODING_XOR) c.encoding = encodings[k];
          k++;
          if (verify) {
            const bad = verifyChunk(c);
            if (bad) throw corrupt(`series ${e.labels.toString()}: ${bad}`);
          }
          chunks[i] = c;
        }
        out.push({ labels: e.labels, chunks });
      }
    } catch (e) {
      throw asBlockCorrupt(e, ulid);
    }
    for (const s of out) yield s;
  }
}
