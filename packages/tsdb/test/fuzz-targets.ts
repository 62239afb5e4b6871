/**
 * Fuzz targets for what the TSDB reads back from disk or a bucket: XOR chunks, the block index and
 * index headers, WAL segments, head snapshots. Checksums stop random damage early, so each target
 * whose format has them reads the input's first byte as a switch: odd means "recompute every
 * checksum after mutating", which takes the fuzzer past them into the parsers behind.
 * Corrupt chunks and indexes must end in their documented error classes; a corrupt WAL or
 * snapshot must never keep a tenant from opening, so for those nothing may be thrown at all.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { crc32c } from '@node-rs/crc32';
import {
  ChunkCorruptError,
  decodeIndexHeader,
  decodeXORBits,
  Head,
  IndexCorruptError,
  IndexReader,
  TenantDB,
  XORIterator,
  type ByteSource,
} from '@strata/tsdb';
import { loadSnapshot } from '../src/head/snapshot.js';
import type { FuzzTarget } from '../../../test/fuzz/target.js';

const HEAD = { outOfOrderWindowMs: 30 * 60_000, samplesPerChunk: 120, maxSeries: 0 };
const never = (): boolean => false;

/** Reads like FileByteSource: a buffer of the length asked for, filled as far as the data goes. */
export class MemorySource implements ByteSource {
  constructor(private readonly data: Buffer) {}
  async size(): Promise<number> {
    return this.data.length;
  }
  async read(offset: number, length: number): Promise<Buffer> {
    const buf = Buffer.allocUnsafe(length);
    const n = offset >= this.data.length ? 0 : this.data.copy(buf, 0, offset, Math.min(this.data.length, offset + length));
    return n === length ? buf : buf.subarray(0, n);
  }
}

function uvarintAt(b: Buffer, at: number): [value: number, next: number] | undefined {
  let v = 0;
  let mul = 1;
  for (let i = 0; i < 10 && at + i < b.length; i++) {
    v += (b[at + i] & 0x7f) * mul;
    if (b[at + i] < 0x80) return [v, at + i + 1];
    mul *= 0x80;
  }
  return undefined;
}

/** Recomputes the CRC of a big-endian length-prefixed section at `at`, if it fits. */
function fixSection(b: Buffer, at: number): void {
  if (at < 0 || at + 4 > b.length) return;
  const len = b.readUInt32BE(at);
  if (at + 8 + len > b.length) return;
  b.writeUInt32BE(crc32c(b.subarray(at + 4, at + 4 + len)), at + 4 + len);
}

/** Makes every checksum of a Prometheus index right again: TOC, sections, series entries, postings lists. */
export function fixIndex(b: Buffer): Buffer {
  if (b.length < 57) return b;
  const toc = b.length - 52;
  const off = (i: number) => Number(b.readBigUInt64BE(toc + 8 * i));
  const [symbols, series, labelIndices, , postings, postingsOffsets] = [0, 1, 2, 3, 4, 5].map(off);
  fixSection(b, symbols);
  fixSection(b, postingsOffsets);
  // Series entries: 16-byte aligned, uvarint length, content, CRC.
  for (let at = series; at > 0 && at < Math.min(labelIndices || toc, toc);) {
    const lv = uvarintAt(b, at);
    if (!lv || lv[1] + lv[0] + 4 > b.length) break;
    b.writeUInt32BE(crc32c(b.subarray(lv[1], lv[1] + lv[0])), lv[1] + lv[0]);
    at = Math.ceil((lv[1] + lv[0] + 4) / 16) * 16;
  }
  // Postings lists, wherever the postings offset table points.
  if (postingsOffsets > 0 && postingsOffsets + 8 <= b.length) {
    let at = postingsOffsets + 8;
    const end = Math.min(b.length, postingsOffsets + 4 + b.readUInt32BE(postingsOffsets));
    for (let i = b.readUInt32BE(postingsOffsets + 4); i > 0 && at < end; i--) {
      at++; // key count
      for (let k = 0; k < 2; k++) {
        const lv = uvarintAt(b, at);
        if (!lv) return fixToc(b);
        at = lv[1] + lv[0];
      }
      const o = uvarintAt(b, at);
      if (!o) break;
      at = o[1];
      if (o[0] >= postings) fixSection(b, o[0]);
    }
  }
  return fixToc(b);
}

function fixToc(b: Buffer): Buffer {
  const toc = b.length - 52;
  b.writeUInt32BE(crc32c(b.subarray(toc, toc + 48)), toc + 48);
  return b;
}

/** Recomputes the CRC of every WAL frame that fits: u32 length, u32 CRC, body. */
export function fixWal(b: Buffer): Buffer {
  for (let at = 0; at + 8 <= b.length;) {
    const len = b.readUInt32LE(at);
    if (len === 0 || at + 8 + len > b.length) break;
    b.writeUInt32LE(crc32c(b.subarray(at + 8, at + 8 + len)), at + 4);
    at += 8 + len;
  }
  return b;
}

/** The input without its switch byte, checksums recomputed when the switch says so. */
function unswitch(input: Buffer, fix: (b: Buffer) => Buffer): Buffer {
  if (input.length === 0) return input;
  const body = Buffer.from(input.subarray(1));
  return input[0] & 1 ? fix(body) : body;
}

let scratch: string | undefined;
function scratchDir(): string {
  scratch ??= fs.mkdtempSync(path.join(os.tmpdir(), 'strata-fuzz-'));
  fs.rmSync(path.join(scratch, 't'), { recursive: true, force: true });
  return scratch;
}
process.once('exit', () => scratch && fs.rmSync(scratch, { recursive: true, force: true }));

const cover = (...dirs: string[]) => dirs.map((d) => `packages/tsdb/src/${d}`);

export const TSDB_TARGETS: FuzzTarget[] = [
  {
    name: 'xor-chunk',
    corpus: 'packages/tsdb/fuzz/corpus/xor-chunk',
    cover: cover('chunkenc'),
    maxInputBytes: 8192,
    // Differential: the read path's bulk decoder must agree with the reference iterator on
    // every chunk the iterator accepts, sample for sample and bit for bit.
    run: (b) => {
      const it = new XORIterator(b);
      const want: number[] = [];
      const bits = new Float64Array(1);
      const words = new Uint32Array(bits.buffer);
      while (it.next()) {
        bits[0] = it.value();
        want.push(it.t, words[0], words[1]);
      }
      const n = b.length >= 2 ? (b[0] << 8) | b[1] : 0;
      const ts = new Float64Array(n);
      const vbits = new Uint32Array(2 * n);
      const got = decodeXORBits(b, ts, vbits, 0, -Infinity, Infinity);
      if (got * 3 !== want.length) throw new Error(`bulk decoder gave ${got} samples, the iterator ${want.length / 3}`);
      for (let i = 0; i < got; i++) {
        if (!Object.is(ts[i], want[3 * i]) || vbits[2 * i] !== want[3 * i + 1] || vbits[2 * i + 1] !== want[3 * i + 2])
          throw new Error(`bulk decoder differs at sample ${i}`);
      }
      return got;
    },
    expected: (e) => e instanceof ChunkCorruptError,
  },
  {
    name: 'index',
    corpus: 'packages/tsdb/fuzz/corpus/index',
    cover: cover('block'),
    run: async (input) => {
      const ix = await IndexReader.open(new MemorySource(unswitch(input, fixIndex)), 'fuzzed index');
      for (const name of ix.labelNames().slice(0, 16)) {
        for (const value of ix.labelValues(name).slice(0, 16)) {
          const ids = await ix.postings(name, value);
          await ix.seriesMany(ids.slice(0, 64));
        }
      }
      await ix.postings('', '');
    },
    expected: (e) => e instanceof IndexCorruptError,
  },
  {
    name: 'index-header',
    corpus: 'packages/tsdb/fuzz/corpus/index-header',
    cover: cover('block'),
    run: (input) =>
      decodeIndexHeader(
        unswitch(input, (b) => {
          if (b.length >= 4) b.writeUInt32BE(crc32c(b.subarray(0, b.length - 4)), b.length - 4);
          return b;
        }),
        'fuzzed index header',
      ),
    expected: (e) => e instanceof IndexCorruptError,
  },
  {
    name: 'wal',
    corpus: 'packages/tsdb/fuzz/corpus/wal',
    cover: cover('wal', 'head', 'db.ts'),
    timeoutMs: 5000,
    run: async (input) => {
      const dir = path.join(scratchDir(), 't');
      fs.mkdirSync(path.join(dir, 'wal'), { recursive: true });
      fs.writeFileSync(path.join(dir, 'wal', '00000000'), unswitch(input, fixWal));
      const db = await TenantDB.open('t', dir, { dir, fsync: 'none', head: HEAD });
      await db.wal.close();
    },
    expected: never,
  },
  {
    name: 'snapshot',
    corpus: 'packages/tsdb/fuzz/corpus/snapshot',
    cover: cover('head'),
    run: async (input) => {
      const file = path.join(scratchDir(), 'snapshot');
      fs.writeFileSync(
        file,
        unswitch(input, (b) => {
          if (b.length >= 4) b.writeUInt32LE(crc32c(b.subarray(0, b.length - 4)), b.length - 4);
          return b;
        }),
      );
      await loadSnapshot(file, new Head(HEAD), 1 + (input.length % 4096));
    },
    expected: never,
  },
];
